/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's command line: the options, the usage text, and the order in
 * which a --config file and the other options apply (the file first, the
 * command line on top of it).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hvabs/hvabs.h>

#include "config_priv.h"

enum {
	OPT_CONFIG = 0x100,
	OPT_REBOOT,
	OPT_XEN_DOMID,
	OPT_BACKEND_OPTS,
	OPT_TIMEOUT,
	OPT_TRACE,
	OPT_API_SOCK,
	OPT_SECCOMP,
	OPT_SERIAL,
	OPT_ALLOW_FILE_OPTS,
	OPT_TRANSPORT,
};

static const struct option long_opts[] = {
    {"hypervisor", required_argument, NULL, 'H'},
    {"backend-options", required_argument, NULL, OPT_BACKEND_OPTS},
    {"kernel", required_argument, NULL, 'k'},
    {"initrd", required_argument, NULL, 'i'},
    {"initramfs", required_argument, NULL, 'i'},
    {"cmdline", required_argument, NULL, 'c'},
    {"memory", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, 'n'},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"config-file", required_argument, NULL, OPT_CONFIG},
    {"reboot", required_argument, NULL, OPT_REBOOT},
    {"disk", required_argument, NULL, 'd'},
    {"net", required_argument, NULL, 'N'},
    {"rng", no_argument, NULL, 'r'},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"console", required_argument, NULL, 'C'},
    {"serial", required_argument, NULL, OPT_SERIAL},
    {"allow-file-backend-options", no_argument, NULL, OPT_ALLOW_FILE_OPTS},
    {"vsock", required_argument, NULL, 'v'},
    {"xen-domid", required_argument, NULL, OPT_XEN_DOMID},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"trace-exits", required_argument, NULL, OPT_TRACE},
    {"api-sock", required_argument, NULL, OPT_API_SOCK},
    {"seccomp", required_argument, NULL, OPT_SECCOMP},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

void vmm_usage(FILE *out, const char *argv0)
{
	fprintf(
	    out,
	    "usage: %s --kernel FILE [options]\n"
	    "  --hypervisor NAME        kvm, xen, mshv, mock, or a plugin path (default:\n"
	    "                           $HVABS_HYPERVISOR, else the first of kvm, mshv, xen)\n"
	    "  --kernel FILE            bzImage, or ELF vmlinux with a PVH note\n"
	    "  --initrd FILE            initramfs (alias --initramfs)\n"
	    "  --cmdline STRING         kernel command line\n"
	    "  --memory SIZE            guest RAM in K, M, G or T (decimal), e.g. 256M or\n"
	    "                           size=1G (default 256M)\n"
	    "  --cpus N                 vCPUs, also boot=N (default 1)\n"
	    "  --config FILE            JSON config: ours, or Firecracker's (--config-file)\n"
	    "  --allow-file-backend-options  let a config file set backend_options\n"
	    "  --reboot=exit|restart    what a guest reboot does (default exit, status 0)\n"
	    "  --disk path=FILE[,readonly=on][,serial=ID][,direct=on][,num_queues=N]\n"
	    "         [,engine=sync|io_uring]   (repeatable)\n"
	    "  --net tap=NAME[,mac=MAC] --rng\n"
	    "  --transport mmio|pci     virtio devices on virtio-mmio (default) or PCI\n"
	    "  --serial tty|file=P|off|null  COM1 (ttyS0): this terminal (default), a file,\n"
	    "                           or nowhere\n"
	    "  --console stdio|file=P|none  the same, in hvabs-vmm's own words\n"
	    "  --console pty|socket=P   also a virtio-console (hvc0) on a pty or Unix socket\n"
	    "  --vsock cid=N,socket=PATH\n"
	    "  --xen-domid N            attach to an existing paused Xen domain\n"
	    "  --backend-options STR    backend-specific key=value,...\n"
	    "  --timeout SECONDS        stop the guest and fail after this long\n"
	    "  --trace-exits FILE       record every exit (replay it on the mock backend\n"
	    "                           with --backend-options script=FILE)\n"
	    "  --api-sock PATH          serve Firecracker's API on this Unix socket "
	    "(docs/api.md);\n"
	    "                           without a kernel, wait for its InstanceStart\n"
	    "  --seccomp=on|off         per-thread syscall filters (default on; off only\n"
	    "                           for debugging, docs/security.md)\n"
	    "  --quiet                  no status lines from the VMM itself\n"
	    "  --help, --version\n"
	    "Environment: HVABS_HYPERVISOR (backend name or path), HVABS_BACKEND_PATH (where\n"
	    "plugins are), HVABS_LOG=error|warn|info|debug (how much hvabs says, default warn).\n"
	    "Exit status: 0 guest power-off or reboot, 1 guest crash/panic/triple fault or VMM\n"
	    "error, 2 bad arguments.\n",
	    argv0);
}

