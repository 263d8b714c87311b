/* SPDX-License-Identifier: Apache-2.0 */
/* virtio-blk's image file: the host I/O side, shared by blk.c and blk_io.c. */
#ifndef HVABS_DEVICES_VIRTIO_BLK_PRIV_H
#define HVABS_DEVICES_VIRTIO_BLK_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <hvabs/devices/virtio_blk.h>

#define BLK_COMP "virtio-blk"

/* O_DIRECT alignment we use for memory, offsets and lengths: safe for 512 and 4K devices. */
#define BLK_DIRECT_ALIGN 4096u
/* Bounce buffer (O_DIRECT) and zero-write chunk size. */
#define BLK_BOUNCE (1u << 20)

struct blk_file {
	int fd;
	bool ro;
	bool direct;
	bool is_bdev;
	uint64_t size;	    /* bytes the guest may address: capacity * 512 */
	uint32_t lbs;	    /* logical block size reported as blk_size */
	uint8_t *bounce;    /* BLK_BOUNCE bytes, BLK_DIRECT_ALIGN aligned */
	bool punch_ok;	    /* FALLOC_FL_PUNCH_HOLE works here */
	bool zero_range_ok; /* FALLOC_FL_ZERO_RANGE works here */
};

int blk_file_open(struct blk_file *f, const char *path, bool ro, bool direct,
		  const struct hvabs_logger *log);
void blk_file_close(struct blk_file *f);
/* Reads @p len bytes at @p off into the chain's writable part, from its start. */
int blk_file_read(struct blk_file *f, const struct hvabs_virtq_chain *c, uint64_t off,
		  uint64_t len);
/* Writes @p len bytes at @p off from the chain's readable part, from @p from. */
int blk_file_write(struct blk_file *f, const struct hvabs_virtq_chain *c, uint64_t from,
		   uint64_t off, uint64_t len);
int blk_file_flush(struct blk_file *f);
int blk_file_discard(struct blk_file *f, uint64_t off, uint64_t len);
int blk_file_write_zeroes(struct blk_file *f, uint64_t off, uint64_t len, bool unmap);

#endif
