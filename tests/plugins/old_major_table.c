/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A plugin whose v1 entry hands out a table stamped with ABI major 0: an
 * older major is as incompatible as a newer one, and must be refused alike.
 */
#include <hvabs/plugin/backend.h>

static const struct hvabs_backend_ops ops = {
    .hdr = {HVABS_ABI_VERSION(0, 9), sizeof(struct hvabs_backend_ops)},
    .name = "oldmajortable",
};

const struct hvabs_backend_ops *hvabs_backend_entry_v1(const struct hvabs_host *host)
{
	(void)host;
	return &ops;
}
