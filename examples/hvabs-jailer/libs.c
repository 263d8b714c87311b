/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The shared libraries a program or plugin loads, as its own ELF interpreter
 * resolves them (`ld.so --list FILE`, what ldd runs), with the environment the
 * VMM gets in the jail (none), so the paths listed are the paths it opens.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jailer.h"

/* The PT_INTERP of a 64-bit ELF file; -1 for a static program or not ELF. */
static int elf_interp(const char *file, char *out, size_t len)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	int rc = -1;

	if (fd < 0)
		return -1;
	if (pread(fd, &eh, sizeof(eh), 0) == sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	    eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(ph)) {
		for (unsigned i = 0; i < eh.e_phnum && rc; i++) {
			off_t at = (off_t)(eh.e_phoff + (Elf64_Off)i * sizeof(ph));
			if (pread(fd, &ph, sizeof(ph), at) != sizeof(ph))
				break;
			if (ph.p_type == PT_INTERP && ph.p_filesz > 1 && ph.p_filesz < len &&
			    pread(fd, out, ph.p_filesz, (off_t)ph.p_offset) ==
				(ssize_t)ph.p_filesz) {
				out[ph.p_filesz - 1] = '\0';
				rc = 0;
			}
		}
	}
	close(fd);
	return rc;
}

/* Runs "INTERP --list FILE" with an empty environment; its stdout in @p buf. */
static int run_list(const char *interp, const char *file, char *buf, size_t len)
{
	int p[2];
	size_t used = 0;
	int status;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		char *const env[] = {NULL};
		int null = open("/dev/null", O_WRONLY);
		dup2(p[1], 1);
		if (null >= 0)
			dup2(null, 2);
		execle(interp, interp, "--list", file, (char *)NULL, env);
		_exit(127);
	}
	close(p[1]);
	for (ssize_t n; used + 1 < len && (n = read(p[0], buf + used, len - used - 1)) != 0;)
		if (n > 0)
			used += (size_t)n;
		else if (errno != EINTR)
			break;
	buf[used] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ENOEXEC;
}

int jail_add_libs(struct jail *j, const char *file, bool required)
{
	char interp[PATH_MAX];
	static char buf[65536];

	if (elf_interp(file, interp, sizeof(interp)))
		return required ? jail_fail("ld.so --list", file, ENOEXEC) : 0;
	int rc = run_list(interp, file, buf, sizeof(buf));
	if (rc)
		return required ? jail_fail("ld.so --list", file, -rc) : 0;
	if (jail_add(j, interp, JAIL_RO))
		return -1;
	/* Lines are "\tname => /path (0xADDR)" or "\t/path (0xADDR)"; vdso has no path. */
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *arrow = strstr(line, "=> ");
		char *path = arrow ? arrow + 3 : line + strspn(line, " \t");
		char *end = strstr(path, " (");
		if (path[0] != '/' || !end)
			continue;
		*end = '\0';
		if (jail_add(j, path, JAIL_RO))
			return -1;
	}
	return 0;
}

int jail_add_soname(struct jail *j, const char *soname)
{
	struct link_map *map = NULL;
	void *h = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);

	if (!h || dlinfo(h, RTLD_DI_LINKMAP, &map) || !map || !map->l_name[0])
		return jail_fail("dlopen", soname, ENOENT);
	return jail_add(j, map->l_name, JAIL_RO) || jail_add_libs(j, map->l_name, true) ? -1 : 0;
}
