// SPDX-License-Identifier: GPL-2.0
/*
 * physdemo_mem: /dev/physmem, physdemo's own door to physical memory.
 *
 * For kernels where /dev/mem is locked for RAM (CONFIG_STRICT_DEVMEM, x86
 * PAT): a misc device, root only (mode 0600, CAP_SYS_RAWIO checked at open),
 * modelled on drivers/char/mem.c. It is not a way around kernel lockdown:
 * under lockdown it refuses at open exactly as /dev/mem does and says so,
 * once, in the kernel log.
 *
 * read()/write() at an offset = a physical address. The whole access must lie
 * either in System RAM or in one device range, else nothing is accessed:
 *
 *   System RAM   every page pfn_valid() and page_is_ram(). Copied one page
 *                at most per step through a temporary kernel mapping
 *                (kmap_local_page) and a bounce buffer, so that a page the
 *                kernel maps read-only or not at all fails with EIO instead
 *                of an oops. A write also fails with EIO on a page of the
 *                kernel's image that its own mapping keeps read-only (text,
 *                rodata, ro_after_init), even where the direct map would
 *                take it. Within a page the copy uses the widest naturally
 *                aligned stores, so an aligned 8-byte write is one store.
 *   device       a single IORESOURCE_MEM resource of /proc/iomem, without a
 *                description (desc), that is neither RAM nor a bridge window:
 *                a top-level one (HPET, IOAPIC, a platform device) or, inside
 *                a bridge window, a PCI BAR or a range a driver claimed
 *                (busy), at any depth. Never firmware's: no range of the
 *                firmware's memory map (e820: Reserved, ACPI tables and NVS,
 *                Unusable memory, persistent memory, unknown types) and no
 *                resource with a description (Reserved, ACPI, ...) at any
 *                level may overlap it. Accessed through ioremap() (uncached),
 *                and only as ONE access of 1, 2, 4 or 8 bytes at an address
 *                aligned to that size: readb/readw/readl/readq or
 *                writeb/.../writeq, nothing else; and not 8 bytes of the
 *                local APIC or an IOAPIC (32-bit registers). Registers have
 *                side effects; other lengths and misaligned accesses fail
 *                with EINVAL, so `dd` of a device range fails rather than
 *                touching it byte by byte.
 *
 * Exclusive claims (IORESOURCE_EXCLUSIVE) are looked for at every level of
 * the resource tree here (walk_iomem_res_desc() descends into children),
 * not left to region_intersects(), which looks below the top level only
 * since a 6.1 stable update.
 *
 * mmap(): MAP_SHARED only; whole pages must lie in RAM or in one device
 * resource, as for read/write. A device range is mapped uncached (UC-, what
 * mmap_mem() gives with O_SYNC; a register is never mapped cacheable here)
 * and never with the memory-encryption bit (pgprot_decrypted(), as
 * phys_mem_access_prot() does), by one remap_pfn_range(). RAM is mapped
 * write-back, or asked UC- with O_SYNC as mmap_mem() does, one page per
 * remap_pfn_range() so that with PAT each page keeps the cache type the
 * kernel gave it (a remap of the whole VMA checks the first page only). Every
 * RAM page obeys read()/write()'s rules first: a page the kernel does not
 * map (secret memory) fails with EIO; a writable mapping of a page it keeps
 * read-only (its text, rodata) fails with EIO, and a read-only mapping of
 * one loses VM_MAYWRITE, so mprotect() cannot make it writable.
 *
 * What a mapping cannot do: it is not revoked. A mapping of a device range
 * made while a driver held it stays after the driver leaves (and a mapping
 * made before a driver claims a range stays too; /dev/mem revokes its own
 * mappings then, with CONFIG_IO_STRICT_DEVMEM, through an inode this module
 * has no access to); only new read/write/mmap calls see the change.
 *
 * An open file keeps what it was opened with, as /dev/mem's does: CAP_SYS_RAWIO
 * is checked at open only, so a file passed to or inherited by an
 * unprivileged process reads, writes and maps as it did for root (the pin's
 * ptrace check is made against the caller, whoever it is). Kernel lockdown is
 * checked at open and again at every read, write, mmap and pin (EPERM).
 *
 * Errors. Every refusal comes before anything is read or written, but for
 * EFAULT from a user buffer found bad only after a register was read.
 *
 *   open    EPERM     no CAP_SYS_RAWIO
 *           (lockdown's errno, EPERM)  kernel lockdown forbids /dev/mem too
 *           ENOMEM    no memory for the per-file state
 *   read/   EPERM     kernel lockdown (raised since the open)
 *   write   EINVAL    negative offset, or offset + length overflows (VFS);
 *                     a device access that is not 1/2/4/8 bytes, aligned,
 *                     or 8 bytes of the local APIC or an IOAPIC
 *           ENXIO     not all RAM and not inside one device range: a hole,
 *                     Reserved/ACPI/Unusable/firmware memory, beyond the
 *                     end of physical memory, or crossing from one to another
 *           EPERM     a driver marked the range exclusive
 *                     (IORESOURCE_EXCLUSIVE), at any level
 *           EIO       the kernel maps that RAM page read-only or not at all
 *                     (secret memory, ...); a write into its text or rodata
 *           EFAULT    the user buffer is not accessible
 *           ENOMEM    ioremap() or the bounce buffer failed
 *           A read or write that fails after some pages were done returns
 *           the bytes done; a pending signal also ends it early that way.
 *   lseek   EINVAL    SEEK_END/SEEK_DATA/SEEK_HOLE, a negative result
 *   mmap    EINVAL    not MAP_SHARED, offset or length overflows
 *           EPERM     kernel lockdown
 *           ENXIO, EPERM  as for read/write, over the whole pages mapped
 *           EIO       a RAM page the kernel does not map; a writable mapping
 *                     of a RAM page it keeps read-only
 *           (remap_pfn_range's errno, e.g. EINVAL for a PAT conflict)
 *   ioctl   see physdemo_mem.h and physmem_pin() below; ENOTTY unknown,
 *           and ABI 1's PIN number (with a kernel log line naming ABI 2).
 *
 * Pinning (PHYSMEM_IOC_PIN, ABI 2): the process is named by a pidfd, so a
 * reused pid never gets another process pinned; the file must be open for
 * writing; only the process's own pages (not a shared mapping of a file or of
 * shared memory). pin_user_pages_remote() on the target's mm
 * with FOLL_WRITE (the frame returned is the process's own: copy-on-write,
 * KSM and zero pages are replaced first, as a write by the process would)
 * and without FOLL_LONGTERM (a pin lasts for one poke; a long-term pin would
 * first migrate a ZONE_MOVABLE or CMA page, moving the very page the caller
 * asked about). The access check is the one a ptrace attach needs
 * (mm_access() with PTRACE_MODE_ATTACH_REALCREDS), rebuilt here because
 * neither mm_access() nor ptrace_may_access() is exported to modules: same
 * thread group, or same uid/gid on all three ids, or CAP_SYS_PTRACE over the
 * target's user namespace; and a non-dumpable mm needs CAP_SYS_PTRACE over
 * its user namespace. The LSM ptrace hook (Yama, SELinux) cannot be called
 * from a module and is not consulted; the file already lets its holder write
 * any RAM, so a pin gives nothing beyond the frame number. At most
 * PHYSMEM_MAX_PINS pins per open file; all are released when it is closed,
 * and each page is marked dirty when unpinned (it may have been written
 * behind the kernel's back).
 *
 * arm64 (CONFIG_ARM64), the same rules but for what is x86's alone: no
 * e820 map (firmware's NOMAP memory carries a description), no APIC list;
 * whether the kernel maps a RAM page, and read-only, is asked of the MMU (AT
 * S1E1R/S1E1W on its linear-map address); RAM is mapped with the attributes
 * /dev/mem gives it there (phys_mem_access_prot(): Normal non-cacheable with
 * O_SYNC), a device range Device-nGnRnE (pgprot_noncached()).
 *
 * Build: against the VM kernel (demos/kmod/build, or by hand with
 * make -C "$(demos/kernel/build --print-dir)" M=DIR modules, with this file,
 * physdemo_mem.h and a Kbuild in DIR). Tests: demos/e2e/physmem.sh.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/magic.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include <linux/acpi.h>

#ifdef CONFIG_X86
#include <asm/apicdef.h>
#include <asm/cpufeature.h>
#include <asm/e820/api.h>
#include <asm/msr.h>
#endif
#include <asm/page.h>
#include <asm/pgtable.h>
#ifdef CONFIG_ARM64
#include <asm/sysreg.h>
#endif

#include "physdemo_mem.h"

#if !defined(CONFIG_X86_64) && !defined(CONFIG_ARM64)
#error "physdemo_mem knows the page tables of x86-64 and arm64 only"
#endif

#ifndef readq
#error "physdemo_mem needs readq/writeq: an 8-byte register access must be one access"
#endif

/* What an access may touch; a negative errno when neither. */
enum physmem_kind {
	PHYSMEM_RAM = 1,
	PHYSMEM_DEVICE = 2,
};

