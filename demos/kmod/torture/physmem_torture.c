// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * demos/kmod/torture/physmem_torture.c: hostile use of /dev/physmem (physdemo_mem.ko)
 * inside the VM, and the small tools demos/e2e/physmem.sh needs there (the
 * guest has only busybox, bash and physdemo). Built statically on the host by
 * demos/kmod/torture/build (cached) and copied into the guest as
 * /files/physmem_torture.
 *
 *   physmem_torture peek ADDR WIDTH [DEV]        one pread of WIDTH bytes (1, 2,
 *                                                4, 8) at ADDR of DEV (default
 *                                                /dev/physmem); prints 0x%0*x
 *   physmem_torture poke ADDR WIDTH VALUE [DEV]  one pwrite of WIDTH bytes
 *   physmem_torture pin PID VADDR                pins the page, prints
 *                                                "pfn=0x... handle=N pins=1",
 *                                                closes the file (releasing it)
 *   physmem_torture hold-map ADDR                maps one page of /dev/physmem
 *                                                at ADDR, closes the file,
 *                                                prints "mapped", sleeps until
 *                                                killed (for the unload test)
 *   physmem_torture all                          every hostile case below
 *   physmem_torture lockdown                     raises kernel lockdown while
 *                                                /dev/physmem is open, then
 *                                                checks that file is closed
 *                                                (EPERM): irreversible, last
 *
 * peek/poke/pin print one "physmem_torture: error: ..." line and exit 1 on
 * failure, naming the errno (ENXIO, EINVAL, ...), so the script can check it.
 *
 * `all` prints one "ok   - " or "FAIL - " line per check (the script counts
 * them), "     > " lines saying what a stress case provoked, and ends with
 * "torture: N passed, M failed"; exit 0 only when nothing failed. Cases:
 * the info ioctl and bad ioctls; offsets near 2^63, negative offsets and
 * lseeks, huge lengths, short user buffers; holes, Reserved, firmware and
 * PCI-window ranges, beyond the end, ranges crossing RAM into something else
 * and crossing page and device boundaries; device accesses of every width
 * (edu answers byte reads with 0 and 8-byte reads below 0x80 with all ones,
 * so a widened or split access shows), misaligned and odd lengths; mmap of
 * RAM and of edu, private, mixed and beyond-the-end mappings; writes into the
 * kernel's own read-only pages (the same bytes back); CAP_SYS_RAWIO dropped
 * and a non-root opener; threads reading and writing RAM, registers and a
 * shared file offset at once; children SIGKILLed inside long reads and pin
 * loops; pin abuse (bad pids, a kernel thread, a zombie, unmapped, read-only,
 * kernel and PFNMAP addresses, 65 pins, bad handles, a non-root caller and a
 * non-dumpable target); pins that break copy-on-write, KSM sharing and the
 * zero page, a THP subpage; and while pinned, a page that KSM does not merge,
 * compaction does not move (while it moves unpinned pages of the same area)
 * and that is not freed when its process dies (while an unpinned one is
 * reused), and that crashing or closing without unpinning releases the pin.
 * Then issue 18's hostile list, as root and again as uid 1000 holding root's
 * open files: writable mmap of the kernel's text and rodata (EIO, and a
 * read-only one cannot be mprotect()ed writable), a memfd_secret frame (EIO
 * for pread, pwrite, mmap; boot with secretmem.enable=1), "Unusable memory"
 * (ENXIO; boot with memmap=1M%0x30000000-1+5), 8-byte reads of the local APIC
 * and the IOAPIC (EINVAL), pins through a read-only file (EBADF), of shared
 * memfd and shmem pages (EINVAL), with NULL, kernel and read-only arguments
 * (EFAULT), bad pidfds and ABI 1's number, 2 threads x 40 pins (exactly 64),
 * offset and lseek edges; what uid 1000 can do with the inherited file; and a
 * pc-testdev mapping kept across rmmod physdemo_testdev (a new pread: ENXIO).
 * (Swap is not tried: the VM kernel has no CONFIG_SWAP.) RAM read through
 * /dev/physmem is compared with /dev/mem's pread, or, where /dev/mem refuses RAM
 * (STRICT_DEVMEM: the distro VM), with the module's other path to it (its mmap
 * against its pread); every line names the reference it used.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../physdemo_mem.h"

#define DEV "/dev/physmem"
#define PAGE 4096UL
#define EDU_IDENT 0x010000edU

/* Counters live in shared memory: forked children report checks too. */
static struct counts {
	int passed;
	int failed;
} *counts;

static void say(const char *tag, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	printf("%s%s\n", tag, line);
	fflush(stdout);
}

static void ok(const char *fmt, ...)
{
	va_list ap;

	__atomic_fetch_add(&counts->passed, 1, __ATOMIC_SEQ_CST);
	va_start(ap, fmt);
	say("ok   - ", fmt, ap);
	va_end(ap);
}

static void bad(const char *fmt, ...)
{
	va_list ap;

	__atomic_fetch_add(&counts->failed, 1, __ATOMIC_SEQ_CST);
	va_start(ap, fmt);
	say("FAIL - ", fmt, ap);
	va_end(ap);
}

static void provoked(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("     > ", fmt, ap);
	va_end(ap);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "physmem_torture: error: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static const char *ename(int e)
{
	const char *name = e ? strerrorname_np(e) : "success";

	return name ? name : "E?";
}

/* "what: ENXIO as expected", or a FAIL naming what happened instead. */
static void expect_errno(const char *what, long ret, int want)
{
	int got = errno;

	if (ret == -1 && got == want)
		ok("%s: %s", what, ename(want));
	else if (ret == -1)
		bad("%s: %s, want %s", what, ename(got), ename(want));
	else
		bad("%s: returned %ld, want %s", what, ret, ename(want));
}

static void expect_ret(const char *what, long ret, long want)
{
	if (ret == want)
		ok("%s: %ld", what, ret);
	else if (ret == -1)
		bad("%s: %s, want %ld", what, ename(errno), want);
	else
		bad("%s: returned %ld, want %ld", what, ret, want);
}

static int open_dev(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		die("open %s: %s", path, ename(errno));
	return fd;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

/* One pread/pwrite of 1, 2, 4 or 8 bytes; the value in native order. */
static long peek(int fd, uint64_t addr, int width, uint64_t *value)
{
	union { uint8_t b; uint16_t w; uint32_t l; uint64_t q; } v = { .q = 0 };
	long n = pread(fd, &v, width, (off_t)addr);

	*value = width == 1 ? v.b : width == 2 ? v.w : width == 4 ? v.l : v.q;
	return n;
}

static long poke(int fd, uint64_t addr, int width, uint64_t value)
{
	union { uint8_t b; uint16_t w; uint32_t l; uint64_t q; } v;

	if (width == 1)
		v.b = value;
	else if (width == 2)
		v.w = value;
	else if (width == 4)
		v.l = value;
	else
		v.q = value;
	return pwrite(fd, &v, width, (off_t)addr);
}

/* The frame behind vaddr in pid, from /proc/PID/pagemap (0: not present). */
static uint64_t pagemap_pfn(pid_t pid, const volatile void *vaddr)
{
	char path[64];
	uint64_t entry = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	if (pread(fd, &entry, 8, (uintptr_t)vaddr / PAGE * 8) != 8)
		entry = 0;
	close(fd);
	if (!(entry >> 63))
		return 0;
	return entry & ((1ULL << 55) - 1);
}

/* /proc/kpageflags bit of a frame. */
static int kpageflag(uint64_t pfn, int bit)
{
	uint64_t flags = 0;
	int fd = open("/proc/kpageflags", O_RDONLY);

	if (fd < 0)
		return -1;
	if (pread(fd, &flags, 8, pfn * 8) != 8)
		flags = 0;
	close(fd);
	return (flags >> bit) & 1;
}

/* PHYSMEM_IOC_PIN with a pidfd the caller already has. */
static int pin_fd(int fd, int pidfd, const volatile void *vaddr, struct physmem_pin *out)
{
	struct physmem_pin req = { .pidfd = pidfd, .vaddr = (uintptr_t)vaddr };
	int ret = ioctl(fd, PHYSMEM_IOC_PIN, &req);

	if (out)
		*out = req;
	return ret;
}

/* Pin by pid: a pidfd of it (pidfd_open's errno when there is none), then the pin. */
static int pin(int fd, pid_t pid, const volatile void *vaddr, struct physmem_pin *out)
{
	int pidfd = syscall(SYS_pidfd_open, pid, 0), ret, saved;

	if (pidfd < 0)
		return -1;
	ret = pin_fd(fd, pidfd, vaddr, out);
	saved = errno;
	close(pidfd);
	errno = saved;
	return ret;
}

static int unpin(int fd, uint64_t handle)
{
	struct physmem_unpin req = { .handle = handle };

	return ioctl(fd, PHYSMEM_IOC_UNPIN, &req);
}

static int pins_held(int fd)
{
	struct physmem_info info;

	if (ioctl(fd, PHYSMEM_IOC_INFO, &info))
		return -1;
	return info.pins;
}

/* The module's reference count from /proc/modules (-1: not loaded). */
static int module_refs(void)
{
	char line[256];
	int refs = -1;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "physdemo_mem %*u %d", &refs) == 1)
			break;
	fclose(f);
	return refs;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	long n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (long)strlen(text) ? 0 : -1;
}

static long read_number(const char *path)
{
	char text[64] = "";
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -1;
	if (read(fd, text, sizeof(text) - 1) < 0)
		text[0] = 0;
	close(fd);
	return strtol(text, NULL, 0);
}

static void *map_anon(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu bytes: %s", len, ename(errno));
	return p;
}

/* ------------------------------------------------------------------ */
/* The machine: regions from /proc/iomem, edu's BAR0 from sysfs.      */

static struct machine {
	uint64_t ram_start, ram_end;	/* the System RAM range above 1 MiB */
	uint64_t low_ram_end;		/* end of System RAM below 640 KiB */
	uint64_t kernel_code, kernel_rodata;
	uint64_t hpet, ioapic, lapic;
	uint64_t unusable, unusable_end;	/* "Unusable memory" (memmap=...%...-1+5) */
	uint64_t hole;			/* a page no resource describes */
	uint64_t window;		/* a bridge window with no device there */
	uint64_t mmconfig;		/* PCI MMCONFIG, with Reserved inside */
	uint64_t edu;			/* BAR0 */
	uint64_t edu_end;
} m;

