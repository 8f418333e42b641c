// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * demos/stress/holdpage.c: hold a 64-bit value on a page of a chosen kind and
 * report what the process itself sees there. The VM scenarios of issue 14
 * (the scripts in demos/stress, demos/sharing.sh) poke such a word with physdemo and
 * check that this process, which is not a physdemo target, saw exactly the
 * value: for every placement (heap, stack, static, THP, hugetlbfs), for pages
 * the kernel shares (KSM, fork before copy-on-write), for a page in swap, and
 * for pages held still (mlock, an io_uring fixed buffer). Built static on the
 * host by demos/stress/build, copied into the guest as /files/holdpage.
 *
 * Usage: holdpage KIND [VALUE]
 *   KIND   where the word lives
 *     heap     malloc()ed memory in the [heap] (brk)
 *     stack    a local variable of main() on the [stack]
 *     static   a global variable in the binary's .data
 *     mmap     a private anonymous page of its own
 *     quiet    the same, never read after "ready" (a page left alone, for
 *              tests that swap it out from outside)
 *     thp      offset 0x5040 of a 2 MiB region aligned to 2 MiB, MADV_HUGEPAGE
 *              (a transparent huge page where the kernel can make one)
 *     hugetlb  offset 0x12340 of a private MAP_HUGETLB page (needs
 *              vm.nr_hugepages >= 1; fails with "error: ..." otherwise)
 *     ksm      offset 0x40 of a MADV_MERGEABLE page whose every word is VALUE:
 *              two `holdpage ksm V` with the same V hold identical pages,
 *              which KSM merges into one frame
 *     fork     offset 0x40 of a private page, then fork(): parent and child
 *              share the frame until one of them writes (neither does)
 *     swap     offset 0x40 of the first of 16 private pages (page i holds
 *              VALUE + i in every word), all pushed to swap with
 *              MADV_PAGEOUT; "ready" only once /proc/self/pagemap says all
 *              16 are swapped (needs a swap device). Not polled: a read
 *              would bring the page back.
 *     pattern  offset 0x40 of a private page whose byte i is (i * 37 + 11)
 *              mod 256 (every neighbour of a poked location is known and
 *              differs from the next: a widened write shows)
 *     mlock    offset 0x40 of an mlock()ed private page
 *     uring    offset 0x40 of a private page registered as an io_uring fixed
 *              buffer (IORING_REGISTER_BUFFERS: a long-term page pin)
 *   VALUE  the initial value, C syntax (default 0x1122334455667788)
 *
 * Output (line-buffered): "ready PID VADDR" (fork: "ready PID VADDR CHILDPID",
 * and the child watches the same address); then, except for swap and quiet,
 * the word is read every 2 ms and each change printed as "change PID OLD ->
 * NEW". SIGUSR1:
 * print "value PID V" (one read of the word; each process of a fork prints its
 * own). SIGUSR2: the process itself adds 1 to the word (a store of its own:
 * it breaks copy-on-write or KSM sharing as any write would) and prints
 * "wrote PID V". SIGTERM or SIGINT: exit 0 (a fork child follows its parent).
 * Exit 1 with "error: WHAT" when the kernel refuses the kind, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define HUGE (2UL << 20)
#define PAGEMAP_SWAPPED (1ULL << 62)

static volatile sig_atomic_t got_usr1, got_usr2, got_term;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }
static void on_usr2(int sig) { (void)sig; got_usr2 = 1; }
static void on_term(int sig) { (void)sig; got_term = 1; }

static volatile uint64_t in_data = 1;	/* .data: initialised, writable */

static _Noreturn void fail(const char *what)
{
	printf("error: %s: %s\n", what, strerror(errno));
	exit(1);
}

static char *map(size_t len, int flags)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED)
		fail(flags & MAP_HUGETLB ? "mmap MAP_HUGETLB (vm.nr_hugepages?)" : "mmap");
	return p;
}

static void fill(char *page, uint64_t value)
{
	for (size_t i = 0; i < PAGE / 8; i++)
		((volatile uint64_t *)page)[i] = value;
}

/* This process's pagemap entry for @addr. */
static uint64_t pagemap_entry(const void *addr)
{
	uint64_t entry = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);

	if (fd < 0 || pread(fd, &entry, 8, (uintptr_t)addr / PAGE * 8) != 8)
		fail("reading /proc/self/pagemap");
	close(fd);
	return entry;
}

#define SWAP_PAGES 16

static int all_swapped(const char *pages)
{
	for (size_t i = 0; i < SWAP_PAGES; i++)
		if (!(pagemap_entry(pages + i * PAGE) & PAGEMAP_SWAPPED))
			return 0;
	return 1;
}

static void swap_out(char *pages)
{
	for (int try = 0; try < 20; try++) {
		if (madvise(pages, SWAP_PAGES * PAGE, MADV_PAGEOUT) != 0)
			fail("madvise MADV_PAGEOUT");
		if (all_swapped(pages))
			return;
		usleep(50000);
	}
	errno = EAGAIN;
	fail("the pages are still not all in swap after 20 MADV_PAGEOUT (no swap device?)");
}