struct physmem_pinned {
	struct page *page;
	u64 handle;
};

/* Per open file: the pins it holds. */
struct physmem_file {
	struct mutex lock;		/* protects everything below */
	unsigned int pins;		/* slots in use or reserved */
	u64 last_handle;
	struct physmem_pinned pinned[PHYSMEM_MAX_PINS];
};

static inline unsigned long size_inside_page(unsigned long start,
					     unsigned long size)
{
	unsigned long sz;

	sz = PAGE_SIZE - (start & (PAGE_SIZE - 1));

	return min(sz, size);
}

static inline bool should_stop_iteration(void)
{
	if (need_resched())
		cond_resched();
	return signal_pending(current);
}

/* Is every page of [start, start + size) System RAM with a struct page? */
static bool physmem_all_ram(phys_addr_t start, u64 size)
{
	unsigned long pfn = PHYS_PFN(start);
	unsigned long last = PHYS_PFN(start + size - 1);

	for (; pfn <= last; pfn++) {
		if (!pfn_valid(pfn) || !page_is_ram(pfn))
			return false;
		if (!(pfn & 1023))
			cond_resched();
	}
	return true;
}

/*
 * May the kernel's own RAM page at @pfn (pfn_valid, System RAM) be read and
 * written through /dev/physmem? The read and write paths go through the
 * kernel's direct map and fail with EIO where it faults; mmap() asks this
 * first, page by page, so that a mapping never grants more than read() and
 * write() would:
 *
 *   PHYSMEM_NONE   the direct map does not map it (secret memory, ...)
 *   PHYSMEM_RO     mapped read-only there, or the page is part of the
 *                  kernel's image and its own mapping of it (the
 *                  __START_KERNEL_map alias) is read-only: text, rodata,
 *                  ro_after_init data
 *   PHYSMEM_RW     anything else
 *
 * x86-64: the page tables, read as kernel_page_present() reads them. arm64:
 * the MMU, asked by an address translation instruction (below).
 */