static void find_machine(void)
{
	char line[256], name[128];
	uint64_t start, end, prev_end = 0;
	FILE *f = fopen("/proc/iomem", "r");
	int i;

	if (!f)
		die("/proc/iomem: %s", ename(errno));
	while (fgets(line, sizeof(line), f)) {
		int top = line[0] != ' ';

		if (sscanf(line, " %" SCNx64 "-%" SCNx64 " : %127[^\n]", &start, &end, name) != 3)
			continue;
		if (!strcmp(name, "System RAM") && start >= 0x100000 && !m.ram_start) {
			m.ram_start = start;
			m.ram_end = end;
		} else if (!strcmp(name, "System RAM") && start < 0x100000) {
			m.low_ram_end = end;
		} else if (!strcmp(name, "Kernel code")) {
			m.kernel_code = start;
		} else if (!strcmp(name, "Kernel rodata")) {
			m.kernel_rodata = start;
		} else if (!strncmp(name, "HPET", 4) && top) {
			m.hpet = start;
		} else if (!strncmp(name, "IOAPIC", 6) && top) {
			m.ioapic = start;
		} else if (!strcmp(name, "Local APIC") && top) {
			m.lapic = start;
		} else if (!strcmp(name, "Unusable memory") && top && !m.unusable) {
			m.unusable = start;
			m.unusable_end = end;
		} else if (!strncmp(name, "PCI MMCONFIG", 12) && top) {
			m.mmconfig = start;
		}
		if (top && start > 0x100000 && !m.hole && start > prev_end + 1 &&
		    ((prev_end + PAGE) & ~(PAGE - 1)) + PAGE <= start)
			m.hole = (prev_end + PAGE) & ~(PAGE - 1);
		if (top && !strncmp(name, "PCI Bus", 7) && !m.window && start >= 0x100000) {
			long pos = ftell(f);
			char next[256];

			/* A window whose next line is top-level has no devices. */
			if (fgets(next, sizeof(next), f) && next[0] != ' ')
				m.window = start;
			fseek(f, pos, SEEK_SET);
		}
		if (top)
			prev_end = end;
	}
	fclose(f);

	for (i = 0; i < 32 && !m.edu; i++) {
		char path[128];
		FILE *r;
		unsigned long long s, e;

		snprintf(path, sizeof(path), "/sys/bus/pci/devices/0000:00:%02x.0/device", i);
		if (read_number(path) != 0x11e8)
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/0000:00:%02x.0/resource", i);
		r = fopen(path, "r");
		if (r && fscanf(r, "%llx %llx", &s, &e) == 2) {
			m.edu = s;
			m.edu_end = e;
		}
		if (r)
			fclose(r);
	}
	if (!m.ram_start || !m.low_ram_end || !m.kernel_code || !m.kernel_rodata ||
	    !m.hpet || !m.ioapic || !m.lapic || !m.hole || !m.window || !m.mmconfig || !m.edu)
		die("could not find every region in /proc/iomem and sysfs (ram %#" PRIx64
		    " low %#" PRIx64 " code %#" PRIx64 " hpet %#" PRIx64 " hole %#" PRIx64
		    " window %#" PRIx64 " edu %#" PRIx64 ")", m.ram_start, m.low_ram_end,
		    m.kernel_code, m.hpet, m.hole, m.window, m.edu);
	printf("     machine: RAM %#" PRIx64 "-%#" PRIx64 ", kernel code %#" PRIx64
	       ", rodata %#" PRIx64 ", hole %#" PRIx64 ", empty window %#" PRIx64
	       ", MMCONFIG %#" PRIx64 ", HPET %#" PRIx64 ", IOAPIC %#" PRIx64
	       ", edu BAR0 %#" PRIx64 "-%#" PRIx64 ", Local APIC %#" PRIx64
	       ", Unusable memory %#" PRIx64 "-%#" PRIx64 "\n", m.ram_start, m.ram_end,
	       m.kernel_code, m.kernel_rodata, m.hole, m.window, m.mmconfig, m.hpet,
	       m.ioapic, m.edu, m.edu_end, m.lapic, m.unusable, m.unusable_end);
}

/* ------------------------------------------------------------------ */

static void test_info_and_ioctls(int fd)
{
	struct physmem_info info;
	struct stat st;
	char what[160];

	memset(&info, 0xa5, sizeof(info));
	if (ioctl(fd, PHYSMEM_IOC_INFO, &info) == 0 && info.magic == PHYSMEM_MAGIC &&
	    info.abi_version == PHYSMEM_ABI_VERSION && info.max_pins == PHYSMEM_MAX_PINS &&
	    info.pins == 0 && info.page_size == PAGE && info.reserved == 0)
		ok("INFO: magic %#x, ABI %u, max_pins %u, pins %u, page_size %u",
		   info.magic, info.abi_version, info.max_pins, info.pins, info.page_size);
	else
		bad("INFO: magic %#x ABI %u max_pins %u pins %u page_size %u reserved %u",
		    info.magic, info.abi_version, info.max_pins, info.pins, info.page_size,
		    info.reserved);
	if (stat(DEV, &st) == 0 && S_ISCHR(st.st_mode) && (st.st_mode & 07777) == 0600 &&
	    st.st_uid == 0)
		ok("%s is a character device, mode 0600, owned by root", DEV);
	else
		bad("%s: mode %o uid %d", DEV, st.st_mode, st.st_uid);

	expect_errno("an unknown ioctl number", ioctl(fd, _IO(PHYSMEM_IOC_TYPE, 0x7f)), ENOTTY);
	expect_errno("INFO with the wrong size in its number",
		     ioctl(fd, _IOR(PHYSMEM_IOC_TYPE, 0x00, uint32_t), &info), ENOTTY);
	snprintf(what, sizeof(what), "INFO into an unmapped address");
	expect_errno(what, ioctl(fd, PHYSMEM_IOC_INFO, (void *)8), EFAULT);
	expect_errno("PIN from an unmapped address", ioctl(fd, PHYSMEM_IOC_PIN, (void *)8), EFAULT);
	expect_errno("UNPIN from an unmapped address", ioctl(fd, PHYSMEM_IOC_UNPIN, (void *)8), EFAULT);
}

/* Open without CAP_SYS_RAWIO (root otherwise), and as an ordinary user. */
static void test_open_privileges(void)
{
	pid_t child = fork();
	int status;

	if (child == 0) {
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct data[2];

		if (syscall(SYS_capget, &hdr, data) || (data[0].effective &= ~(1U << CAP_SYS_RAWIO),
		    syscall(SYS_capset, &hdr, data)))
			bad("dropping CAP_SYS_RAWIO: %s", ename(errno));
		else
			expect_errno("open as root without CAP_SYS_RAWIO", open(DEV, O_RDWR), EPERM);
		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000))
			bad("becoming uid 1000: %s", ename(errno));
		else
			expect_errno("open as uid 1000 (mode 0600)", open(DEV, O_RDONLY), EACCES);
		_exit(0);
	}
	waitpid(child, &status, 0);
}