static void register_uring(char *page)
{
	struct io_uring_params params;
	struct iovec iov = { .iov_base = page, .iov_len = PAGE };
	int fd;

	memset(&params, 0, sizeof(params));
	fd = syscall(SYS_io_uring_setup, 1, &params);
	if (fd < 0)
		fail("io_uring_setup");
	if (syscall(SYS_io_uring_register, fd, IORING_REGISTER_BUFFERS, &iov, 1) != 0)
		fail("io_uring_register IORING_REGISTER_BUFFERS");
	/* fd stays open: the registration lasts as long as the ring. */
}

static void watch(volatile uint64_t *word, int poll)
{
	uint64_t last = poll ? *word : 0;	/* not polled: do not touch it */
	struct timespec tick = { 0, 2000000 };

	while (!got_term) {
		if (got_usr1) {
			got_usr1 = 0;
			printf("value %d %#llx\n", getpid(), (unsigned long long)*word);
		}
		if (got_usr2) {
			got_usr2 = 0;
			*word += 1;
			last = *word;
			printf("wrote %d %#llx\n", getpid(), (unsigned long long)last);
		}
		if (poll) {
			uint64_t now = *word;

			if (now != last) {
				printf("change %d %#llx -> %#llx\n", getpid(),
				       (unsigned long long)last, (unsigned long long)now);
				last = now;
			}
			nanosleep(&tick, NULL);
		} else {
			pause();
		}
	}
}

int main(int argc, char **argv)
{
	volatile uint64_t on_stack = 1;
	volatile uint64_t *word;
	const char *kind;
	uint64_t value = 0x1122334455667788ULL;
	pid_t child = 0;
	char *page, *end;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: holdpage heap|stack|static|mmap|quiet|thp|hugetlb|ksm|fork|swap|pattern|mlock|uring [VALUE]\n");
		return 2;
	}
	kind = argv[1];
	if (argc == 3) {
		errno = 0;
		value = strtoull(argv[2], &end, 0);
		if (errno || *end || end == argv[2]) {
			fprintf(stderr, "holdpage: bad VALUE '%s'\n", argv[2]);
			return 2;
		}
	}
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);

	if (!strcmp(kind, "heap")) {
		word = malloc(64);
		if (!word)
			fail("malloc");
	} else if (!strcmp(kind, "stack")) {
		word = &on_stack;
	} else if (!strcmp(kind, "static")) {
		word = &in_data;
	} else if (!strcmp(kind, "mmap") || !strcmp(kind, "quiet")) {
		word = (uint64_t *)(map(PAGE, 0) + 0x40);
	} else if (!strcmp(kind, "thp")) {
		char *raw = map(2 * HUGE, 0);

		page = (char *)(((uintptr_t)raw + HUGE - 1) & ~(HUGE - 1));
		if (madvise(page, HUGE, MADV_HUGEPAGE) != 0)
			fail("madvise MADV_HUGEPAGE");
		for (size_t off = 0; off < HUGE; off += PAGE)
			page[off] = 1;
		word = (uint64_t *)(page + 0x5040);
	} else if (!strcmp(kind, "hugetlb")) {
		page = map(HUGE, MAP_HUGETLB);
		page[0] = 1;
		word = (uint64_t *)(page + 0x12340);
	} else if (!strcmp(kind, "ksm")) {
		page = map(PAGE, 0);
		fill(page, value);
		if (madvise(page, PAGE, MADV_MERGEABLE) != 0)
			fail("madvise MADV_MERGEABLE");
		word = (uint64_t *)(page + 0x40);
	} else if (!strcmp(kind, "swap")) {
		page = map(SWAP_PAGES * PAGE, 0);
		if (madvise(page, SWAP_PAGES * PAGE, MADV_NOHUGEPAGE) != 0)
			fail("madvise MADV_NOHUGEPAGE");
		for (size_t i = 0; i < SWAP_PAGES; i++)
			fill(page + i * PAGE, value + i);
		word = (uint64_t *)(page + 0x40);
	} else if (!strcmp(kind, "pattern")) {
		page = map(PAGE, 0);
		for (size_t i = 0; i < PAGE; i++)
			page[i] = (char)(i * 37 + 11);
		word = (uint64_t *)(page + 0x40);
	} else if (!strcmp(kind, "fork") || !strcmp(kind, "mlock") || !strcmp(kind, "uring")) {
		page = map(PAGE, 0);
		word = (uint64_t *)(page + 0x40);
		if (!strcmp(kind, "mlock") && mlock(page, PAGE) != 0)
			fail("mlock");
		if (!strcmp(kind, "uring"))
			register_uring(page);
	} else {
		fprintf(stderr, "holdpage: unknown KIND '%s'\n", kind);
		return 2;
	}
	*word = value;
	if (!strcmp(kind, "swap"))
		swap_out((char *)((uintptr_t)word & ~(PAGE - 1)));
	if (!strcmp(kind, "fork")) {
		pid_t parent = getpid();

		child = fork();
		if (child < 0)
			fail("fork");
		if (child == 0) {
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent)
				return 0;
			watch(word, 1);
			return 0;
		}
		printf("ready %d %p %d\n", getpid(), (void *)word, child);
	} else {
		printf("ready %d %p\n", getpid(), (void *)word);
	}
	watch(word, strcmp(kind, "swap") != 0 && strcmp(kind, "quiet") != 0);
	if (child > 0)
		kill(child, SIGTERM);
	return 0;
}
