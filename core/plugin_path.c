/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Where backend plugins are looked for, in this order:
 *
 *  1. beside the library that loads them: `<dir of libhvabs.so>/hvabs/`. In an
 *     install that is `${libdir}/hvabs/`, wherever the tree was moved to; in a
 *     build tree the configure step makes `core/hvabs` a link to the build's
 *     backends directory. A program that links libhvabs statically looks in
 *     `<dir of the program>/hvabs/`.
 *  2. each directory of `$HVABS_BACKEND_PATH` (or the caller's search_path);
 *  3. the directory configured at build time (HVABS_BACKEND_DIR).
 *
 * The plugins shipped with a library come first so a relocated install or a
 * build tree loads the plugins built with it, never a stale copy named by an
 * old environment; a caller who wants one particular file passes its path.
 */
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "priv.h"

#ifndef HVABS_BACKEND_DIR
#define HVABS_BACKEND_DIR "/usr/local/lib/hvabs"
#endif
/* The plugin directory relative to the directory of libhvabs.so. */
#ifndef HVABS_BACKEND_RELDIR
#define HVABS_BACKEND_RELDIR "hvabs"
#endif

/*
 * Writes the directory of the object this code was loaded from (libhvabs.so,
 * or the program itself when linked statically) into @p out. glibc reports the
 * main program's name as "", so that case asks the kernel for the executable.
 */
static int own_dir(char *out, size_t len)
{
	Dl_info info;
	struct link_map *map = NULL;
	char file[PATH_MAX];
	const char *name;

	if (!dladdr1((void *)own_dir, &info, (void **)&map, RTLD_DL_LINKMAP) || !map)
		return -1;
	name = map->l_name && map->l_name[0] ? map->l_name : "/proc/self/exe";
	if (!realpath(name, file))
		return -1;
	char *slash = strrchr(file, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	int n = snprintf(out, len, "%s", file[0] ? file : "/");
	return n > 0 && (size_t)n < len ? 0 : -1;
}

struct finder {
	const char *name;
	const struct hvabs_logger *logger;
	char *tried;
	size_t tried_len, used;
	char *found;
};

/* Tries <dir>/hvabs-<name>.so; on a miss, appends it to the list of places searched. */
static int try_dir(struct finder *f, const char *dir)
{
	char cand[PATH_MAX + 64];

	if (!*dir)
		return 0;
	snprintf(cand, sizeof(cand), "%s/hvabs-%s.so", dir, f->name);
	if (access(cand, F_OK) == 0) {
		/* Says which copy was taken: with several installs this is the question. */
		hvabs_log(f->logger, HVABS_LOG_INFO, CORE, "backend '%s': %s", f->name, cand);
		f->found = strdup(cand);
		return 1;
	}
	int n =
	    snprintf(f->tried + f->used, f->tried_len - f->used, "%s%s", f->used ? ", " : "", cand);
	if (n > 0 && (size_t)n < f->tried_len - f->used)
		f->used += (size_t)n;
	return 0;
}

static int try_list(struct finder *f, const char *list)
{
	char *dirs = list && *list ? strdup(list) : NULL;
	char *save = NULL;
	int hit = 0;

	for (char *d = dirs ? strtok_r(dirs, ":", &save) : NULL; d && !hit;
	     d = strtok_r(NULL, ":", &save))
		hit = try_dir(f, d);
	free(dirs);
	return hit;
}

char *core_plugin_search(const char *name, const struct hvabs_backend_opts *o, char *tried,
			 size_t tried_len)
{
	const char *env = o && o->search_path ? o->search_path : getenv("HVABS_BACKEND_PATH");
	int own = !(o && o->no_install_dir);
	struct finder f = {
	    .name = name, .logger = o ? &o->logger : NULL, .tried = tried, .tried_len = tried_len};
	char dir[PATH_MAX];
	char rel[PATH_MAX + sizeof(HVABS_BACKEND_RELDIR) + 1] = "";

	tried[0] = '\0';
	if (own && own_dir(dir, sizeof(dir)) == 0) {
		snprintf(rel, sizeof(rel), "%s/%s", dir, HVABS_BACKEND_RELDIR);
		if (try_dir(&f, rel))
			return f.found;
	}
	if (try_list(&f, env))
		return f.found;
	if (own && strcmp(rel, HVABS_BACKEND_DIR) && try_dir(&f, HVABS_BACKEND_DIR))
		return f.found;
	return NULL;
}
