/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-jailer: starts hvabs-vmm inside new mount, PID and IPC namespaces,
 * pivoted into a per-VM directory that holds only what that VM needs, as an
 * unprivileged user (docs/jailer.md). The state every step shares.
 */
#ifndef HVABS_JAILER_H
#define HVABS_JAILER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Exit codes of the jailer itself; otherwise it exits with the VMM's status. */
#define JAIL_EXIT_USAGE 64 /* a bad jailer option, or hvabs-vmm options it cannot jail */
#define JAIL_EXIT_SETUP 71 /* a step of building the jail failed */
/* A VMM killed by signal N: 128 + N, as a shell reports it. */

#define JAIL_MAX_CGROUP 16

/* What one path of the jail is. */
enum jail_kind {
	JAIL_RO,	/* bound read-only at the same path: binaries, libraries, kernel */
	JAIL_RW,	/* bound read-write at the same path: writable disks, output files */
	JAIL_DEV,	/* a character device node made like the host's, owned by the VMM */
	JAIL_OWNED_DIR, /* an empty directory the VMM may write: where it creates sockets */
};

struct jail_entry {
	char *path;   /* absolute, no ".." (the path inside the jail, and the host's) */
	char *source; /* what is bound there (the path as given), NULL for the others */
	enum jail_kind kind;
};

struct jail {
	/* From the jailer's options (args.c). */
	const char *id;
	char exec_file[PATH_MAX]; /* realpath of --exec-file */
	const char *base;	  /* --chroot-base-dir */
	const char *netns;	  /* --netns PATH to join, or NULL */
	bool new_netns;		  /* --new-netns: an empty network namespace */
	bool daemonize;
	const char *hypervisor;	   /* --hypervisor, or NULL: from hvabs-vmm's arguments */
	const char *parent_cgroup; /* --parent-cgroup, default the exec file's name */
	const char *cgroups[JAIL_MAX_CGROUP]; /* --cgroup FILE=VALUE */
	int ncgroups;
	long long fsize, nofile; /* --resource-limit; -1 = leave as is */
	uid_t uid;
	gid_t gid;
	char **vmm_argv; /* what follows "--", the VMM's argv[1..] */
	int vmm_argc;

	/* Worked out before the namespaces (plan.c, libs.c). */
	char root[PATH_MAX];	   /* <base>/<exec name>/<id>/root */
	char cwd[PATH_MAX];	   /* the caller's directory, recreated inside for relative paths */
	char cgroup_dir[PATH_MAX]; /* the VMM's cgroup v2, "" without --cgroup */
	struct jail_entry *ents;
	size_t nents, cap;
};

/* Prints "hvabs-jailer: STEP WHAT: strerror (errno N)" and returns -1. */
int jail_fail(const char *step, const char *what, int err);
/* Prints "hvabs-jailer: " and the message, returns -1 (a usage error). */
int jail_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* args.c: the jailer's own options. 0, 1 for --help/--version (printed), or -1. */
int jail_parse_args(struct jail *j, int argc, char **argv);

/* plan.c: every path the VM needs, from hvabs-vmm's arguments and the backend. */
int jail_plan(struct jail *j);
/* plan.c: frees what jail_plan() planned. */
void jail_fini(struct jail *j);
/* Adds @p path (made absolute against the caller's directory) as @p kind. */
int jail_add(struct jail *j, const char *path, enum jail_kind kind);

/* libs.c: the ELF interpreter and the shared libraries @p file loads. */
int jail_add_libs(struct jail *j, const char *file, bool required);
/* libs.c: a library loaded by soname at run time (Xen's), with its own libraries. */
int jail_add_soname(struct jail *j, const char *soname);

/* mount.c: builds the jail directory and pivots into it (in the new mount namespace). */
int jail_enter(const struct jail *j);

/* limits.c: makes the VMM's cgroup v2 and writes its limits (before the fork). */
int jail_cgroup_create(struct jail *j);
/* limits.c: moves the calling process into that cgroup. */
int jail_cgroup_join(const struct jail *j);
/* limits.c: the --resource-limit values. */
int jail_rlimits(const struct jail *j);

/* creds.c: every fd but 0-2 closed, no_new_privs, groups, gid and uid dropped. */
int jail_drop(const struct jail *j);

#endif
