#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/bench/scale.sh: `physdemo usage` and `physdemo owner --all` at N processes, as
# ratios measured side by side in one run (medians of 3).
#
# Usage: sudo demos/bench/scale.sh [N]     (default 10000 processes)
#
# Starts N real processes (a small C program, exec'd: its own libc, a 64 KiB heap written,
# 16 KiB of stack written, then pause()), then times, each the median of 3, output to
# /dev/null:
#   physdemo usage                           PSS of every process        (target <= 1.0x rollup)
#   every /proc/PID/smaps_rollup read        the kernel computing each PSS itself: with cat
#                                            (one process), and with a C reader on two threads
#   smem -t                                  Debian's smem (installed here if missing)  (>= 10x)
#   physdemo owner --pfn F --all             F: a libc text frame every process maps
#   C probe                                  two threads; per process: read maps, one pread of
#                                            pagemap per file mapping       (target <= 1.25x)
# Every process it started is stopped on exit, whatever happens (trap; the processes also die
# with their launcher, PR_SET_PDEATHSIG). Not part of CI.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$repo/demos/lib.sh"
count="${1:-10000}"
[[ "$count" =~ ^[0-9]+$ ]] && (( count > 0 )) || die "N must be a positive number of processes, e.g. 10000"
(( EUID == 0 )) || die "run as root (PFNs and /proc/kpagecount need CAP_SYS_ADMIN)"
command -v gcc >/dev/null || die "gcc is needed to build the C probe (apt-get install gcc)"
if ! command -v smem >/dev/null; then
  echo "scale.sh: smem is missing: installing Debian's smem (apt-get install -y smem)"
  apt-get install -y smem >/dev/null
fi
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
physdemo="$repo/target/release/physdemo"
scratch="$(mktemp -d)"
launcher_pid=""
cleanup() {
  if [[ -n "$launcher_pid" ]]; then
    kill -TERM -- "-$launcher_pid" 2>/dev/null || true
    kill -KILL -- "-$launcher_pid" 2>/dev/null || true
    wait "$launcher_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$scratch/holder.c" <<'C'
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    char stack[16384];
    memset(stack, 1, sizeof stack);
    char *heap = malloc(65536);
    memset(heap, 2, 65536);
    __asm__ volatile("" : : "r"(stack), "r"(heap) : "memory");
    for (;;) pause();
}
C
cat >"$scratch/launcher.c" <<'C'
/* Starts argv[2] argv[1] times; each child dies with the launcher (PR_SET_PDEATHSIG). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    setpgid(0, 0);
    for (long i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid < 0) { perror("fork"); return 1; }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            execl(argv[2], argv[2], (char *)0);
            _exit(127);
        }
    }
    printf("started %ld\n", n);
    fflush(stdout);
    for (;;) pause();
}
C
cat >"$scratch/rollup.c" <<'C'
/* Reads every /proc/PID/smaps_rollup on two threads. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static int *pids; static int npids;
static void *work(void *arg) {
    long half = (long)arg; char path[64], buf[4096];
    for (int i = half; i < npids; i += 2) {
        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pids[i]);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        while (read(fd, buf, sizeof buf) > 0) {}
        close(fd);
    }
    return 0;
}
int main(void) {
    DIR *d = opendir("/proc"); struct dirent *e;
    pids = malloc(sizeof(int) * 4194304);
    while ((e = readdir(d))) { int p = atoi(e->d_name); if (p > 0) pids[npids++] = p; }
    pthread_t t[2];
    for (long i = 0; i < 2; i++) pthread_create(&t[i], 0, work, (void *)i);
    for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
    return 0;
}
C
cat >"$scratch/probe.c" <<'C'
/* owner's floor: two threads; per process read maps, and for each file mapping one pread of
   its pagemap entries; counts the pages mapping frame argv[1]. */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static int *pids; static int npids; static uint64_t want; static long found[2];