static void test_offsets(int fd)
{
	volatile size_t huge = SIZE_MAX;	/* hidden from the compiler's checks */
	char buf[64], what[160];
	void *guard;
	long n;

	expect_errno("pread at offset -1", pread(fd, buf, 8, -1), EINVAL);
	expect_errno("pread at offset -2^63", pread(fd, buf, 8, INT64_MIN), EINVAL);
	expect_errno("pread of 8 at 2^63-7 (offset + length overflows)",
		     pread(fd, buf, 8, INT64_MAX - 6), EINVAL);
	expect_errno("pread of 8 at 2^63-9 (ends at 2^63-1, beyond physical memory)",
		     pread(fd, buf, 8, INT64_MAX - 8), ENXIO);
	expect_errno("pwrite of 8 at 2^63-9", pwrite(fd, buf, 8, INT64_MAX - 8), ENXIO);
	expect_errno("pread at 2^52 (beyond any physical address)", pread(fd, buf, 8, 1LL << 52), ENXIO);
	expect_errno("pread at 2^40 - 8 (the CPU's last address, nothing there)",
		     pread(fd, buf, 8, (1LL << 40) - 8), ENXIO);
	expect_errno("lseek to -1", lseek(fd, -1, SEEK_SET), EINVAL);
	expect_errno("lseek SEEK_END", lseek(fd, 0, SEEK_END), EINVAL);
	expect_errno("lseek SEEK_DATA", lseek(fd, 0, SEEK_DATA), EINVAL);
	expect_ret("lseek to 2^62", lseek(fd, 1LL << 62, SEEK_SET), 1LL << 62);
	expect_errno("read at f_pos 2^62", read(fd, buf, 8), ENXIO);
	expect_errno("lseek SEEK_CUR +2^62 (past 2^63)", lseek(fd, 1LL << 62, SEEK_CUR), EINVAL);
	expect_errno("lseek SEEK_CUR -2^62-1 (below 0)", lseek(fd, -(1LL << 62) - 1, SEEK_CUR), EINVAL);
	expect_ret("f_pos unchanged by the refused lseeks", lseek(fd, 0, SEEK_CUR), 1LL << 62);
	expect_ret("lseek SEEK_CUR back to the kernel's code",
		   lseek(fd, (off_t)m.kernel_code - (1LL << 62), SEEK_CUR), (long)m.kernel_code);
	expect_ret("read 8 bytes there, f_pos advances", read(fd, buf, 8), 8);
	expect_ret("f_pos after the read", lseek(fd, 0, SEEK_CUR), (long)m.kernel_code + 8);
	/* access_ok() refuses a length past the end of user space before anything else. */
	expect_errno("read of SIZE_MAX bytes", read(fd, buf, huge), EFAULT);

	/* 1 GiB of address space, PROT_NONE but its first page. */
	guard = mmap(NULL, 1UL << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (guard == MAP_FAILED)
		die("reserving 1 GiB of address space: %s", ename(errno));
	mprotect(guard, PAGE, PROT_READ | PROT_WRITE);
	expect_errno("pread of 1 GiB from RAM's start (crosses RAM's end, nothing copied)",
		     pread(fd, guard, 1UL << 30, m.ram_start), ENXIO);
	expect_ret("pread of 512 MiB of RAM into a buffer with one accessible page: that page",
		   pread(fd, guard, 512UL << 20, m.ram_start), PAGE);
	expect_errno("pread into a PROT_NONE buffer", pread(fd, (char *)guard + PAGE, 8, m.kernel_code), EFAULT);
	expect_errno("pwrite from a PROT_NONE buffer", pwrite(fd, (char *)guard + PAGE, 8, m.kernel_code), EFAULT);
	expect_errno("pread of edu's ident into a PROT_NONE buffer (the register was read)",
		     pread(fd, (char *)guard + PAGE, 4, m.edu), EFAULT);
	munmap(guard, 1UL << 30);
	n = pread(fd, buf, 0, 1LL << 52);
	snprintf(what, sizeof(what), "pread of 0 bytes anywhere");
	expect_ret(what, n, 0);
}

/*
 * What RAM read through /dev/physmem is compared with: /dev/mem's pread, or,
 * where /dev/mem refuses RAM (EPERM: CONFIG_STRICT_DEVMEM, the distro VM), the
 * module's other path to the same bytes: its mmap (remap_pfn_range) when
 * @by_mmap, else its pread (a copy through a temporary kernel mapping).
 */
static const char *ref_name = "/dev/mem";

static long ref_read(int fd, int mem, void *buf, size_t len, uint64_t addr, int by_mmap)
{
	uint64_t base = addr & ~(PAGE - 1);
	size_t span = ((addr + len + PAGE - 1) & ~(PAGE - 1)) - base;
	long n = pread(mem, buf, len, addr);
	unsigned char *p;

	if (n >= 0 || errno != EPERM)
		return n;
	if (!by_mmap) {
		ref_name = "/dev/physmem's pread (/dev/mem: EPERM, STRICT_DEVMEM)";
		return pread(fd, buf, len, addr);
	}
	ref_name = "/dev/physmem's mmap (/dev/mem: EPERM, STRICT_DEVMEM)";
	p = mmap(NULL, span, PROT_READ, MAP_SHARED, fd, base);
	if (p == MAP_FAILED)
		return -1;
	memcpy(buf, p + (addr - base), len);
	munmap(p, span);
	return len;
}

static void test_regions(int fd, int mem)
{
	static char a[4 << 20], b[4 << 20];
	char what[200];
	uint64_t v, w;
	long n;

	/* RAM agrees with /dev/mem, across pages and in bulk (the kernel's code is stable). */
	n = pread(fd, a, sizeof(a), m.kernel_code);
	if (n == (long)sizeof(a) && ref_read(fd, mem, b, sizeof(b), m.kernel_code, 1) == n && !memcmp(a, b, n))
		ok("4 MiB of the kernel's code at %#" PRIx64 ": /dev/physmem = %s, byte for byte", m.kernel_code, ref_name);
	else
		bad("4 MiB at %#" PRIx64 ": physmem read %ld bytes, differs from %s", m.kernel_code, n, ref_name);
	n = pread(fd, a, 16, m.kernel_code + PAGE - 8);
	if (n == 16 && ref_read(fd, mem, b, 16, m.kernel_code + PAGE - 8, 1) == 16 && !memcmp(a, b, 16))
		ok("16 bytes across a page boundary at %#" PRIx64 " = %s", m.kernel_code + PAGE - 8, ref_name);
	else
		bad("16 bytes across a page boundary: %ld, differs from %s", n, ref_name);
	n = pread(fd, a, 3, m.kernel_rodata + 5);
	if (n == 3 && ref_read(fd, mem, b, 3, m.kernel_rodata + 5, 1) == 3 && !memcmp(a, b, 3))
		ok("3 bytes at an odd RAM address = %s", ref_name);
	else
		bad("3 bytes at an odd RAM address: %ld", n);

	expect_ret("the last 8 bytes of RAM", peek(fd, m.ram_end - 7, 8, &v), 8);
	snprintf(what, sizeof(what), "8 bytes at %#" PRIx64 ", crossing RAM's end into what follows (Unusable memory or Reserved)", m.ram_end - 3);
	expect_errno(what, peek(fd, m.ram_end - 3, 8, &v), ENXIO);
	expect_errno("2 pages crossing RAM's end", pread(fd, a, 2 * PAGE, (m.ram_end & ~(PAGE - 1))), ENXIO);
	expect_errno("write of 8 crossing RAM's end (nothing written)", poke(fd, m.ram_end - 3, 8, 0), ENXIO);
	expect_errno("the range right after RAM (Unusable memory or Reserved)", peek(fd, m.ram_end + 1, 4, &v), ENXIO);
	expect_errno("Reserved page 0", peek(fd, 0, 4, &v), ENXIO);
	expect_ret("low RAM at 0x1000", peek(fd, 0x1000, 8, &v), 8);
	snprintf(what, sizeof(what), "the page holding low RAM's end %#" PRIx64 " (part Reserved)", m.low_ram_end);
	expect_errno(what, peek(fd, m.low_ram_end & ~(PAGE - 1), 4, &v), ENXIO);
	snprintf(what, sizeof(what), "a hole no resource describes, %#" PRIx64, m.hole);
	expect_errno(what, peek(fd, m.hole, 4, &v), ENXIO);
	snprintf(what, sizeof(what), "an empty PCI bridge window, %#" PRIx64, m.window);
	expect_errno(what, peek(fd, m.window, 4, &v), ENXIO);
	snprintf(what, sizeof(what), "PCI MMCONFIG, Reserved inside, %#" PRIx64, m.mmconfig);
	expect_errno(what, peek(fd, m.mmconfig, 4, &v), ENXIO);
	expect_errno("a write to that hole", poke(fd, m.hole, 4, 0), ENXIO);

	/* Device: edu. Its answers tell the access widths apart. */
	n = peek(fd, m.edu, 4, &v);
	if (n == 4 && v == EDU_IDENT)
		ok("edu ident, 4 bytes: %#" PRIx64, v);
	else
		bad("edu ident: %ld bytes, %#" PRIx64, n, v);
	n = peek(fd, m.edu, 1, &v);
	if (n == 1 && v == 0)
		ok("edu ident, 1 byte: 0 (edu ignores byte accesses: one 1-byte access, not a 4-byte one cut down)");
	else
		bad("edu ident, 1 byte: %ld (%s), %#" PRIx64 " (0xed would mean a wider access)", n, ename(errno), v);
	n = peek(fd, m.edu, 2, &v);
	if (n == 2 && v == 0)
		ok("edu ident, 2 bytes: 0 (one 2-byte access)");
	else
		bad("edu ident, 2 bytes: %ld bytes, %#" PRIx64, n, v);
	n = peek(fd, m.edu, 8, &v);
	if (n == 8 && v == ~0ULL)
		ok("edu at 0, 8 bytes: %#" PRIx64 " (edu answers all ones to 8-byte reads below 0x80: one 8-byte access, not two 4-byte ones)", v);
	else
		bad("edu at 0, 8 bytes: %ld bytes, %#" PRIx64 " (two 4-byte reads would give ident and liveness)", n, v);
	poke(fd, m.edu + 0x80, 8, 0x1122334455667788ULL);
	n = peek(fd, m.edu + 0x80, 8, &v);
	peek(fd, m.edu + 0x80, 4, &w);
	if (n == 8 && v == 0x1122334455667788ULL && w == 0x55667788)
		ok("edu DMA source (0x80), 8-byte write and read: %#" PRIx64 "; its 4-byte read: %#" PRIx64, v, w);
	else
		bad("edu DMA source: 8-byte read %#" PRIx64 ", 4-byte %#" PRIx64 " (split accesses lose the upper half)", v, w);
	poke(fd, m.edu + 4, 4, 0x12345678);
	n = peek(fd, m.edu + 4, 4, &v);
	if (n == 4 && v == 0xedcba987)
		ok("edu liveness: wrote 0x12345678, read %#" PRIx64, v);
	else
		bad("edu liveness: read %#" PRIx64, v);
	poke(fd, m.edu + 4, 8, 0);
	peek(fd, m.edu + 4, 4, &v);
	if (v == 0xedcba987)
		ok("an 8-byte write to liveness is ignored by edu (it wants 4): still %#" PRIx64, v);
	else
		bad("after an 8-byte write to liveness: %#" PRIx64, v);

	expect_errno("edu: 4 bytes at BAR+1 (misaligned)", peek(fd, m.edu + 1, 4, &v), EINVAL);
	expect_errno("edu: 4 bytes at BAR+2 (misaligned)", peek(fd, m.edu + 2, 4, &v), EINVAL);
	expect_errno("edu: 8 bytes at BAR+4 (misaligned)", peek(fd, m.edu + 4, 8, &v), EINVAL);
	expect_errno("edu: 3 bytes", pread(fd, a, 3, m.edu), EINVAL);
	expect_errno("edu: 16 bytes", pread(fd, a, 16, m.edu), EINVAL);
	expect_errno("edu: a page", pread(fd, a, PAGE, m.edu), EINVAL);
	expect_errno("edu: a misaligned write", poke(fd, m.edu + 6, 4, 0), EINVAL);
	expect_errno("edu: 8 bytes crossing BAR0's end", peek(fd, m.edu_end - 3, 8, &v), ENXIO);
	expect_ret("edu: the last 4 bytes of BAR0", peek(fd, m.edu_end - 3, 4, &v), 4);

	/* HPET: a driver-claimed (busy) region; its capabilities register is 64-bit. */
	n = peek(fd, m.hpet, 8, &v);
	w = 0;
	{
		volatile uint64_t *regs = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, mem, m.hpet);

		if (regs != MAP_FAILED) {
			w = regs[0];
			munmap((void *)regs, PAGE);
		}
	}
	if (n == 8 && v == w && v)
		ok("HPET capabilities, 8 bytes: %#" PRIx64 " = the same register through /dev/mem's mmap", v);
	else
		bad("HPET capabilities: physmem %#" PRIx64 " (%ld, %s), /dev/mem %#" PRIx64, v, n, ename(errno), w);
}

/* The kernel's text and rodata: even the same bytes written back fail with EIO, nothing changes. */
static void test_kernel_readonly(int fd)
{
	uint64_t where[2] = { m.kernel_code + 0x100, m.kernel_rodata + 0x100 };
	const char *name[2] = { "text", "rodata" };
	int i;

	for (i = 0; i < 2; i++) {
		uint64_t before, after;
		long n;

		peek(fd, where[i], 8, &before);
		n = poke(fd, where[i], 8, before);
		peek(fd, where[i], 8, &after);
		if (n == -1 && errno == EIO && after == before)
			ok("the same bytes written back into the kernel's %s at %#" PRIx64 ": EIO (the kernel keeps it read-only), unchanged",
			   name[i], where[i]);
		else
			bad("writing the kernel's %s back: %ld (%s), %#" PRIx64 " -> %#" PRIx64,
			    name[i], n, ename(errno), before, after);
	}
}

static void test_mmap(int fd, int mem)
{
	volatile uint32_t *regs;
	unsigned char *p, buf[PAGE];
	void *q;

	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, m.kernel_code);
	if (p != MAP_FAILED && ref_read(fd, mem, buf, PAGE, m.kernel_code, 0) == PAGE && !memcmp(p, buf, PAGE))
		ok("mmap of a RAM page (the kernel's code) = %s of it", ref_name);
	else
		bad("mmap of a RAM page: %s", p == MAP_FAILED ? ename(errno) : "differs");
	if (p != MAP_FAILED)
		munmap(p, PAGE);

	regs = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, m.edu);
	if (regs != MAP_FAILED) {
		uint32_t ident = regs[0];

		regs[1] = 0x0f0f0f0f;
		if (ident == EDU_IDENT && regs[1] == 0xf0f0f0f0)
			ok("mmap of edu's BAR0 (uncached): ident %#x, liveness inverts 0x0f0f0f0f to %#x", ident, regs[1]);
		else
			bad("mmap of edu: ident %#x, liveness %#x", ident, regs[1]);
		munmap((void *)regs, PAGE);
	} else {
		bad("mmap of edu's BAR0: %s", ename(errno));
	}

	q = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, m.kernel_code);
	expect_errno("mmap MAP_PRIVATE", q == MAP_FAILED ? -1 : 0, EINVAL);
	q = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, m.ram_end + 1 - PAGE);
	expect_errno("mmap of RAM's last page and the page after it (Unusable memory or Reserved)", q == MAP_FAILED ? -1 : 0, ENXIO);
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, m.hole);
	expect_errno("mmap of a hole", q == MAP_FAILED ? -1 : 0, ENXIO);
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, m.ioapic);
	expect_errno("mmap of the IOAPIC's page (its resource is 1 KiB of it)", q == MAP_FAILED ? -1 : 0, ENXIO);
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 1LL << 52);
	expect_errno("mmap at 2^52", q == MAP_FAILED ? -1 : 0, ENXIO);
	q = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, m.edu_end + 1 - PAGE);
	expect_errno("mmap of edu's last page and the next BAR", q == MAP_FAILED ? -1 : 0, ENXIO);
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, (off_t)-PAGE);
	if (q == MAP_FAILED && (errno == EOVERFLOW || errno == ENXIO || errno == EINVAL))
		ok("mmap at offset -4096: %s", ename(errno));
	else
		bad("mmap at offset -4096: %s", q == MAP_FAILED ? ename(errno) : "mapped");
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, INT64_MAX & ~(PAGE - 1));
	if (q == MAP_FAILED && (errno == EOVERFLOW || errno == ENXIO))
		ok("mmap at offset 2^63 - 4096: %s", ename(errno));
	else
		bad("mmap at offset 2^63 - 4096: %s", q == MAP_FAILED ? ename(errno) : "mapped");
}

/* ------------------------------------------------------------------ */
/* Threads at once.                                                   */

#define WRITERS 4
#define ROUNDS 1500

struct worker {
	int fd;
	int id;
	long ops;
	long mismatches;
	char why[160];
};

