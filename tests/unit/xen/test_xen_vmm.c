/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm in Xen attach mode, end to end over the fake Xen: the fake makes
 * a paused domain as `xl create -p` would (FAKE_XEN_DOMAIN), its vCPU replays
 * a script of port accesses, and hvabs-vmm --xen-domid must serve that
 * domain, not one of its own. At exit the fake writes what Xen was left with
 * (FAKE_XEN_REPORT): whether the domain was unpaused, the shutdown reason the
 * device model gave it (what `xl`'s on_poweroff/on_reboot/on_crash act on),
 * whether any domain was created, and any handle left open.
 *
 * Environment (from CTest): HVABS_VMM, the hvabs-vmm binary; HVABS_XEN_LIBS,
 * the fake; HVABS_TINY_SCRIPT, the tiny guest's recorded port I/O.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <xen/sched.h>

extern char **environ;

#define VMM_TIMEOUT "20" /* a safety net only: every case ends long before */

struct run {
	int status; /* exit status, or -1 if it did not exit */
	char out[65536];
	char err[16384];
	char report[4096];
};

static char dir[] = "/tmp/hvabs-xen-vmm-XXXXXX";

static void slurp(const char *name, char *buf, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	buf[0] = '\0';
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	unlink(path);
}

static void put_file(const char *name, const char *text)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A guest that prints @p text on COM1 (as the tiny guest does, THR always empty). */
static void script_print(char *buf, size_t len, const char *text)
{
	size_t used = strlen(buf);

	for (const char *p = text; *p && used + 32 < len; p++)
		used += (size_t)snprintf(buf + used, len - used, "0 io w 3f8 1 %x\n",
					 (unsigned char)*p);
}

/*
 * Runs hvabs-vmm with @p args (NULL-terminated) over a fake domain made from
 * @p domain (FAKE_XEN_DOMAIN) running @p script (a path), and collects its
 * console, its messages and the fake's report.
 */
static void run_vmm(struct run *r, const char *domain, const char *script, const char *const *args)
{
	char env_dom[128], env_script[512], env_report[256], out[256], err[256];
	const char *vmm = getenv("HVABS_VMM");
	char *argv[32];
	char *envp[256];
	size_t na = 0, ne = 0;
	pid_t pid;

	assert_non_null(vmm);
	snprintf(env_dom, sizeof(env_dom), "FAKE_XEN_DOMAIN=%s", domain ? domain : "");
	snprintf(env_script, sizeof(env_script), "FAKE_XEN_SCRIPT=%s", script ? script : "");
	snprintf(env_report, sizeof(env_report), "FAKE_XEN_REPORT=%s/report", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	for (char **e = environ; *e && ne < 250; e++)
		if (strncmp(*e, "FAKE_XEN_", 9) && strncmp(*e, "HVABS_LOG=", 10))
			envp[ne++] = *e;
	envp[ne++] = env_dom;
	envp[ne++] = env_script;
	envp[ne++] = env_report;
	envp[ne] = NULL;
	argv[na++] = (char *)vmm;
	for (const char *const *a = args; *a && na < 30; a++)
		argv[na++] = (char *)*a;
	argv[na] = NULL;

	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_int_equal(posix_spawn(&pid, vmm, &fa, NULL, argv, envp), 0);
	posix_spawn_file_actions_destroy(&fa);
	int ws;
	assert_int_equal(waitpid(pid, &ws, 0), pid);
	r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	slurp("out", r->out, sizeof(r->out));
	slurp("err", r->err, sizeof(r->err));
	slurp("report", r->report, sizeof(r->report));
}

static void show(const struct run *r)
{
	print_message("status %d\n--- console ---\n%s\n--- stderr ---\n%s\n--- fake Xen ---\n%s\n",
		      r->status, r->out, r->err, r->report);
}

static void expect(const struct run *r, const char *buf, const char *what)
{
	if (!strstr(buf, what)) {
		show(r);
		fail_msg("no \"%s\"", what);
	}
}

static void expect_status(const struct run *r, int status)
{
	if (r->status != status) {
		show(r);
		fail_msg("hvabs-vmm exited with %d, not %d", r->status, status);
	}
}

/* Nothing left open in the fake, no protocol violation, and no domain of our own. */
static void expect_clean(const struct run *r)
{
	expect(r, r->report, "created 0\n");
	expect(r, r->report, "live xc 0 dm 0 fmem 0 xce 0 maps 0 ports 0 servers 0 domains 0\n");
	expect(r, r->report, "violations 0\n");
}

/* The tiny guest's recorded I/O, served in the toolstack's domain; power-off reaches Xen. */
static void attach_serves_the_domain(void **state)
{
	struct run *r = *state;
	static const char *const args[] = {
	    "--hypervisor", "xen",	 "--xen-domid",	      "1",	   "--memory", "16M",
	    "--timeout",    VMM_TIMEOUT, "--backend-options", "poll_ms=5", NULL};

	run_vmm(r, "pvh:1:32", getenv("HVABS_TINY_SCRIPT"), args);
	expect_status(r, 0);
	expect(r, r->out, "HVABS-TINY: hello from long mode");
	expect(r, r->out, "HVABS-TINY: poweroff");
	expect(r, r->err, "guest stopped: power-off");
	/*
	 * The script ends without a halt, so only hvabs could have told Xen:
	 * the domain is shut down for power-off and otherwise left to xl.
	 */
	char want[64];
	snprintf(want, sizeof(want), "domain 1 exists 1 paused 0 shutdown %d ", SHUTDOWN_poweroff);
	expect(r, r->report, want);
	expect_clean(r);
}

/* A reset through the i8042 becomes SHUTDOWN_reboot, for xl's on_reboot. */
static void attach_reset_reaches_xen(void **state)
{
	struct run *r = *state;
	static char script[4096];
	static const char *const args[] = {
	    "--hypervisor", "xen",	 "--xen-domid",	      "1",	   "--memory", "16M",
	    "--timeout",    VMM_TIMEOUT, "--backend-options", "poll_ms=5", NULL};
	char path[256], want[64];

	script[0] = '\0';
	script_print(script, sizeof(script), "going down\n");
	strcat(script, "0 io w 64 1 fe\n");
	put_file("script", script);
	snprintf(path, sizeof(path), "%s/script", dir);
	run_vmm(r, "pvh:1:32", path, args);
	expect_status(r, 0);
	expect(r, r->out, "going down");
	expect(r, r->err, "guest stopped: reboot");
	snprintf(want, sizeof(want), "domain 1 exists 1 paused 0 shutdown %d ", SHUTDOWN_reboot);
	expect(r, r->report, want);
	expect_clean(r);
	unlink(path);
}

/* A panic on the console is a crash for hvabs-vmm, and for xl's on_crash too. */
static void attach_panic_is_a_crash(void **state)
{
	struct run *r = *state;
	static char script[8192];
	static const char *const args[] = {
	    "--hypervisor", "xen",	 "--xen-domid",	      "1",	   "--memory", "16M",
	    "--timeout",    VMM_TIMEOUT, "--backend-options", "poll_ms=5", NULL};
	char path[256], want[64];

	script[0] = '\0';
	script_print(script, sizeof(script), "Kernel panic - not syncing: test\n");
	put_file("script", script);
	snprintf(path, sizeof(path), "%s/script", dir);
	run_vmm(r, "pvh:1:32", path, args);
	expect_status(r, 1);
	expect(r, r->err, "guest stopped: crash");
	snprintf(want, sizeof(want), "domain 1 exists 1 paused 0 shutdown %d ", SHUTDOWN_crash);
	expect(r, r->report, want);
	expect_clean(r);
	unlink(path);
}

/* Every vCPU of the domain needs serving: a mismatch is refused before it runs. */
static void attach_needs_every_vcpu(void **state)
{
	struct run *r = *state;
	static const char *const args[] = {
	    "--hypervisor", "xen",	 "--xen-domid", "1", "--memory",
	    "16M",	    "--timeout", VMM_TIMEOUT,	NULL};

	run_vmm(r, "pvh:2:32", NULL, args);
	expect_status(r, 1);
	expect(r, r->err, "--cpus 2");
	/* Untouched: still paused, nothing shut down. */
	expect(r, r->report, "domain 1 exists 1 paused 1 shutdown -1 ");
	expect_clean(r);
}

/* --xen-domid on another hypervisor is a mistake the user hears about. */
static void xen_domid_needs_xen(void **state)
{
	struct run *r = *state;
	static const char *const args[] = {"--hypervisor", "mock",	"--xen-domid", "1",
					   "--timeout",	   VMM_TIMEOUT, NULL};

	run_vmm(r, NULL, NULL, args);
	expect_status(r, 1);
	expect(r, r->err, "--xen-domid needs the Xen backend");
}

/* What attach mode cannot do is refused up front: the toolstack loads and restarts the domain. */
static void attach_refuses_loader_and_restart(void **state)
{
	struct run *r = *state;
	static const char *const kernel[] = {"--hypervisor", "xen",	  "--xen-domid", "1",
					     "--kernel",     "/dev/null", NULL};
	static const char *const restart[] = {"--hypervisor",	  "xen", "--xen-domid", "1",
					      "--reboot=restart", NULL};

	run_vmm(r, "pvh:1:32", NULL, kernel);
	expect_status(r, 2);
	expect(r, r->err, "no --kernel or --initrd");
	run_vmm(r, "pvh:1:32", NULL, restart);
	expect_status(r, 2);
	expect(r, r->err, "the toolstack restarts the domain");
}

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct run));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(attach_serves_the_domain, setup, teardown),
	    cmocka_unit_test_setup_teardown(attach_reset_reaches_xen, setup, teardown),
	    cmocka_unit_test_setup_teardown(attach_panic_is_a_crash, setup, teardown),
	    cmocka_unit_test_setup_teardown(attach_needs_every_vcpu, setup, teardown),
	    cmocka_unit_test_setup_teardown(xen_domid_needs_xen, setup, teardown),
	    cmocka_unit_test_setup_teardown(attach_refuses_loader_and_restart, setup, teardown),
	};

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	int rc = cmocka_run_group_tests_name("xen_vmm_attach", tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