static void *work(void *arg) {
    long half = (long)arg; char path[64]; static __thread char maps[1 << 20];
    uint64_t *entries = malloc(8 << 20);
    for (int i = half; i < npids; i += 2) {
        snprintf(path, sizeof path, "/proc/%d/maps", pids[i]);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t len = 0, n;
        while ((n = read(fd, maps + len, sizeof maps - 1 - len)) > 0) len += n;
        close(fd);
        maps[len] = 0;
        snprintf(path, sizeof path, "/proc/%d/pagemap", pids[i]);
        int pm = open(path, O_RDONLY);
        if (pm < 0) continue;
        for (char *line = maps; line && *line; ) {
            char *next = strchr(line, '\n');
            if (next) *next++ = 0;
            uint64_t start, end; unsigned long inode; char perms[8];
            if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %lu", &start, &end, perms, &inode) == 4
                && inode != 0 && end - start <= (1u << 20) * 4096ull) {
                size_t pages = (end - start) / 4096;
                ssize_t got = pread(pm, entries, pages * 8, start / 4096 * 8);
                for (ssize_t k = 0; k < got / 8; k++)
                    if ((entries[k] >> 63) && (entries[k] & ((1ull << 55) - 1)) == want) found[half]++;
            }
            line = next;
        }
        close(pm);
    }
    return 0;
}
int main(int argc, char **argv) {
    want = strtoull(argv[1], 0, 0);
    DIR *d = opendir("/proc"); struct dirent *e;
    pids = malloc(sizeof(int) * 4194304);
    while ((e = readdir(d))) { int p = atoi(e->d_name); if (p > 0) pids[npids++] = p; }
    pthread_t t[2];
    for (long i = 0; i < 2; i++) pthread_create(&t[i], 0, work, (void *)i);
    for (int i = 0; i < 2; i++) pthread_join(t[i], 0);
    printf("%ld mappings\n", found[0] + found[1]);
    return 0;
}
C
for prog in holder launcher rollup probe; do
  gcc -O2 -pthread -o "$scratch/$prog" "$scratch/$prog.c"
done

echo "starting $count processes ($scratch/holder)"
"$scratch/launcher" "$count" "$scratch/holder" >"$scratch/launcher.out" &
launcher_pid=$!
wait_for "$scratch/launcher.out" started 600 || die "the launcher did not start $count processes"
# Wait until every holder has exec'd and paused.
for _ in $(seq 600); do
  ready=$(pgrep -c -x holder || true)
  (( ready >= count )) && break
  sleep 0.1
done
(( ready >= count )) || die "only $ready of $count processes started"
sleep 2
holder=$(pgrep -x -n holder)
pfn=$(python3 - "$holder" <<'PY'
import struct, sys
pid = sys.argv[1]
for line in open(f"/proc/{pid}/maps"):
    f = line.split()
    if "r-xp" == f[1] and "libc" in line:
        start = int(f[0].split("-")[0], 16)
        with open(f"/proc/{pid}/pagemap", "rb") as pm:
            pm.seek(start // 4096 * 8)
            print(hex(struct.unpack("Q", pm.read(8))[0] & ((1 << 55) - 1)))
        break
PY
)
echo "processes: $(ls -d /proc/[0-9]* | wc -l) in /proc; libc text frame $pfn (of pid $holder)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$physdemo" "$scratch" "$pfn" <<'PY'
import statistics, subprocess, sys, time
physdemo, scratch, pfn = sys.argv[1:4]

def median(cmd, shell=False):
    times = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run(cmd, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)

rows = [
    ("physdemo usage", median([physdemo, "usage"])),
    ("smaps_rollup, every process: cat (one thread)", median("cat /proc/[0-9]*/smaps_rollup", shell=True)),
    ("smaps_rollup, every process: C, two threads", median([f"{scratch}/rollup"])),
    ("smem -t", median(["smem", "-t"])),
    (f"physdemo owner --pfn {pfn} --all", median([physdemo, "owner", "--pfn", pfn, "--all"])),
    ("C probe (two threads, maps + a pread per file mapping)", median([f"{scratch}/probe", pfn])),
]
print(f"\n{'what (median of 3)':58} {'seconds':>8}")
for name, t in rows:
    print(f"{name:58} {t:8.3f}")
t = dict(rows)
usage = t["physdemo usage"]
print("\nratios (same run):")
print(f"  usage / smaps_rollup (cat)          = {usage / rows[1][1]:5.2f}x   (target <= 1.0x)")
print(f"  usage / smaps_rollup (C, 2 threads) = {usage / rows[2][1]:5.2f}x")
print(f"  smem / usage                        = {rows[3][1] / usage:5.1f}x   (target >= 10x)")
print(f"  owner --all / C probe               = {rows[4][1] / rows[5][1]:5.2f}x   (target <= 1.25x)")
found = subprocess.run([physdemo, "owner", "--pfn", pfn, "--all"], capture_output=True, text=True).stdout.strip().splitlines()[-1]
probe = subprocess.run([f"{scratch}/probe", pfn], capture_output=True, text=True).stdout.strip()
print(f"  owner: {found}\n  probe: {probe}")
with open("/proc/loadavg") as f:
    print("load average after: " + " ".join(f.read().split()[:3]))
PY
