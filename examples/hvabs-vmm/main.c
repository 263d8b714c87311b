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
#include "machine.h"

static void log_handler(void *opaque, enum hvabs_log_level level, const char *comp, const char *msg)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};

	(void)opaque;
	/* \r first: the terminal may be in raw mode while the guest runs. */
	fprintf(stderr, "\rhvabs-vmm: %s: %s: %s\n", comp, names[level <= 3 ? level : 3], msg);
}

/* HVABS_LOG=error|warn|info|debug sets how much hvabs itself says (default warn). */
static enum hvabs_log_level env_log_level(void)
{
	struct hvabs_logger env_default = {0};

	for (int l = HVABS_LOG_DEBUG; l > HVABS_LOG_WARN; l--)
		if (hvabs_log_enabled(&env_default, (enum hvabs_log_level)l))
			return (enum hvabs_log_level)l;
	return hvabs_log_enabled(&env_default, HVABS_LOG_WARN) ? HVABS_LOG_WARN : HVABS_LOG_ERROR;
}

/* Builds and runs machines until one ends for good; returns the exit status. */
static int run_until_done(const struct vmm_config *cfg, struct hvabs_backend *be, char *err,
			  size_t errlen)
{
	for (;;) {
		struct machine *m = NULL;
		if (machine_create(cfg, be, &m, err, errlen)) {
			fprintf(stderr, "hvabs-vmm: %s\n", err);
			machine_destroy(m);
			return 1;
		}
		enum vmm_outcome o = machine_run(m);
		if (!cfg->quiet || (o != VMM_POWEROFF && o != VMM_REBOOT && o != VMM_SIGNAL))
			fprintf(stderr, "\rhvabs-vmm: guest stopped: %s\n", vmm_outcome_name(o));
		if (o == VMM_CRASH || o == VMM_HALTED || o == VMM_ERROR || o == VMM_TIMEOUT)
			machine_report(m);
		machine_destroy(m);
		if (o == VMM_REBOOT && cfg->reboot == VMM_REBOOT_RESTART) {
			if (!cfg->quiet)
				fprintf(stderr, "hvabs-vmm: restarting the guest\n");
			continue;
		}
		return (o == VMM_POWEROFF || o == VMM_REBOOT || o == VMM_SIGNAL) ? 0 : 1;
	}
}

int main(int argc, char **argv)
{
	struct vmm_config cfg;
	struct hvabs_backend *be = NULL;
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

	struct hvabs_backend_opts opts = {
	    .logger = {.fn = log_handler, .max_level = env_log_level()},
	    .errbuf = err,
	    .errbuf_len = sizeof(err),
	};
	if (hvabs_backend_open(cfg.hypervisor, &opts, &be)) {
		fprintf(stderr, "hvabs-vmm: %s\n", err);
		vmm_config_fini(&cfg);
		return 1;
	}
	int status = run_until_done(&cfg, be, err, sizeof(err));
	hvabs_backend_close(be);
	vmm_config_fini(&cfg);
	return status;
}
