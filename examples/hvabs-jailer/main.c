/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-jailer: the order of the steps (docs/jailer.md). Everything that can
 * be refused is checked before any namespace exists; the child, PID 1 of a
 * new PID namespace, builds its jail and execs the VMM; the parent waits and
 * passes its status on, and any SIGTERM/SIGINT/SIGHUP on to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jailer.h"

static volatile sig_atomic_t vmm_pid;

int jail_fail(const char *step, const char *what, int err)
{
	fprintf(stderr, "hvabs-jailer: %s%s%s: %s (errno %d)\n", step, *what ? " " : "", what,
		strerror(err), err);
	return -1;
}

int jail_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("hvabs-jailer: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return -1;
}

static void forward(int sig)
{
	if (vmm_pid > 0)
		kill(vmm_pid, sig);
}

/* The child: PID 1 of the new namespace. Never returns. */
static void run_child(const struct jail *j, int netns_fd)
{
	/* The VMM's environment: hvabs's own knobs, nothing that points outside the jail. */
	static const char *const keep[] = {"HVABS_LOG", "HVABS_HYPERVISOR"};
	char *env[4] = {NULL}, **e = env;
	char **argv = calloc((size_t)j->vmm_argc + 2, sizeof(*argv));
	/*
	 * glibc expands $ORIGIN (hvabs-vmm's runpath $ORIGIN/../lib) from
	 * /proc/self/exe, which the jail lacks; LD_ORIGIN_PATH tells it instead.
	 */
	char origin[PATH_MAX + 16];
	snprintf(origin, sizeof(origin), "LD_ORIGIN_PATH=%s", j->exec_file);
	*strrchr(origin, '/') = '\0';
	*e++ = origin;

	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *v = getenv(keep[i]);
		char *kv = v ? malloc(strlen(keep[i]) + strlen(v) + 2) : NULL;
		if (kv)
			sprintf(*e++ = kv, "%s=%s", keep[i], v);
	}
	if (!argv)
		_exit(JAIL_EXIT_SETUP);
	argv[0] = (char *)j->exec_file;
	memcpy(argv + 1, j->vmm_argv, (size_t)j->vmm_argc * sizeof(*argv));
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | (j->new_netns ? CLONE_NEWNET : 0)))
		_exit(jail_fail("unshare", "mount, IPC", errno) ? JAIL_EXIT_SETUP : 0);
	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET))
		_exit(jail_fail("setns", j->netns, errno) ? JAIL_EXIT_SETUP : 0);
	if (jail_cgroup_join(j) || jail_rlimits(j) || jail_enter(j) || jail_drop(j))
		_exit(JAIL_EXIT_SETUP);
	execve(j->exec_file, argv, env);
	jail_fail("exec", j->exec_file, errno);
	_exit(JAIL_EXIT_SETUP);
}

static int wait_vmm(pid_t pid)
{
	struct sigaction sa = {.sa_handler = forward};
	int status;

	vmm_pid = pid;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return jail_fail("waitpid", "", errno) ? JAIL_EXIT_SETUP : 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* --daemonize: the caller gets its shell back; a new session holds the jail. */
static int daemonize(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return jail_fail("fork", "--daemonize", errno);
	if (pid > 0)
		_exit(0);
	int null = open("/dev/null", O_RDWR);
	if (setsid() < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
		return -1;
	close(null);
	return 0;
}

/* Everything after the plan: the namespaces, the child, the wait. The VMM's status, or ours. */
static int start(struct jail *j)
{
	int netns_fd = -1;

	if (jail_cgroup_create(j))
		return JAIL_EXIT_SETUP;
	if (j->netns && (netns_fd = open(j->netns, O_RDONLY | O_CLOEXEC)) < 0)
		return jail_fail("open --netns", j->netns, errno), JAIL_EXIT_SETUP;
	if (j->daemonize && daemonize())
		return JAIL_EXIT_SETUP;
	/*
	 * clone() as fork() with a new PID namespace for the child only: after
	 * unshare(CLONE_NEWPID) every later child of ours would land in the
	 * VMM's namespace, and fail once it has ended (LeakSanitizer's tracer does).
	 */
	pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		return jail_fail("clone", "PID namespace", errno), JAIL_EXIT_SETUP;
	if (pid == 0)
		run_child(j, netns_fd);
	if (netns_fd >= 0)
		close(netns_fd);
	return wait_vmm(pid);
}

int main(int argc, char **argv)
{
	struct jail j = {0};

	int rc = jail_parse_args(&j, argc, argv);
	if (rc)
		return rc > 0 ? 0 : JAIL_EXIT_USAGE;
	if (j.base[0] != '/')
		rc = jail_usage_error("--chroot-base-dir %s: want an absolute path", j.base);
	if (rc || jail_plan(&j))
		rc = JAIL_EXIT_USAGE;
	else
		rc = start(&j);
	/* A cgroup can be removed once empty; a failure leaves it for the admin. */
	if (j.cgroup_dir[0])
		rmdir(j.cgroup_dir);
	jail_fini(&j);
	return rc;
}