enum physmem_access {
	PHYSMEM_NONE,
	PHYSMEM_RO,
	PHYSMEM_RW,
};

#ifdef CONFIG_X86
static enum physmem_access physmem_kernel_access(unsigned long pfn)
{
	phys_addr_t p = PFN_PHYS(pfn);
	unsigned int level;
	pte_t *pte;

	pte = lookup_address((unsigned long)page_address(pfn_to_page(pfn)),
			     &level);
	if (!pte || !(pte_val(*pte) & _PAGE_PRESENT))
		return PHYSMEM_NONE;
	if (!(pte_val(*pte) & _PAGE_RW))
		return PHYSMEM_RO;
	/* The kernel image's own mapping: phys_base is where it starts. */
	if (p >= phys_base && p - phys_base < KERNEL_IMAGE_SIZE) {
		pte = lookup_address(__START_KERNEL_map + (p - phys_base),
				     &level);
		if (pte && (pte_val(*pte) & _PAGE_PRESENT) &&
		    !(pte_val(*pte) & _PAGE_RW))
			return PHYSMEM_RO;
	}
	return PHYSMEM_RW;
}
#else
/*
 * Would the kernel's stage 1 translation of @va succeed for a read (AT
 * S1E1R) or a write (AT S1E1W)? PAR_EL1.F says it faulted. Interrupts are
 * off from the AT to the read of PAR_EL1, which a handler could overwrite.
 */
static bool physmem_translates(unsigned long va, bool write)
{
	unsigned long flags;
	u64 par;

	local_irq_save(flags);
	if (write)
		asm volatile("at s1e1w, %0" : : "r" (va));
	else
		asm volatile("at s1e1r, %0" : : "r" (va));
	isb();
	par = read_sysreg_par();
	local_irq_restore(flags);
	return !(par & SYS_PAR_EL1_F);
}

/*
 * arm64: the MMU itself is asked, on the page's linear-map address. The
 * linear map leaves out what the kernel took out of it (secret memory,
 * NOMAP firmware memory) and keeps the alias of the kernel's text, rodata
 * and ro_after_init data ([_stext, __init_begin), which a module cannot
 * name) read-only (mark_linear_text_alias_ro()), while the image's own
 * mapping of them is read-only as well: one question covers what x86 asks
 * of two mappings.
 */
static enum physmem_access physmem_kernel_access(unsigned long pfn)
{
	unsigned long va = (unsigned long)page_address(pfn_to_page(pfn));

	if (!physmem_translates(va, false))
		return PHYSMEM_NONE;
	if (!physmem_translates(va, true))
		return PHYSMEM_RO;
	return PHYSMEM_RW;
}
#endif

struct physmem_span {
	u64 start;
	u64 end;		/* inclusive */
	bool device;
	bool found;
};

/*
 * walk_iomem_res_desc() callback that notes a match overlapping the span.
 * The walk wants start < end, so it runs to one byte past the span; a match
 * that begins there does not count.
 */
static int physmem_note(struct resource *res, void *arg)
{
	struct physmem_span *span = arg;

	if (res->start > span->end)
		return 0;
	span->found = true;
	return 1;
}

/*
 * Does any resource at any level of the tree (find_next_iomem_res() looks
 * into the children of every top-level range it meets) with @flags and @desc
 * overlap the span? Checked here rather than by region_intersects(), which
 * looks below the top level only since a 6.1 stable update.
 */
static bool physmem_any(struct physmem_span *span, unsigned long flags,
			unsigned long desc)
{
	span->found = false;
	walk_iomem_res_desc(desc, flags, span->start, span->end + 1, span,
			    physmem_note);
	return span->found;
}

/*
 * walk_iomem_res_desc() callback: it hands over (a copy of, clipped to the
 * walk) the first resource that matches, outermost first. The span is a
 * device range when that one resource holds all of it and is a device's.
 */
static int physmem_one_device(struct resource *res, void *arg)
{
	struct physmem_span *span = arg;

	span->device = res->start == span->start && res->end >= span->end &&
		       res->desc == IORES_DESC_NONE &&
		       !(res->flags & (IORESOURCE_SYSRAM | IORESOURCE_WINDOW |
				       IORESOURCE_DISABLED | IORESOURCE_UNSET));
	return 1;
}

/* Is [span->start, span->end] inside one device resource matching @flags? */
static bool physmem_in_device(struct physmem_span *span, unsigned long flags)
{
	span->device = false;
	walk_iomem_res_desc(IORES_DESC_NONE, flags, span->start, span->end + 1,
			    span, physmem_one_device);
	return span->device;
}

/*
 * Classify [start, start + size): PHYSMEM_RAM, PHYSMEM_DEVICE, or -ENXIO /
 * -EPERM (see the table at the top). The resource tree is only read through
 * the kernel's locked helpers (region_intersects, walk_iomem_res_desc), the
 * firmware's memory map through e820__mapped_any().
 */
