/* SPDX-License-Identifier: Apache-2.0 */
/* A plugin whose entry refuses to hand out a table. */
#include <stddef.h>

#include <hvabs/plugin/backend.h>

const struct hvabs_backend_ops *hvabs_backend_entry_v1(const struct hvabs_host *host)
{
	(void)host;
	return NULL;
}