static void *ram_writer(void *arg)
{
	struct worker *w = arg;
	volatile uint64_t *page = map_anon(PAGE);
	struct physmem_pin p;
	uint64_t phys, v;
	long i;

	page[0] = 1;
	if (pin(w->fd, getpid(), page, &p) || p.pfn != pagemap_pfn(getpid(), page)) {
		w->mismatches++;
		snprintf(w->why, sizeof(w->why), "pin: %s, pfn %#llx", ename(errno), (unsigned long long)p.pfn);
		return NULL;
	}
	phys = p.pfn * PAGE;
	for (i = 0; i < ROUNDS; i++) {
		unsigned int off = (i * 8) % PAGE;
		uint64_t val = ((uint64_t)w->id << 56) | i;

		if (poke(w->fd, phys + off, 8, val) != 8 || page[off / 8] != val) {
			w->mismatches++;
			snprintf(w->why, sizeof(w->why), "wrote %#" PRIx64 " at %#" PRIx64 ", the page holds %#" PRIx64,
				 val, phys + off, page[off / 8]);
		}
		page[off / 8] = ~val;
		if (peek(w->fd, phys + off, 8, &v) != 8 || v != ~val) {
			w->mismatches++;
			snprintf(w->why, sizeof(w->why), "stored %#" PRIx64 ", read %#" PRIx64, ~val, v);
		}
		w->ops += 2;
	}
	unpin(w->fd, p.handle);
	munmap((void *)page, PAGE);
	return NULL;
}

static void *register_hammer(void *arg)
{
	struct worker *w = arg;
	uint64_t v;
	long i;

	for (i = 0; i < ROUNDS; i++) {
		uint32_t x = 0x9e3779b9U * (uint32_t)i;

		if (peek(w->fd, m.edu, 4, &v) != 4 || v != EDU_IDENT) {
			w->mismatches++;
			snprintf(w->why, sizeof(w->why), "ident %#" PRIx64, v);
		}
		if (poke(w->fd, m.edu + 4, 4, x) != 4 || peek(w->fd, m.edu + 4, 4, &v) != 4 ||
		    v != (uint32_t)~x) {
			w->mismatches++;
			snprintf(w->why, sizeof(w->why), "liveness %#x -> %#" PRIx64, x, v);
		}
		w->ops += 3;
	}
	return NULL;
}

/* Two threads share one file offset: lseek + read races, each read must
 * return 8 bytes from one of the positions the races allow. A character
 * device's f_pos is not under f_pos_lock, so a read's stale write-back can
 * undo the other thread's lseek and the offset walks on from a base in steps
 * of 8: any base + 8k is allowed (k < SEEK_STEPS, far more than TCG's worst
 * seen), never a byte in between nor another place. */
#define SEEK_STEPS 64
static uint64_t seek_base[2];
static uint64_t seek_expect[2][SEEK_STEPS];

static void *seeker(void *arg)
{
	struct worker *w = arg;
	long i;

	for (i = 0; i < ROUNDS; i++) {
		int which = (i + w->id) & 1, j, found = 0;
		uint64_t v = 0;

		if (lseek(w->fd, seek_base[which], SEEK_SET) < 0 || read(w->fd, &v, 8) != 8) {
			w->mismatches++;
			snprintf(w->why, sizeof(w->why), "lseek/read: %s", ename(errno));
			continue;
		}
		for (j = 0; j < 2 * SEEK_STEPS; j++)
			found |= v == seek_expect[j / SEEK_STEPS][j % SEEK_STEPS];
		if (!found) {
			w->mismatches++;
			snprintf(w->why, sizeof(w->why), "read %#" PRIx64 ", from no position a race allows", v);
		}
		w->ops += 2;
	}
	return NULL;
}

static void *pinner(void *arg)
{
	struct worker *w = arg;
	volatile uint64_t *page = map_anon(PAGE);
	uint64_t first = 0;
	long i;

	page[0] = 2;
	for (i = 0; i < ROUNDS / 2; i++) {
		struct physmem_pin p;
		int held;

		if (pin(w->fd, getpid(), page, &p)) {
			w->mismatches++;
			snprintf(w->why, sizeof(w->why), "pin: %s", ename(errno));
			continue;
		}
		if (!first)
			first = p.pfn;
		held = pins_held(w->fd);
		if (p.pfn != first || held < 1 || held > PHYSMEM_MAX_PINS || unpin(w->fd, p.handle)) {
			w->mismatches++;
			snprintf(w->why, sizeof(w->why), "pfn %#llx (first %#" PRIx64 "), %d pins held",
				 (unsigned long long)p.pfn, first, held);
		}
		w->ops += 3;
	}
	munmap((void *)page, PAGE);
	return NULL;
}

static void test_threads(int fd)
{
	struct worker w[WRITERS + 4];
	pthread_t t[WRITERS + 4];
	int shared = open_dev(DEV, O_RDONLY), i, j, n = 0;
	long ops = 0, bad_ops = 0;
	uint64_t started = now_ms();

	seek_base[0] = m.kernel_code + 0x200;
	seek_base[1] = m.kernel_rodata + 0x300;
	for (i = 0; i < 2; i++)
		for (j = 0; j < SEEK_STEPS; j++)
			peek(fd, seek_base[i] + 8 * j, 8, &seek_expect[i][j]);

	memset(w, 0, sizeof(w));
	for (i = 0; i < WRITERS; i++) {
		w[n] = (struct worker){ .fd = fd, .id = i + 1 };
		pthread_create(&t[n], NULL, ram_writer, &w[n]);
		n++;
	}
	w[n] = (struct worker){ .fd = fd, .id = 10 };
	pthread_create(&t[n], NULL, register_hammer, &w[n]);
	n++;
	for (i = 0; i < 2; i++) {
		w[n] = (struct worker){ .fd = shared, .id = i };
		pthread_create(&t[n], NULL, seeker, &w[n]);
		n++;
	}
	w[n] = (struct worker){ .fd = fd, .id = 20 };
	pthread_create(&t[n], NULL, pinner, &w[n]);
	n++;
	for (i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		ops += w[i].ops;
		bad_ops += w[i].mismatches;
		if (w[i].mismatches)
			bad("thread %d: %ld wrong results, last: %s", w[i].id, w[i].mismatches, w[i].why);
	}
	provoked("%d threads at once (4 RAM writers on their own pinned pages, edu registers, 2 sharing a file offset, a pin/unpin loop): %ld syscalls in %" PRIu64 " ms",
		 n, ops, now_ms() - started);
	if (!bad_ops && ops > 0)
		ok("threads: %ld syscalls, every value exact", ops);
	else if (!bad_ops)
		bad("threads: no operations ran");
	expect_ret("no pins left behind by the threads", pins_held(fd), 0);
	close(shared);
}

/* ------------------------------------------------------------------ */
/* Killed mid-access.                                                 */

struct progress {
	volatile int inside;
	volatile long done;
};

static void killed_mid_access(int fd)
{
	struct progress *prog = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int refs_before = module_refs(), inside = 0, rounds = 12, r;
	long done = 0;

	for (r = 0; r < rounds; r++) {
		pid_t child;
		int status;

		memset(prog, 0, sizeof(*prog));
		child = fork();
		if (child == 0) {
			int own = open_dev(DEV, O_RDWR);
			char *buf = malloc(16 << 20);
			volatile uint64_t *page = map_anon(PAGE);
			struct physmem_pin p;

			page[0] = 3;
			for (;;) {
				/* Hold pins while being killed, too. */
				pin(own, getpid(), page, &p);
				prog->inside = 1;
				pread(own, buf, 16 << 20, m.kernel_code);
				prog->inside = 0;
				prog->done++;
				if (prog->done % 3 == 0)
					unpin(own, p.handle);
			}
		}
		usleep(20000 + r * 15000);
		inside += prog->inside;
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
		done += prog->done;
		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
			bad("round %d: the child ended with status %#x, not by SIGKILL", r, status);
	}
	provoked("%d children SIGKILLed while reading 16 MiB per pread and holding pins: %d killed inside pread, %ld reads completed in all",
		 rounds, inside, done);
	if (inside > 0)
		ok("a process killed inside a long read: %d of %d kills landed inside pread", inside, rounds);
	else
		bad("no kill landed inside a pread: the case was not provoked");
	expect_ret("module references back to what this process holds", module_refs(), refs_before);
	expect_ret("this file's pins untouched", pins_held(fd), 0);
	munmap(prog, PAGE);
}

/* ------------------------------------------------------------------ */
/* Pin abuse.                                                         */

static pid_t spawn_sleeper(uid_t uid, int dumpable, volatile uint64_t **page_out)
{
	volatile uint64_t *page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int ready[2];
	pid_t child;
	char c;

	if (pipe(ready))
		die("pipe: %s", ename(errno));
	child = fork();
	if (child == 0) {
		volatile uint64_t *own = map_anon(PAGE);

		own[0] = 0x5eed;
		if (uid && (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)))
			_exit(1);
		prctl(PR_SET_DUMPABLE, dumpable);
		page[0] = (uintptr_t)own;
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		die("a sleeper child did not start");
	close(ready[0]);
	*page_out = (volatile uint64_t *)(uintptr_t)page[0];
	munmap((void *)page, PAGE);
	return child;
}

