// SPDX-License-Identifier: MIT OR Apache-2.0
/*
 * demos/stress/memhog.c: the stress tests' helper inside the VM, where only
 * busybox, bash and physdemo exist. Built statically on the host by
 * demos/stress/build (cached) and copied into the guest as /files/memhog.
 *
 *   memhog canary MIB       fill MIB MiB of anonymous memory with a pattern that
 *                           depends on each word's offset, print "ready PID ADDR",
 *                           and on SIGUSR1 verify every byte, print
 *                           "canary: N bytes verified, M words corrupted" and exit
 *                           0 (none) or 1 (some).
 *   memhog pressure MIB S   for S seconds: map MIB MiB, touch every page, give
 *                           back every other page (MADV_DONTNEED, fragmenting
 *                           free memory so compaction has work), unmap; repeat.
 *   memhog hold MIB         map and touch MIB MiB, print "held", sleep until killed
 *                           (so that what starts next gets frames low in memory).
 *   memhog vanish           one page holding 0x1122334455667788 at offset 0x40;
 *                           print "ready PID ADDR" (ADDR of that word); on SIGUSR1
 *                           discard the page (MADV_DONTNEED: no longer present),
 *                           print "discarded"; exit on SIGTERM.
 *   memhog forge HOW        a forged physdemo target header (magic PHYSDEMO, our
 *                           pid, the variable's address) on a page, the variable
 *                           (0x1122334455667788, offset 0x40) after it. HOW: self
 *                           (a private page, pointing at itself), elsewhere
 *                           (pointing into another mapping, which holds the
 *                           variable), shared (a MAP_SHARED page, also mapped by a
 *                           forked child). Print "ready PID ADDR" (the address the
 *                           header names); on SIGUSR1 print "values V1 V2" (the
 *                           word at ADDR and at offset 0x40 of the header page)
 *                           and exit.
 *   memhog thp MIB          map MIB MiB aligned to 2 MiB with MADV_HUGEPAGE, touch
 *                           every page, print "ready PID ADDR" and sleep until
 *                           killed: memory the kernel backs with transparent huge
 *                           pages where it can (for the maps huge-page test).
 *   memhog watch PADDR VALUE  a witness of one 64-bit word of physical memory, not
 *                           physdemo: map PADDR's page of /dev/mem (its page tables
 *                           made now, so that nothing is allocated while watching),
 *                           print "ready 0xWORD", then read the word every 200 us
 *                           (at nice -20, set by itself) until SIGUSR1,
 *                           and print "watch PADDR: VALUE seen|not
 *                           seen, first 0xW, last 0xW". A stale store into a freed
 *                           frame is caught even if the kernel hands the frame out
 *                           again a moment later; a refused poke must leave it unseen.
 *   memhog scan PID         ask the kernel itself, with no physdemo involved, whether
 *                           it answers the PAGEMAP_SCAN ioctl (Linux 6.7+) on
 *                           /proc/PID/pagemap: print "PAGEMAP_SCAN: answered, N
 *                           regions" or "PAGEMAP_SCAN: refused (ERRNO TEXT)"; exit 0
 *                           either way, 1 when the pagemap file cannot be opened.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t got_usr1;
static void on_usr1(int sig) { (void)sig; got_usr1 = 1; }

static uint64_t pattern(uint64_t word) { return (word * 0x9e3779b97f4a7c15ULL) ^ 0x5a5aa5a5c3c33c3cULL; }

static void *map_anon(size_t len) {
  void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) { perror("memhog: mmap"); exit(2); }
  return p;
}

static void wait_usr1(void) {
  sigset_t none;
  sigemptyset(&none);
  while (!got_usr1) sigsuspend(&none);
}

static int canary(size_t mib) {
  size_t len = mib << 20, words = len / 8;
  uint64_t *p = map_anon(len);
  madvise(p, len, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < words; i++) p[i] = pattern(i);
  printf("ready %d %p\n", getpid(), (void *)p);
  fflush(stdout);
  wait_usr1();
  size_t bad = 0;
  for (size_t i = 0; i < words; i++) {
    if (p[i] != pattern(i)) {
      if (bad < 10)
        printf("canary: word at +%#zx is %#llx, want %#llx\n", i * 8, (unsigned long long)p[i],
               (unsigned long long)pattern(i));
      bad++;
    }
  }
  printf("canary: %zu bytes verified, %zu words corrupted\n", len, bad);
  return bad ? 1 : 0;
}

static int pressure(size_t mib, int seconds) {
  size_t len = mib << 20;
  long page = sysconf(_SC_PAGESIZE);
  time_t end = time(NULL) + seconds;
  unsigned rounds = 0;
  while (time(NULL) < end) {
    char *p = map_anon(len);
    madvise(p, len, MADV_NOHUGEPAGE);
    for (size_t off = 0; off < len; off += page) p[off] = (char)rounds;
    for (size_t off = page; off < len; off += 2 * page) madvise(p + off, page, MADV_DONTNEED);
    usleep(200000);
    munmap(p, len);
    rounds++;
  }
  printf("pressure: %u rounds of %zu MiB\n", rounds, mib);
  return 0;
}

static _Noreturn void hold(size_t mib) {
  size_t len = mib << 20;
  long page = sysconf(_SC_PAGESIZE);
  char *p = map_anon(len);
  madvise(p, len, MADV_NOHUGEPAGE);
  for (size_t off = 0; off < len; off += page) p[off] = 1;
  printf("held %zu MiB\n", mib);
  fflush(stdout);
  for (;;) pause();
}

static _Noreturn void vanish(void) {
  long page = sysconf(_SC_PAGESIZE);
  char *p = map_anon(page);
  volatile uint64_t *v = (uint64_t *)(p + 0x40);
  *v = 0x1122334455667788ULL;
  printf("ready %d %p\n", getpid(), (void *)v);
  fflush(stdout);
  wait_usr1();
  madvise(p, page, MADV_DONTNEED);
  printf("discarded\n");
  fflush(stdout);
  for (;;) pause();
}

static int forge(const char *how) {
  long page = sysconf(_SC_PAGESIZE);
  int shared = !strcmp(how, "shared");
  char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
  char *other = map_anon(page);
  if (p == MAP_FAILED) { perror("memhog: mmap"); return 2; }
  uint64_t *h = (uint64_t *)p;
  uint64_t *named = (uint64_t *)(p + 0x40);
  if (!strcmp(how, "elsewhere")) named = (uint64_t *)(other + 0x40);
  memcpy(&h[0], "PHYSDEMO", 8);
  h[1] = (uint64_t)getpid();
  h[2] = (uint64_t)(uintptr_t)named;
  h[3] = h[4] = h[5] = 0;
  *(uint64_t *)(p + 0x40) = 0x1122334455667788ULL;
  *(uint64_t *)(other + 0x40) = 0x1122334455667788ULL;
  pid_t child = shared ? fork() : -1;
  if (child == 0) { for (;;) pause(); }
  printf("ready %d %p\n", getpid(), (void *)named);
  fflush(stdout);
  wait_usr1();
  printf("values %#llx %#llx\n", (unsigned long long)*named, (unsigned long long)*(uint64_t *)(p + 0x40));
  if (child > 0) kill(child, SIGTERM);
  return 0;
}

static _Noreturn void thp(size_t mib) {
  size_t huge = 2UL << 20, len = mib << 20;
  char *raw = map_anon(len + huge);
  char *p = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
  madvise(p, len, MADV_HUGEPAGE);
  for (size_t off = 0; off < len; off += 4096) p[off] = 1;
  printf("ready %d %p\n", getpid(), (void *)p);
  fflush(stdout);
  for (;;) pause();
}

/* struct pm_scan_arg and PAGEMAP_SCAN of <linux/fs.h> (6.7), which the host's
 * headers may predate: _IOWR('f', 16, the 96-byte struct). */
