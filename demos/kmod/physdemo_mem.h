/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The ioctl interface of /dev/physmem (physdemo_mem.ko).
 *
 * Shared by the module (demos/kmod/physdemo_mem.c), its C test program
 * (demos/kmod/torture/physmem_torture.c) and physdemo's Rust side, which mirrors
 * these structures byte for byte: every field has a fixed width, every
 * structure is a multiple of 8 bytes with no implicit padding, and the
 * layout is the same for 32-bit and 64-bit callers (no pointers, no longs).
 *
 * The ioctl numbers, as computed by _IOR/_IOWR/_IOW on x86-64 (type 0xB8):
 *
 *   PHYSMEM_IOC_INFO   0x8018b800   struct physmem_info    (24 bytes, out)
 *   PHYSMEM_IOC_PIN    0xc020b803   struct physmem_pin     (32 bytes, in/out)
 *   PHYSMEM_IOC_UNPIN  0x4008b802   struct physmem_unpin   ( 8 bytes, in)
 *
 * An unknown ioctl number fails with ENOTTY. A caller that finds a magic
 * or an ABI version it does not know must not use the other ioctls.
 *
 * ABI 2 (this one) names the process to pin by a pidfd (pidfd_open(2)); ABI 1
 * named it by a pid number (PHYSMEM_IOC_PIN_ABI1, 0xc020b801), which a reused
 * pid could turn into another process. That number now fails with ENOTTY and
 * one kernel log line saying that ABI 2 (a pidfd) is needed.
 */
#ifndef _PHYSDEMO_MEM_H
#define _PHYSDEMO_MEM_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define PHYSMEM_IOC_TYPE	0xB8
#define PHYSMEM_MAGIC		0x70687973	/* "phys" */
#define PHYSMEM_ABI_VERSION	2
#define PHYSMEM_MAX_PINS	64	/* per open file */

/*
 * PHYSMEM_IOC_INFO: identify the module. Everything is output; the caller's
 * buffer is not read.
 */
struct physmem_info {
	__u32 magic;		/* PHYSMEM_MAGIC */
	__u32 abi_version;	/* PHYSMEM_ABI_VERSION */
	__u32 max_pins;		/* pins one open file may hold at once */
	__u32 pins;		/* pins this open file holds now */
	__u32 page_size;	/* bytes in a frame: pfn * page_size = address */
	__u32 reserved;		/* 0 */
};

/*
 * PHYSMEM_IOC_PIN: pin the page that holds @vaddr in the process @pidfd refers
 * to and say which frame it is. The file must be open for writing (else
 * EBADF), and the page must be the process's own: a page of a shared mapping
 * of a file or of shared memory (shmem, memfd, MAP_SHARED|MAP_ANONYMOUS) is
 * refused with EINVAL, as it stays the file's page (a truncate takes it away
 * from the file while the pin keeps the frame). The page is pinned for writing (the kernel's FOLL_WRITE:
 * a copy-on-write, KSM or zero page is first replaced by a private page of the
 * process, exactly as a write by the process itself would), so the frame
 * returned belongs to that process alone. Until the pin is released the page
 * cannot be migrated, swapped out or freed, even if the process unmaps it or
 * exits. The pin belongs to the open file: PHYSMEM_IOC_UNPIN releases it,
 * and closing the file (the last reference, including any mmap of it)
 * releases every pin still held.
 *
 * The physical address of @vaddr is pfn * page_size + (vaddr % page_size).
 */
struct physmem_pin {
	__s32 pidfd;		/* in: a pidfd of the process (pidfd_open(2)) */
	__u32 flags;		/* in: 0 (no flags are defined yet) */
	__u64 vaddr;		/* in: any address inside the page */
	__u64 pfn;		/* out: the pinned page frame number */
	__u64 handle;		/* out: names this pin for PHYSMEM_IOC_UNPIN, never 0 */
};

/* PHYSMEM_IOC_UNPIN: release the pin PHYSMEM_IOC_PIN returned @handle for. */
struct physmem_unpin {
	__u64 handle;		/* in */
};

#define PHYSMEM_IOC_INFO	_IOR(PHYSMEM_IOC_TYPE, 0x00, struct physmem_info)
#define PHYSMEM_IOC_PIN		_IOWR(PHYSMEM_IOC_TYPE, 0x03, struct physmem_pin)
/* ABI 1's PIN (a pid, not a pidfd): refused, see above. */
#define PHYSMEM_IOC_PIN_ABI1	_IOWR(PHYSMEM_IOC_TYPE, 0x01, struct physmem_pin)
#define PHYSMEM_IOC_UNPIN	_IOW(PHYSMEM_IOC_TYPE, 0x02, struct physmem_unpin)

#endif /* _PHYSDEMO_MEM_H */
