/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's program: read the configuration, open the backend, build and
 * run the machine (again after a guest reboot with --reboot=restart), and
 * turn how the run ended into the exit status. Everything hvabs-vmm does
 * goes through the public hvabs API, so it runs unchanged on every backend;
 * docs/vmm.md maps the other files.
 *
 * Exit status: 0 when the guest powers off or reboots (or on SIGINT/SIGTERM),
 * 1 on a guest crash (panic, triple fault) or a VMM/hypervisor error, 2 on
 * bad arguments.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "session.h"

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	char err[1024] = "";

	vmm_config_init(&cfg);
	switch (vmm_config_parse_args(&cfg, argc, argv, err, sizeof(err))) {
	case VMM_PARSE_EXIT:
		vmm_config_fini(&cfg);
		return 0;
	case VMM_PARSE_ERROR:
		/* One line, not the whole usage: the reason is what the user needs to see. */
		fprintf(stderr, "hvabs-vmm: %s; try --help\n", err);
		vmm_config_fini(&cfg);
		return 2;
	case VMM_PARSE_RUN:
		break;
	}
	/* --timeout covers the whole run, restarts included. */
	if (cfg.timeout_s) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		cfg.deadline_ns = ((uint64_t)ts.tv_sec + (uint64_t)cfg.timeout_s) * 1000000000ull +
				  (uint64_t)ts.tv_nsec;
	}
	/* Writes to a console pipe or socket whose reader left must not kill us. */
	signal(SIGPIPE, SIG_IGN);

	int status = vmm_session(&cfg);
	vmm_config_fini(&cfg);
	return status;
}