/*
 * --serial as Cloud Hypervisor spells it, for COM1: tty, file=PATH, off or
 * null. A pty or socket is a virtio-console here (--console pty|socket=P).
 */
static int set_serial(struct vmm_config *c, const char *v, char *err, size_t errlen)
{
	if (c->console == VMM_CONSOLE_PTY || c->console == VMM_CONSOLE_SOCKET)
		return ERR("--serial %s: cannot be combined with --console pty or socket=", v);
	if (!strcmp(v, "tty"))
		c->console = VMM_CONSOLE_STDIO;
	else if (!strcmp(v, "off") || !strcmp(v, "null"))
		c->console = VMM_CONSOLE_NONE;
	else if (!strncmp(v, "file=", 5) && v[5]) {
		c->console = VMM_CONSOLE_FILE;
		vmm_set_str(&c->console_path, v + 5);
	} else if (!strcmp(v, "pty") || !strncmp(v, "socket=", 7))
		return ERR("--serial %s: COM1 on a pty or socket is not supported; --console "
			   "pty|socket=PATH gives a virtio-console (hvc0) there",
			   v);
	else
		return ERR("--serial %s: use tty, file=PATH, off or null", v);
	return 0;
}

/* --xen-domid N and --timeout S: whole numbers in a range. */
static int set_number(struct vmm_config *c, int opt, const char *v, char *err, size_t errlen)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (opt == OPT_XEN_DOMID) {
		if (!*v || *end || n < 1 || n > 0x7fef)
			return ERR("--xen-domid %s: want a domain id from 1 to 32751", v);
		c->xen_domid = (int)n;
	} else {
		if (!*v || *end || n < 1)
			return ERR("--timeout %s: want a number of seconds", v);
		c->timeout_s = (int)n;
	}
	return 0;
}

