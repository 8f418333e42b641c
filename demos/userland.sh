#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/userland.sh: the whole physdemo story, narrated, in one script.
#
#   1. `physdemo target` holds a 64-bit variable and watches it;
#   2. `physdemo inspect` walks /proc/PID/maps and /proc/PID/pagemap to the
#      variable's physical address;
#   3. `physdemo poke` writes a new value to that physical address through
#      /dev/mem (or physdemo_mem's /dev/physmem where /dev/mem is locked: poke
#      says which), and the target reports the change it did not make itself.
#
# Usage: demos/userland.sh [VALUE]      (as root; physdemo on PATH)
# Runs unchanged on a host whose /dev/mem allows RAM access and inside the
# project's VM (demos/vm/run, which runs this script when given none).
# Exit status 0 only when the target saw exactly VALUE.
set -eu

value="${1:-0xdeadbeefcafef00d}"
. "$(dirname "$0")/lib.sh"

log="$(mktemp)"
tpid=""
trap '[ -n "$tpid" ] && kill "$tpid" 2>/dev/null; rm -f "$log"' EXIT

say "Step 1: start a target. It allocates one 64-bit variable on a page of its own,
    locks that page in RAM and reports every change to it."
physdemo target --timeout 120 >"$log" 2>&1 &
tpid=$!
tries=0
until grep -q '^Watching' "$log"; do
  tries=$((tries + 1))
  if [ "$tries" -gt 100 ] || ! kill -0 "$tpid" 2>/dev/null; then
    cat "$log"; echo "the target did not start" >&2; exit 1
  fi
  sleep 0.1
done
cat "$log"
pid="$(sed -n 's/^physdemo target: pid \([0-9]*\)$/\1/p' "$log")"
vaddr="$(sed -n 's/^  variable  \(0x[0-9a-f]*\) .*/\1/p' "$log")"

say "Step 2: find its physical address. The virtual address $vaddr means nothing
    outside pid $pid; /proc/$pid/maps names the mapping that holds it and
    /proc/$pid/pagemap gives the page-table entry, whose frame number (PFN)
    times the page size plus the offset is the physical address."
physdemo inspect "$pid" "$vaddr"

say "Step 3: write $value to that physical address through /dev/mem (or, where the
    kernel locks /dev/mem, physdemo_mem's /dev/physmem: poke says which). Nothing here
    touches the target's virtual memory: the write goes to RAM by its physical address."
physdemo poke "$pid" "$vaddr" "$value"

say "Step 4: the target noticed. Its output since it started:"
sleep 0.2
kill -TERM "$tpid"
wait "$tpid" || true
tpid=""
cat "$log"
want="$(printf '%s' "$value" | sed 's/^0[xX]//' | tr 'A-F' 'a-f')"
if grep -q -- "-> 0x0*$want " "$log"; then
  say "Done: the target saw exactly $value, written by physical address."
else
  echo "FAIL: the target did not report $value" >&2
  exit 1
fi
