/* SPDX-License-Identifier: Apache-2.0 */
/*
 * virtio-blk host I/O: the image file or block device. Buffered I/O goes
 * straight between the file and guest memory with preadv/pwritev over the
 * chain's segments. With O_DIRECT, memory, offsets and lengths must be
 * aligned, which guest buffers are not: data goes through an aligned bounce
 * buffer in windows of whole 4 KiB blocks, with read-modify-write for the
 * partial blocks at either end of a write.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <hvabs/log.h>

#include "blk_priv.h"

#define IOV_BATCH 64

/* The image's size in bytes, and for a block device its logical block size. */
static int image_size(struct blk_file *f, const char *path, const struct hvabs_logger *log,
		      uint64_t *bytes)
{
	struct stat st;
	int lbs = 0;

	if (fstat(f->fd, &st)) {
		int rc = -errno;
		hvabs_log(log, HVABS_LOG_ERROR, BLK_COMP, "%s: %s", path, strerror(errno));
		return rc;
	}
	if (S_ISREG(st.st_mode)) {
		*bytes = (uint64_t)st.st_size;
		return 0;
	}
	if (!S_ISBLK(st.st_mode)) {
		hvabs_log(log, HVABS_LOG_ERROR, BLK_COMP, "%s: not a regular file or block device",
			  path);
		return -EINVAL;
	}
	f->is_bdev = true;
	if (ioctl(f->fd, BLKGETSIZE64, bytes)) {
		int rc = -errno;
		hvabs_log(log, HVABS_LOG_ERROR, BLK_COMP, "%s: cannot get its size: %s", path,
			  strerror(errno));
		return rc;
	}
	/* The guest issues I/O in units of the host device's logical block. */
	if (!ioctl(f->fd, BLKSSZGET, &lbs) && lbs >= 512 && lbs <= 4096 && !(lbs & (lbs - 1)))
		f->lbs = (uint32_t)lbs;
	return 0;
}

int blk_file_open(struct blk_file *f, const char *path, bool ro, bool direct,
		  const struct hvabs_logger *log)
{
	uint64_t bytes = 0;

	memset(f, 0, sizeof(*f));
	f->ro = ro;
	f->direct = direct;
	f->lbs = 512;
	atomic_init(&f->punch_ok, true);
	atomic_init(&f->zero_range_ok, true);
	f->fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0));
	if (f->fd < 0) {
		int rc = -errno;
		hvabs_log(log, HVABS_LOG_ERROR, BLK_COMP, "%s: %s%s", path, strerror(errno),
			  direct && errno == EINVAL ? " (O_DIRECT not supported there?)" : "");
		return rc;
	}
	int rc = image_size(f, path, log, &bytes);
	/* With O_DIRECT whole aligned blocks are read and written: stay inside the file. */
	uint64_t unit = direct ? BLK_DIRECT_ALIGN : 512;
	f->size = bytes / unit * unit;
	if (!rc && f->size != bytes)
		hvabs_log(log, HVABS_LOG_WARN, BLK_COMP,
			  "%s: size %llu is not a multiple of %llu; the last %llu bytes are not "
			  "visible to the guest",
			  path, (unsigned long long)bytes, (unsigned long long)unit,
			  (unsigned long long)(bytes - f->size));
	if (!rc && !f->size) {
		hvabs_log(log, HVABS_LOG_ERROR, BLK_COMP, "%s: smaller than %llu bytes", path,
			  (unsigned long long)unit);
		rc = -EINVAL;
	}
	if (rc)
		blk_file_close(f);
	return rc;
}