static void stop_child(pid_t child)
{
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

static void test_pin_abuse(int fd)
{
	struct physmem_pin req, p[PHYSMEM_MAX_PINS + 1];
	volatile uint64_t *page = map_anon(PAGE);
	void *ro, *none, *gone, *devmap;
	pid_t zombie;
	int i, got = 0, other;
	char what[160];

	page[0] = 7;
	/* pidfd_open() refuses these before the module is asked. */
	expect_errno("pin pid 0 (pidfd_open)", pin(fd, 0, page, NULL), EINVAL);
	expect_errno("pin pid -1 (pidfd_open)", pin(fd, -1, page, NULL), EINVAL);
	expect_errno("pin pid INT_MIN (pidfd_open)", pin(fd, INT32_MIN, page, NULL), EINVAL);
	expect_errno("pin pid 4194304 (beyond pid_max; pidfd_open)", pin(fd, 4194304, page, NULL), ESRCH);
	expect_errno("pin pid 32767 (no such process; pidfd_open)", pin(fd, 32767, page, NULL), ESRCH);
	expect_errno("pin kthreadd (pid 2, a kernel thread)", pin(fd, 2, page, NULL), EPERM);
	req = (struct physmem_pin){ .pidfd = syscall(SYS_pidfd_open, getpid(), 0), .flags = 1,
				    .vaddr = (uintptr_t)page };
	expect_errno("pin with flags 1", ioctl(fd, PHYSMEM_IOC_PIN, &req), EINVAL);
	close(req.pidfd);
	zombie = fork();
	if (zombie == 0)
		_exit(0);
	usleep(100000);
	expect_errno("pin a zombie (exited, not reaped)", pin(fd, zombie, page, NULL), ESRCH);
	waitpid(zombie, NULL, 0);

	ro = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	none = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	gone = map_anon(PAGE);
	munmap(gone, PAGE);
	devmap = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, m.edu);
	expect_errno("pin address 0", pin(fd, getpid(), NULL, NULL), EFAULT);
	expect_errno("pin an unmapped address", pin(fd, getpid(), gone, NULL), EFAULT);
	expect_errno("pin a read-only mapping", pin(fd, getpid(), ro, NULL), EFAULT);
	expect_errno("pin a PROT_NONE mapping", pin(fd, getpid(), none, NULL), EFAULT);
	expect_errno("pin a /dev/physmem mapping of edu (VM_IO, VM_PFNMAP)", pin(fd, getpid(), devmap, NULL), EFAULT);
	expect_errno("pin a kernel address (0xffff888000000000)",
		     pin(fd, getpid(), (void *)0xffff888000000000UL, NULL), EFAULT);
	expect_errno("pin a non-canonical address (2^47)", pin(fd, getpid(), (void *)(1UL << 47), NULL), EFAULT);
	expect_errno("pin the vsyscall page", pin(fd, getpid(), (void *)0xffffffffff600000UL, NULL), EFAULT);
	expect_errno("pin address ~0", pin(fd, getpid(), (void *)~0UL, NULL), EFAULT);
	munmap(ro, PAGE);
	munmap(none, PAGE);
	munmap(devmap, PAGE);

	expect_errno("unpin handle 0", unpin(fd, 0), ENOENT);
	expect_errno("unpin a handle never given", unpin(fd, 12345), ENOENT);
	for (i = 0; i <= PHYSMEM_MAX_PINS; i++)
		if (pin(fd, getpid(), page, &p[i]) == 0)
			got++;
		else if (i < PHYSMEM_MAX_PINS)
			bad("pin %d of %d: %s", i + 1, PHYSMEM_MAX_PINS, ename(errno));
	snprintf(what, sizeof(what), "pin number %d", PHYSMEM_MAX_PINS + 1);
	expect_errno(what, pin(fd, getpid(), page, NULL), ENOSPC);
	expect_ret("pins held after 65 attempts", pins_held(fd), PHYSMEM_MAX_PINS);
	for (i = 1; i < PHYSMEM_MAX_PINS; i++)
		if (p[i].handle == 0 || p[i].handle == p[i - 1].handle || p[i].pfn != p[0].pfn)
			break;
	if (i == PHYSMEM_MAX_PINS && p[0].handle)
		ok("64 pins of one page: one frame %#llx, 64 distinct non-zero handles", (unsigned long long)p[0].pfn);
	else
		bad("pin %d: handle %llu pfn %#llx", i, (unsigned long long)p[i].handle, (unsigned long long)p[i].pfn);
	other = open_dev(DEV, O_RDWR);
	expect_ret("another open file may still pin (the bound is per file)", pin(other, getpid(), page, NULL), 0);
	close(other);
	expect_ret("unpin one of them", unpin(fd, p[10].handle), 0);
	expect_errno("unpin it twice", unpin(fd, p[10].handle), ENOENT);
	expect_ret("then a pin fits again", pin(fd, getpid(), page, &p[10]), 0);
	for (i = 0; i < PHYSMEM_MAX_PINS; i++)
		unpin(fd, p[i].handle);
	expect_ret("pins held after unpinning all", pins_held(fd), 0);
	munmap((void *)page, PAGE);
}

/* The ptrace attach rule, from a caller that is uid 1000 without capabilities. */
static void test_pin_permissions(int fd)
{
	volatile uint64_t *open_page, *closed_page;
	pid_t open_target = spawn_sleeper(1000, 1, &open_page);
	pid_t closed_target = spawn_sleeper(1000, 0, &closed_page);
	volatile uint64_t *mine = map_anon(PAGE);
	volatile uint64_t *result = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t root = getpid(), caller;
	int status;

	mine[0] = 9;
	caller = fork();
	if (caller == 0) {
		struct physmem_pin p;

		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) {
			bad("becoming uid 1000: %s", ename(errno));
			_exit(1);
		}
		expect_errno("uid 1000 (fd inherited) pins a root process", pin(fd, root, mine, NULL), EACCES);
		/* uid 1000 cannot read frame numbers from pagemap: root compares. */
		if (pin(fd, open_target, open_page, &p) == 0) {
			result[0] = p.pfn;
			unpin(fd, p.handle);
		} else {
			result[1] = errno;
		}
		expect_errno("uid 1000 pins a non-dumpable uid-1000 process",
			     pin(fd, closed_target, closed_page, NULL), EACCES);
		_exit(0);
	}
	waitpid(caller, &status, 0);
	if (result[0] && result[0] == pagemap_pfn(open_target, open_page))
		ok("uid 1000 pins a dumpable uid-1000 process: frame %#" PRIx64 " = its pagemap", result[0]);
	else
		bad("uid 1000 pins a dumpable uid-1000 process: frame %#" PRIx64 ", %s", result[0],
		    ename((int)result[1]));
	{
		struct physmem_pin p;

		expect_ret("root (CAP_SYS_PTRACE) pins the non-dumpable process",
			   pin(fd, closed_target, closed_page, &p), 0);
		unpin(fd, p.handle);
	}
	stop_child(open_target);
	stop_child(closed_target);
	munmap((void *)mine, PAGE);
	munmap((void *)result, PAGE);
}

/* ------------------------------------------------------------------ */
/* What a pin pins.                                                   */

/* A child that watches its own variable and exits 0 when it reads @want. */
static pid_t spawn_watcher(volatile uint64_t *var, uint64_t want, int ready_fd)
{
	pid_t child = fork();

	if (child == 0) {
		uint64_t deadline = now_ms() + 10000;

		if (write(ready_fd, "r", 1) != 1)
			_exit(3);
		while (now_ms() < deadline)
			if (*var == want)
				_exit(0);
		_exit(2);
	}
	return child;
}

static void test_pin_targets(int fd)
{
	volatile uint64_t *cow = map_anon(PAGE);
	int ready[2], status;
	struct physmem_pin p;
	pid_t child;
	char c;

	/* Copy-on-write: after fork, parent and child share a frame until one writes. */
	cow[0] = 0xc0c0c0c0c0c0c0c0ULL;
	if (pipe(ready))
		die("pipe");
	child = spawn_watcher(cow, 0x1234567890abcdefULL, ready[1]);
	if (read(ready[0], &c, 1) != 1)
		die("watcher");
	{
		uint64_t shared = pagemap_pfn(child, cow), mine = pagemap_pfn(getpid(), cow);

		if (shared && shared == mine)
			ok("after fork the child's page is the parent's frame %#" PRIx64 " (copy-on-write)", mine);
		else
			bad("after fork: child frame %#" PRIx64 ", parent %#" PRIx64, shared, mine);
		if (pin(fd, child, cow, &p) == 0 && p.pfn != mine &&
		    p.pfn == pagemap_pfn(child, cow) && pagemap_pfn(getpid(), cow) == mine)
			ok("pinning the child's page gave it its own frame %#llx (FOLL_WRITE broke copy-on-write); the parent keeps %#" PRIx64,
			   (unsigned long long)p.pfn, mine);
		else
			bad("pin of a copy-on-write page: %s, pfn %#llx, child now %#" PRIx64 ", parent %#" PRIx64,
			    ename(errno), (unsigned long long)p.pfn, pagemap_pfn(child, cow), mine);
		poke(fd, p.pfn * PAGE, 8, 0x1234567890abcdefULL);
		waitpid(child, &status, 0);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && cow[0] == 0xc0c0c0c0c0c0c0c0ULL)
			ok("a write to the pinned frame reached the child (it saw 0x1234567890abcdef); the parent still reads %#" PRIx64,
			   cow[0]);
		else
			bad("after the write: child status %#x, parent reads %#" PRIx64, status, cow[0]);
		unpin(fd, p.handle);
	}
	close(ready[0]);
	close(ready[1]);
	munmap((void *)cow, PAGE);

	/* The zero page: a page only read maps the shared zero frame. */
	{
		volatile uint64_t *z = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
					    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint64_t zero0, zero1, v = z[0] + z[512];

		zero0 = pagemap_pfn(getpid(), z);
		zero1 = pagemap_pfn(getpid(), z + 512);
		if (zero0 && zero0 == zero1 && !v)
			ok("two read-only-touched pages map the same (zero) frame %#" PRIx64, zero0);
		else
			bad("zero page: %#" PRIx64 " and %#" PRIx64, zero0, zero1);
		if (pin(fd, getpid(), z, &p) == 0 && p.pfn != zero0 && p.pfn == pagemap_pfn(getpid(), z)) {
			poke(fd, p.pfn * PAGE + 16, 8, 0xfeed);
			if (z[2] == 0xfeed && z[512 + 2] == 0 && pagemap_pfn(getpid(), z + 512) == zero0)
				ok("pinning it gave a private frame %#llx; a write there shows in it alone, the zero frame stays zero",
				   (unsigned long long)p.pfn);
			else
				bad("after writing the pinned former zero page: %#" PRIx64 ", neighbour %#" PRIx64, z[2], z[514]);
			unpin(fd, p.handle);
		} else {
			bad("pin of a zero-page mapping: %s, pfn %#llx (zero %#" PRIx64 ")", ename(errno),
			    (unsigned long long)p.pfn, zero0);
		}
		munmap((void *)z, 2 * PAGE);
	}

	/* A transparent huge page: the pin names the exact 4 KiB frame. */
	{
		char *raw = map_anon(8 << 20);
		char *huge = (char *)(((uintptr_t)raw + (2 << 20) - 1) & ~((2UL << 20) - 1));
		uint64_t want;

		madvise(huge, 2 << 20, MADV_HUGEPAGE);
		memset(huge, 0x11, 2 << 20);
		want = pagemap_pfn(getpid(), huge + 0x12345);
		if (kpageflag(want, 22) != 1)
			bad("the 2 MiB area is not a transparent huge page (kpageflags THP bit clear)");
		else if (pin(fd, getpid(), huge + 0x12345, &p) == 0 && p.pfn == want &&
			 p.pfn == pagemap_pfn(getpid(), huge) + 0x12)
			ok("a THP subpage: pinned frame %#llx = pagemap, = head frame + 0x12", (unsigned long long)p.pfn);
		else
			bad("THP subpage pin: %s, pfn %#llx, pagemap %#" PRIx64, ename(errno), (unsigned long long)p.pfn, want);
		unpin(fd, p.handle);
		munmap(raw, 8 << 20);
	}
}

/* ------------------------------------------------------------------ */
/* While pinned: not merged, not moved, not freed; released on crash/close. */

static int ksm_on(void)
{
	return write_file("/sys/kernel/mm/ksm/pages_to_scan", "5000") ||
	       write_file("/sys/kernel/mm/ksm/sleep_millisecs", "10") ||
	       write_file("/sys/kernel/mm/ksm/run", "1");
}

/* Wait until @scans more full KSM scans are done (bounded); the count done. */
static long ksm_wait_scans(long scans, uint64_t limit_ms)
{
	long start = read_number("/sys/kernel/mm/ksm/full_scans");
	uint64_t deadline = now_ms() + limit_ms;

	while (read_number("/sys/kernel/mm/ksm/full_scans") < start + scans && now_ms() < deadline)
		usleep(20000);
	return read_number("/sys/kernel/mm/ksm/full_scans") - start;
}

/* A child that opens its own /dev/physmem, pins @vaddr of @pid, reports the
 * frame, then on a byte from @cmd closes the file without unpinning. */
static pid_t spawn_pinner(pid_t pid, volatile void *vaddr, int *cmd_out, uint64_t *pfn_out)
{
	int up[2], down[2];
	pid_t child;

	if (pipe(up) || pipe(down))
		die("pipe");
	child = fork();
	if (child == 0) {
		int own = open_dev(DEV, O_RDWR);
		struct physmem_pin p = { 0 };
		char c;

		if (pin(own, pid, vaddr, &p))
			p.pfn = 0;
		if (write(up[1], &p.pfn, 8) != 8)
			_exit(1);
		if (read(down[0], &c, 1) == 1)
			close(own);	/* no unpin */
		for (;;)
			pause();
	}
	close(up[1]);
	close(down[0]);
	if (read(up[0], pfn_out, 8) != 8)
		*pfn_out = 0;
	close(up[0]);
	*cmd_out = down[1];
	return child;
}