static int physmem_classify(phys_addr_t start, u64 size)
{
	struct physmem_span span = { .start = start, .end = start + size - 1 };
	unsigned long desc;

	if (!size || span.end < span.start || span.end == U64_MAX)
		return -ENXIO;

	/* A driver's exclusive claim at any level (driver-managed RAM too). */
	if (physmem_any(&span, IORESOURCE_MEM | IORESOURCE_EXCLUSIVE,
			IORES_DESC_NONE))
		return -EPERM;

	switch (region_intersects(start, size, IORESOURCE_SYSTEM_RAM,
				  IORES_DESC_NONE)) {
	case REGION_INTERSECTS:
		/* RAM, but perhaps with holes no resource describes. */
		return physmem_all_ram(start, size) ? PHYSMEM_RAM : -ENXIO;
	case REGION_MIXED:
		return -ENXIO;
	}

	/*
	 * Firmware's memory is no device: any range of the firmware's memory
	 * map (e820: Reserved, ACPI tables and NVS, Unusable memory, persistent
	 * memory, unknown types), and any resource, at any level, that carries
	 * a description (Reserved, ACPI, persistent, soft-reserved, CXL, ...).
	 * arm64 has no e820: its firmware's NOMAP memory is a resource with a
	 * description (IORES_DESC_RESERVED, request_standard_resources()).
	 */
#ifdef CONFIG_X86
	if (e820__mapped_any(span.start, span.end + 1, 0))
		return -ENXIO;
#endif
	for (desc = IORES_DESC_NONE + 1; desc <= IORES_DESC_CXL; desc++)
		if (physmem_any(&span, IORESOURCE_MEM, desc))
			return -ENXIO;

	/*
	 * A top-level range that is no bridge window (HPET, IOAPIC, a platform
	 * device) or, inside a window, a PCI BAR or a range a driver claimed
	 * (busy), at whatever depth.
	 */
	if (physmem_in_device(&span, IORESOURCE_MEM) ||
	    physmem_in_device(&span, IORESOURCE_MEM | IORESOURCE_SIZEALIGN) ||
	    physmem_in_device(&span, IORESOURCE_MEM | IORESOURCE_BUSY))
		return PHYSMEM_DEVICE;
	return -ENXIO;
}

#ifdef CONFIG_X86
/*
 * The kernel's interrupt controllers, whose registers are 32 bits wide and
 * for which the SDM leaves wider accesses undefined: the local APIC (its base
 * from the IA32_APIC_BASE MSR) and the IOAPICs (from the ACPI MADT), found
 * once at load. An 8-byte access there fails with EINVAL, as an access of a
 * width the device does not take.
 */
#define PHYSMEM_MAX_IOAPICS	8
#define PHYSMEM_IOAPIC_SIZE	1024	/* the kernel's "IOAPIC N" resource */

static phys_addr_t physmem_lapic;
static phys_addr_t physmem_ioapic[PHYSMEM_MAX_IOAPICS];
static unsigned int physmem_ioapics;

static void __init physmem_find_interrupt_controllers(void)
{
	struct acpi_table_header *madt;
	struct acpi_subtable_header *sub;
	u64 base = 0;
	u8 *at, *end;

	if (boot_cpu_has(X86_FEATURE_APIC) && !rdmsrl_safe(MSR_IA32_APICBASE, &base))
		physmem_lapic = base & MSR_IA32_APICBASE_BASE;
	if (ACPI_FAILURE(acpi_get_table(ACPI_SIG_MADT, 0, &madt)))
		return;
	at = (u8 *)madt + sizeof(struct acpi_table_madt);
	end = (u8 *)madt + madt->length;
	while (at + sizeof(*sub) <= end) {
		sub = (struct acpi_subtable_header *)at;
		if (sub->length < sizeof(*sub) || at + sub->length > end)
			break;
		if (sub->type == ACPI_MADT_TYPE_IO_APIC &&
		    sub->length >= sizeof(struct acpi_madt_io_apic) &&
		    physmem_ioapics < PHYSMEM_MAX_IOAPICS)
			physmem_ioapic[physmem_ioapics++] =
				((struct acpi_madt_io_apic *)sub)->address;
		at += sub->length;
	}
	acpi_put_table(madt);
}

static bool physmem_interrupt_controller(phys_addr_t p)
{
	unsigned int i;

	if (physmem_lapic && p >= physmem_lapic && p - physmem_lapic < PAGE_SIZE)
		return true;
	for (i = 0; i < physmem_ioapics; i++)
		if (p >= physmem_ioapic[i] &&
		    p - physmem_ioapic[i] < PHYSMEM_IOAPIC_SIZE)
			return true;
	return false;
}

#else
/*
 * arm64: no such list. The GIC, whose distributor takes 64-bit accesses to
 * some registers and not to others, is in no /proc/iomem resource on the
 * virt board, so no device access reaches it here.
 */
static void __init physmem_find_interrupt_controllers(void)
{
}

static bool physmem_interrupt_controller(phys_addr_t p)
{
	return false;
}
#endif

/*
 * A register access: 1, 2, 4 or 8 bytes at an address aligned to that; not
 * 8 bytes of an interrupt controller.
 */
static bool physmem_register_access(phys_addr_t p, size_t count)
{
	if (count == 8 && physmem_interrupt_controller(p))
		return false;
	return (count == 1 || count == 2 || count == 4 || count == 8) &&
	       IS_ALIGNED(p, count);
}

/*
 * Store @size bytes at the kernel address @dst, as copy_to_kernel_nofault()
 * does (it is not exported): a fault fails with -EFAULT instead of an oops.
 * @src has the same alignment as @dst; each store is the widest one that the
 * alignment and the remaining size allow.
 */
static long physmem_store_nofault(void *dst, const void *src, size_t size)
{
	pagefault_disable();
	while (size) {
		unsigned long at = (unsigned long)dst;
		size_t step;

		if (size >= 8 && IS_ALIGNED(at, 8)) {
			__put_kernel_nofault(dst, src, u64, fault);
			step = 8;
		} else if (size >= 4 && IS_ALIGNED(at, 4)) {
			__put_kernel_nofault(dst, src, u32, fault);
			step = 4;
		} else if (size >= 2 && IS_ALIGNED(at, 2)) {
			__put_kernel_nofault(dst, src, u16, fault);
			step = 2;
		} else {
			__put_kernel_nofault(dst, src, u8, fault);
			step = 1;
		}
		dst += step;
		src += step;
		size -= step;
	}
	pagefault_enable();
	return 0;
fault:
	pagefault_enable();
	return -EFAULT;
}

