/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Limits: a cgroup v2 of the VMM's own (<cgroup2 root>/<parent>/<id>) with
 * the --cgroup FILE=VALUE settings, and the --resource-limit rlimits.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "jailer.h"

static int write_file(const char *dir, const char *file, const char *value)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/%s", dir, file);
	int fd = open(p, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return jail_fail("cgroup: open", p, errno);
	ssize_t n = write(fd, value, strlen(value));
	int e = errno;
	close(fd);
	return n < 0 ? jail_fail("cgroup: write", p, e) : 0;
}

/* The cgroup2 mount: /sys/fs/cgroup, or /sys/fs/cgroup/unified on a hybrid host. */
static const char *cgroup2_root(void)
{
	static const char *const cand[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"};
	struct statfs fs;

	for (size_t i = 0; i < 2; i++)
		if (statfs(cand[i], &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
			return cand[i];
	return NULL;
}

/* Whether the cgroup2 root offers @p ctl (a word of its cgroup.controllers). */
static bool offered(const char *root, const char *ctl)
{
	char p[PATH_MAX + 32], buf[512];
	size_t n = strlen(ctl);

	snprintf(p, sizeof(p), "%s/cgroup.controllers", root);
	FILE *f = fopen(p, "re");
	size_t len = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
	if (f)
		fclose(f);
	buf[len] = '\0';
	for (char *w = strstr(buf, ctl); w; w = strstr(w + 1, ctl))
		if ((w == buf || w[-1] == ' ') && (w[n] == ' ' || w[n] == '\n' || !w[n]))
			return true;
	return false;
}

/* "+memory" into the subtree_control of each level above the VMM's cgroup. */
static int enable(const char *root, const char *parent, const char *key)
{
	char ctl[64], dir[PATH_MAX];
	size_t n = strcspn(key, ".");

	if (n == 0 || n >= sizeof(ctl) - 1 || !strncmp(key, "cgroup.", 7))
		return 0; /* cgroup.* files are the core's, not a controller's */
	snprintf(ctl, sizeof(ctl), "+%.*s", (int)n, key);
	if (!offered(root, ctl + 1)) {
		fprintf(stderr,
			"hvabs-jailer: cgroup: --cgroup %s: controller '%s' is not in %s/"
			"cgroup.controllers on this host\n",
			key, ctl + 1, root);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/%s", root, parent);
	return write_file(root, "cgroup.subtree_control", ctl) ||
		       write_file(dir, "cgroup.subtree_control", ctl)
		   ? -1
		   : 0;
}

int jail_cgroup_create(struct jail *j)
{
	const char *root = cgroup2_root();
	char parent[PATH_MAX];

	if (!j->ncgroups)
		return 0;
	if (!root)
		return jail_fail("cgroup: no cgroup2 file system under", "/sys/fs/cgroup", ENOENT);
	if (snprintf(parent, sizeof(parent), "%s/%s", root, j->parent_cgroup) >=
		(int)sizeof(parent) - 80 ||
	    snprintf(j->cgroup_dir, sizeof(j->cgroup_dir), "%s/%s", parent, j->id) < 0)
		return jail_fail("cgroup", j->parent_cgroup, ENAMETOOLONG);
	if ((mkdir(parent, 0755) && errno != EEXIST))
		return jail_fail("cgroup: mkdir", parent, errno);
	if (mkdir(j->cgroup_dir, 0755))
		return jail_fail("cgroup: mkdir", j->cgroup_dir, errno);
	for (int i = 0; i < j->ncgroups; i++) {
		char key[256];
		const char *eq = strchr(j->cgroups[i], '=');
		snprintf(key, sizeof(key), "%.*s", (int)(eq - j->cgroups[i]), j->cgroups[i]);
		if (enable(root, j->parent_cgroup, key) || write_file(j->cgroup_dir, key, eq + 1))
			return -1;
	}
	return 0;
}

int jail_cgroup_join(const struct jail *j)
{
	return j->cgroup_dir[0] ? write_file(j->cgroup_dir, "cgroup.procs", "0") : 0;
}

int jail_rlimits(const struct jail *j)
{
	struct rlimit r;

	if (j->fsize >= 0) {
		r.rlim_cur = r.rlim_max = (rlim_t)j->fsize;
		if (setrlimit(RLIMIT_FSIZE, &r))
			return jail_fail("setrlimit", "fsize", errno);
	}
	if (j->nofile >= 0) {
		r.rlim_cur = r.rlim_max = (rlim_t)j->nofile;
		if (setrlimit(RLIMIT_NOFILE, &r))
			return jail_fail("setrlimit", "no-file", errno);
	}
	return 0;
}