static void test_pin_holds_against_ksm(void)
{
	const char *how[2] = { "killed (no unpin, no close)", "closed its file without unpinning" };
	int round;

	if (ksm_on()) {
		bad("KSM cannot be switched on (/sys/kernel/mm/ksm): %s", ename(errno));
		return;
	}
	for (round = 0; round < 2; round++) {
		uint64_t *area = map_anon(2 * PAGE), pinned = 0, a, b, waited;
		long scans;
		int cmd;
		pid_t child;
		size_t i;

		for (i = 0; i < PAGE / 8; i++)
			area[i] = area[i + PAGE / 8] = 0x6b736d0000000000ULL + i + round * 0x1000;
		child = spawn_pinner(getpid(), area, &cmd, &pinned);
		madvise(area, 2 * PAGE, MADV_MERGEABLE);
		scans = ksm_wait_scans(4, 60000);
		a = pagemap_pfn(getpid(), area);
		b = pagemap_pfn(getpid(), area + PAGE / 8);
		if (pinned && a == pinned && a != b && scans >= 4)
			ok("KSM, %ld full scans over two identical pages, one pinned: not merged (frames %#" PRIx64 " and %#" PRIx64 ")",
			   scans, a, b);
		else
			bad("KSM with a pin: %ld scans, pinned %#" PRIx64 ", frames %#" PRIx64 " %#" PRIx64, scans, pinned, a, b);
		if (round == 0) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
		} else if (write(cmd, "c", 1) != 1) {
			bad("could not tell the pinner to close");
		}
		waited = now_ms();
		scans = 0;
		while (pagemap_pfn(getpid(), area) != pagemap_pfn(getpid(), area + PAGE / 8) &&
		       now_ms() < waited + 60000)
			scans += ksm_wait_scans(1, 5000);
		a = pagemap_pfn(getpid(), area);
		b = pagemap_pfn(getpid(), area + PAGE / 8);
		if (a == b && a)
			ok("after the pinner %s, KSM merged them within %ld more scans (one frame %#" PRIx64 "): the pin was released",
			   how[round], scans, a);
		else
			bad("after the pinner %s: frames %#" PRIx64 " %#" PRIx64 " after %ld scans", how[round], a, b, scans);
		if (round == 0 && a == b && a) {
			/* A pin is for writing: it gives the page back its own frame. */
			int own = open_dev(DEV, O_RDWR);
			struct physmem_pin p;

			if (pin(own, getpid(), area, &p) == 0 && p.pfn != a &&
			    p.pfn == pagemap_pfn(getpid(), area) &&
			    pagemap_pfn(getpid(), area + PAGE / 8) == a)
				ok("pinning one of the merged pages gave it its own frame %#llx; the other still maps the KSM frame %#" PRIx64,
				   (unsigned long long)p.pfn, a);
			else
				bad("pin of a KSM-merged page: %s, pfn %#llx, KSM frame %#" PRIx64 ", now %#" PRIx64 " and %#" PRIx64,
				    ename(errno), (unsigned long long)p.pfn, a, pagemap_pfn(getpid(), area),
				    pagemap_pfn(getpid(), area + PAGE / 8));
			close(own);
		}
		if (round == 1)
			stop_child(child);
		close(cmd);
		munmap(area, 2 * PAGE);
	}
	write_file("/sys/kernel/mm/ksm/run", "2");	/* unmerge everything */
}

#define TRACKED 384
#define PINNED 16

/* A /proc/meminfo line ("MemFree", "MemAvailable"), in MiB. */
static long meminfo_mib(const char *name)
{
	long kib = 0;
	char line[128], format[64];
	FILE *f = fopen("/proc/meminfo", "r");

	snprintf(format, sizeof(format), "%s: %%ld kB", name);
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, format, &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib / 1024;
}

/*
 * Compaction moves the movable pages of the low part of a zone into free
 * pages of its high part. An area over most of free memory, with 3 pages in
 * 4 given back, has tracked pages on both sides: some must move, and the 16
 * pinned among them must not. Up to 3 fresh areas until one moved.
 */
static void test_pin_holds_against_compaction(int fd)
{
	uint64_t moved_pinned = 0, moved_free = 0, lowest = ~0ULL, highest = 0;
	int attempt;

	for (attempt = 1; attempt <= 3 && !moved_free; attempt++) {
		size_t mib = meminfo_mib("MemAvailable") * 6 / 10, pages = (mib << 20) / PAGE;
		size_t stride = pages / TRACKED, i;
		uint64_t before[TRACKED], after;
		struct physmem_pin p[PINNED];
		int npins = 0;
		char *area;

		area = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (area == MAP_FAILED) {
			bad("compaction: mmap %zu MiB: %s", mib, ename(errno));
			return;
		}
		madvise(area, pages * PAGE, MADV_NOHUGEPAGE);
		for (i = 0; i < pages; i++)
			area[i * PAGE] = (char)i | 1;
		for (i = 0; i < pages; i++)
			if (i % 4 && i % stride)
				madvise(area + i * PAGE, PAGE, MADV_DONTNEED);
		for (i = 0; i < TRACKED; i++) {
			before[i] = pagemap_pfn(getpid(), area + i * stride * PAGE);
			lowest = before[i] < lowest ? before[i] : lowest;
			highest = before[i] > highest ? before[i] : highest;
			if (i % (TRACKED / PINNED) == 0 &&
			    pin(fd, getpid(), area + i * stride * PAGE, &p[npins]) == 0 &&
			    p[npins].pfn == before[i])
				npins++;
		}
		if (npins != PINNED) {
			bad("compaction: only %d of %d pins", npins, PINNED);
			return;
		}
		if (write_file("/proc/sys/vm/compact_memory", "1"))
			bad("compaction: cannot write /proc/sys/vm/compact_memory");
		for (i = 0; i < TRACKED; i++) {
			after = pagemap_pfn(getpid(), area + i * stride * PAGE);
			if (after == before[i])
				continue;
			if (i % (TRACKED / PINNED) == 0)
				moved_pinned++;
			else
				moved_free++;
		}
		for (i = 0; i < PINNED; i++)
			unpin(fd, p[i].handle);
		munmap(area, pages * PAGE);
		provoked("compaction, area %d (%zu MiB, tracked frames %#" PRIx64 "-%#" PRIx64 "): moved %" PRIu64 " of %d unpinned tracked pages, %" PRIu64 " of %d pinned ones so far",
			 attempt, mib, lowest, highest, moved_free, TRACKED - PINNED, moved_pinned, PINNED);
	}
	if (moved_free && !moved_pinned)
		ok("compaction moved %" PRIu64 " unpinned pages and none of the %d pinned ones", moved_free, PINNED);
	else if (!moved_free)
		bad("compaction moved no page at all in 3 areas: the case was not provoked");
	else
		bad("compaction moved %" PRIu64 " pinned pages", moved_pinned);
}

/*
 * Fill all free memory but 8 MiB, 4 KiB page by page, in a child running on
 * CPU @cpu (modulo the CPUs online): a freed page waits on the per-CPU free
 * list of the CPU that freed it, which only allocations on that CPU take, so
 * successive fills go round the CPUs. First, compaction drains every CPU's LRU
 * batches (lru_add_drain_all()), which hold a page faulted in on an idle CPU.
 */
static void churn_memory(int cpu)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t one;
	pid_t child;

	write_file("/proc/sys/vm/compact_memory", "1");
	child = fork();

	if (child == 0) {
		CPU_ZERO(&one);
		CPU_SET(cpu % (cpus > 0 ? cpus : 1), &one);
		sched_setaffinity(0, sizeof(one), &one);
		size_t len = (size_t)(meminfo_mib("MemFree") - 8) << 20;
		char *p;

		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			_exit(1);
		/* 4 KiB pages: they come from the per-CPU lists freed pages go to. */
		madvise(p, len, MADV_NOHUGEPAGE);
		memset(p, 0x5a, len);
		_exit(0);
	}
	waitpid(child, NULL, 0);
}

static void test_pin_holds_after_exit(int fd)
{
	volatile uint64_t *pinned_page, *free_page;
	pid_t holder = spawn_sleeper(0, 1, &pinned_page);
	pid_t control = spawn_sleeper(0, 1, &free_page);
	uint64_t pattern[PAGE / 8], seen[PAGE / 8], control_pfn;
	struct physmem_pin p;
	cpu_set_t one;
	size_t i;

	CPU_ZERO(&one);
	CPU_SET(0, &one);
	sched_setaffinity(holder, sizeof(one), &one);
	sched_setaffinity(control, sizeof(one), &one);
	sched_setaffinity(0, sizeof(one), &one);
	if (pin(fd, holder, pinned_page, &p)) {
		bad("pin the holder's page: %s", ename(errno));
		return;
	}
	control_pfn = pagemap_pfn(control, free_page);
	for (i = 0; i < PAGE / 8; i++)
		pattern[i] = 0xf7eed00000000000ULL ^ (i * 0x9e3779b97f4a7c15ULL);
	if (pwrite(fd, pattern, PAGE, p.pfn * PAGE) != PAGE || pwrite(fd, pattern, PAGE, control_pfn * PAGE) != PAGE)
		bad("writing the pattern into both frames: %s", ename(errno));
	stop_child(holder);
	stop_child(control);
	/* Up to 6 fills: a freed frame is not always the next one handed out. */
	for (i = 1; i <= 6; i++) {
		churn_memory(i - 1);
		if (pread(fd, seen, PAGE, control_pfn * PAGE) == PAGE && memcmp(seen, pattern, PAGE))
			break;
	}
	if (i <= 6)
		ok("the unpinned control frame %#" PRIx64 " of the other killed process was freed and reused (pattern gone after %zu fills of memory)",
		   control_pfn, i);
	else
		bad("the unpinned control frame %#" PRIx64 " still holds the pattern after 6 fills: the case was not provoked (kpageflags: buddy %d lru %d anon %d mmap %d ksm %d)",
		    control_pfn, kpageflag(control_pfn, 10), kpageflag(control_pfn, 5), kpageflag(control_pfn, 12),
		    kpageflag(control_pfn, 11), kpageflag(control_pfn, 21));
	if (pread(fd, seen, PAGE, p.pfn * PAGE) == PAGE && !memcmp(seen, pattern, PAGE))
		ok("the pinned frame %#llx of the other killed process still holds its 4 KiB pattern: not freed",
		   (unsigned long long)p.pfn);
	else
		bad("the pinned frame %#llx lost its pattern after its process died", (unsigned long long)p.pfn);
	expect_ret("unpin the dead process's frame", unpin(fd, p.handle), 0);
	CPU_ZERO(&one);
	for (i = 0; i < CPU_SETSIZE && i < 64; i++)
		CPU_SET(i, &one);
	sched_setaffinity(0, sizeof(one), &one);
}

/* ------------------------------------------------------------------ */
/* Issue 18's hostile list: as root, and again as uid 1000 holding    */
/* root's open files (inherited, as /dev/mem allows: CAP_SYS_RAWIO is */
/* checked at open only).                                             */

/* 0 after mapping (and unmapping) it, -1 with mmap's errno. */
static long try_map(int fd, uint64_t addr, size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)addr);

	if (p == MAP_FAILED)
		return -1;
	munmap(p, len);
	return 0;
}

/* A secret page (memfd_secret, secretmem.enable=1) of this process. */
static struct secret {
	volatile uint64_t *page;
	uint64_t phys;
	int err;
} secret;

