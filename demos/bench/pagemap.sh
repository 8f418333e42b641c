#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/bench/pagemap.sh: how fast physdemo's pagemap explorer is, as ratios measured in one run.
#
# Usage: sudo demos/bench/pagemap.sh [GIB]     (default 4: 1,048,576 resident 4 KiB pages)
#
# Starts a python3 helper that mmaps GIB GiB of private anonymous memory (MADV_NOHUGEPAGE, so
# every page is a 4 KiB page), touches every page and sleeps; builds the kernel's page-types
# (demos/bench/build-page-types.sh, cached) and physdemo (release); then times, best of 3:
#   physdemo maps PID --pages      vs  page-types -p PID -L       (target: at least 5x faster)
#   physdemo maps PID  (summary)   vs  one bulk pread of the helper's pagemap range (target: <2x)
#   physdemo owner (every process) for a frame of the helper     (target: under 1 s)
# All output goes to /dev/null; the figures are wall-clock seconds. The machine's other load
# shows in the numbers, which is why only ratios within one run are compared.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
gib="${1:-4}"
(( EUID == 0 )) || { echo "pagemap.sh: run as root (PFNs and kpageflags need CAP_SYS_ADMIN)" >&2; exit 1; }

page_types="$("$repo/demos/bench/build-page-types.sh")"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
physdemo="$repo/target/release/physdemo"

exec python3 - "$gib" "$page_types" "$physdemo" <<'PY'
import mmap, os, subprocess, sys, time

gib, page_types, physdemo = int(sys.argv[1]), sys.argv[2], sys.argv[3]
size = gib << 30

# The helper: map, touch every page, report, sleep until killed.
helper = subprocess.Popen([sys.executable, "-c", """
import ctypes, mmap, sys, time
size = int(sys.argv[1])
m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
if hasattr(mmap, "MADV_NOHUGEPAGE"):
    m.madvise(mmap.MADV_NOHUGEPAGE)
for off in range(0, size, mmap.PAGESIZE):
    m[off] = 1
print(ctypes.addressof(ctypes.c_char.from_buffer(m)), flush=True)
time.sleep(3600)
""", str(size)], stdout=subprocess.PIPE, text=True)
try:
    start = int(helper.stdout.readline())
    pid = helper.pid
    pages = size // mmap.PAGESIZE
    print(f"helper pid {pid}: {gib} GiB at {start:#x}, {pages} pages of {mmap.PAGESIZE} bytes")

    def best(cmd, runs=3, env=None):
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True, env=env)
            times.append(time.perf_counter() - t)
        return min(times)

    def bulk_read():
        fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY)
        try:
            times = []
            for _ in range(3):
                t = time.perf_counter()
                data = os.pread(fd, pages * 8, start // mmap.PAGESIZE * 8)
                times.append(time.perf_counter() - t)
                assert len(data) == pages * 8
            return min(times)
        finally:
            os.close(fd)

    p = str(pid)
    t_pt_L = best([page_types, "-p", p, "-L"])
    t_pt_l = best([page_types, "-p", p, "-l"])
    t_pages = best([physdemo, "maps", p, "--pages"])
    t_bulk = bulk_read()
    t_summary = best([physdemo, "maps", p])
    t_summary_map = best([physdemo, "maps", p, "--mapping", hex(start)])
    noscan = dict(os.environ, PHYSDEMO_NO_PAGEMAP_SCAN="1")
    t_summary_noscan = best([physdemo, "maps", p], env=noscan)
    t_pages_noscan = best([physdemo, "maps", p, "--pages"], env=noscan)
    # A frame in the middle of the helper's memory, from pagemap directly.
    fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY)
    entry = int.from_bytes(os.pread(fd, 8, (start + size // 2) // mmap.PAGESIZE * 8), "little")
    os.close(fd)
    paddr = hex((entry & ((1 << 55) - 1)) * mmap.PAGESIZE)
    t_owner = best([physdemo, "owner", paddr])
    t_owner_all = best([physdemo, "owner", paddr, "--all"])
    nproc = sum(1 for d in os.listdir("/proc") if d.isdigit())
    rss = 0
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/statm") as f:
                rss += int(f.read().split()[1]) * mmap.PAGESIZE
        except (OSError, ValueError, IndexError):
            pass

    print(f"\n{'what':58} {'seconds':>8}")
    rows = [
        ("page-types -p PID -L (every page)", t_pt_L),
        ("page-types -p PID -l (ranges)", t_pt_l),
        ("physdemo maps PID --pages", t_pages),
        ("physdemo maps PID --pages (no PAGEMAP_SCAN)", t_pages_noscan),
        (f"bulk pread of the {gib} GiB pagemap range (in-process)", t_bulk),
        ("physdemo maps PID (summary, whole process)", t_summary),
        ("physdemo maps PID --mapping ADDR (the big mapping only)", t_summary_map),
        ("physdemo maps PID (summary, no PAGEMAP_SCAN)", t_summary_noscan),
        (f"physdemo owner PADDR (early stop; {nproc} processes)", t_owner),
        (f"physdemo owner PADDR --all ({nproc} processes, {rss >> 20} MiB resident)", t_owner_all),
    ]
    for name, t in rows:
        print(f"{name:58} {t:8.3f}")
    print("\nratios (same run):")
    print(f"  page-types -L / physdemo maps --pages        = {t_pt_L / t_pages:5.1f}x faster   (target >= 5x)")
    print(f"  page-types -l / physdemo maps --pages        = {t_pt_l / t_pages:5.1f}x")
    print(f"  physdemo maps summary / bulk pagemap read    = {t_summary / t_bulk:5.1f}x slower  (target <= 2x)")
    print(f"  physdemo maps --mapping / bulk pagemap read  = {t_summary_map / t_bulk:5.1f}x slower")
    print(f"  physdemo owner --all over every process      = {t_owner_all:5.3f} s        (target < 1 s)")
finally:
    helper.kill()
    helper.wait()
PY
