#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/vm/smoke.sh: smoke test of the physdemo VM itself, using busybox only
# (no physdemo needed). Runs INSIDE the VM:
#
#   demos/vm/run demos/vm/smoke.sh
#
# Checks that /dev/mem exists and is unfiltered: reads low RAM (0x1000) and
# the kernel's own code with read(); maps RAM with `devmem` (mmap), which must
# work when the VM booted with `nopat` (demos/vm/run's default) and must fail
# with EINVAL when it did not (PHYSDEMO_VM_PAT=on); finds this VM's `edu` PCI device (1234:11e8) and
# reads its ID register (0x010000ed) and writes/reads its liveness register
# through /dev/mem; and does the physdemo trick by hand: takes a page that a
# process owns (its environment strings), translates the virtual address to
# a physical one with /proc/PID/stat + /proc/PID/pagemap, rewrites one byte
# through /dev/mem (devmem/mmap, or dd/write() when PAT forbids the mmap), and
# sees the change in /proc/PID/environ.
# Ends with "smoke: N passed, N failed"; exit status 0 only if all 9 passed.
# shellcheck disable=SC3040  # busybox ash has pipefail
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

hex()  { printf '0x%x' "$1"; }

# 1. /dev/mem is there, as the char device 1:1.
if [ -c /dev/mem ] && [ "$(stat -c '%t:%T' /dev/mem)" = "1:1" ]; then
  ok "/dev/mem is char device 1:1"
else
  bad "/dev/mem missing or not 1:1: $(ls -l /dev/mem 2>&1)"
fi

# 2. Read RAM: a low page, and the first word of the kernel's code.
echo "System RAM per /proc/iomem:"
grep 'System RAM' /proc/iomem | sed 's/^/    /'
if v=$(devmem 0x1000 32 2>&1); then ok "devmem 0x1000 32 -> $v"; else bad "devmem 0x1000: $v"; fi
ktext=$(grep 'Kernel code' /proc/iomem | sed 's/^ *//; s/-.*//')
# read() path: not subject to PAT's mmap restriction.
v=$(dd if=/dev/mem bs=8 skip=$((0x$ktext / 8)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')
if [ -n "$v" ] && [ "$v" != 0000000000000000 ]; then
  ok "read() of /dev/mem at kernel code 0x$ktext -> 0x$v (STRICT_DEVMEM off)"
else
  bad "cannot read() kernel code at 0x$ktext: '$v'"
fi
# mmap() path over RAM above 1 MiB: allowed iff PAT is off.
if grep -qw nopat /proc/cmdline; then pat=off; else pat=on; fi
if v=$(devmem "0x$ktext" 64 2>&1); then mmap_ram=1; else mmap_ram=0; fi
if [ "$pat" = off ] && [ "$mmap_ram" = 1 ]; then
  ok "PAT off (nopat): devmem mmap of RAM 0x$ktext 64 -> $v"
elif [ "$pat" = on ] && [ "$mmap_ram" = 0 ]; then
  ok "PAT on: mmap of RAM refused as expected ($v); using read()/write() for RAM"
else
  bad "PAT $pat but devmem mmap of RAM 0x$ktext gave: $v"
fi

# 3. The edu PCI device: ID register and the liveness (bit-inverting) register.
edu="$(edu_dir)"
if [ -z "$edu" ]; then
  bad "no edu device (1234:11e8) in /sys/bus/pci/devices"
else
  echo 1 >"$edu/enable" 2>/dev/null || true
  bar0="$(bar_start "$edu")"
  id=$(devmem "$bar0" 32)
  if [ "$id" = 0x010000ED ]; then
    ok "edu $(basename "$edu") BAR0 $bar0: ID register = $id"
  else
    bad "edu BAR0 $bar0: ID register = $id, want 0x010000ED"
  fi
  devmem $((bar0 + 4)) 32 0x12345678
  live=$(devmem $((bar0 + 4)) 32)
  if [ "$live" = 0xEDCBA987 ]; then
    ok "edu liveness register: wrote 0x12345678, read back $live (= ~value)"
  else
    bad "edu liveness register: wrote 0x12345678, read back $live, want 0xEDCBA987"
  fi
fi

# 4. Virtual -> physical by hand, then write another process's memory via /dev/mem.
PHYSDEMO_SMOKE=aaaaaaaa sleep 600 &
pid=$!
sleep 0.2
# /proc/PID/stat field 50 is env_start (the comm field has no spaces here).
env_start=$(cut -d' ' -f50 "/proc/$pid/stat")
# Byte offset of our variable's value inside the NUL-separated environment.
prefix=$(tr '\0' '\n' <"/proc/$pid/environ" | sed -n '1,/^PHYSDEMO_SMOKE=/p' | wc -c)
off=$((prefix - 9))          # back over "aaaaaaaa\n" to the first 'a'
vaddr=$((env_start + off))
entry=$(dd if="/proc/$pid/pagemap" bs=8 skip=$((vaddr / 4096)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')
present=$(( (0x$entry >> 63) & 1 ))
pfn=$(( 0x$entry & 0x7FFFFFFFFFFFFF ))
phys=$(( pfn * 4096 + vaddr % 4096 ))
echo "pid $pid: PHYSDEMO_SMOKE value at vaddr $(hex $vaddr) -> pagemap 0x$entry -> pfn $(hex $pfn) -> phys $(hex $phys)"
if [ "$present" = 1 ] && [ "$pfn" -ne 0 ]; then
  ok "pagemap gives a present page with a PFN (pfn $(hex $pfn))"
  if [ "$mmap_ram" = 1 ]; then
    before=$(devmem "$phys" 8) || before="devmem failed"
    devmem "$phys" 8 0x5a || true          # 'Z'
    how="devmem (mmap)"
  else
    before=$(dd if=/dev/mem bs=1 skip="$phys" count=1 2>/dev/null | od -An -tx1 | tr -d ' ')
    before=0x$before
    printf Z | dd of=/dev/mem bs=1 seek="$phys" count=1 conv=notrunc 2>/dev/null || true
    how="dd (read/write)"
  fi
  if [ "$before" = 0x61 ]; then ok "read $(hex $phys) via $how -> $before ('a')"; else bad "read $(hex $phys) via $how -> $before, want 0x61 ('a')"; fi
  after=$(tr '\0' '\n' <"/proc/$pid/environ" | grep '^PHYSDEMO_SMOKE=')
  if [ "$after" = PHYSDEMO_SMOKE=Zaaaaaaa ]; then
    ok "wrote 'Z' through /dev/mem with $how; /proc/$pid/environ now says $after"
  else
    bad "after the /dev/mem write /proc/$pid/environ says '$after', want PHYSDEMO_SMOKE=Zaaaaaaa"
  fi
else
  bad "pagemap entry 0x$entry: page not present or PFN hidden"
fi
kill "$pid" 2>/dev/null || true

summary smoke 9
