/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Xen's libraries, reached through one function table. The table is filled
 * once per process by dlopen of the 4.17 SONAMEs and dlsym of each function
 * (typed from the headers in xen_priv.h), and never changes afterwards, so
 * every VM shares it. Nothing is unloaded: a library may keep state behind
 * handles that outlive any one VM, as the core treats plugins.
 *
 * HVABS_XEN_LIBS=PATH replaces the four libraries with one shared object that
 * defines all the functions: the fake Xen of the tests. The lookups are the
 * same, so the code under test is the code that runs on Xen.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xen_priv.h"

enum {
	LIB_CTRL,
	LIB_DM,
	LIB_FMEM,
	LIB_EVTCHN,
	LIB_COUNT
};

static const char *const sonames[LIB_COUNT] = {
    "libxenctrl.so.4.17",
    "libxendevicemodel.so.1",
    "libxenforeignmemory.so.1",
    "libxenevtchn.so.1",
};

#define S(lib, fn)                                                                                 \
	{                                                                                          \
		lib, #fn, offsetof(struct xen_lib, fn)                                             \
	}
static const struct {
	int lib;
	const char *name;
	size_t off;
} syms[] = {
    S(LIB_CTRL, xc_interface_open),
    S(LIB_CTRL, xc_interface_close),
    S(LIB_CTRL, xc_physinfo),
    S(LIB_CTRL, xc_domain_create),
    S(LIB_CTRL, xc_domain_max_vcpus),
    S(LIB_CTRL, xc_domain_destroy),
    S(LIB_CTRL, xc_domain_pause),
    S(LIB_CTRL, xc_domain_unpause),
    S(LIB_CTRL, xc_domain_getinfo),
    S(LIB_CTRL, xc_vcpu_getinfo),
    S(LIB_CTRL, xc_domain_setmaxmem),
    S(LIB_CTRL, xc_set_paging_mempool_size),
    S(LIB_CTRL, xc_domain_populate_physmap_exact),
    S(LIB_CTRL, xc_domain_decrease_reservation_exact),
    S(LIB_CTRL, xc_domain_set_memory_map),
    S(LIB_CTRL, xc_domain_hvm_getcontext),
    S(LIB_CTRL, xc_domain_hvm_setcontext),
    S(LIB_CTRL, xc_hvm_param_set),
    S(LIB_DM, xendevicemodel_open),
    S(LIB_DM, xendevicemodel_close),
    S(LIB_DM, xendevicemodel_create_ioreq_server),
    S(LIB_DM, xendevicemodel_map_io_range_to_ioreq_server),
    S(LIB_DM, xendevicemodel_set_ioreq_server_state),
    S(LIB_DM, xendevicemodel_destroy_ioreq_server),
    S(LIB_DM, xendevicemodel_set_isa_irq_level),
    S(LIB_DM, xendevicemodel_set_pci_intx_level),
    S(LIB_DM, xendevicemodel_inject_msi),
    S(LIB_DM, xendevicemodel_shutdown),
    S(LIB_FMEM, xenforeignmemory_open),
    S(LIB_FMEM, xenforeignmemory_close),
    S(LIB_FMEM, xenforeignmemory_map),
    S(LIB_FMEM, xenforeignmemory_unmap),
    S(LIB_FMEM, xenforeignmemory_map_resource),
    S(LIB_FMEM, xenforeignmemory_unmap_resource),
    S(LIB_EVTCHN, xenevtchn_open),
    S(LIB_EVTCHN, xenevtchn_close),
    S(LIB_EVTCHN, xenevtchn_fd),
    S(LIB_EVTCHN, xenevtchn_notify),
    S(LIB_EVTCHN, xenevtchn_bind_interdomain),
    S(LIB_EVTCHN, xenevtchn_unbind),
    S(LIB_EVTCHN, xenevtchn_pending),
    S(LIB_EVTCHN, xenevtchn_unmask),
};
#undef S