struct scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
  uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct scan_region { uint64_t start, end, categories; };
#define SCAN_IOCTL _IOWR('f', 16, struct scan_arg)
#define SCAN_PRESENT (1 << 1)

static int watch(const char *paddr_text, const char *value_text) {
  uint64_t paddr = strtoull(paddr_text, NULL, 0), value = strtoull(value_text, NULL, 0);
  uint64_t page = paddr & ~4095ULL, first, last;
  const struct timespec tick = { 0, 200000 };
  volatile uint64_t *word;
  int fd = open("/dev/mem", O_RDONLY | O_SYNC), seen = 0;
  char *map;

  if (fd < 0) { printf("memhog: /dev/mem: %s\n", strerror(errno)); return 1; }
  map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)page);
  if (map == MAP_FAILED) { printf("memhog: mmap /dev/mem at %#llx: %s\n", (unsigned long long)page, strerror(errno)); return 1; }
  word = (volatile uint64_t *)(map + (paddr & 4095) / 8 * 8);
  if (setpriority(PRIO_PROCESS, 0, -20) != 0) printf("memhog: setpriority: %s\n", strerror(errno));
  first = last = *word;
  printf("ready %#018llx\n", (unsigned long long)first);
  fflush(stdout);
  while (!got_usr1) {
    last = *word;
    if (last == value) seen = 1;
    nanosleep(&tick, NULL);
  }
  last = *word;
  if (last == value) seen = 1;
  printf("watch %#llx: %#018llx %s, first %#018llx, last %#018llx\n", (unsigned long long)paddr,
         (unsigned long long)value, seen ? "seen" : "not seen", (unsigned long long)first,
         (unsigned long long)last);
  return 0;
}

