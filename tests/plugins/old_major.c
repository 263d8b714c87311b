/* SPDX-License-Identifier: Apache-2.0 */
/* A plugin built for an older ABI major: it exports hvabs_backend_entry_v0 only. */
#include <stddef.h>

#include <hvabs/plugin/backend.h>

HVABS_BACKEND_EXPORT const void *hvabs_backend_entry_v0(const void *host);

const void *hvabs_backend_entry_v0(const void *host)
{
	(void)host;
	return NULL;
}