/* One option other than --help and --version: 0, or -1 with a reason in err. */
static int apply_option(struct vmm_config *c, int opt, char **argv, char *err, size_t errlen)
{
	switch (opt) {
	case 'H':
		vmm_set_str(&c->hypervisor, optarg);
		return 0;
	case OPT_BACKEND_OPTS:
		vmm_set_str(&c->backend_options, optarg);
		return 0;
	case 'k':
		vmm_set_str(&c->kernel, optarg);
		return 0;
	case 'i':
		vmm_set_str(&c->initrd, optarg);
		return 0;
	case 'c':
		vmm_set_str(&c->cmdline, optarg);
		return 0;
	case 'm':
		return vmm_set_memory(c, optarg, err, errlen);
	case 'n':
		return vmm_set_cpus(c, optarg, err, errlen);
	case OPT_CONFIG:
		return 0; /* read in the first pass */
	case OPT_REBOOT:
		return vmm_set_reboot(c, optarg, err, errlen);
	case 'd':
		return vmm_add_disk(c, optarg, err, errlen);
	case 'N':
		return vmm_add_net(c, optarg, err, errlen);
	case 'r':
		c->rng = 1;
		return 0;
	case 'C':
		return vmm_set_console(c, optarg, err, errlen);
	case 'v':
		return vmm_set_vsock(c, optarg, err, errlen);
	case OPT_XEN_DOMID:
	case OPT_TIMEOUT:
		return set_number(c, opt, optarg, err, errlen);
	case OPT_API_SOCK:
		vmm_set_str(&c->api_sock, optarg);
		return 0;
	case OPT_TRACE:
		vmm_set_str(&c->trace_exits, optarg);
		return 0;
	case OPT_SERIAL:
		return set_serial(c, optarg, err, errlen);
	case OPT_ALLOW_FILE_OPTS:
		return 0; /* read in the first pass */
	case OPT_TRANSPORT:
		if (strcmp(optarg, "pci") && strcmp(optarg, "mmio"))
			return ERR("--transport %s: use mmio or pci", optarg);
		c->transport_pci = !strcmp(optarg, "pci");
		return 0;
	case OPT_SECCOMP:
		if (strcmp(optarg, "on") && strcmp(optarg, "off"))
			return ERR("--seccomp %s: want on or off", optarg);
		c->no_seccomp = !strcmp(optarg, "off");
		return 0;
	case 'q':
		c->quiet = 1;
		return 0;
	case ':':
		return ERR("option %s needs a value", argv[optind - 1]);
	default:
		return ERR("unknown option %s", argv[optind - 1]);
	}
}

/* What no single option can check: a kernel to boot, and Xen attach mode's limits. */
static int check_config(const struct vmm_config *c, char *err, size_t errlen)
{
	if (!c->kernel && c->xen_domid < 0 && !c->api_sock)
		return ERR("no kernel: give --kernel FILE (or a config file with one)");
	/* Xen attach mode: the toolstack built the domain and decides what a reboot does. */
	if (c->xen_domid >= 0 && (c->kernel || c->initrd))
		return ERR(
		    "--xen-domid serves a domain its toolstack loaded: no --kernel or --initrd");
	if (c->xen_domid >= 0 && c->reboot == VMM_REBOOT_RESTART)
		return ERR(
		    "--reboot=restart cannot be used with --xen-domid: the toolstack restarts "
		    "the domain (xl's on_reboot)");
	return 0;
}

/*
 * The first pass: --allow-file-backend-options, wherever it stands, then the
 * config files in order, so the options of the second pass override them.
 */
static int load_config_files(struct vmm_config *c, int argc, char **argv, char *err, size_t errlen)
{
	int opt;

	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1)
		if (opt == OPT_ALLOW_FILE_OPTS)
			c->allow_file_backend_options = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1)
		if (opt == OPT_CONFIG && vmm_config_load_file(c, optarg, err, errlen))
			return -1;
	return 0;
}

static void print_version(void)
{
	/* The VMM as built, the library as loaded: they differ when libhvabs was upgraded. */
	printf("hvabs-vmm %s\nlibhvabs %s (plugin ABI %d.%d)\n", HVABS_VMM_VERSION, hvabs_version(),
	       HVABS_ABI_MAJOR, HVABS_ABI_MINOR);
}

enum vmm_parse vmm_config_parse_args(struct vmm_config *c, int argc, char **argv, char *err,
				     size_t errlen)
{
	int opt;

	/* --help and --version win over anything else on the line, even a bad config file. */
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		if (opt == 'h') {
			vmm_usage(stdout, argv[0]);
			return VMM_PARSE_EXIT;
		}
		if (opt == 'V') {
			print_version();
			return VMM_PARSE_EXIT;
		}
	}
	if (load_config_files(c, argc, argv, err, errlen))
		return VMM_PARSE_ERROR;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1)
		if (apply_option(c, opt, argv, err, errlen))
			return VMM_PARSE_ERROR;
	if (optind < argc) {
		(void)ERR("unexpected argument '%s'", argv[optind]);
		return VMM_PARSE_ERROR;
	}
	return check_config(c, err, errlen) ? VMM_PARSE_ERROR : VMM_PARSE_RUN;
}