static int host_wall_clock(uint32_t domid, uint64_t *ns)
{
	struct timespec ts;

	(void)domid;
	if (clock_gettime(CLOCK_REALTIME, &ts))
		return -errno;
	*ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	return 0;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct xen_lib table;
static int load_ok;
static char load_why[512];

/* dlerror() text can span lines; a probe reason must be one. */
static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r')
			*s = ' ';
}

static void load(void)
{
	const char *seam = getenv(XEN_LIBS_ENV);
	void *h[LIB_COUNT] = {NULL};

	for (int i = 0; i < LIB_COUNT; i++) {
		if (seam && *seam)
			h[i] = i ? h[0] : dlopen(seam, RTLD_NOW | RTLD_LOCAL);
		else
			h[i] = dlopen(sonames[i], RTLD_NOW | RTLD_LOCAL);
		if (!h[i]) {
			const char *e = dlerror();
			snprintf(load_why, sizeof(load_why), "Xen libraries missing: %s",
				 e		 ? e
				 : seam && *seam ? seam
						 : sonames[i]);
			one_line(load_why);
			return;
		}
	}
	for (size_t i = 0; i < sizeof(syms) / sizeof(syms[0]); i++) {
		void *f = dlsym(h[syms[i].lib], syms[i].name);
		if (!f) {
			snprintf(load_why, sizeof(load_why),
				 "Xen library %s has no %s (hvabs needs the Xen 4.17 libraries)",
				 seam && *seam ? seam : sonames[syms[i].lib], syms[i].name);
			return;
		}
		/* POSIX guarantees a dlsym result converts to a function pointer. */
		memcpy((char *)&table + syms[i].off, &f, sizeof(f));
	}
	void *clk = seam && *seam ? dlsym(h[0], XEN_SEAM_WALL_CLOCK) : NULL;
	table.wall_clock = host_wall_clock;
	if (clk)
		memcpy(&table.wall_clock, &clk, sizeof(clk));
	load_ok = 1;
}

const struct xen_lib *xen_lib_get(char *why, size_t why_len)
{
	pthread_once(&once, load);
	if (!load_ok) {
		if (why && why_len)
			snprintf(why, why_len, "%s", load_why);
		return NULL;
	}
	return &table;
}

/* The libraries report failure as -1 (or NULL) with errno set. */
int xen_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/*
 * Messages of the libraries go to the host's log instead of stderr. Their
 * errors are also reported by the caller with context, so they are kept at
 * debug level unless Xen calls them critical.
 */
static void logger_vmessage(struct xentoollog_logger *xtl, xentoollog_level level, int errnoval,
			    const char *context, const char *format, va_list al)
{
	struct xen_logger *l = (struct xen_logger *)xtl;
	char msg[400];

	vsnprintf(msg, sizeof(msg), format, al);
	hvabs_host_logf(l->host, level >= XTL_CRITICAL ? HVABS_LOG_ERROR : HVABS_LOG_DEBUG, XEN,
			"%s: %s%s%s", context ? context : "libxen", msg, errnoval > 0 ? ": " : "",
			errnoval > 0 ? strerror(errnoval) : "");
}

static void logger_progress(struct xentoollog_logger *xtl, const char *context,
			    const char *doing_what, int percent, unsigned long done,
			    unsigned long total)
{
	(void)xtl;
	(void)context;
	(void)doing_what;
	(void)percent;
	(void)done;
	(void)total;
}

static void logger_destroy(struct xentoollog_logger *xtl)
{
	(void)xtl; /* embedded in the VM: nothing to free */
}

void xen_logger_init(struct xen_logger *l, const struct hvabs_host *host)
{
	memset(l, 0, sizeof(*l));
	l->xtl.vmessage = logger_vmessage;
	l->xtl.progress = logger_progress;
	l->xtl.destroy = logger_destroy;
	l->host = host;
}
