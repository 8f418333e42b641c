#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/e2e/inspect.sh: inside the VM, `physdemo inspect` must agree with a
# PFN read independently from /proc/PID/pagemap with dd + od (busybox only),
# for a target in every placement.
#
# Usage (on the host): demos/vm/run demos/e2e/inspect.sh
# Prints "ok"/"FAIL" lines and "inspect: N passed, N failed"; exit 0 only
# when all 4 passed.
set -eu
. "$(dirname "$0")/../lib.sh"

page_size="$(getconf PAGESIZE 2>/dev/null || echo 4096)"
for where in mmap heap stack static; do
  start_target --where "$where" --timeout 30 || bad "$where: the target did not start"
  # Independent read: the 8-byte pagemap entry at index vaddr / page size.
  entry="$(dd if="/proc/$pid/pagemap" bs=8 skip=$((vaddr / page_size)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')"
  pfn_indep=$(( 0x$entry & 0x7fffffffffffff ))
  paddr_indep=$(( pfn_indep * page_size + vaddr % page_size ))
  json="$(physdemo inspect "$pid" "$vaddr" --json)"
  pfn="$(printf '%s' "$json" | sed -n 's/.*"pfn":"\(0x[0-9a-f]*\)".*/\1/p')"
  paddr="$(printf '%s' "$json" | sed -n 's/.*"paddr":"\(0x[0-9a-f]*\)".*/\1/p')"
  if [ -n "$pfn" ] && [ $((pfn)) -eq "$pfn_indep" ] && [ "$pfn_indep" -ne 0 ] && [ $((paddr)) -eq "$paddr_indep" ]; then
    ok "$where: inspect pfn $pfn = pagemap pfn $(printf '%#x' "$pfn_indep"), paddr $paddr"
  else
    bad "$where: inspect pfn '$pfn' paddr '$paddr' vs pagemap entry 0x$entry ($(printf '%#x' "$pfn_indep"))"
  fi
  stop_target
done
summary inspect 4
