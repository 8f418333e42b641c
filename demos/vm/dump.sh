#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/vm/dump.sh: inside the VM, `physdemo dump` of RAM through the real /dev/mem, checked
# against busybox's dd and hexdump, and timed against them.
#
# Usage (on the host): demos/vm/run demos/vm/dump.sh [MIB [WITNESS_KIB]]
#   MIB           the range timed (default 64; 0: no timing)
#   WITNESS_KIB   how much of the kernel's code the witness compares (default: all of it)
#
# 1. The witness: the kernel's code (its /proc/iomem range, whole pages; the VM boots
#    nokaslr and nothing rewrites that text after boot) is read by dd from /dev/mem into a
#    sparse file at the same offsets, and `hexdump -C -s START -n LEN` of that file must be
#    byte for byte `physdemo dump START LEN`'s output (same for --raw against dd's bytes).
# 2. The timing, one run each (the VM is TCG: slow, and only the ratio means anything):
#    `physdemo dump 0x1000000 MIB MiB`, `dd if=/dev/mem bs=1M | hexdump -C` of the same
#    range, `physdemo dump --raw` and `dd bs=1M` alone, all output to /dev/null; and what
#    `--symbol` costs: `cat /proc/kallsyms` and `physdemo peek --symbol jiffies`. Printed
#    as "time: NAME SECONDS" lines and the ratios.
# 3. By name (`--symbol`, through /proc/kallsyms and /proc/iomem): `dump --symbol
#    linux_banner --raw` must be the bytes of /proc/version and then its NUL, and `peek
#    --symbol jiffies --width 64` must lie between the `jiffies:` lines of /proc/timer_list
#    read just before and just after it. Their text reports are printed, indented.
# Ends with "dump: N passed, N failed".
set -u
. "$(dirname "$0")/../lib.sh"
mib="${1:-64}"
witness_kib="${2:-0}"
TIMEFORMAT=%R