static void make_secret(void)
{
	int sfd = syscall(SYS_memfd_secret, 0);

	if (sfd < 0 || ftruncate(sfd, PAGE)) {
		secret.err = errno;
		return;
	}
	secret.page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, sfd, 0);
	close(sfd);
	if (secret.page == MAP_FAILED) {
		secret.err = errno;
		secret.page = NULL;
		return;
	}
	secret.page[0] = 0x5ec2e75ec2e75ec2ULL;
	secret.phys = pagemap_pfn(getpid(), secret.page) * PAGE;
}

struct pin_race {
	int fd;
	volatile uint64_t *page;
	int got, nospc, other;
	uint64_t handles[40];
};

static void *pin_forty(void *arg)
{
	struct pin_race *r = arg;
	struct physmem_pin p;
	int i;

	for (i = 0; i < 40; i++) {
		if (pin(r->fd, getpid(), r->page, &p) == 0)
			r->handles[r->got++] = p.handle;
		else if (errno == ENOSPC)
			r->nospc++;
		else
			r->other++;
	}
	return NULL;
}

/* The cases run by root and by uid 1000 alike; @who names the caller. */
static void hostile_cases(int fd, int ro_fd, const char *who)
{
	char what[256], buf[16];
	struct physmem_pin req;
	uint64_t v;
	void *p;

#define CASE(...) (snprintf(what, sizeof(what), __VA_ARGS__), what)
	/* The kernel's text and rodata: never writable through /dev/physmem. */
	expect_errno(CASE("%s: writable mmap of Kernel code %#" PRIx64, who, m.kernel_code),
		     try_map(fd, m.kernel_code, PAGE, PROT_READ | PROT_WRITE), EIO);
	expect_errno(CASE("%s: writable mmap of Kernel rodata %#" PRIx64, who, m.kernel_rodata),
		     try_map(fd, m.kernel_rodata, PAGE, PROT_READ | PROT_WRITE), EIO);
	expect_errno(CASE("%s: writable mmap of the page before Kernel code and its first page (checked page by page)", who),
		     try_map(fd, m.kernel_code - PAGE, 2 * PAGE, PROT_READ | PROT_WRITE), EIO);
	p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, (off_t)m.kernel_code);
	if (p == MAP_FAILED) {
		bad("%s: read-only mmap of Kernel code: %s", who, ename(errno));
	} else {
		expect_ret(CASE("%s: read-only mmap of Kernel code, its first byte readable", who),
			   *(volatile unsigned char *)p == *(volatile unsigned char *)p, 1);
		expect_errno(CASE("%s: mprotect(PROT_WRITE) of that mapping (VM_MAYWRITE taken away)", who),
			     mprotect(p, PAGE, PROT_READ | PROT_WRITE), EACCES);
		munmap(p, PAGE);
	}
	if (pread(fd, buf, 8, m.kernel_code + 0x40) == 8)
		expect_errno(CASE("%s: pwrite of the same 8 bytes back into Kernel code", who),
			     pwrite(fd, buf, 8, m.kernel_code + 0x40), EIO);
	else
		bad("%s: pread of Kernel code: %s", who, ename(errno));

	/* A secret page: the kernel itself does not map it. */
	if (!secret.page || !secret.phys) {
		bad("%s: no memfd_secret page to try (%s; boot with secretmem.enable=1)", who,
		    ename(secret.err));
	} else {
		expect_errno(CASE("%s: pread of the memfd_secret frame %#" PRIx64, who, secret.phys),
			     peek(fd, secret.phys, 8, &v), EIO);
		expect_errno(CASE("%s: pwrite of the memfd_secret frame", who),
			     poke(fd, secret.phys, 8, 0), EIO);
		expect_errno(CASE("%s: read-only mmap of the memfd_secret frame", who),
			     try_map(fd, secret.phys, PAGE, PROT_READ), EIO);
	}

	/* Firmware's: Unusable memory (memmap=...%...-1+5 made it). */
	if (!m.unusable) {
		bad("%s: no \"Unusable memory\" range in /proc/iomem (boot with memmap=1M%%0x30000000-1+5)", who);
	} else {
		expect_errno(CASE("%s: pread of Unusable memory %#" PRIx64, who, m.unusable),
			     peek(fd, m.unusable, 8, &v), ENXIO);
		expect_errno(CASE("%s: pwrite of Unusable memory", who), poke(fd, m.unusable, 4, 0), ENXIO);
		expect_errno(CASE("%s: mmap of Unusable memory", who),
			     try_map(fd, m.unusable, PAGE, PROT_READ), ENXIO);
	}

	/* The interrupt controllers take 32-bit accesses only. */
	expect_errno(CASE("%s: 8-byte read of the local APIC %#" PRIx64, who, m.lapic),
		     peek(fd, m.lapic, 8, &v), EINVAL);
	expect_errno(CASE("%s: 8-byte read of its version register (+0x30)", who),
		     peek(fd, m.lapic + 0x30, 8, &v), EINVAL);
	expect_errno(CASE("%s: 8-byte read of the IOAPIC %#" PRIx64, who, m.ioapic),
		     peek(fd, m.ioapic, 8, &v), EINVAL);
	expect_errno(CASE("%s: 8-byte read of the IOAPIC's data window (+0x10)", who),
		     peek(fd, m.ioapic + 0x10, 8, &v), EINVAL);
	v = 0;
	if (peek(fd, m.lapic + 0x30, 4, &v) == 4 && (v & 0xff) >= 0x10)
		ok("%s: a 4-byte read of the local APIC's version register: %#" PRIx64 " (an integrated APIC, 0x1X)", who, v);
	else
		bad("%s: a 4-byte read of the local APIC's version register: %s, %#" PRIx64, who, ename(errno), v);

	/* The pin: write access, the process's own page, sound arguments. */
	{
		volatile uint64_t *own = map_anon(PAGE);
		int mfd = memfd_create("physmem_torture", 0), zero = open("/dev/null", O_RDONLY);
		int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
		volatile uint64_t *shared = NULL, *private = NULL, *anon_shared;
		struct physmem_pin *ro_arg;
		pid_t gone;

		own[0] = 1;
		expect_errno(CASE("%s: pin through a file opened read-only", who),
			     pin(ro_fd, getpid(), own, NULL), EBADF);
		if (mfd < 0 || ftruncate(mfd, PAGE)) {
			bad("%s: memfd_create: %s", who, ename(errno));
		} else {
			shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
			private = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, mfd, 0);
			shared[0] = 0x5a5a;
			expect_errno(CASE("%s: pin a shared memfd page", who), pin(fd, getpid(), shared, NULL), EINVAL);
			expect_ret(CASE("%s: then ftruncate(0) of the memfd", who), ftruncate(mfd, 0), 0);
			expect_ret(CASE("%s: no pin left behind", who), pins_held(fd), 0);
			if (ftruncate(mfd, PAGE) == 0 && pin(fd, getpid(), private, &req) == 0) {
				ok("%s: a private mapping of the memfd pins (copy-on-write made the page the process's own)", who);
				unpin(fd, req.handle);
			} else {
				bad("%s: pin of a private memfd mapping: %s", who, ename(errno));
			}
			munmap((void *)shared, PAGE);
			munmap((void *)private, PAGE);
			close(mfd);
		}
		anon_shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		anon_shared[0] = 1;
		expect_errno(CASE("%s: pin a MAP_SHARED|MAP_ANONYMOUS page (shmem)", who),
			     pin(fd, getpid(), anon_shared, NULL), EINVAL);
		munmap((void *)anon_shared, PAGE);

		expect_errno(CASE("%s: PIN with a NULL argument", who), ioctl(fd, PHYSMEM_IOC_PIN, NULL), EFAULT);
		expect_errno(CASE("%s: PIN with a kernel address as argument", who),
			     ioctl(fd, PHYSMEM_IOC_PIN, (void *)0xffff888000001000UL), EFAULT);
		ro_arg = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		*ro_arg = (struct physmem_pin){ .pidfd = pidfd, .vaddr = (uintptr_t)own };
		mprotect(ro_arg, PAGE, PROT_READ);
		expect_errno(CASE("%s: PIN with its argument in a read-only page (pinned, then released)", who),
			     ioctl(fd, PHYSMEM_IOC_PIN, ro_arg), EFAULT);
		expect_ret(CASE("%s: no pin held after that", who), pins_held(fd), 0);
		munmap(ro_arg, PAGE);

		expect_errno(CASE("%s: PIN with pidfd -1", who), pin_fd(fd, -1, own, NULL), EBADF);
		expect_errno(CASE("%s: PIN with pidfd 999 (not open)", who), pin_fd(fd, 999, own, NULL), EBADF);
		expect_errno(CASE("%s: PIN with /dev/null as pidfd", who), pin_fd(fd, zero, own, NULL), EINVAL);
		expect_errno(CASE("%s: PIN with the device itself as pidfd", who), pin_fd(fd, fd, own, NULL), EINVAL);
		gone = fork();
		if (gone == 0)
			_exit(0);
		{
			int gone_fd = syscall(SYS_pidfd_open, gone, 0);

			waitpid(gone, NULL, 0);
			expect_errno(CASE("%s: PIN with a pidfd of a process that exited and was reaped", who),
				     pin_fd(fd, gone_fd, own, NULL), ESRCH);
			close(gone_fd);
		}
		req = (struct physmem_pin){ .pidfd = getpid(), .vaddr = (uintptr_t)own };
		expect_errno(CASE("%s: ABI 1's PIN number (a pid, not a pidfd)", who),
			     ioctl(fd, PHYSMEM_IOC_PIN_ABI1, &req), ENOTTY);
		expect_ret(CASE("%s: nothing pinned by the refused pins", who), pins_held(fd), 0);

		/* Two threads, 40 pins each, one file: the bound holds exactly. */
		{
			struct pin_race r[2] = { { .fd = fd, .page = own }, { .fd = fd, .page = own } };
			pthread_t t[2];
			int i, j;

			pthread_create(&t[0], NULL, pin_forty, &r[0]);
			pthread_create(&t[1], NULL, pin_forty, &r[1]);
			pthread_join(t[0], NULL);
			pthread_join(t[1], NULL);
			if (r[0].got + r[1].got == PHYSMEM_MAX_PINS && r[0].nospc + r[1].nospc == 80 - PHYSMEM_MAX_PINS &&
			    !r[0].other && !r[1].other && pins_held(fd) == PHYSMEM_MAX_PINS)
				ok("%s: 2 threads x 40 pins on one file: %d + %d = 64 pinned, %d ENOSPC, INFO says 64 held",
				   who, r[0].got, r[1].got, r[0].nospc + r[1].nospc);
			else
				bad("%s: 2 threads x 40 pins: %d + %d pinned, %d ENOSPC, %d other errors, %d held", who,
				    r[0].got, r[1].got, r[0].nospc + r[1].nospc, r[0].other + r[1].other, pins_held(fd));
			for (i = 0; i < 2; i++)
				for (j = 0; j < r[i].got; j++)
					unpin(fd, r[i].handles[j]);
			expect_ret(CASE("%s: all 64 unpinned", who), pins_held(fd), 0);
		}
		close(pidfd);
		close(zero);
		munmap((void *)own, PAGE);
	}

	/* Offsets and lseek at the edges. */
	expect_errno(CASE("%s: pread of 0 bytes at offset -1", who), pread(fd, buf, 0, -1), EINVAL);
	expect_errno(CASE("%s: pread of 1 byte at 2^63-1 (the end overflows)", who), pread(fd, buf, 1, INT64_MAX), EINVAL);
	expect_ret(CASE("%s: lseek to 2^63-1", who), lseek(fd, INT64_MAX, SEEK_SET), INT64_MAX);
	expect_errno(CASE("%s: read of 1 byte there", who), read(fd, buf, 1), EINVAL);
	expect_errno(CASE("%s: lseek SEEK_CUR +1 from there", who), lseek(fd, 1, SEEK_CUR), EINVAL);
	expect_errno(CASE("%s: lseek SEEK_HOLE", who), lseek(fd, 0, SEEK_HOLE), EINVAL);
	expect_errno(CASE("%s: lseek whence 7", who), lseek(fd, 0, 7), EINVAL);
	expect_ret(CASE("%s: f_pos still 2^63-1", who), lseek(fd, 0, SEEK_CUR), INT64_MAX);
	expect_ret(CASE("%s: lseek SEEK_SET 0", who), lseek(fd, 0, SEEK_SET), 0);
