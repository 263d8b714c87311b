/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-vmm's configuration as its users see it: the struct the command line
 * (cli.c), our JSON layout (config_json.c) and Firecracker's
 * (config_firecracker.c) fill in, through the setters of config.c.
 */
#ifndef HVABS_VMM_CONFIG_H
#define HVABS_VMM_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define VMM_MAX_DISKS 8
#define VMM_MAX_NETS  4
#define VMM_MAX_CPUS  64

enum vmm_reboot {
	VMM_REBOOT_EXIT = 0,	/* guest reboot ends the run with 0 */
	VMM_REBOOT_RESTART = 1, /* guest reboot restarts the guest */
};

enum vmm_console {
	VMM_CONSOLE_STDIO = 0, /* the UART on this terminal */
	VMM_CONSOLE_FILE,      /* UART output to a file, no input */
	VMM_CONSOLE_PTY,       /* virtio-console on a pty */
	VMM_CONSOLE_SOCKET,    /* virtio-console on a Unix socket */
	VMM_CONSOLE_NONE,
};

struct vmm_disk {
	char *id; /* unique: Firecracker's drive_id, else "driveN" */
	char *path;
	char *serial;
	char *partuuid; /* root=PARTUUID=... when root */
	int readonly;
	int direct;	     /* O_DIRECT */
	int root;	     /* Firecracker's is_root_device: root= on the command line */
	int cache_writeback; /* Firecracker's cache_type "Writeback" (we always honour flushes) */
	unsigned num_queues; /* virtio-blk request queues; 0: one */
	int io_uring;	     /* virtio-blk's io_uring engine instead of worker threads */
};

struct vmm_net {
	char *id; /* unique: Firecracker's iface_id, else "netN" */
	char *tap;
	uint8_t mac[6];
	int has_mac;
};

/* Firecracker's logger levels, least to most verbose. */
enum vmm_log_level {
	VMM_LOG_OFF = 0,
	VMM_LOG_ERROR,
	VMM_LOG_WARNING,
	VMM_LOG_INFO,
	VMM_LOG_DEBUG,
	VMM_LOG_TRACE,
};

/* Firecracker's logger and metrics resources (acted on by the API rooms). */
struct vmm_logger {
	int set; /* a logger was configured */
	enum vmm_log_level level;
	char *path;
	int show_level;
	int show_origin;
	char *module;
};

struct vmm_config {
	char *hypervisor;
	char *backend_options;
	char *kernel;
	char *initrd;
	char *cmdline;
	uint64_t mem_size;
	uint32_t cpus;
	enum vmm_reboot reboot;
	enum vmm_console console;
	char *console_path; /* file, or socket path */
	struct vmm_disk disks[VMM_MAX_DISKS];
	unsigned ndisks;
	struct vmm_net nets[VMM_MAX_NETS];
	unsigned nnets;
	int rng;
	int transport_pci;  /* --transport pci: virtio devices on PCI, else virtio-mmio */
	uint32_t vsock_cid; /* 0 = no vsock */
	char *vsock_socket;
	int xen_domid;	      /* -1 = create a domain */
	int quiet;	      /* do not print the VMM's own status lines */
	int timeout_s;	      /* 0 = none: end the run (exit 1) after this many seconds */
	uint64_t deadline_ns; /* CLOCK_MONOTONIC end of the whole run (restarts included) */
	char *trace_exits;    /* write every exit, in the mock's script format, here */
	int allow_file_backend_options; /* --allow-file-backend-options */
	struct vmm_logger logger;
	char *metrics_path;
	char *api_sock; /* --api-sock: serve Firecracker's API on this Unix socket */
	int no_seccomp; /* --seccomp=off: no per-thread syscall filters (debugging only) */
};

/* Outcome of parsing the command line. */
enum vmm_parse {
	VMM_PARSE_RUN = 0,  /* run the VM */
	VMM_PARSE_EXIT = 1, /* --help or --version printed: exit 0 */
	VMM_PARSE_ERROR = 2 /* bad arguments: message in err, exit 2 */
};

void vmm_config_init(struct vmm_config *c);
void vmm_config_fini(struct vmm_config *c);

/*
 * Parses argv into @p c (a --config file first, then the other options on
 * top of it, whatever their order). On error writes a one-line reason to
 * @p err.
 */
enum vmm_parse vmm_config_parse_args(struct vmm_config *c, int argc, char **argv, char *err,
				     size_t errlen);

/* Parses a JSON config (our layout or Firecracker's) into @p c. 0 or -1 with @p err. */
int vmm_config_load_json(struct vmm_config *c, const char *text, char *err, size_t errlen);

/*
 * "256M", "1G", "65536K", "1T", "1073741824" -> bytes (decimal digits only, K/M/G/T
 * binary multiples, optional "iB"/"B"); also accepts "size=256M". -1 on error.
 */
int vmm_parse_size(const char *s, uint64_t *out);

/* "52:54:00:12:34:56" -> 6 bytes. -1 on error. */
int vmm_parse_mac(const char *s, uint8_t mac[6]);

/* The kernel command line (the user's or the default) with root= for a root disk (malloc'd). */
char *vmm_config_kernel_cmdline(const struct vmm_config *c);

/* Prints the usage text. */
void vmm_usage(FILE *out, const char *argv0);

#endif
