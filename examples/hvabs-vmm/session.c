/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One hvabs-vmm session, after the command line: the log and the metrics,
 * the backend, the API socket (--api-sock) and its wait for InstanceStart,
 * then machines built and run until one ends for good (again after a guest
 * reboot with --reboot=restart). Returns the exit status.
 */
#include <signal.h>
#include <stdio.h>

#include "api.h"
#include "session.h"

/* HVABS_LOG=error|warn|info|debug sets how much hvabs itself says (default warn). */
static enum hvabs_log_level env_log_level(void)
{
	struct hvabs_logger env_default = {0};

	for (int l = HVABS_LOG_DEBUG; l > HVABS_LOG_WARN; l--)
		if (hvabs_log_enabled(&env_default, (enum hvabs_log_level)l))
			return (enum hvabs_log_level)l;
	return hvabs_log_enabled(&env_default, HVABS_LOG_WARN) ? HVABS_LOG_WARN : HVABS_LOG_ERROR;
}

/* After a run: how it ended, and whether to build the machine again. -1: again, else the status. */
static int after_run(const struct vmm_config *cfg, struct machine *m, enum vmm_outcome o)
{
	if (!cfg->quiet || (o != VMM_POWEROFF && o != VMM_REBOOT && o != VMM_SIGNAL))
		fprintf(stderr, "\rhvabs-vmm: guest stopped: %s\n", vmm_outcome_name(o));
	if (o == VMM_CRASH || o == VMM_HALTED || o == VMM_ERROR || o == VMM_TIMEOUT)
		machine_report(m);
	if (o == VMM_REBOOT && cfg->reboot == VMM_REBOOT_RESTART) {
		if (!cfg->quiet)
			fprintf(stderr, "hvabs-vmm: restarting the guest\n");
		return -1;
	}
	return (o == VMM_POWEROFF || o == VMM_REBOOT || o == VMM_SIGNAL) ? 0 : 1;
}

/* Builds and runs machines until one ends for good; returns the exit status. */
static int run_until_done(const struct vmm_config *cfg, struct vmm_seccomp *sc,
			  struct hvabs_backend *be, struct vmm_api *api, struct vmm_metrics *mt,
			  char *err, size_t errlen)
{
	/* Firecracker starts at once when the configuration came with the command line. */
	bool autostart = cfg->kernel || cfg->xen_domid >= 0;

	for (;;) {
		struct machine *m = NULL;
		if (vmm_api_begin(api, autostart))
			return 0; /* a signal before InstanceStart */
		int rc = machine_create(cfg, sc, be, &m, err, errlen);
		if (!rc)
			rc = vmm_machine_attach_metrics(m, mt, err, errlen);
		bool retry = vmm_api_started(api, rc ? NULL : m, rc, err);
		if (rc) {
			fprintf(stderr, "hvabs-vmm: %s\n", err);
			vmm_metrics_attach(mt, NULL, NULL);
			machine_destroy(m);
			if (retry)
				continue; /* the client was told; wait for the next InstanceStart */
			return 1;
		}
		enum vmm_outcome o = machine_run(m);
		vmm_api_ended(api);
		if (o == VMM_CRASH)
			vmm_metrics_guest_crash(mt);
		int status = after_run(cfg, m, o);
		vmm_metrics_attach(mt, NULL, NULL);
		machine_destroy(m);
		if (status >= 0)
			return status;
	}
}

/* A logger and metrics from the config file, before anything else is said. */
static int open_sinks(const struct vmm_config *cfg, struct vmm_log *log, struct vmm_metrics *mt,
		      char *err, size_t errlen)
{
	if (cfg->logger.set && vmm_log_open(log, &cfg->logger, err, errlen))
		return -1;
	return cfg->metrics_path ? vmm_metrics_open(mt, cfg->metrics_path, err, errlen) : 0;
}

/* The API's thread: its filter before libmicrohttpd's thread starts, the test hook per request. */
static int api_thread(void *opaque, bool in_server, char *err, size_t errlen)
{
	if (in_server) {
		vmm_seccomp_test_point(opaque, VMM_THREAD_API);
		return 0;
	}
	return vmm_seccomp_enter(opaque, VMM_THREAD_API, err, errlen);
}

/* The API socket, with the signals the run handles blocked in its thread too. */
static int start_api(struct vmm_config *cfg, struct vmm_seccomp *sc, struct vmm_log *log,
		     struct vmm_metrics *mt, struct vmm_api **api, char *err, size_t errlen)
{
	sigset_t set;

	if (!cfg->api_sock)
		return 0;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (vmm_api_create(cfg, log, mt, &vmm_api_machine_ops, api, err, errlen))
		return -1;
	vmm_api_set_thread_fn(*api, api_thread, sc);
	return vmm_api_listen(*api, cfg->api_sock, err, errlen);
}

/* The filters know the backend by name; a machine built again needs the main thread's wider list. */
static struct vmm_seccomp *init_seccomp(const struct vmm_config *cfg, struct vmm_seccomp *sc,
					struct hvabs_backend *be, struct vmm_log *log)
{
	vmm_seccomp_init(sc, !cfg->no_seccomp, hvabs_backend_name(be),
			 cfg->reboot == VMM_REBOOT_RESTART);
	if (cfg->no_seccomp)
		VMM_LOG(log, VMM_LOG_WARNING, "seccomp filters are off (--seccomp=off)");
	return sc;
}

int vmm_session(struct vmm_config *cfg)
{
	struct vmm_log log;
	struct vmm_metrics mt;
	struct vmm_api *api = NULL;
	struct hvabs_backend *be = NULL;
	struct vmm_seccomp sc;
	char err[1024] = "";
	int status = 1;

	vmm_log_init(&log);
	vmm_metrics_init(&mt);
	struct hvabs_backend_opts opts = {
	    .logger = {.fn = vmm_log_hvabs, .opaque = &log, .max_level = env_log_level()},
	    .errbuf = err,
	    .errbuf_len = sizeof(err),
	};
	if (open_sinks(cfg, &log, &mt, err, sizeof(err)) ||
	    hvabs_backend_open(cfg->hypervisor, &opts, &be) ||
	    start_api(cfg, init_seccomp(cfg, &sc, be, &log), &log, &mt, &api, err, sizeof(err)))
		fprintf(stderr, "hvabs-vmm: %s\n", err);
	else
		status = run_until_done(cfg, &sc, be, api, &mt, err, sizeof(err));
	vmm_api_destroy(api);
	(void)vmm_metrics_flush(&mt, err, sizeof(err)); /* the last line, as Firecracker at exit */
	if (be)
		hvabs_backend_close(be);
	vmm_metrics_fini(&mt);
	vmm_log_fini(&log);
	return status;
}
