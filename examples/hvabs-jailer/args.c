/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jailer's options: the subset of Firecracker's jailer flags that makes
 * sense for hvabs-vmm, with the same names (docs/jailer.md lists them and the
 * ones refused), plus --hypervisor and --new-netns.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jailer.h"

enum {
	O_ID = 256,
	O_EXEC,
	O_UID,
	O_GID,
	O_BASE,
	O_NETNS,
	O_NEW_NETNS,
	O_DAEMON,
	O_NEW_PID,
	O_CG_VER,
	O_CGROUP,
	O_PARENT_CG,
	O_RLIMIT,
	O_HV,
	O_HELP,
	O_VERSION,
};

static const struct option opts[] = {
    {"id", required_argument, NULL, O_ID},
    {"exec-file", required_argument, NULL, O_EXEC},
    {"uid", required_argument, NULL, O_UID},
    {"gid", required_argument, NULL, O_GID},
    {"chroot-base-dir", required_argument, NULL, O_BASE},
    {"netns", required_argument, NULL, O_NETNS},
    {"new-netns", no_argument, NULL, O_NEW_NETNS},
    {"daemonize", no_argument, NULL, O_DAEMON},
    {"new-pid-ns", no_argument, NULL, O_NEW_PID},
    {"cgroup-version", required_argument, NULL, O_CG_VER},
    {"cgroup", required_argument, NULL, O_CGROUP},
    {"parent-cgroup", required_argument, NULL, O_PARENT_CG},
    {"resource-limit", required_argument, NULL, O_RLIMIT},
    {"hypervisor", required_argument, NULL, O_HV},
    {"help", no_argument, NULL, O_HELP},
    {"version", no_argument, NULL, O_VERSION},
    {NULL, 0, NULL, 0},
};

static void usage(void)
{
	printf("usage: hvabs-jailer --id ID --exec-file PATH --uid UID --gid GID [options]"
	       " -- [hvabs-vmm options]\n"
	       "  --chroot-base-dir DIR    the jail is DIR/<exec name>/ID/root (default "
	       "/srv/jailer)\n"
	       "  --netns PATH             join this network namespace (e.g. /var/run/netns/N)\n"
	       "  --new-netns              a new, empty network namespace\n"
	       "  --daemonize              detach: new session, stdio on /dev/null\n"
	       "  --new-pid-ns             accepted: the VMM always gets a new PID namespace\n"
	       "  --cgroup-version 2       only cgroup v2 is supported\n"
	       "  --cgroup FILE=VALUE      e.g. memory.max=512M, pids.max=64 (repeatable)\n"
	       "  --parent-cgroup NAME     cgroup under the v2 root (default: exec name)\n"
	       "  --resource-limit fsize=N|no-file=N   (repeatable)\n"
	       "  --hypervisor kvm|mshv|xen|mock   device nodes to give (default: hvabs-vmm's\n"
	       "                           --hypervisor, else every backend this host has)\n"
	       "Exit status: the VMM's; 64 bad options, 71 a jail step failed, 128+N the VMM\n"
	       "was killed by signal N.\n");
}

/* A decimal id in 1..UINT32_MAX-1: 0 is root's, -1 means "unchanged" to setresuid. */
static int parse_id(const char *opt, const char *v, unsigned *out)
{
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || !*v || *end || *v == '-' || n == 0 || n >= 0xffffffffUL)
		return jail_usage_error("%s %s: want a number from 1 to 4294967294 "
					"(the VMM never runs as root)",
					opt, v);
	*out = (unsigned)n;
	return 0;
}

static int parse_rlimit(struct jail *j, const char *v)
{
	const char *eq = strchr(v, '=');
	char *end;
	long long *dst = NULL;

	if (eq && !strncmp(v, "fsize=", 6))
		dst = &j->fsize;
	else if (eq && !strncmp(v, "no-file=", 8))
		dst = &j->nofile;
	if (!dst)
		return jail_usage_error("--resource-limit %s: want fsize=N or no-file=N", v);
	errno = 0;
	*dst = strtoll(eq + 1, &end, 10);
	if (errno || !eq[1] || *end || *dst < 0)
		return jail_usage_error("--resource-limit %s: want a non-negative number", v);
	return 0;
}

/* Firecracker's rule for --id: 1 to 64 letters, digits and '-'. */
static int check_id(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > 64 ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		       "0123456789-") != n)
		return jail_usage_error("--id %s: want 1 to 64 letters, digits or '-'", id);
	return 0;
}

static int apply(struct jail *j, int opt, const char *v, unsigned *uid, unsigned *gid)
{
	switch (opt) {
	case O_ID:
		j->id = v;
		return check_id(v);
	case O_EXEC:
		if (!realpath(v, j->exec_file))
			return jail_usage_error("--exec-file %s: %s (errno %d)", v, strerror(errno),
						errno);
		return 0;
	case O_UID:
		return parse_id("--uid", v, uid);
	case O_GID:
		return parse_id("--gid", v, gid);
	case O_BASE:
		j->base = v;
		return 0;
	case O_NETNS:
		j->netns = v;
		return 0;
	case O_NEW_NETNS:
		j->new_netns = true;
		return 0;
	case O_DAEMON:
		j->daemonize = true;
		return 0;
	case O_NEW_PID:
		return 0;
	case O_CG_VER:
		return strcmp(v, "2") ? jail_usage_error("--cgroup-version %s: only 2 is "
							 "supported",
							 v)
				      : 0;
	case O_CGROUP:
		if (j->ncgroups == JAIL_MAX_CGROUP || !strchr(v, '=') || strchr(v, '/') ||
		    v[0] == '.' || v[0] == '=')
			return jail_usage_error("--cgroup %s: want FILE=VALUE (at most %d)", v,
						JAIL_MAX_CGROUP);
		j->cgroups[j->ncgroups++] = v;
		return 0;
	case O_PARENT_CG:
		if (!*v || strstr(v, "..") || v[0] == '/')
			return jail_usage_error("--parent-cgroup %s: want a relative name", v);
		j->parent_cgroup = v;
		return 0;
	case O_RLIMIT:
		return parse_rlimit(j, v);
	case O_HV:
		j->hypervisor = v;
		return 0;
	case '?':
		return jail_usage_error("unknown option '%s'; try --help", v);
	default:
		return jail_usage_error("option '%s' needs a value", v);
	}
}

int jail_parse_args(struct jail *j, int argc, char **argv)
{
	unsigned uid = 0, gid = 0;
	int opt;

	j->base = "/srv/jailer";
	j->fsize = j->nofile = -1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		if (opt == O_HELP || opt == O_VERSION) {
			if (opt == O_HELP)
				usage();
			else
				printf("hvabs-jailer %s\n", HVABS_VMM_VERSION);
			return 1;
		}
		if (apply(j, opt, optarg ? optarg : argv[optind - 1], &uid, &gid))
			return -1;
	}
	if (optind < argc && strcmp(argv[optind - 1], "--"))
		return jail_usage_error("unexpected argument '%s'; hvabs-vmm's options go "
					"after --",
					argv[optind]);
	if (!j->id || !j->exec_file[0] || !uid || !gid)
		return jail_usage_error("--id, --exec-file, --uid and --gid are required; try "
					"--help");
	if (j->netns && j->new_netns)
		return jail_usage_error("--netns and --new-netns exclude each other");
	j->uid = uid;
	j->gid = gid;
	j->vmm_argv = argv + optind;
	j->vmm_argc = argc - optind;
	return 0;
}