code="$(sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : Kernel code$/\1 \2/p' /proc/iomem | head -n 1)"
[ -n "$code" ] || die "no Kernel code range in /proc/iomem"
first=$((0x${code% *} / 4096))
last=$((0x${code#* } / 4096))
if [ "$witness_kib" -gt 0 ] && [ $((first + witness_kib / 4 - 1)) -lt "$last" ]; then
  last=$((first + witness_kib / 4 - 1))
fi
start=$((first * 4096))
len=$(((last - first + 1) * 4096))
printf 'witness: kernel code %#x, %d bytes\n' "$start" "$len"
dd if=/dev/mem of=/tmp/ram bs=4096 skip="$first" seek="$first" count=$((last - first + 1)) 2>/dev/null \
  || die "dd could not read /dev/mem"
hexdump -C -s "$start" -n "$len" /tmp/ram >/tmp/expected
physdemo dump "$start" "$len" >/tmp/ours 2>/tmp/ours.err
rc=$?
if [ "$rc" -eq 0 ] && [ ! -s /tmp/ours.err ] && cmp -s /tmp/ours /tmp/expected; then
  ok "dump of the kernel's code is hexdump -C of dd's bytes, byte for byte ($(wc -l </tmp/ours) lines)"
else
  bad "dump of the kernel's code: rc $rc, $(head -c 300 /tmp/ours.err), $(cmp /tmp/ours /tmp/expected 2>&1)"
fi
physdemo dump "$start" "$len" --raw >/tmp/ours.raw 2>/tmp/ours.err
rc=$?
dd if=/tmp/ram of=/tmp/theirs.raw bs=4096 skip="$first" count=$((last - first + 1)) 2>/dev/null
if [ "$rc" -eq 0 ] && cmp -s /tmp/ours.raw /tmp/theirs.raw; then
  ok "dump --raw of the kernel's code is dd's bytes"
else
  bad "dump --raw of the kernel's code: rc $rc, $(cmp /tmp/ours.raw /tmp/theirs.raw 2>&1)"
fi
rm -f /tmp/ram /tmp/ours /tmp/expected /tmp/ours.raw /tmp/theirs.raw

cat /proc/version >/tmp/version
physdemo dump --symbol linux_banner --raw >/tmp/banner 2>/tmp/banner.err
rc=$?
size=$(wc -c </tmp/version)
nul="$(dd if=/tmp/banner bs=1 skip="$size" count=1 2>/dev/null | od -An -tx1 | tr -d ' ')"
if [ "$rc" -eq 0 ] && head -c "$size" /tmp/banner | cmp -s - /tmp/version && [ "$nul" = 00 ]; then
  ok "dump --symbol linux_banner is the text of /proc/version and its NUL ($size bytes + 1 of $(wc -c </tmp/banner))"
else
  bad "dump --symbol linux_banner: rc $rc, $(head -c 300 /tmp/banner.err), byte after the text: '$nul', $(head -c "$size" /tmp/banner | cmp - /tmp/version 2>&1)"
fi
physdemo dump --symbol linux_banner 0xa0 2>&1 | sed 's/^/    | /'
jiffies_now() { sed -n 's/^jiffies: *\([0-9]*\)$/\1/p' /proc/timer_list | head -n 1; }
before="$(jiffies_now)"
json="$(physdemo peek --symbol jiffies --width 64 --json 2>&1)"
after="$(jiffies_now)"
value="$(echo "$json" | json_field value)"
if [ -n "$before" ] && [ -n "$value" ] && [ "$before" -le $((value)) ] && [ $((value)) -le "$after" ]; then
  ok "peek --symbol jiffies: $((value)), between /proc/timer_list's $before and $after"
else
  bad "peek --symbol jiffies: '$json', /proc/timer_list before '$before', after '$after'"
fi
physdemo peek --symbol jiffies | sed 's/^/    | /'
rm -f /tmp/version /tmp/banner /tmp/banner.err

if [ "$mib" -gt 0 ]; then
  base=$((0x1000000))
  bytes=$((mib << 20))
  end=$(sed -n 's/^\([0-9a-f]*\)-\([0-9a-f]*\) : System RAM$/\1 \2/p' /proc/iomem \
    | while read -r s e; do
        if [ $((0x$s)) -le "$base" ] && [ $((0x$e)) -ge $((base + bytes - 1)) ]; then echo yes; fi
      done)
  [ "$end" = yes ] || die "$mib MiB from $(printf '%#x' "$base") is not all System RAM"
  # bash's `time` keyword prints the real time (TIMEFORMAT=%R) on stderr
  t_dump=$( { time physdemo dump "$base" "$bytes" >/dev/null 2>/tmp/t.err; } 2>&1 )
  t_pipe=$( { time dd if=/dev/mem bs=1M skip=16 count="$mib" 2>/dev/null | hexdump -C >/dev/null; } 2>&1 )
  t_raw=$( { time physdemo dump "$base" "$bytes" --raw >/dev/null 2>>/tmp/t.err; } 2>&1 )
  t_dd=$( { time dd if=/dev/mem of=/dev/null bs=1M skip=16 count="$mib" 2>/dev/null; } 2>&1 )
  if [ -s /tmp/t.err ]; then bad "timed dumps said: $(head -c 300 /tmp/t.err)"; else ok "timed dumps ran clean"; fi
  echo "time: physdemo dump $mib MiB of RAM  $t_dump"
  echo "time: dd if=/dev/mem bs=1M | hexdump -C  $t_pipe"
  echo "time: physdemo dump --raw  $t_raw"
  echo "time: dd if=/dev/mem bs=1M  $t_dd"
  # what --symbol costs: the kernel writing /proc/kallsyms, and physdemo reading it whole
  t_kallsyms=$( { time cat /proc/kallsyms >/dev/null; } 2>&1 )
  t_symbol=$( { time physdemo peek --symbol jiffies >/dev/null 2>>/tmp/t.err; } 2>&1 )
  echo "time: cat /proc/kallsyms ($(wc -l </proc/kallsyms) lines)  $t_kallsyms"
  echo "time: physdemo peek --symbol jiffies  $t_symbol"
  awk -v a="$t_dump" -v b="$t_pipe" -v c="$t_raw" -v d="$t_dd" 'BEGIN {
    printf "ratio: dump / (dd | hexdump -C) = %.3fx\nratio: dump --raw / dd = %.2fx\n", a / b, c / d }'
fi
summary dump 4
