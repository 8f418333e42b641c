#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/e2e/poke.sh: inside the VM, `physdemo poke` rewrites a running target's
# variable through /dev/mem and the target reports exactly the value written;
# the no-argument form finds the target itself; --dry-run changes nothing; a
# write into the kernel's code is refused without --force; a pid that is gone
# is an error, not a write.
#
# Usage (on the host): demos/vm/run demos/e2e/poke.sh
# Prints "ok"/"FAIL" lines with the exact values, then "poke: N passed,
# N failed"; exit 0 only when all 10 passed.
set -eu
. "$(dirname "$0")/../lib.sh"

INITIAL=0x1122334455667788
# change_events FILE: the target's change events, as "OLD -> NEW" lines
change_events() {
  grep '"event":"change"' "$1" | while read -r line; do
    echo "$(echo "$line" | json_field old) -> $(echo "$line" | json_field new)"
  done
}

# 1. poke <pid> <vaddr> V: the target (--until V) reports exactly V, then exits.
V=0xc0ffee0123456789
start_target --until "$V" --timeout 30 || bad "the target did not start"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
echo "target pid $pid, variable $vaddr -> physical $paddr"
set +e
poke_out="$(physdemo poke "$pid" "$vaddr" "$V" 2>&1)"
poke_rc=$?
wait "$tpid"
target_rc=$?
set -e
echo "$poke_out" | sed 's/^/    | /'
events="$(change_events "$tout")"
if [ "$events" = "$INITIAL -> $V" ]; then
  ok "poke $pid $vaddr $V: target's change event says $events"
else
  bad "poke exit $poke_rc, target change events: '$events', want '$INITIAL -> $V'"
fi
if grep -q '"event":"exit","reason":"until"' "$tout" && [ "$target_rc" -eq 0 ]; then
  ok "target exited on --until $V"
else
  bad "target did not exit on --until (exit $target_rc): $(tail -n 1 "$tout")"
fi
# A target with --until stays alive a moment after seeing V, so poke's post-write check
# and its read of the target's report both succeed.
if [ "$poke_rc" -eq 0 ] && echo "$poke_out" | grep -q "^target    saw $V at CLOCK_MONOTONIC [0-9]* ns: reacted .* after the write"; then
  ok "poke saw the reaction: $(echo "$poke_out" | grep '^target    saw' | sed 's/^target *//')"
  if echo "$poke_out" | grep -q "^old       0x1122334455667788$" && echo "$poke_out" | grep -q "^physical  $paddr "; then
    ok "poke reported old value $INITIAL at physical $paddr (as inspect computes)"
  else
    bad "poke's old value or physical address differ from $INITIAL / $paddr"
  fi
else
  bad "poke exit $poke_rc did not report the target's reaction: $poke_out"
fi
rm -f "$tout"

# 2. poke with no arguments: finds the target, writes the demo value, then its NOT.
start_target --timeout 30 || bad "the target did not start"
DEMO=0xdeadbeefcafef00d NOT_DEMO=0x2152411035010ff2
first="$(physdemo poke 2>&1)" || true
second="$(physdemo poke 2>&1)" || true
sleep 0.3
events="$(change_events "$tout" | tr '\n' ';')"
echo "$first" | sed 's/^/    | /'
if [ "$events" = "$INITIAL -> $DEMO;$DEMO -> $NOT_DEMO;" ]; then
  ok "poke (no arguments) twice: target saw $INITIAL -> $DEMO -> $NOT_DEMO"
else
  bad "poke (no arguments): target change events '$events'"
fi
if echo "$first" | grep -q "^process   physdemo target pid $pid" && echo "$second" | grep -q "^target    saw $NOT_DEMO"; then
  ok "no-argument poke found pid $pid by itself and saw its reaction"
else
  bad "no-argument poke output lacks the target pid $pid or the reaction"
fi

# 3. --dry-run: prints the paddr inspect computes, writes nothing.
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
before="$(busybox devmem "$paddr" 64 | lower)"
dry="$(physdemo poke "$pid" "$vaddr" 0x5555 --dry-run 2>&1)" || true
sleep 0.3
after="$(busybox devmem "$paddr" 64 | lower)"
events_after="$(change_events "$tout" | tr '\n' ';')"
echo "$dry" | sed 's/^/    | /'
if echo "$dry" | grep -q "^dry run   would write 0x0000000000005555 (64-bit) to physical $paddr " \
   && [ "$before" = "$after" ] && [ "$after" = "$NOT_DEMO" ] && [ "$events_after" = "$events" ]; then
  ok "--dry-run: would write 0x5555 at $paddr; memory still $after, no change event"
else
  bad "--dry-run: before $before after $after (want $NOT_DEMO), events '$events_after'"
fi
stop_target

# 4. The kernel's code is refused without --force (and untouched).
ktext="$(printf '%#x' "0x$(grep 'Kernel code' /proc/iomem | head -n 1 | sed 's/^ *//; s/-.*//')")"
kbefore="$(busybox devmem "$ktext" 32)"
set +e
refusal="$(physdemo poke "$ktext" 0x90909090 2>&1)"; poke_rc=$?
refusal2="$(physdemo devmem "$ktext" 32 0x90909090 2>&1)"; devmem_rc=$?
forced_dry="$(physdemo poke "$ktext" 0x90909090 --force --dry-run 2>&1)"; dry_rc=$?
set -e
kafter="$(busybox devmem "$ktext" 32)"
echo "    | $refusal"
if [ "$poke_rc" -eq 6 ] && echo "$refusal" | grep -q "refusing to write: $ktext is in Kernel code" \
   && [ "$devmem_rc" -eq 6 ] && [ "$kbefore" = "$kafter" ]; then
  ok "poke/devmem into Kernel code at $ktext refused (exit 6), still $kafter"
else
  bad "Kernel code write: poke exit $poke_rc, devmem exit $devmem_rc, before $kbefore after $kafter: $refusal / $refusal2"
fi
if [ "$dry_rc" -eq 0 ] && echo "$forced_dry" | grep -q "would write 0x90909090 (32-bit) to physical $ktext" && [ "$(busybox devmem "$ktext" 32)" = "$kbefore" ]; then
  ok "--force --dry-run shows the kernel-code write and still writes nothing"
else
  bad "--force --dry-run: exit $dry_rc: $forced_dry"
fi

# 5. A pid that has exited is an error (exit 3), and nothing is written.
sleep 30 &
gone=$!
kill "$gone"; wait "$gone" 2>/dev/null || true
set +e
gone_out="$(physdemo poke "$gone" 0x7f0000000000 1 2>&1)"; gone_rc=$?
set -e
if [ "$gone_rc" -eq 3 ] && echo "$gone_out" | grep -q "no process with pid $gone"; then
  ok "poke to exited pid $gone: exit 3, '$gone_out'"
else
  bad "poke to exited pid $gone: exit $gone_rc, '$gone_out'"
fi

summary poke 10
