/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The jail's file system, built in the VMM's own mount namespace: the per-VM
 * directory becomes a mount point, each planned path is bound or made under
 * it at the path the VMM will use, and pivot_root makes it "/" (the old root
 * is detached, so nothing of the host stays reachable).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "jailer.h"

/* mkdir -p of @p path's components from @p from on (the part under the jail root). */
static int mkdirs(char *path, size_t from)
{
	for (char *s = path + from + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		int rc = mkdir(path, 0755);
		int e = errno;
		*s = c;
		if (rc && e != EEXIST)
			return jail_fail("mkdir", path, e);
		if (!c)
			return 0;
	}
}

static int bind(const char *src, const char *dst, bool ro)
{
	unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV | (ro ? MS_RDONLY : 0);

	if (mount(src, dst, NULL, MS_BIND, NULL))
		return jail_fail("bind mount", src, errno);
	if (mount(NULL, dst, NULL, fl, NULL))
		return jail_fail("remount", dst, errno);
	return 0;
}

static int make_one(const struct jail *j, const struct jail_entry *e)
{
	char t[PATH_MAX * 2];
	struct stat st;
	size_t rl = strlen(j->root);

	snprintf(t, sizeof(t), "%s%s", j->root, e->path);
	char *slash = strrchr(t, '/');
	*slash = '\0';
	if (slash > t + rl && mkdirs(t, rl))
		return -1;
	*slash = '/';
	if (e->kind == JAIL_OWNED_DIR) {
		if (mkdirs(t, rl))
			return -1;
		if (chmod(t, 0700) || chown(t, j->uid, j->gid))
			return jail_fail("chown", t, errno);
		return 0;
	}
	if (stat(e->source, &st))
		return jail_fail("stat", e->source, errno);
	if (e->kind == JAIL_DEV) {
		if (!S_ISCHR(st.st_mode))
			return jail_fail("mknod", e->source, ENODEV);
		if (mknod(t, S_IFCHR | 0600, st.st_rdev) || chown(t, j->uid, j->gid))
			return jail_fail("mknod", t, errno);
		return 0;
	}
	/* A directory may exist already: the parent of a file made in the first pass. */
	if (S_ISDIR(st.st_mode) ? mkdir(t, 0755) && errno != EEXIST : mknod(t, S_IFREG | 0600, 0))
		return jail_fail("mount target", t, errno);
	return bind(e->source, t, e->kind == JAIL_RO);
}

/* The directory must be new or empty: nothing in it may predate this run. */
static int fresh_root(const struct jail *j)
{
	char root[PATH_MAX];
	struct statvfs vfs;

	snprintf(root, sizeof(root), "%s", j->root);
	if (mkdirs(root, 0))
		return -1;
	DIR *d = opendir(j->root);
	if (!d)
		return jail_fail("opendir", j->root, errno);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	if (n)
		return jail_fail("chroot dir (left by an earlier run? remove it)", j->root,
				 ENOTEMPTY);
	if (statvfs(j->root, &vfs) == 0 && (vfs.f_flag & ST_NODEV))
		return jail_fail("chroot dir (its file system is mounted nodev)", j->root, EPERM);
	return 0;
}

int jail_enter(const struct jail *j)
{
	/* Our mounts must not reach the host, nor the host's later mounts reach us. */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL))
		return jail_fail("make / a slave mount", "", errno);
	if (fresh_root(j))
		return -1;
	if (mount(j->root, j->root, NULL, MS_BIND, NULL) ||
	    mount(NULL, j->root, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID, NULL))
		return jail_fail("bind mount", j->root, errno);
	/* Files first: a directory bound later would hide what is made below it. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < j->nents; i++) {
			struct stat st;
			bool dir = j->ents[i].kind != JAIL_DEV &&
				   j->ents[i].kind != JAIL_OWNED_DIR &&
				   stat(j->ents[i].source, &st) == 0 && S_ISDIR(st.st_mode);
			if (dir == (pass == 1) && make_one(j, &j->ents[i]))
				return -1;
		}
	/* pivot_root(2): "." as both new and old root, then detach the old one. */
	if (chdir(j->root) || syscall(SYS_pivot_root, ".", "."))
		return jail_fail("pivot_root", j->root, errno);
	if (umount2(".", MNT_DETACH) || chdir("/"))
		return jail_fail("detach the old root", "", errno);
	/* Relative paths in hvabs-vmm's options name files under the caller's directory. */
	if (chdir(j->cwd))
		(void)chdir("/");
	return 0;
}
