#!/bin/bash
# demos/stress/migrate.sh: inside the VM, poke a physdemo target thousands of
# times while the kernel migrates pages under it (compaction in a loop, memory
# pressure that fragments free memory), and prove that no write ever lands
# anywhere but the target's variable.
#
# Usage (on the host): PHYSDEMO_VM_FILES="$(demos/stress/build)" \
#                        demos/vm/run demos/stress/migrate.sh
#   (tests/it/vm.rs does exactly that). PHYSDEMO_STRESS_POKES (default 400, about 3 min under TCG; pass it
#   with PHYSDEMO_VM_ENV=PHYSDEMO_STRESS_POKES) sets the number of pokes, half
#   by `<pid> <vaddr>`, half with no arguments (`--value`).
#
# Every poke either lands (exit 0, and the target reports exactly that value as
# a change event) or is refused (one `physdemo: error:` line, exit 3 or 6).
# Canaries checked at the end, every byte: MIB MiB of anonymous memory filled
# with an offset-dependent pattern (memhog canary) and a tmpfs file of the same
# pattern's digest. The target's "moved" events count the migrations of its
# page. Prints "ok"/"FAIL" lines, a "stress:" summary with the counts, then
# "migrate: N passed, N failed"; exit 0 only when all passed and at least the
# 5 checks every run makes did (a 6th counts the target's page migrations,
# when there were any).
set -u
. "$(dirname "$0")/../lib.sh"
POKES="${PHYSDEMO_STRESS_POKES:-400}"
CANARY_MIB="${PHYSDEMO_STRESS_CANARY_MIB:-64}"
MEMHOG=/files/memhog
work=/run/stress
mkdir -p "$work"
if [ ! -x "$MEMHOG" ]; then
  bad "no $MEMHOG: run through tests/it/vm.rs, or PHYSDEMO_VM_FILES=\"\$(demos/stress/build)\""
  summary migrate 5; exit 1
fi
echo "compact_unevictable_allowed=$(cat /proc/sys/vm/compact_unevictable_allowed) (1: mlocked pages may migrate)"
echo 1 > /proc/sys/vm/compact_unevictable_allowed

# Canaries: anonymous memory in a process, and a tmpfs file (page cache).
"$MEMHOG" canary "$CANARY_MIB" > "$work/canary.out" &
canary_pid=$!
mkdir -p /stress && mount -t tmpfs tmpfs /stress
dd if=/dev/urandom of=/stress/canary bs=1M count=16 2>/dev/null
tmpfs_sum="$(md5sum < /stress/canary)"

# Occupy most of memory so that the target's page is wherever a hole was left,
# start the target, then free the memory: compaction now has pages to move.
"$MEMHOG" hold 700 > "$work/hold.out" &
hold_pid=$!
for _ in $(seq 100); do grep -q held "$work/hold.out" && break; sleep 0.1; done
start_target_to "$work/target.out" || bad "the target did not start"
kill "$hold_pid"; wait "$hold_pid" 2>/dev/null
echo "target pid $pid, variable $vaddr, $(head -n 1 "$tout" | sed -n 's/.*"paddr":"\([^"]*\)".*/physical \1/p')"
for _ in $(seq 100); do grep -q '^ready' "$work/canary.out" && break; sleep 0.1; done

# Migration pressure, in the background for the whole run.
( while :; do echo 1 > /proc/sys/vm/compact_memory; sleep 0.1; done ) &
compact_pid=$!
"$MEMHOG" pressure 200 100000 > "$work/pressure.out" &
pressure_pid=$!

# The pokes. Each value is unique, so each change event names its poke.
landed=0 refused=0 unclear=0
: > "$work/landed" ; : > "$work/refused"
start=$(date +%s)
for i in $(seq "$POKES"); do
  value="$(printf '0x5eed%012x' "$i")"
  if [ $((i % 2)) -eq 0 ]; then
    physdemo poke "$pid" "$vaddr" "$value" --wait 5 > "$work/poke.out" 2> "$work/poke.err"
  else
    physdemo poke --value "$value" --wait 5 > "$work/poke.out" 2> "$work/poke.err"
  fi
  rc=$?
  errlines="$(wc -l < "$work/poke.err")"
  if [ "$rc" -eq 0 ]; then
    landed=$((landed + 1)); echo "$value" >> "$work/landed"
  elif [ "$rc" -eq 3 ] || [ "$rc" -eq 6 ] && [ "$errlines" -eq 1 ] && grep -q '^physdemo: error: ' "$work/poke.err"; then
    refused=$((refused + 1)); echo "$value $(cat "$work/poke.err")" >> "$work/refused"
  else
    unclear=$((unclear + 1))
    echo "    unclear poke $i (exit $rc): $(cat "$work/poke.err")"
  fi
done
elapsed=$(( $(date +%s) - start ))

kill "$compact_pid" "$pressure_pid" 2>/dev/null
wait "$compact_pid" "$pressure_pid" 2>/dev/null
sleep 0.5
kill "$tpid"; wait "$tpid" 2>/dev/null
kill -USR1 "$canary_pid"; wait "$canary_pid"; canary_rc=$?

# Every change event must be a landed poke's value, in order, and vice versa.
grep '"event":"change"' "$work/target.out" | sed -n 's/.*"new":"\([^"]*\)".*/\1/p' > "$work/seen"
moves="$(grep -c '"event":"moved"' "$work/target.out")"
seen="$(wc -l < "$work/seen")"
if cmp -s "$work/seen" "$work/landed"; then
  ok "the target saw exactly the $landed landed values, in order"
  stray=0
else
  stray="$(sort "$work/seen" "$work/landed" | uniq -u | wc -l)"
  bad "target saw $seen values, $landed pokes landed; $stray differ: $(sort "$work/seen" "$work/landed" | uniq -u | head -n 5 | tr '\n' ' ')"
fi
# A refused poke's value must never show up in the target.
refused_seen=0
while read -r value _; do
  grep -qx "$value" "$work/seen" && refused_seen=$((refused_seen + 1))
done < "$work/refused"
[ "$refused_seen" -eq 0 ] && ok "none of the $refused refused values reached the target" \
  || bad "$refused_seen refused values reached the target anyway"
[ "$unclear" -eq 0 ] && ok "every poke landed or was refused with one clear error line" \
  || bad "$unclear pokes neither landed nor were refused cleanly"
cat "$work/canary.out" | grep -v '^ready' | sed 's/^/    | /'
canary_bad="$(sed -n 's/^canary: .* \([0-9]*\) words corrupted$/\1/p' "$work/canary.out")"
[ "$canary_rc" -eq 0 ] && [ "${canary_bad:-x}" = 0 ] && ok "anonymous canary: every byte of $CANARY_MIB MiB intact" \
  || bad "anonymous canary corrupted (exit $canary_rc, ${canary_bad:-?} words)"
[ "$(md5sum < /stress/canary)" = "$tmpfs_sum" ] && ok "tmpfs canary: 16 MiB intact (md5)" \
  || { bad "tmpfs canary changed"; canary_bad=$((${canary_bad:-0} + 1)); }
[ "$moves" -gt 0 ] && ok "the target's page migrated $moves times during the run" \
  || echo "note - the target's page never migrated in this run (compaction did not pick it)"
sed 's/^[^ ]* /    refused: /' "$work/refused" | sort | uniq -c | sort -rn | head -n 5
corruptions=$(( ${canary_bad:-1} + stray + refused_seen ))
echo "stress: $POKES pokes tried, $landed landed, $refused refused, $unclear unclear, $moves page moves, $corruptions corruptions, ${elapsed}s"
summary migrate 5