static ssize_t physmem_read_ram(phys_addr_t p, char __user *buf,
				size_t count)
{
	ssize_t done = 0;
	char *bounce;

	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	while (count > 0) {
		unsigned long sz = size_inside_page(p, count);
		unsigned long off = offset_in_page(p);
		unsigned long pfn = PHYS_PFN(p);
		ssize_t err = 0;
		void *kaddr;

		if (!pfn_valid(pfn)) {
			err = -ENXIO;
		} else {
			kaddr = kmap_local_page(pfn_to_page(pfn));
			if (copy_from_kernel_nofault(bounce + off, kaddr + off, sz))
				err = -EIO;
			kunmap_local(kaddr);
		}
		if (!err && copy_to_user(buf, bounce + off, sz))
			err = -EFAULT;
		if (err) {
			kfree(bounce);
			return done ? done : err;
		}

		buf += sz;
		p += sz;
		count -= sz;
		done += sz;
		if (should_stop_iteration())
			break;
	}
	kfree(bounce);
	return done;
}

static ssize_t physmem_write_ram(phys_addr_t p, const char __user *buf,
				 size_t count)
{
	ssize_t done = 0;
	char *bounce;

	bounce = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	while (count > 0) {
		unsigned long sz = size_inside_page(p, count);
		unsigned long off = offset_in_page(p);
		unsigned long pfn = PHYS_PFN(p);
		ssize_t err = 0;
		void *kaddr;

		if (copy_from_user(bounce + off, buf, sz)) {
			err = -EFAULT;
		} else if (!pfn_valid(pfn)) {
			err = -ENXIO;
		} else if (physmem_kernel_access(pfn) != PHYSMEM_RW) {
			/* Not even when the direct map would take it. */
			err = -EIO;
		} else {
			kaddr = kmap_local_page(pfn_to_page(pfn));
			if (physmem_store_nofault(kaddr + off, bounce + off, sz))
				err = -EIO;
			kunmap_local(kaddr);
		}
		if (err) {
			kfree(bounce);
			return done ? done : err;
		}

		buf += sz;
		p += sz;
		count -= sz;
		done += sz;
		if (should_stop_iteration())
			break;
	}
	kfree(bounce);
	return done;
}

/* Exactly one read of @count bytes (checked by the caller) at @p. */
static ssize_t physmem_read_device(phys_addr_t p, char __user *buf,
				   size_t count)
{
	union {
		u8 b;
		u16 w;
		u32 l;
		u64 q;
	} value;
	void __iomem *reg;

	reg = ioremap(p, count);
	if (!reg)
		return -ENOMEM;
	switch (count) {
	case 1:
		value.b = readb(reg);
		break;
	case 2:
		value.w = readw(reg);
		break;
	case 4:
		value.l = readl(reg);
		break;
	default:
		value.q = readq(reg);
		break;
	}
	iounmap(reg);
	/* The register was read; if the buffer is gone, say so all the same. */
	if (copy_to_user(buf, &value, count))
		return -EFAULT;
	return count;
}

/* Exactly one write of @count bytes (checked by the caller) at @p. */
static ssize_t physmem_write_device(phys_addr_t p, const char __user *buf,
				    size_t count)
{
	union {
		u8 b;
		u16 w;
		u32 l;
		u64 q;
	} value;
	void __iomem *reg;

	if (copy_from_user(&value, buf, count))
		return -EFAULT;
	reg = ioremap(p, count);
	if (!reg)
		return -ENOMEM;
	switch (count) {
	case 1:
		writeb(value.b, reg);
		break;
	case 2:
		writew(value.w, reg);
		break;
	case 4:
		writel(value.l, reg);
		break;
	default:
		writeq(value.q, reg);
		break;
	}
	iounmap(reg);
	return count;
}

/*
 * Kernel lockdown raised after the file was opened closes it too (stricter
 * than /dev/mem, which asks at open only): every read, write, mmap and pin
 * asks again, with lockdown's errno (EPERM).
 */
static int physmem_locked_down(void)
{
	return security_locked_down(LOCKDOWN_DEV_MEM);
}

static ssize_t physmem_read(struct file *file, char __user *buf,
			    size_t count, loff_t *ppos)
{
	phys_addr_t p = *ppos;
	ssize_t ret;

	if (!count)
		return 0;
	ret = physmem_locked_down();
	if (ret)
		return ret;
	ret = physmem_classify(p, count);
	if (ret == PHYSMEM_RAM)
		ret = physmem_read_ram(p, buf, count);
	else if (ret == PHYSMEM_DEVICE && !physmem_register_access(p, count))
		ret = -EINVAL;
	else if (ret == PHYSMEM_DEVICE)
		ret = physmem_read_device(p, buf, count);
	if (ret > 0)
		*ppos += ret;
	return ret;
}

