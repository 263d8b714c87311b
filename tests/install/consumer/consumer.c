/* SPDX-License-Identifier: Apache-2.0 */
/* Opens the installed mock plugin through the installed library. */
#include <stdio.h>

#include <hvabs/hvabs.h>

int main(void)
{
	struct hvabs_backend *be;
	struct hvabs_vm *vm;
	int rc = hvabs_backend_open("mock", NULL, &be);

	if (rc)
		return 1;
	rc = hvabs_vm_create(be, NULL, &vm);
	if (!rc)
		hvabs_vm_destroy(vm);
	printf("hvabs %s: backend %s, vm %s\n", hvabs_version(), hvabs_backend_name(be),
	       rc ? "failed" : "ok");
	hvabs_backend_close(be);
	return rc ? 1 : 0;
}