static int scan(const char *pid) {
  char path[64];
  struct scan_region regions[16];
  struct scan_arg arg = { .size = sizeof(arg), .end = 1ULL << 46,
                          .vec = (uintptr_t)regions, .vec_len = 16,
                          .category_anyof_mask = SCAN_PRESENT, .return_mask = SCAN_PRESENT };
  long n;
  int fd;

  snprintf(path, sizeof(path), "/proc/%s/pagemap", pid);
  fd = open(path, O_RDONLY);
  if (fd < 0) { printf("memhog: %s: %s\n", path, strerror(errno)); return 1; }
  n = ioctl(fd, SCAN_IOCTL, &arg);
  if (n < 0) printf("PAGEMAP_SCAN: refused (%s)\n", strerror(errno));
  else printf("PAGEMAP_SCAN: answered, %ld regions\n", n);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGUSR1, on_usr1);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 3 && !strcmp(argv[1], "canary")) return canary(strtoul(argv[2], NULL, 0));
  if (argc == 4 && !strcmp(argv[1], "pressure")) return pressure(strtoul(argv[2], NULL, 0), atoi(argv[3]));
  if (argc == 3 && !strcmp(argv[1], "hold")) hold(strtoul(argv[2], NULL, 0));
  if (argc == 2 && !strcmp(argv[1], "vanish")) vanish();
  if (argc >= 3 && !strcmp(argv[1], "forge")) return forge(argv[2]);
  if (argc == 3 && !strcmp(argv[1], "thp")) thp(strtoul(argv[2], NULL, 0));
  if (argc == 3 && !strcmp(argv[1], "scan")) return scan(argv[2]);
  if (argc == 4 && !strcmp(argv[1], "watch")) return watch(argv[2], argv[3]);
  fprintf(stderr, "usage: memhog canary MIB | pressure MIB SECONDS | hold MIB | vanish | forge self|elsewhere|shared | thp MIB | scan PID | watch PADDR VALUE\n");
  return 2;
}