static ssize_t physmem_write(struct file *file, const char __user *buf,
			     size_t count, loff_t *ppos)
{
	phys_addr_t p = *ppos;
	ssize_t ret;

	if (!count)
		return 0;
	ret = physmem_locked_down();
	if (ret)
		return ret;
	ret = physmem_classify(p, count);
	if (ret == PHYSMEM_RAM)
		ret = physmem_write_ram(p, buf, count);
	else if (ret == PHYSMEM_DEVICE && !physmem_register_access(p, count))
		ret = -EINVAL;
	else if (ret == PHYSMEM_DEVICE)
		ret = physmem_write_device(p, buf, count);
	if (ret > 0)
		*ppos += ret;
	return ret;
}

/* SEEK_SET and SEEK_CUR to any offset in 0..LLONG_MAX; nothing else. */
static loff_t physmem_lseek(struct file *file, loff_t offset, int orig)
{
	loff_t ret;

	inode_lock(file_inode(file));
	switch (orig) {
	case SEEK_CUR:
		if (check_add_overflow(offset, file->f_pos, &offset)) {
			ret = -EINVAL;
			break;
		}
		fallthrough;
	case SEEK_SET:
		if (offset < 0) {
			ret = -EINVAL;
			break;
		}
		file->f_pos = offset;
		ret = offset;
		break;
	default:
		ret = -EINVAL;
	}
	inode_unlock(file_inode(file));
	return ret;
}

/*
 * Not NULL: a VMA without vm_ops counts as anonymous memory. No .access:
 * ptrace and /proc/PID/mem would touch registers with widths of their own.
 */
static const struct vm_operations_struct physmem_vm_ops;

/*
 * RAM may be mapped only as read() and write() could reach it, page by page:
 * EIO (their errno) for a page the kernel does not map, and for a writable
 * mapping of a page it keeps read-only; a read-only mapping of such a page
 * loses VM_MAYWRITE, so mprotect() cannot make it writable later.
 */
static int physmem_check_ram_pages(struct vm_area_struct *vma,
				   unsigned long pfn, unsigned long pages)
{
	bool all_writable = true;
	unsigned long i;

	for (i = 0; i < pages; i++) {
		switch (physmem_kernel_access(pfn + i)) {
		case PHYSMEM_NONE:
			return -EIO;
		case PHYSMEM_RO:
			if (vma->vm_flags & VM_WRITE)
				return -EIO;
			all_writable = false;
			break;
		case PHYSMEM_RW:
			break;
		}
		if (!(i & 1023))
			cond_resched();
	}
	if (!all_writable)
		vma->vm_flags &= ~VM_MAYWRITE;
	return 0;
}

/*
 * Map RAM one page per remap_pfn_range(): with PAT, a remap of the whole VMA
 * checks the cache type of its first page only, while one of part of it
 * takes each page's own type (track_pfn_remap()), so no page a driver set to
 * WC or UC gets a write-back alias here.
 */
static int physmem_remap_ram(struct vm_area_struct *vma, unsigned long pfn,
			     unsigned long pages)
{
	unsigned long i;
	int err;

	if (pages == 1)
		return remap_pfn_range(vma, vma->vm_start, pfn, PAGE_SIZE,
				       vma->vm_page_prot);
	for (i = 0; i < pages; i++) {
		err = remap_pfn_range(vma, vma->vm_start + i * PAGE_SIZE,
				      pfn + i, PAGE_SIZE, vma->vm_page_prot);
		if (err)
			return err;	/* mmap() unmaps what was mapped */
		if (!(i & 1023))
			cond_resched();
	}
	return 0;
}

static int physmem_mmap(struct file *file, struct vm_area_struct *vma)
{
	size_t size = vma->vm_end - vma->vm_start;
	phys_addr_t start = (phys_addr_t)vma->vm_pgoff << PAGE_SHIFT;
	int kind, err;

	/* Does it even fit in phys_addr_t, without wrapping around? */
	if (start >> PAGE_SHIFT != vma->vm_pgoff)
		return -EINVAL;
	if (start + (phys_addr_t)size - 1 < start)
		return -EINVAL;
	/* A private copy of physical memory would be a lie. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	err = physmem_locked_down();
	if (err)
		return err;

	kind = physmem_classify(start, size);
	if (kind < 0)
		return kind;
	vma->vm_ops = &physmem_vm_ops;

	if (kind == PHYSMEM_DEVICE) {
		/*
		 * Uncached (UC-: what mmap_mem() asks for with O_SYNC; without
		 * it asks write-back and leaves the rest to PAT and the MTRRs):
		 * a register is never mapped cacheable here. Never encrypted:
		 * the memory-encryption bit of user mappings must not reach a
		 * device (phys_mem_access_prot()).
		 */
		vma->vm_page_prot =
			pgprot_decrypted(pgprot_noncached(vma->vm_page_prot));
		/* Remap-pfn-range will mark the range VM_IO */
		return remap_pfn_range(vma, vma->vm_start, vma->vm_pgoff, size,
				       vma->vm_page_prot);
	}

	err = physmem_check_ram_pages(vma, vma->vm_pgoff, size >> PAGE_SHIFT);
	if (err)
		return err;
#ifdef CONFIG_X86
	/* The cache type mmap_mem() asks for: write-back, or UC- with O_SYNC. */
	if (file->f_flags & O_DSYNC)
		vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
#else
	/*
	 * arm64: what mmap_mem() asks there (phys_mem_access_prot()):
	 * write-back, or Normal non-cacheable with O_SYNC; never Device
	 * memory over RAM that the linear map holds as Normal memory.
	 */
	vma->vm_page_prot = phys_mem_access_prot(file, vma->vm_pgoff, size,
						 vma->vm_page_prot);
#endif
	return physmem_remap_ram(vma, vma->vm_pgoff, size >> PAGE_SHIFT);
}

