/* SPDX-License-Identifier: Apache-2.0 */
/* The driver registry, declared lacks, and the rule for a backend that cannot run here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

/*
 * Every driver of a backend built here. HVT_HAVE_<NAME> comes from
 * tests/harness/CMakeLists.txt, which compiles drv_<name>.c only then.
 */
extern const struct hvt_driver hvt_drv_mock, hvt_drv_mock_nofd;
#ifdef HVT_HAVE_KVM
/* xen-real runs drv_kvm.c's real-mode programs on real Xen (the lab's dom0). */
extern const struct hvt_driver hvt_drv_kvm, hvt_drv_kvm_irqchip, hvt_drv_xen_real;
#endif
#ifdef HVT_HAVE_XEN
extern const struct hvt_driver hvt_drv_xen;
#endif
#ifdef HVT_HAVE_MSHV
extern const struct hvt_driver hvt_drv_mshv;
#endif

static const struct hvt_driver *const drivers[] = {
    &hvt_drv_mock, &hvt_drv_mock_nofd,
#ifdef HVT_HAVE_KVM
    &hvt_drv_kvm,  &hvt_drv_kvm_irqchip, &hvt_drv_xen_real,
#endif
#ifdef HVT_HAVE_XEN
    &hvt_drv_xen,
#endif
#ifdef HVT_HAVE_MSHV
    &hvt_drv_mshv,
#endif
};

#define NDRIVERS (sizeof(drivers) / sizeof(drivers[0]))

const struct hvt_driver *hvt_driver_find(const char *name)
{
	for (size_t i = 0; i < NDRIVERS; i++)
		if (!strcmp(drivers[i]->name, name))
			return drivers[i];
	return NULL;
}

const char *hvt_lacks(const struct hvt_driver *d, uint32_t features)
{
	for (const struct hvt_lack *l = d->lacks; l && l->feature; l++)
		if (l->feature & features)
			return l->why;
	return NULL;
}

uint32_t hvt_needs(const struct hvt_action *acts, size_t n)
{
	static const uint32_t need[] = {
	    [HVT_HLT] = HVT_EXIT_HLT,
	    [HVT_RESET] = HVT_EXIT_RESET,
	    [HVT_SYSTEM_EVENT] = HVT_EXIT_SYSTEM_EVENT,
	    [HVT_HYPERCALL] = HVT_EXIT_HYPERCALL,
	    [HVT_EOI] = HVT_EXIT_EOI,
	    [HVT_INTERNAL_ERROR] = HVT_EXIT_INTERNAL_ERROR,
	    [HVT_UNKNOWN] = HVT_EXIT_UNKNOWN,
	};
	uint32_t f = 0;

	for (size_t i = 0; i < n; i++)
		if ((size_t)acts[i].kind < sizeof(need) / sizeof(need[0]))
			f |= need[acts[i].kind];
	return f;
}

const struct hvt_driver *hvt_init(int argc, char **argv, const char *suite)
{
	const char *name = argc > 1 ? argv[1] : "mock";
	const struct hvt_driver *d = hvt_driver_find(name);

	if (!d) {
		fprintf(stderr, "%s: no driver for '%s' in this program (it has:", suite, name);
		for (size_t i = 0; i < NDRIVERS; i++)
			fprintf(stderr, " %s", drivers[i]->name);
		fprintf(stderr, ")\n");
		exit(2);
	}
	if (d->prepare)
		d->prepare(argc, argv);
	return d;
}

int hvt_available(const struct hvt_driver *d, const char *suite)
{
	char err[512] = "";
	struct hvabs_backend_opts o = {.errbuf = err, .errbuf_len = sizeof(err)};
	struct hvabs_backend *be;

	if (hvabs_backend_open(d->backend, &o, &be) == 0) {
		hvabs_backend_close(be);
		return 1;
	}
	const char *req = d->require_env ? getenv(d->require_env) : NULL;
	int required = !d->require_env || (req && !strcmp(req, "1"));
	fprintf(stderr, "%s %s: backend unavailable: %s%s%s%s\n", suite, d->name, err,
		required ? " (a failure: " : "", required && d->require_env ? d->require_env : "",
		required ? (d->require_env ? "=1)" : "the backend is always built)") : "");
	return required ? -1 : 0;
}
