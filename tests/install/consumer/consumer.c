/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A downstream program: opens the installed mock plugin through the installed
 * library and creates a VM. Built with CONSUMER_BACKEND_DIR (the package's
 * hvabs_BACKEND_DIR, or pkg-config's backenddir), it searches only there,
 * which proves the package names the right directory; without it, libhvabs
 * finds the plugin beside itself. Prints the plugin it loaded.
 */
#include <stdio.h>
#include <string.h>

#include <hvabs/hvabs.h>

int main(void)
{
	struct hvabs_backend_opts o = {0};
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	char err[512] = "";

	o.errbuf = err;
	o.errbuf_len = sizeof(err);
#ifdef CONSUMER_BACKEND_DIR
	o.search_path = CONSUMER_BACKEND_DIR;
	o.no_install_dir = 1;
#endif
	if (strcmp(hvabs_version(), HVABS_VERSION_STRING) != 0) {
		fprintf(stderr, "compiled against hvabs %s, running with %s\n",
			HVABS_VERSION_STRING, hvabs_version());
		return 1;
	}
	int rc = hvabs_backend_open("mock", &o, &be);
	if (rc) {
		fprintf(stderr, "consumer: %s\n", err);
		return 1;
	}
	rc = hvabs_vm_create(be, NULL, &vm);
	if (!rc)
		hvabs_vm_destroy(vm);
	printf("hvabs %s: backend %s from %s, vm %s\n", hvabs_version(), hvabs_backend_name(be),
	       hvabs_backend_path(be), rc ? "failed" : "ok");
	hvabs_backend_close(be);
	return rc ? 1 : 0;
}