static int physmem_open(struct inode *inode, struct file *file)
{
	struct physmem_file *pf;
	int rc;

	if (!capable(CAP_SYS_RAWIO))
		return -EPERM;

	rc = security_locked_down(LOCKDOWN_DEV_MEM);
	if (rc) {
		pr_notice_once("physdemo_mem: /dev/physmem refused (errno %d): the kernel is locked down, and /dev/physmem allows no more than /dev/mem\n",
			       -rc);
		return rc;
	}

	pf = kzalloc(sizeof(*pf), GFP_KERNEL);
	if (!pf)
		return -ENOMEM;
	mutex_init(&pf->lock);
	file->private_data = pf;
	return 0;
}

/* Drop one pin; the page may have been written behind the kernel's back. */
static void physmem_release_pin(struct physmem_pinned *pinned)
{
	unpin_user_pages_dirty_lock(&pinned->page, 1, true);
	pinned->page = NULL;
	pinned->handle = 0;
}

static int physmem_release(struct inode *inode, struct file *file)
{
	struct physmem_file *pf = file->private_data;
	int i;

	for (i = 0; i < PHYSMEM_MAX_PINS; i++)
		if (pf->pinned[i].page)
			physmem_release_pin(&pf->pinned[i]);
	mutex_destroy(&pf->lock);
	kfree(pf);
	return 0;
}

/*
 * The ptrace attach check of kernel/ptrace.c __ptrace_may_access() for
 * PTRACE_MODE_ATTACH_REALCREDS, less the LSM hook (not exported).
 */
static bool physmem_may_attach(struct task_struct *task,
			       struct mm_struct *mm)
{
	const struct cred *cred = current_cred(), *tcred;
	bool allowed;

	if (same_thread_group(task, current))
		return true;

	rcu_read_lock();
	tcred = __task_cred(task);
	allowed = (uid_eq(cred->uid, tcred->euid) &&
		   uid_eq(cred->uid, tcred->suid) &&
		   uid_eq(cred->uid, tcred->uid) &&
		   gid_eq(cred->gid, tcred->egid) &&
		   gid_eq(cred->gid, tcred->sgid) &&
		   gid_eq(cred->gid, tcred->gid)) ||
		  ns_capable(tcred->user_ns, CAP_SYS_PTRACE);
	rcu_read_unlock();
	if (!allowed)
		return false;

	return get_dumpable(mm) == SUID_DUMP_USER ||
	       ns_capable(mm->user_ns, CAP_SYS_PTRACE);
}

/*
 * mm_access(task, PTRACE_MODE_ATTACH_REALCREDS), which is not exported:
 * the task's mm with a reference, checked under exec_update_lock so that an
 * exec cannot change the credentials between the check and the use.
 */
static struct mm_struct *physmem_task_mm(struct task_struct *task)
{
	struct mm_struct *mm;
	int err;

	if (task->flags & PF_KTHREAD)
		return ERR_PTR(-EPERM);

	err = down_read_killable(&task->signal->exec_update_lock);
	if (err)
		return ERR_PTR(err);

	mm = get_task_mm(task);
	if (!mm) {
		mm = ERR_PTR(-ESRCH);
	} else if (mm != current->mm && !physmem_may_attach(task, mm)) {
		mmput(mm);
		mm = ERR_PTR(-EACCES);
	}
	up_read(&task->signal->exec_update_lock);
	return mm;
}

/*
 * The task a pidfd refers to, with a reference. pidfd_get_task() is not
 * exported, so the file is recognised as pidfd_create() makes it: an anon
 * inode named "[pidfd]", whose private data is its struct pid. EBADF: not an
 * open file; EINVAL: not a pidfd; ESRCH: the process has exited.
 */
static struct task_struct *physmem_pidfd_task(int pidfd)
{
	struct task_struct *task;
	struct file *file;

	if (pidfd < 0)
		return ERR_PTR(-EBADF);
	file = fget(pidfd);
	if (!file)
		return ERR_PTR(-EBADF);
	if (file_inode(file)->i_sb->s_magic != ANON_INODE_FS_MAGIC ||
	    strcmp(file->f_path.dentry->d_name.name, "[pidfd]")) {
		fput(file);
		return ERR_PTR(-EINVAL);
	}
	task = get_pid_task(file->private_data, PIDTYPE_PID);
	fput(file);
	return task ? task : ERR_PTR(-ESRCH);
}

/*
 * A page that stays the process's own while pinned: not of a shared mapping
 * of a file or of shared memory (shmem, memfd, MAP_SHARED|MAP_ANONYMOUS),
 * whose page is the file's (a truncate takes it from the file, the pin keeps
 * the frame, and a write there reaches no one).
 */
static bool physmem_own_page(struct vm_area_struct *vma)
{
	return !(vma->vm_flags & VM_MAYSHARE) && !(vma->vm_flags & VM_SHARED);
}

/* Pin one page of another process (or of the caller) for writing. */
static struct page *physmem_pin_page(int pidfd, unsigned long vaddr)
{
	struct vm_area_struct *vma = NULL;
	struct task_struct *task;
	struct mm_struct *mm;
	struct page *page;
	long got;

	task = physmem_pidfd_task(pidfd);
	if (IS_ERR(task))
		return ERR_CAST(task);
	mm = physmem_task_mm(task);
	put_task_struct(task);
	if (IS_ERR(mm))
		return ERR_CAST(mm);