void blk_file_close(struct blk_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

uint8_t *blk_bounce_alloc(void)
{
	void *p;

	return posix_memalign(&p, BLK_DIRECT_ALIGN, BLK_BOUNCE) ? NULL : p;
}

/* ---- whole transfers, retrying short ones ---- */

static int pread_full(int fd, uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			memset(p, 0, len); /* the file shrank under us: read zeroes */
			return 0;
		}
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int pwrite_full(int fd, const uint8_t *p, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/* ---- buffered: guest segments straight to the file ---- */

/* Up to IOV_BATCH pieces of one part of the chain, from @p pos; their total in *got. */
static int gather(const struct hvabs_virtq_chain *c, int part, uint64_t pos, uint64_t len,
		  struct iovec *iov, uint64_t *got)
{
	uint32_t first = part == HVABS_VIRTQ_READABLE ? 0 : c->nr_readable;
	uint32_t end = first + (part == HVABS_VIRTQ_READABLE ? c->nr_readable : c->nr_writable);
	int n = 0;

	*got = 0;
	for (uint32_t i = first; i < end && n < IOV_BATCH && *got < len; i++) {
		uint64_t sl = c->seg[i].len;
		if (pos >= sl) {
			pos -= sl;
			continue;
		}
		uint64_t k = sl - pos < len - *got ? sl - pos : len - *got;
		iov[n].iov_base = (uint8_t *)c->seg[i].hva + pos;
		iov[n].iov_len = (size_t)k;
		n++;
		*got += k;
		pos = 0;
	}
	return n;
}

static int vec_io(struct blk_file *f, const struct hvabs_virtq_chain *c, int part, uint64_t pos,
		  uint64_t off, uint64_t len, bool wr)
{
	struct iovec iov[IOV_BATCH];

	while (len) {
		uint64_t got;
		int n = gather(c, part, pos, len, iov, &got);
		if (!n)
			return -EIO; /* the caller checked the lengths: cannot happen */
		ssize_t r =
		    wr ? pwritev(f->fd, iov, n, (off_t)off) : preadv(f->fd, iov, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0) {
			if (wr)
				return -EIO;
			/* Past the end of a file that shrank: the rest reads as zeroes. */
			for (int i = 0; i < n; i++)
				memset(iov[i].iov_base, 0, iov[i].iov_len);
			r = (ssize_t)got;
		}
		pos += (uint64_t)r;
		off += (uint64_t)r;
		len -= (uint64_t)r;
	}
	return 0;
}

/* ---- O_DIRECT: through the aligned bounce buffer ---- */

enum src {
	SRC_CHAIN,
	SRC_ZERO
};

static int direct_io(struct blk_file *f, uint8_t *bounce, const struct hvabs_virtq_chain *c,
		     uint64_t pos, uint64_t off, uint64_t len, bool wr, enum src src)
{
	const uint64_t a = BLK_DIRECT_ALIGN;

	while (len) {
		uint64_t start = off & ~(a - 1), head = off - start;
		uint64_t n = len < BLK_BOUNCE - head ? len : BLK_BOUNCE - head;
		uint64_t wlen = (head + n + a - 1) & ~(a - 1);
		int rc = 0;
		/* Reads, and writes that leave part of a block alone, need the old data. */
		if (!wr || head || (n & (a - 1)))
			rc = pread_full(f->fd, bounce, (size_t)wlen, start);
		if (rc)
			return rc;
		if (!wr) {
			hvabs_virtq_chain_write(c, pos, bounce + head, (size_t)n);
		} else {
			if (src == SRC_ZERO)
				memset(bounce + head, 0, (size_t)n);
			else
				hvabs_virtq_chain_read(c, pos, bounce + head, (size_t)n);
			rc = pwrite_full(f->fd, bounce, (size_t)wlen, start);
			if (rc)
				return rc;
		}
		pos += n;
		off += n;
		len -= n;
	}
	return 0;
}

int blk_file_read(struct blk_file *f, uint8_t *bounce, const struct hvabs_virtq_chain *c,
		  uint64_t off, uint64_t len)
{
	if (f->direct)
		return direct_io(f, bounce, c, 0, off, len, false, SRC_CHAIN);
	return vec_io(f, c, HVABS_VIRTQ_WRITABLE, 0, off, len, false);
}

int blk_file_write(struct blk_file *f, uint8_t *bounce, const struct hvabs_virtq_chain *c,
		   uint64_t from, uint64_t off, uint64_t len)
{
	if (f->direct)
		return direct_io(f, bounce, c, from, off, len, true, SRC_CHAIN);
	return vec_io(f, c, HVABS_VIRTQ_READABLE, from, off, len, true);
}

int blk_file_flush(struct blk_file *f)
{
	return fdatasync(f->fd) ? -errno : 0;
}

static int write_zero_bytes(struct blk_file *f, uint8_t *bounce, uint64_t off, uint64_t len)
{
	if (f->direct)
		return direct_io(f, bounce, NULL, 0, off, len, true, SRC_ZERO);
	memset(bounce, 0, BLK_BOUNCE);
	while (len) {
		uint64_t n = len < BLK_BOUNCE ? len : BLK_BOUNCE;
		int rc = pwrite_full(f->fd, bounce, (size_t)n, off);
		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

static bool unsupported(int err)
{
	return err == EOPNOTSUPP || err == ENOTSUP || err == ENOSYS || err == EINVAL;
}

int blk_file_discard(struct blk_file *f, uint64_t off, uint64_t len)
{
	/* §5.2.6.3: a discard MAY deallocate; where the host cannot, doing nothing is valid. */
	if (!atomic_load(&f->punch_ok))
		return 0;
	if (fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len)) {
		if (!unsupported(errno))
			return -errno;
		atomic_store(&f->punch_ok, false);
	}
	return 0;
}

int blk_file_write_zeroes(struct blk_file *f, uint8_t *bounce, uint64_t off, uint64_t len,
			  bool unmap)
{
	/* Either way later reads must return zeroes (§5.2.6.3). */
	if (unmap && atomic_load(&f->punch_ok)) {
		if (!fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			       (off_t)len))
			return 0;
		if (!unsupported(errno))
			return -errno;
		atomic_store(&f->punch_ok, false);
	}
	if (atomic_load(&f->zero_range_ok)) {
		if (!fallocate(f->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			       (off_t)len))
			return 0;
		if (!unsupported(errno))
			return -errno;
		atomic_store(&f->zero_range_ok, false);
	}
	return write_zero_bytes(f, bounce, off, len);
}
