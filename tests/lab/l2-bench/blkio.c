/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hvabs-blkio: the L2 guest's half of the virtio-blk benchmark (bench-blk).
 * tests/lab/bench-blk.sh builds it with the host's gcc (-static, so it needs
 * nothing from the L2 initramfs) each time it runs; it is never committed.
 *
 *   hvabs-blkio seqwrite DEV MIB              1 MiB requests from offset 0
 *   hvabs-blkio seqread DEV MIB               the same, checking (untimed) that
 *                                             the data is what seqwrite wrote
 *   hvabs-blkio randread|randwrite DEV OPS    4 KiB requests at random
 *                                             4 KiB-aligned offsets
 *
 * The device is opened with O_DIRECT, so every request goes to the virtio
 * device rather than the guest's page cache, and one request is in flight at
 * a time (queue depth 1: the figure is the per-request cost of the VMM's
 * path). Writes end with fsync(), a virtio-blk FLUSH, inside the timed
 * interval. The random offsets come from a fixed seed, so every VMM sees the
 * same sequence. One line on stdout:
 *
 *   HVABS-BLKIO op=OP bytes=N ops=N secs=S mbps=M iops=I
 *
 * where MB/s is 10^6 bytes per second, as dd reports it. Exit status 0, or 1
 * with a message on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BS	(1024 * 1024)
#define RAND_BS 4096
/* O_DIRECT needs the buffer aligned to the device's logical block; a page covers every case. */
#define ALIGN 4096

struct job {
	const char *op;
	bool write;
	bool random;
	uint64_t dev_bytes;
	uint64_t bytes;	   /* transferred */
	uint64_t ops;	   /* requests made */
	double check_secs; /* spent checking data: not part of the figure */
};

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One whole request; a short transfer on a block device is an error here. */
static int xfer(int fd, bool wr, uint8_t *buf, size_t len, uint64_t off)
{
	for (;;) {
		ssize_t n = wr ? pwrite(fd, buf, len, (off_t)off) : pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			fprintf(stderr, "hvabs-blkio: %s of %zu bytes at %" PRIu64 ": %s\n",
				wr ? "write" : "read", len, off, strerror(e));
			return -e;
		}
		if ((size_t)n != len) {
			fprintf(stderr, "hvabs-blkio: short %s at %" PRIu64 ": %zd of %zu bytes\n",
				wr ? "write" : "read", off, n, len);
			return -EIO;
		}
		return 0;
	}
}

/*
 * seqwrite puts its offset into the first 8 bytes of each block of the
 * pattern; seqread, which blkbench.sh runs right after it, checks every byte,
 * so a VMM that lost or misplaced data cannot post a figure.
 */
static int run_seq(int fd, struct job *j, uint8_t *buf, const uint8_t *want, uint64_t mib)
{
	uint64_t total = mib * SEQ_BS;

	if (total > j->dev_bytes) {
		fprintf(stderr,
			"hvabs-blkio: %" PRIu64 " MiB is more than the device's %" PRIu64
			" bytes\n",
			mib, j->dev_bytes);
		return -EINVAL;
	}
	for (uint64_t off = 0; off < total; off += SEQ_BS) {
		if (j->write)
			memcpy(buf, &off, sizeof(off)); /* every block different */
		int rc = xfer(fd, j->write, buf, SEQ_BS, off);
		if (rc)
			return rc;
		if (!j->write) {
			double t = now();
			if (memcmp(buf, &off, sizeof(off)) ||
			    memcmp(buf + sizeof(off), want + sizeof(off), SEQ_BS - sizeof(off))) {
				fprintf(stderr,
					"hvabs-blkio: the 1 MiB block at %" PRIu64
					" is not what seqwrite writes there\n",
					off);
				return -EIO;
			}
			j->check_secs += now() - t;
		}
		j->bytes += SEQ_BS;
		j->ops++;
	}
	return 0;
}

