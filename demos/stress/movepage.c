// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * demos/stress/movepage.c: force the page that holds a process's virtual
 * address to migrate, with move_pages(2), to the other NUMA node, and report
 * whether it really moved. The VM's migration tests (demos/stress/migrate.sh,
 * races.sh; PHYSDEMO_VM_NUMA=2) use it to move a target's page before a poke,
 * inside the window between poke's check and its store, and after, instead
 * of hoping that compaction picks the page. Built static on the host by
 * demos/stress/build, copied into the guest as /files/movepage.
 *
 * Usage: movepage PID VADDR [COUNT [INTERVAL_MS]]
 *   Requests COUNT moves (default 1), INTERVAL_MS apart (default 0), each to
 *   the node after the one the page is on now (node N+1 mod the number of
 *   online nodes). A move is *observed* when the page's frame number, read
 *   from /proc/PID/pagemap (as root) before and after, changed.
 *
 * Usage: movepage PID VADDR swap
 *   Pushes the page out to swap instead (process_madvise(2) MADV_PAGEOUT,
 *   the page must not be mapped by another process, and swap must be on),
 *   up to 20 tries 50 ms apart, and prints "swapped out: pfn 0xX -> swap
 *   entry 0xE" once the pagemap entry says so (exit 0), else "not swapped
 *   out: ..." (exit 1).
 *
 * Output of a move: one line per request,
 *   "move I: node A -> B, pfn 0xX -> 0xY: moved"           (observed)
 *   "move I: node A -> B, pfn 0xX -> 0xX: not moved (WHY)" (not observed;
 *        WHY: move_pages failed, returned a count of pages it could not
 *        migrate (a pinned page), or set the page's status to an error)
 * then "movepage: R requested, O observed, K refused by the kernel", where
 * K counts the moves the kernel itself declined for this page (move_pages
 * returned a count of pages it could not migrate, or set the page's status
 * to an error): the tests count forced moves from this line, and a page held
 * in place must show K = R, the kernel's own refusal, not a failed call.
 * SIGTERM or SIGINT ends a long run after the current move, with that line
 * counting the moves made so far (the scripts stop the random flips so).
 * A page not present at a later request (caught mid-way through another
 * migration, e.g. by compaction) is a request not moved ("page not present
 * right now"), and the run goes on.
 * Exit status: 0 every request observed, 1 some not, 2 bad usage, 3 the
 * process or its page cannot be found (no such pid, page not present at the
 * first request), 4 one NUMA node only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mempolicy.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define PAGE 4096UL
#define PFN_MASK ((1ULL << 55) - 1)
#define PRESENT (1ULL << 63)
#define SWAPPED (1ULL << 62)
#define STATUS_UNSET (-100000)

static int pagemap_fd;
static volatile sig_atomic_t stop;
static char out_buf[4096];

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t entry_of(uintptr_t page)
{
	uint64_t entry = 0;

	if (pread(pagemap_fd, &entry, 8, page / PAGE * 8) != 8)
		return 0;
	return entry;
}

/* Push @page of @pid out to swap; 0 once pagemap says it is there. */
static int swap_out(pid_t pid, uintptr_t page)
{
	struct iovec iov = { .iov_base = (void *)page, .iov_len = PAGE };
	uint64_t before = entry_of(page), now = before;
	int pidfd = syscall(SYS_pidfd_open, pid, 0);

	if (pidfd < 0) {
		printf("movepage: error: pidfd_open %d: %s\n", pid, strerror(errno));
		return 3;
	}
	for (int try = 0; try < 20 && !(now & SWAPPED); try++) {
		if (syscall(SYS_process_madvise, pidfd, &iov, 1, MADV_PAGEOUT, 0) < 0) {
			printf("not swapped out: process_madvise MADV_PAGEOUT: %s\n", strerror(errno));
			return 1;
		}
		now = entry_of(page);
		if (!(now & SWAPPED))
			usleep(50000);
	}
	if (!(now & SWAPPED)) {
		printf("not swapped out: pagemap entry %#llx after 20 tries\n", (unsigned long long)now);
		return 1;
	}
	printf("swapped out: pfn %#llx -> swap entry %#llx\n",
	       (unsigned long long)(before & PFN_MASK), (unsigned long long)now);
	return 0;
}

/* The frame of @page now, or 0 when it is not present. */
static uint64_t pfn_of(uintptr_t page)
{
	uint64_t entry;

	entry = entry_of(page);
	return (entry & PRESENT) ? entry & PFN_MASK : 0;
}

/* The node the page is on now (move_pages with no target nodes), or -errno. */
static int node_of(pid_t pid, uintptr_t page)
{
	void *pages[1] = { (void *)page };
	int status = -EINVAL;

	if (syscall(SYS_move_pages, pid, 1, pages, NULL, &status, 0) != 0)
		return -errno;
	return status;
}

static int online_nodes(void)
{
	FILE *f = fopen("/sys/devices/system/node/online", "r");
	int first = 0, last = 0, n;

	if (!f)
		return 1;
	n = fscanf(f, "%d-%d", &first, &last);
	fclose(f);
	return n == 2 ? last + 1 : 1;
}

static unsigned long number(const char *text, const char *what)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 0);
	if (errno || *end || end == text) {
		fprintf(stderr, "movepage: bad %s '%s'\n", what, text);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long count = 1, interval_ms = 0, observed = 0, refused = 0, done = 0;
	struct sigaction sa = { .sa_handler = on_stop };
	uintptr_t page;
	char path[64];
	pid_t pid;
	int nodes;

	/* No memory is allocated after a move: the frame a move frees would be the first one
	 * handed out, and a stale store that hits it (what the tests provoke) would then
	 * corrupt this program's output. stdio's buffer is ours, touched now; the caller
	 * gives an output file whose page exists already (migrate.sh). */
	memset(out_buf, '\n', sizeof(out_buf));
	setvbuf(stdout, out_buf, _IOLBF, sizeof(out_buf));
	if (argc < 3 || argc > 5) {
		fprintf(stderr, "usage: movepage PID VADDR [COUNT [INTERVAL_MS]] | movepage PID VADDR swap\n");
		return 2;
	}
	pid = number(argv[1], "PID");
	page = number(argv[2], "VADDR") & ~(PAGE - 1);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	pagemap_fd = open(path, O_RDONLY);
	if (pagemap_fd < 0) {
		printf("movepage: error: %s: %s\n", path, strerror(errno));
		return 3;
	}
	if (argc == 4 && !strcmp(argv[3], "swap"))
		return swap_out(pid, page);
	if (argc > 3)
		count = number(argv[3], "COUNT");
	if (argc > 4)
		interval_ms = number(argv[4], "INTERVAL_MS");
	nodes = online_nodes();
	if (nodes < 2) {
		printf("movepage: error: one NUMA node only (boot with PHYSDEMO_VM_NUMA=2)\n");
		return 4;
	}

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (unsigned long i = 1; i <= count && !stop; i++) {
		uint64_t before = pfn_of(page), after;
		int from = node_of(pid, page), to, status = -EINVAL;
		void *pages[1] = { (void *)page };
		long ret;

		if (!before || from < 0) {
			if (from == -ESRCH || i == 1) {
				printf("movepage: error: page %#lx of pid %d is not present (node status %d)\n",
				       (unsigned long)page, pid, from);
				printf("movepage: %lu requested, %lu observed, %lu refused by the kernel\n",
				       done, observed, refused);
				return 3;
			}
			/* Mid-run, the page may be in the middle of another migration (compaction):
			 * a request that could not be made, counted, not a reason to stop. */
			done++;
			printf("move %lu: page not present right now (node status %d): not moved\n", i, from);
			if (interval_ms && i < count && !stop)
				usleep(interval_ms * 1000);
			continue;
		}
		to = (from + 1) % nodes;
		status = STATUS_UNSET;
		ret = syscall(SYS_move_pages, pid, 1, pages, &to, &status, MPOL_MF_MOVE);
		after = pfn_of(page);
		done++;
		if (after && after != before) {
			observed++;
			printf("move %lu: node %d -> %d, pfn %#llx -> %#llx: moved\n", i, from,
			       to, (unsigned long long)before, (unsigned long long)after);
		} else {
			char why[128];

			if (ret < 0)
				snprintf(why, sizeof(why), "move_pages failed: %s", strerror(errno));
			else if (ret > 0 && ++refused)
				snprintf(why, sizeof(why), "the kernel could not migrate it: move_pages returned %ld", ret);
			else if (status < 0 && status != STATUS_UNSET && ++refused)
				snprintf(why, sizeof(why), "the kernel refused it: page status %s", strerror(-status));
			else
				snprintf(why, sizeof(why), "move_pages returned 0, status %d", status);
			printf("move %lu: node %d -> %d, pfn %#llx -> %#llx: not moved (%s)\n",
			       i, from, to, (unsigned long long)before, (unsigned long long)after, why);
		}
		if (interval_ms && i < count && !stop)
			usleep(interval_ms * 1000);
	}
	printf("movepage: %lu requested, %lu observed, %lu refused by the kernel\n", done, observed, refused);
	return observed == done ? 0 : 1;
}
