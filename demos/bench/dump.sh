#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/bench/dump.sh: how fast `physdemo dump` is next to the usual hex dumpers and dd, as
# ratios measured side by side in one run.
#
# Usage: demos/bench/dump.sh [MIB] [RUNS]     (default 32 MiB, median of 3 runs each)
#
# A file of MIB MiB of random bytes stands in for /dev/mem (PHYSDEMO_DEVICE, with a map
# calling it all RAM in PHYSDEMO_IOMEM). Times, each the median of RUNS, output to /dev/null:
#   physdemo dump 0 LEN            hexdump -C's lines              (target: <= 1.0x xxd)
#   xxd FILE                       vim's xxd (C)
#   od -Ax -tx1z FILE              coreutils
#   hexdump -C FILE                util-linux
#   physdemo dump 0 LEN --raw      the bytes themselves            (target: <= 1.5x dd)
#   dd if=FILE bs=1M               the plain read
# Before timing, dump's output is checked to be hexdump -C's byte for byte, and --raw's to
# be the file's. xxd is installed (Debian package xxd) when missing; the script says so.
# The machine's other load shows in every figure, which is why only the ratios within one
# run are compared; the load average before and after is printed.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$repo/demos/lib.sh"
mib="${1:-32}"
runs="${2:-3}"
if ! command -v xxd >/dev/null; then
  (( EUID == 0 )) || die "xxd is missing: run as root to install it, or: sudo apt-get install xxd"
  echo "dump.sh: installing the Debian package xxd (apt-get install -y xxd)"
  apt-get install -y --no-install-recommends xxd >/dev/null
fi
for tool in hexdump od dd; do
  command -v "$tool" >/dev/null || die "$tool is missing (hexdump: demos/setup installs bsdextrautils)"
done
cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
physdemo="$repo/target/release/physdemo"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
head -c "$((mib << 20))" /dev/urandom >"$scratch/mem"
echo "00000000-ffffffff : System RAM" >"$scratch/iomem"
export PHYSDEMO_DEVICE="$scratch/mem" PHYSDEMO_IOMEM="$scratch/iomem"
len="$(printf '%#x' "$((mib << 20))")"

# The figures mean nothing unless the outputs are the same.
cmp <("$physdemo" dump 0 "$len") <(hexdump -C "$scratch/mem") \
  || die "dump's output differs from hexdump -C's"
cmp <("$physdemo" dump 0 "$len" --raw) "$scratch/mem" || die "dump --raw differs from the file"
echo "checked: dump 0 $len is hexdump -C's output byte for byte; --raw is the file's bytes"

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$runs" "$mib" "$physdemo" "$len" "$scratch/mem" <<'PY'
import statistics, subprocess, sys, time

runs, mib, physdemo, length, mem = int(sys.argv[1]), int(sys.argv[2]), *sys.argv[3:]

def median(cmd):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)

rows = [
    (f"physdemo dump 0 {length}", median([physdemo, "dump", "0", length])),
    ("xxd", median(["xxd", mem])),
    ("od -Ax -tx1z", median(["od", "-Ax", "-tx1z", mem])),
    ("hexdump -C", median(["hexdump", "-C", mem])),
    (f"physdemo dump 0 {length} --raw", median([physdemo, "dump", "0", length, "--raw"])),
    ("dd bs=1M", median(["dd", f"if={mem}", "of=/dev/null", "bs=1M", "status=none"])),
]
print(f"\n{mib} MiB of random bytes, median of {runs}, output to /dev/null")
print(f"{'tool':34} {'seconds':>8} {'MB/s':>8}")
for name, t in rows:
    print(f"{name:34} {t:8.3f} {mib * 1.048576 / t:8.1f}")
t = dict(rows)
dump, raw = rows[0][1], rows[4][1]
print("\nratios (same run):")
print(f"  dump / xxd            = {dump / t['xxd']:5.2f}x   (target <= 1.0x)")
print(f"  dump / od -Ax -tx1z   = {dump / t['od -Ax -tx1z']:5.2f}x")
print(f"  dump / hexdump -C     = {dump / t['hexdump -C']:5.2f}x")
print(f"  dump --raw / dd bs=1M = {raw / t['dd bs=1M']:5.2f}x   (target <= 1.5x)")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
