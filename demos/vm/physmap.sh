#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/vm/physmap.sh: inside the VM, `physdemo physmap --color never` with a
# target highlighted, where everything it draws is known exactly: the VM boots
# `nokaslr`, so the kernel's code sits at 0x1000000, and the target's frame is
# read independently from /proc/PID/pagemap with dd + od (busybox only).
#
# Usage (on the host): demos/vm/run demos/vm/physmap.sh
# Prints the VM's /proc/iomem ("iomem: " lines), the target ("target: pid P
# vaddr V pfn F"), the picture between "--- physmap ---" and "--- end ---",
# ok/FAIL lines, and "physmap: N passed, N failed". tests/it/vm.rs reads the
# picture back: the X at the target's frame, the kernel image's cells and band.
set -u
. "$(dirname "$0")/../lib.sh"

sed 's/^/iomem: /' /proc/iomem
page_size="$(getconf PAGESIZE 2>/dev/null || echo 4096)"
start_target --timeout 120 || die "the target did not start"
entry="$(dd if="/proc/$pid/pagemap" bs=8 skip=$((vaddr / page_size)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')"
pfn=$(( 0x$entry & 0x7fffffffffffff ))
printf 'target: pid %s vaddr %s pfn %#x\n' "$pid" "$vaddr" "$pfn"

pd physmap --pid "$pid" --color never --cell 64
if [ "$rc" -eq 0 ] && [ -z "$err" ]; then ok "physmap drew the picture"; else bad "physmap: rc $rc, $err"; fi
echo "--- physmap ---"
printf '%s\n' "$out"
echo "--- end ---"
if printf '%s\n' "$out" | grep -q "X  its physdemo target variable $vaddr: frame $(printf '%#x' "$pfn"),"; then
  ok "the legend names the target's frame $(printf '%#x' "$pfn")"
else
  bad "the legend does not name frame $(printf '%#x' "$pfn")"
fi
code="$(sed -n 's/^ *\([0-9a-f]*\)-\([0-9a-f]*\) : Kernel code$/\1-\2/p' /proc/iomem)"
if [ "$code" = "01000000-$(echo "$code" | cut -d- -f2)" ] && printf '%s\n' "$out" | grep -q "^    0x0001000000-0x00$(echo "$code" | cut -d- -f2) "; then
  ok "the kernel's code is at 0x1000000 (nokaslr) and its band says so"
else
  bad "kernel code '$code' not drawn as a band"
fi
pd physmap --pid "$pid" --svg /tmp/physmap.svg
if [ "$rc" -eq 0 ] && [ -s /tmp/physmap.svg ] && grep -q '</svg>' /tmp/physmap.svg; then
  ok "physmap --svg wrote a whole picture"
else
  bad "physmap --svg: rc $rc, $err"
fi
stop_target
summary physmap 3
