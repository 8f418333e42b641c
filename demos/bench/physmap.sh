#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/bench/physmap.sh: how fast `physdemo physmap` draws the whole machine, as ratios
# measured side by side in one run.
#
# Usage: sudo demos/bench/physmap.sh [RUNS]     (default 5; best of RUNS each)
#
# Times, each the best of RUNS, all output to /dev/null:
#   dd if=/proc/kpageflags bs=2M          the bulk read: every frame's flags, one process
#   physdemo physmap --color never        the text picture of all RAM     (target: <= 1.5x dd)
#   physdemo physmap --json               the classified cells as JSON
#   physdemo physmap --svg FILE           the SVG picture
#   physdemo physmap --pid $$             with this shell's frames highlighted
# and prints the load average before and after: the machine's other load shows in every
# figure, which is why only the ratios within one run are compared. Run it on an idle machine.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$repo/demos/lib.sh"
runs="${1:-5}"
(( EUID == 0 )) || die "run as root (/proc/kpageflags needs CAP_SYS_ADMIN)"
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
physdemo="$repo/target/release/physdemo"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
exec python3 - "$runs" "$physdemo" "$scratch" <<'PY'
import os, subprocess, sys, time

runs, physdemo, scratch = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def best(cmd):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
    return min(times)

size = 0
with open("/proc/kpageflags", "rb") as f:
    while chunk := f.read(2 << 20):
        size += len(chunk)
frames = size // 8
svg = os.path.join(scratch, "physmap.svg")
rows = [
    (f"dd if=/proc/kpageflags bs=2M ({frames} frames, {size >> 20} MiB)",
     best(["dd", "if=/proc/kpageflags", "of=/dev/null", "bs=2M"])),
    ("physdemo physmap --color never", best([physdemo, "physmap", "--color", "never"])),
    ("physdemo physmap --json", best([physdemo, "physmap", "--json"])),
    ("physdemo physmap --svg FILE", best([physdemo, "physmap", "--svg", svg])),
    ("physdemo physmap --pid PID (this script)", best([physdemo, "physmap", "--pid", str(os.getpid()), "--color", "never"])),
]
print(f"\n{'what':58} {'seconds':>8}")
for name, t in rows:
    print(f"{name:58} {t:8.3f}")
bulk = rows[0][1]
print("\nratios (same run):")
print(f"  physmap (text) / bulk kpageflags read   = {rows[1][1] / bulk:5.2f}x   (target <= 1.5x)")
print(f"  physmap --json / bulk kpageflags read   = {rows[2][1] / bulk:5.2f}x")
print(f"  physmap --svg / bulk kpageflags read    = {rows[3][1] / bulk:5.2f}x")
print(f"  physmap --pid / bulk kpageflags read    = {rows[4][1] / bulk:5.2f}x")
with open("/proc/loadavg") as f:
    print("load average after: " + " ".join(f.read().split()[:3]))
PY