#undef CASE
}

/* What uid 1000 can do with root's files: everything the files allow, nothing more. */
static void inherited_by_uid_1000(int fd, int ro_fd)
{
	volatile uint64_t *result = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	volatile uint64_t *own = map_anon(PAGE);
	pid_t child;
	int status;

	own[0] = 0x0dd;
	child = fork();
	if (child == 0) {
		struct physmem_pin p;
		uint64_t v = 0;
		char buf[8];

		if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) {
			bad("becoming uid 1000: %s", ename(errno));
			_exit(1);
		}
		expect_errno("uid 1000: open /dev/physmem itself", open(DEV, O_RDWR), EACCES);
		expect_ret("uid 1000, fd inherited: pread of 8 bytes of Kernel code (as /dev/mem allows)",
			   pread(fd, buf, 8, m.kernel_code), 8);
		expect_ret("uid 1000, fd inherited: read-only mmap of Kernel code", try_map(fd, m.kernel_code, PAGE, PROT_READ), 0);
		if (pin(fd, getpid(), own, &p) == 0) {
			long n = poke(fd, p.pfn * PAGE, 8, 0x1000beef);

			if (n == 8 && own[0] == 0x1000beef)
				ok("uid 1000, fd inherited: pins its own page (frame %#llx) and writes RAM there: the page holds %#" PRIx64,
				   (unsigned long long)p.pfn, own[0]);
			else
				bad("uid 1000, fd inherited: write to its pinned frame: %ld (%s), page %#" PRIx64, n, ename(errno), own[0]);
			result[0] = p.pfn;
			unpin(fd, p.handle);
		} else {
			bad("uid 1000, fd inherited: pin of its own page: %s", ename(errno));
		}
		expect_ret("uid 1000, fd inherited: edu ident, a register", peek(fd, m.edu, 4, &v), 4);
		hostile_cases(fd, ro_fd, "uid 1000, fd inherited");
		_exit(0);
	}
	waitpid(child, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		bad("the uid 1000 child ended with status %#x", status);
	provoked("uid 1000 with root's open /dev/physmem: read, write and map RAM and registers as root could (CAP_SYS_RAWIO is asked at open), pins by its own ptrace rights");
	munmap((void *)result, PAGE);
	munmap((void *)own, PAGE);
}

/* A mapping of pc-testdev kept while physdemo_testdev is unloaded: not revoked. */
static void testdev_unplugged(int fd)
{
	const uint64_t base = 0xff000000;
	volatile uint32_t *regs;
	char cmd[256];
	struct utsname u;
	uint64_t v = 0;

	regs = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, base);
	if (regs == MAP_FAILED) {
		bad("mmap of physdemo-testdev at %#" PRIx64 ": %s", base, ename(errno));
		return;
	}
	regs[0] = 0x7e57de75;
	expect_ret("pc-testdev through the mapping and through pread agree", peek(fd, base, 4, &v) == 4 && v == regs[0], 1);
	if (system("rmmod physdemo_testdev") != 0) {
		bad("rmmod physdemo_testdev failed");
		munmap((void *)regs, PAGE);
		return;
	}
	expect_errno("after rmmod physdemo_testdev: a new pread at 0xff000000 (no resource there now)",
		     peek(fd, base, 4, &v), ENXIO);
	expect_errno("after rmmod: a new mmap at 0xff000000", try_map(fd, base, PAGE, PROT_READ), ENXIO);
	v = regs[0];
	if (v == 0x7e57de75)
		ok("after rmmod: the mapping made before still reaches pc-testdev (%#" PRIx64 "): mappings are not revoked (docs/distribution-kernels.md: the revocation gap)", v);
	else
		bad("after rmmod: the kept mapping reads %#" PRIx64, v);
	munmap((void *)regs, PAGE);
	uname(&u);
	snprintf(cmd, sizeof(cmd), "ko=/lib/modules/%s/extra/physdemo_testdev.ko; [ -f $ko ] || ko=/files/physdemo_testdev.ko; insmod $ko",
		 u.release);
	expect_ret("insmod physdemo_testdev again", system(cmd), 0);
	expect_ret("pread at 0xff000000 works again", peek(fd, base, 4, &v), 4);
}

static void test_hostile(int fd)
{
	int ro_fd = open_dev(DEV, O_RDONLY);

	make_secret();
	hostile_cases(fd, ro_fd, "root");
	inherited_by_uid_1000(fd, ro_fd);
	if (secret.page && secret.page[0] == 0x5ec2e75ec2e75ec2ULL)
		ok("the secret page still holds its value (%#" PRIx64 ", read by its owner)", secret.page[0]);
	else if (secret.page)
		bad("the secret page now holds %#" PRIx64, secret.page[0]);
	testdev_unplugged(fd);
	close(ro_fd);
}

/*
 * Lockdown raised while a file is open (the distro kernel's lockdown LSM):
 * every later read, write, mmap and pin of that file fails with EPERM, and so
 * does a new open (while /dev/mem's file, opened before, still reads: mem.c
 * asks at open only). Irreversible: the last thing a run does.
 */
static int lockdown_after_open(void)
{
	int fd = open_dev(DEV, O_RDWR), mem = open("/dev/mem", O_RDONLY);
	volatile uint64_t *own = map_anon(PAGE);
	struct physmem_pin p;
	char buf[8], state[128] = "";
	void *kept;
	long n;
	int lfd;

	own[0] = 1;
	find_machine();
	expect_ret("before lockdown: pread of Kernel code", pread(fd, buf, 8, m.kernel_code), 8);
	kept = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, (off_t)m.kernel_code);
	if (kept == MAP_FAILED)
		bad("before lockdown: mmap of Kernel code: %s", ename(errno));
	if (write_file("/sys/kernel/security/lockdown", "integrity"))
		die("raising lockdown: %s", ename(errno));
	lfd = open("/sys/kernel/security/lockdown", O_RDONLY);
	n = lfd < 0 ? -1 : read(lfd, state, sizeof(state) - 1);
	if (n > 0)
		state[n - 1] = 0;
	provoked("lockdown raised with the file open: %s", state);
	expect_errno("after lockdown: pread of Kernel code on the open file", pread(fd, buf, 8, m.kernel_code), EPERM);
	expect_errno("after lockdown: pwrite on the open file", pwrite(fd, buf, 8, m.ram_start), EPERM);
	expect_errno("after lockdown: mmap on the open file", try_map(fd, m.kernel_code, PAGE, PROT_READ), EPERM);
	expect_errno("after lockdown: pin on the open file", pin(fd, getpid(), own, &p), EPERM);
	expect_errno("after lockdown: a new open of /dev/physmem", open(DEV, O_RDONLY), EPERM);
	/* /dev/mem asks at open only: its file opened before still reads (the BIOS area). */
	expect_ret("after lockdown: /dev/mem's file opened before still reads 8 bytes at 0xf0000 (mem.c asks at open only; /dev/physmem asks every time)",
		   pread(mem, buf, 8, 0xf0000), 8);
	if (kept != MAP_FAILED)
		ok("after lockdown: the mapping made before still reads (%#x): mappings are not revoked", *(volatile unsigned char *)kept);
	printf("torture: %d passed, %d failed\n", counts->passed, counts->failed);
	return counts->failed ? 1 : 0;
}

static int all(void)
{
	int fd = open_dev(DEV, O_RDWR), mem = open_dev("/dev/mem", O_RDWR);

	find_machine();
	test_info_and_ioctls(fd);
	test_open_privileges();
	test_offsets(fd);
	test_regions(fd, mem);
	test_kernel_readonly(fd);
	test_mmap(fd, mem);
	test_threads(fd);
	killed_mid_access(fd);
	test_pin_abuse(fd);
	test_pin_permissions(fd);
	test_pin_targets(fd);
	test_pin_holds_against_ksm();
	test_pin_holds_against_compaction(fd);
	test_pin_holds_after_exit(fd);
	test_hostile(fd);
	expect_ret("pins held at the end", pins_held(fd), 0);
	close(fd);
	close(mem);
	printf("torture: %d passed, %d failed\n", counts->passed, counts->failed);
	return counts->failed ? 1 : 0;
}

static uint64_t number(const char *text)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(text, &end, 0);
	if (errno || !*text || *end)
		die("'%s' is not a number", text);
	return v;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	counts = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED)
		die("mmap: %s", ename(errno));

	if (!strcmp(cmd, "all") && argc == 2)
		return all();
	if (!strcmp(cmd, "lockdown") && argc == 2)
		return lockdown_after_open();
	if ((!strcmp(cmd, "peek") && (argc == 4 || argc == 5)) ||
	    (!strcmp(cmd, "poke") && (argc == 5 || argc == 6))) {
		int write = cmd[1] == 'o', width = number(argv[3]);
		const char *path = argc == (write ? 6 : 5) ? argv[argc - 1] : DEV;
		int fd = open(path, write ? O_RDWR : O_RDONLY);
		uint64_t v = 0;
		long n;

		if (fd < 0)
			die("open %s: %s", path, ename(errno));
		if (width != 1 && width != 2 && width != 4 && width != 8)
			die("width %d: want 1, 2, 4 or 8", width);
		n = write ? poke(fd, number(argv[2]), width, number(argv[4]))
			  : peek(fd, number(argv[2]), width, &v);
		if (n != width)
			die("%s %s: %s", cmd, argv[2], n < 0 ? ename(errno) : "short");
		if (!write)
			printf("0x%0*" PRIx64 "\n", width * 2, v);
		return 0;
	}
	if (!strcmp(cmd, "pin") && argc == 4) {
		int fd = open_dev(DEV, O_RDWR);
		struct physmem_pin p;

		if (pin(fd, number(argv[2]), (void *)(uintptr_t)number(argv[3]), &p))
			die("pin %s %s: %s", argv[2], argv[3], ename(errno));
		printf("pfn=%#llx handle=%llu pins=%d\n", (unsigned long long)p.pfn,
		       (unsigned long long)p.handle, pins_held(fd));
		return 0;
	}
	if (!strcmp(cmd, "hold-map") && argc == 3) {
		int fd = open_dev(DEV, O_RDONLY);
		void *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, number(argv[2]));

		if (p == MAP_FAILED)
			die("mmap %s: %s", argv[2], ename(errno));
		close(fd);
		printf("mapped\n");
		for (;;)
			pause();
	}
	fprintf(stderr, "usage: physmem_torture all | peek ADDR WIDTH [DEV] | poke ADDR WIDTH VALUE [DEV] | pin PID VADDR | hold-map ADDR\n");
	return 2;
}
