/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for hvabs-vmm's configuration (examples/hvabs-vmm): both
 * JSON layouts of --config (ours and Firecracker's, told apart by their
 * keys) and the --disk and --net specs of the command line. Whatever the
 * text, a load either succeeds or fails with a reason; the loaded config is
 * then turned into a kernel command line and freed (the leak check sees
 * what a failed load leaves behind).
 *
 * Input: [what][text...]; what % 3: 0 JSON, 1 --disk spec, 2 --net spec.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_priv.h"

#define CHECK(c)                                                                                   \
	do {                                                                                       \
		if (!(c))                                                                          \
			__builtin_trap();                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmm_config c;
	char err[512] = "";
	int rc;

	if (!size)
		return 0;
	char *text = malloc(size);
	CHECK(text);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	vmm_config_init(&c);
	switch (data[0] % 3) {
	case 0:
		rc = vmm_config_load_json(&c, text, err, sizeof(err));
		break;
	case 1:
		rc = vmm_add_disk(&c, text, err, sizeof(err));
		break;
	default:
		rc = vmm_add_net(&c, text, err, sizeof(err));
		break;
	}
	CHECK(rc <= 0);
	if (getenv("FUZZ_VERBOSE")) /* to check what a seed reaches */
		fprintf(stderr, "config: %d %s\n", rc, err);
	CHECK(!rc || err[0]);
	if (!rc)
		free(vmm_config_kernel_cmdline(&c));
	vmm_config_fini(&c);
	free(text);
	return 0;
}
