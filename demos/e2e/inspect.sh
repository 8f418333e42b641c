#!/bin/sh
# demos/e2e/inspect.sh: inside the VM, `physdemo inspect` must agree with a
# PFN read independently from /proc/PID/pagemap with dd + od (busybox only),
# for a target in every placement.
#
# Usage (on the host): demos/vm/run demos/e2e/inspect.sh
# Prints "ok"/"FAIL" lines and "inspect: N passed, N failed"; exit 0 only
# when all passed.
set -eu
passed=0 failed=0
ok()  { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1; }

page_size="$(getconf PAGESIZE 2>/dev/null || echo 4096)"
for where in mmap heap stack static; do
  out="$(mktemp)"
  physdemo target --json --where "$where" --timeout 30 >"$out" &
  tpid=$!
  n=0
  until [ -s "$out" ] || [ "$n" -gt 50 ]; do sleep 0.1; n=$((n + 1)); done
  pid="$(json_field pid <"$out")"
  vaddr="$(json_field vaddr <"$out")"
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
  kill "$tpid" 2>/dev/null || true
  wait "$tpid" 2>/dev/null || true
  rm -f "$out"
done
echo "inspect: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