	if (mmap_read_lock_killable(mm)) {
		mmput(mm);
		return ERR_PTR(-EINTR);
	}
	got = pin_user_pages_remote(mm, vaddr & PAGE_MASK, 1, FOLL_WRITE,
				    &page, &vma, NULL);
	/* The VMA the page was found in, checked under the same lock. */
	if (got == 1 && !physmem_own_page(vma)) {
		unpin_user_page(page);
		got = -EINVAL;
	}
	mmap_read_unlock(mm);
	mmput(mm);

	if (got < 0)
		return ERR_PTR(got);
	if (got != 1)
		return ERR_PTR(-EFAULT);
	/* FOLL_WRITE never returns the shared zero page; make sure of it. */
	if (is_zero_pfn(page_to_pfn(page))) {
		unpin_user_page(page);
		return ERR_PTR(-EFAULT);
	}
	return page;
}

/* Take the pin out of @pf's table: 0, or -ENOENT for an unknown handle. */
static int physmem_unpin_handle(struct physmem_file *pf, u64 handle)
{
	int i, err = -ENOENT;

	mutex_lock(&pf->lock);
	for (i = 0; i < PHYSMEM_MAX_PINS; i++) {
		if (handle && pf->pinned[i].page &&
		    pf->pinned[i].handle == handle) {
			physmem_release_pin(&pf->pinned[i]);
			pf->pins--;
			err = 0;
			break;
		}
	}
	mutex_unlock(&pf->lock);
	return err;
}

/*
 * PHYSMEM_IOC_PIN. Errors: EBADF (the file is not open for writing, or pidfd
 * is no open file), EFAULT (the argument, or nothing writable is mapped at
 * vaddr: no mapping, read-only, VM_IO/PFNMAP such as a mapping of
 * /dev/physmem itself, secret memory), EINVAL (pidfd is no pidfd, flags != 0,
 * a shared mapping of a file or of shared memory), ESRCH (the process has
 * exited), EPERM (a kernel thread), EACCES (the ptrace attach check), ENOSPC
 * (this file holds PHYSMEM_MAX_PINS pins), EINTR (a fatal signal), ENOMEM,
 * EHWPOISON: pin_user_pages_remote()'s own errno.
 */
static long physmem_pin(struct file *file, void __user *arg)
{
	struct physmem_file *pf = file->private_data;
	struct physmem_pin req;
	struct page *page;
	int i;

	/* A pin is taken to write the frame: read-only files take none. */
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (physmem_locked_down())
		return -EPERM;
	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.flags)
		return -EINVAL;

	/* Reserve a slot first: a full table must not fault pages in. */
	mutex_lock(&pf->lock);
	if (pf->pins >= PHYSMEM_MAX_PINS) {
		mutex_unlock(&pf->lock);
		return -ENOSPC;
	}
	pf->pins++;
	mutex_unlock(&pf->lock);

	page = physmem_pin_page(req.pidfd, req.vaddr);
	if (IS_ERR(page)) {
		mutex_lock(&pf->lock);
		pf->pins--;
		mutex_unlock(&pf->lock);
		return PTR_ERR(page);
	}

	mutex_lock(&pf->lock);
	for (i = 0; i < PHYSMEM_MAX_PINS; i++)
		if (!pf->pinned[i].page)
			break;
	/* The reservation guarantees a free slot. */
	pf->pinned[i].page = page;
	pf->pinned[i].handle = ++pf->last_handle;
	req.handle = pf->pinned[i].handle;
	mutex_unlock(&pf->lock);

	req.pfn = page_to_pfn(page);
	if (copy_to_user(arg, &req, sizeof(req))) {
		physmem_unpin_handle(pf, req.handle);
		return -EFAULT;
	}
	return 0;
}

static long physmem_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	struct physmem_file *pf = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct physmem_unpin unpin;
	struct physmem_info info = {
		.magic = PHYSMEM_MAGIC,
		.abi_version = PHYSMEM_ABI_VERSION,
		.max_pins = PHYSMEM_MAX_PINS,
		.page_size = PAGE_SIZE,
	};

	switch (cmd) {
	case PHYSMEM_IOC_INFO:
		mutex_lock(&pf->lock);
		info.pins = pf->pins;
		mutex_unlock(&pf->lock);
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	case PHYSMEM_IOC_PIN:
		return physmem_pin(file, uarg);
	case PHYSMEM_IOC_PIN_ABI1:
		pr_notice_ratelimited("physdemo_mem: %s (pid %d) used PHYSMEM_IOC_PIN of ABI 1 (a pid): this module speaks ABI %d, which names the process by a pidfd; rebuild the caller against this physdemo_mem.h\n",
				      current->comm, task_pid_nr(current),
				      PHYSMEM_ABI_VERSION);
		return -ENOTTY;
	case PHYSMEM_IOC_UNPIN:
		if (copy_from_user(&unpin, uarg, sizeof(unpin)))
			return -EFAULT;
		return physmem_unpin_handle(pf, unpin.handle);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations physmem_fops = {
	.owner		= THIS_MODULE,
	.llseek		= physmem_lseek,
	.read		= physmem_read,
	.write		= physmem_write,
	.mmap		= physmem_mmap,
	.open		= physmem_open,
	.release	= physmem_release,
	.unlocked_ioctl	= physmem_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static struct miscdevice physmem_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "physmem",
	.fops	= &physmem_fops,
	.mode	= 0600,
};

static int __init physmem_init(void)
{
	physmem_find_interrupt_controllers();
	return misc_register(&physmem_dev);
}

static void __exit physmem_exit(void)
{
	misc_deregister(&physmem_dev);
}

module_init(physmem_init);
module_exit(physmem_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("physdemo: /dev/physmem, physical memory for root where /dev/mem is locked");