static int run_rand(int fd, struct job *j, uint8_t *buf, uint64_t ops)
{
	uint64_t blocks = j->dev_bytes / RAND_BS;
	uint64_t seed = j->write ? 0x9e3779b97f4a7c15ull : 0x2545f4914f6cdd1dull;

	if (!blocks) {
		fprintf(stderr, "hvabs-blkio: the device is smaller than %d bytes\n", RAND_BS);
		return -EINVAL;
	}
	for (uint64_t i = 0; i < ops; i++) {
		uint64_t off = xorshift64(&seed) % blocks * RAND_BS;
		if (j->write)
			memcpy(buf, &i, sizeof(i));
		int rc = xfer(fd, j->write, buf, RAND_BS, off);
		if (rc)
			return rc;
		j->bytes += RAND_BS;
		j->ops++;
	}
	return 0;
}

/* A block device's size, or a regular file's (for trying the program out on the host). */
static int dev_size(int fd, const char *path, uint64_t *bytes)
{
	struct stat st;

	if (fstat(fd, &st)) {
		fprintf(stderr, "hvabs-blkio: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		*bytes = (uint64_t)st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode) || ioctl(fd, BLKGETSIZE64, bytes)) {
		fprintf(stderr, "hvabs-blkio: %s: not a block device or regular file\n", path);
		return -1;
	}
	return 0;
}

static int parse_op(const char *s, struct job *j)
{
	static const struct {
		const char *name;
		bool write, random;
	} ops[] = {
	    {"seqread", false, false},
	    {"seqwrite", true, false},
	    {"randread", false, true},
	    {"randwrite", true, true},
	};

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!strcmp(s, ops[i].name)) {
			j->op = ops[i].name;
			j->write = ops[i].write;
			j->random = ops[i].random;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || !v || s[0] == '-' || v > (1ull << 40))
		return -EINVAL;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct job j = {0};
	uint64_t amount;
	uint8_t *buf, *want = NULL;

	if (argc != 4 || parse_op(argv[1], &j) || parse_count(argv[3], &amount)) {
		fprintf(stderr, "usage: hvabs-blkio seqread|seqwrite DEV MIB\n"
				"       hvabs-blkio randread|randwrite DEV OPS\n");
		return 1;
	}
	int fd = open(argv[2], (j.write ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "hvabs-blkio: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	if (dev_size(fd, argv[2], &j.dev_bytes)) {
		close(fd);
		return 1;
	}
	if (posix_memalign((void **)&buf, ALIGN, SEQ_BS) ||
	    posix_memalign((void **)&want, ALIGN, SEQ_BS)) {
		fprintf(stderr, "hvabs-blkio: out of memory\n");
		close(fd);
		return 1;
	}
	/* Data that no layer could compress or recognise as zeroes. */
	uint64_t s = 0x853c49e6748fea9bull;
	for (size_t i = 0; i < SEQ_BS; i += sizeof(uint64_t)) {
		uint64_t v = xorshift64(&s);
		memcpy(want + i, &v, sizeof(v));
	}
	memcpy(buf, want, SEQ_BS);

	double t0 = now();
	int rc = j.random ? run_rand(fd, &j, buf, amount) : run_seq(fd, &j, buf, want, amount);
	if (!rc && j.write && fsync(fd)) {
		fprintf(stderr, "hvabs-blkio: fsync: %s\n", strerror(errno));
		rc = -EIO;
	}
	double secs = now() - t0 - j.check_secs;
	free(buf);
	free(want);
	close(fd);
	if (rc)
		return 1;
	if (secs <= 0)
		secs = 1e-9;
	printf("HVABS-BLKIO op=%s bytes=%" PRIu64 " ops=%" PRIu64
	       " secs=%.3f mbps=%.1f iops=%.0f\n",
	       j.op, j.bytes, j.ops, secs, (double)j.bytes / secs / 1e6, (double)j.ops / secs);
	return 0;
}
