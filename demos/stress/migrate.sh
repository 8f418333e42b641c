#!/bin/bash
# demos/stress/migrate.sh: inside a VM with two NUMA nodes, poke a physdemo
# target while its page is forced to migrate (move_pages(2), /files/movepage)
# at the three moments that matter, then under random moves, compaction and
# memory pressure, and count what every poke became. A poke by <pid> <vaddr>
# ends as exactly one of:
#
#   landed   exit 0, and the target itself reports exactly that value
#   refused  non-zero, one "physdemo: error:" line, checked before the store:
#            nothing was written anywhere
#   stale    the store went to a frame that had stopped being the target's;
#            physdemo must say so (non-zero exit, a message naming the frame
#            that received the value) and the target must not see it
# Anything else (exit 0 without the target seeing the value, several error
# lines, a crash) is "unclear" and fails the run.
#
# Cases, each PHYSDEMO_STRESS_ROUNDS pokes (default 6), one forced move each:
#   before  the page is moved, then poked: must land (the poke resolves anew)
#           (in MODE held no forced move may happen at all, in any case)
#   window  the page is moved while poke waits between its last frame check
#           and its store (the test hook PHYSDEMO_TEST_PAUSE_BEFORE_WRITE_MS
#           holds it there): without a pin the store goes to the old frame,
#           every poke must end stale and be reported; with a pin (MODE
#           physmem) or a target that holds its page (MODE held) the move
#           must fail and every poke land
#   after   the page is moved right after the store, before the target looked
#           (PHYSDEMO_TEST_PAUSE_AFTER_WRITE_MS): the value moves with the page,
#           must land
#   random  PHYSDEMO_STRESS_POKES pokes (default 40), half by <pid> <vaddr>,
#           half with no arguments, while movepage flips the page between the
#           nodes every 30 ms, compaction runs in a loop and (with a pin or a
#           held page) memory pressure fragments free memory; in dev-mem mode
#           no pressure, as it would hand the frames stale stores hit to
#           live processes at once
# Forced moves are counted as requested and observed (the frame number really
# changed); in before/after every requested move must be observed. Canaries:
# 64 MiB of anonymous memory and a 16 MiB tmpfs file, checked byte for byte at
# the end; the target must have seen exactly the landed values, in order.
#
# MODE (first argument): dev-mem (default) writes through /dev/mem with no
# pin, to a target started --movable; physmem loads physdemo_mem.ko, so poke
# pins the page through /dev/physmem for the write (its output says
# "pinned"); held starts the target as it starts by default, holding its own
# page still (an io_uring fixed buffer), and poke does not pin.
#
# Usage (host): PHYSDEMO_VM_NUMA=2 PHYSDEMO_VM_FILES="$(demos/stress/build)" \
#                 demos/vm/run demos/stress/migrate.sh [MODE]
# Prints per case "migrate CASE: N pokes: L landed, R refused, S stale,
# U unclear; forced moves: Q requested, O observed", a "stress:" line with the
# totals, and "migrate-MODE: N passed, N failed" (summary, minimum 12 checks,
# 13 for physmem).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/holders.sh"
need_helpers memhog movepage
MODE="${1:-dev-mem}"
ROUNDS="${PHYSDEMO_STRESS_ROUNDS:-6}"
POKES="${PHYSDEMO_STRESS_POKES:-40}"
CANARY_MIB="${PHYSDEMO_STRESS_CANARY_MIB:-64}"
PAUSE=PHYSDEMO_TEST_PAUSE_BEFORE_WRITE_MS AFTER=PHYSDEMO_TEST_PAUSE_AFTER_WRITE_MS
case "$MODE" in
  dev-mem|physmem|held) ;;
  *) die "usage: migrate.sh [dev-mem|physmem|held] (got '$MODE')" ;;
esac
[ -d /sys/devices/system/node/node1 ] || die "one NUMA node only: run with PHYSDEMO_VM_NUMA=2"
echo 1 >/proc/sys/vm/compact_unevictable_allowed
if [ "$MODE" = physmem ]; then
  insmod "/lib/modules/$(uname -r)/extra/physdemo_mem.ko" && [ -c /dev/physmem ] &&
    ok "physdemo_mem.ko loaded: /dev/physmem" || bad "could not load physdemo_mem.ko"
fi

# Canaries: anonymous memory in a process, and a tmpfs file (page cache).
"$MEMHOG" canary "$CANARY_MIB" >"$W/canary.out" &
canary_job=$!
mkdir -p /stress && mount -t tmpfs tmpfs /stress
dd if=/dev/urandom of=/stress/canary bs=1M count=16 2>/dev/null
tmpfs_sum="$(md5sum </stress/canary)"

# physdemo target holds its page still by default; the other modes let it move.
hold=(--movable)
[ "$MODE" = held ] && hold=()
start_target --interval-us 100000 "${hold[@]}" || die "physdemo target did not start: $(cat "$tout")"
held="$(json_field held <"$tout")"
case "$MODE:$held" in
  held:true|dev-mem:false|physmem:false) ok "target: $(json_field hold <"$tout")" ;;
  *) bad "mode $MODE, but the target says held=$held: $(json_field hold <"$tout")" ;;
esac
echo "    target pid $pid, variable $vaddr, frame $(json_field pfn <"$tout")"
wait_for "$W/canary.out" '^ready' 100 >/dev/null

declare -A landed refused stale unclear requested observed
: >"$W/landed"
total_pokes=0

count() { # count ARRAY CASE: add 1 to ARRAY[CASE]
  local -n counts=$1
  counts[$2]=$((${counts[$2]:-0} + 1))
}
outcome_of() { # outcome_of CASE VALUE RC: classify and check the poke just made
  local case=$1 value=$2 rc=$3 out
  out="$(poke_outcome "$rc" "$W/poke.err")"
  total_pokes=$((total_pokes + 1))
  case $out in
    landed)
      if wait_for "$tout" "\"new\":\"$value\"" 50 >/dev/null; then
        echo "$value" >>"$W/landed"
        if [ "$MODE" = physmem ] && ! grep -qi 'pinned' "$W/poke.out"; then
          echo "    $case $value: landed, but poke did not say the frame was pinned"
          out=unclear
        fi
      else
        echo "    $case $value: exit 0 but the target never reported it: $(cat "$W/poke.out")"
        out=unclear
      fi ;;
    stale)
      if ! grep -q 'frame 0x[0-9a-f]*' "$W/poke.err"; then
        echo "    $case $value: stale, but the message names no frame: $(cat "$W/poke.err")"; out=unclear
      fi ;;
    unclear) echo "    $case $value: unclear (exit $rc): $(cat "$W/poke.err")" ;;
  esac
  count "$out" "$case"
  [ "$out" = stale ] && echo "    $case: stale, reported: $(grep -v 'test hook' "$W/poke.err" | head -n 1)"
}

# poke_with_move CASE VALUE HOOKVAR: poke in the background, stopped by the
# hook; move the page when the hook says so; let the poke finish.
poke_with_move() {
  local case=$1 value=$2 hook=$3 job
  : >"$W/poke.err"   # so that the wait below sees this poke's hook, not the last one's
  ( env "$hook=1500" physdemo poke "$pid" "$vaddr" "$value" --wait 5 >"$W/poke.out" 2>"$W/poke.err"
    echo $? >"$W/poke.rc" ) &
  job=$!
  wait_for "$W/poke.err" "test hook: pausing" 100 >/dev/null
  # Nothing else between the move and the store: a frame a stale store hits is then
  # still free, not yet handed to this script's next command.
  "$MOVEPAGE" "$pid" "$vaddr" 1 >"$W/move.out"
  wait "$job"
  count_move "$case"
  outcome_of "$case" "$value" "$(cat "$W/poke.rc")"
}

move() { # move CASE: one forced move of the target's page, counted
  "$MOVEPAGE" "$pid" "$vaddr" 1 >"$W/move.out"
  count_move "$1"
}

count_move() { # count_move CASE: count the move in $W/move.out
  requested[$1]=$((${requested[$1]:-0} + 1))
  grep -q ': moved$' "$W/move.out" && observed[$1]=$((${observed[$1]:-0} + 1))
  grep -q 'not moved' "$W/move.out" && echo "    $1: $(grep 'not moved' "$W/move.out")"
}

start=$(date +%s)
for i in $(seq "$ROUNDS"); do
  move before
  physdemo poke "$pid" "$vaddr" "$(printf '0x5eed1000%08x' "$i")" --wait 5 >"$W/poke.out" 2>"$W/poke.err"
  outcome_of before "$(printf '0x5eed1000%08x' "$i")" $?
done
for i in $(seq "$ROUNDS"); do poke_with_move window "$(printf '0x5eed2000%08x' "$i")" "$PAUSE"; done
for i in $(seq "$ROUNDS"); do poke_with_move after "$(printf '0x5eed3000%08x' "$i")" "$AFTER"; done

# Random: moves every 30 ms, compaction in a loop, memory pressure.
"$MOVEPAGE" "$pid" "$vaddr" 100000 30 >"$W/flips.out" &
flip_job=$!
( while :; do echo 1 >/proc/sys/vm/compact_memory; sleep 0.1; done ) &
compact_job=$!
# Without a pin, stale stores go to freed frames that pressure would hand out again at
# once (to this very script, even): in dev-mem mode the moves and compaction suffice.
pressure_job=""
if [ "$MODE" != dev-mem ]; then
  "$MEMHOG" pressure 200 100000 >"$W/pressure.out" &
  pressure_job=$!
fi
for i in $(seq "$POKES"); do
  value="$(printf '0x5eed4000%08x' "$i")"
  if [ $((i % 2)) = 0 ]; then
    physdemo poke "$pid" "$vaddr" "$value" --wait 5 >"$W/poke.out" 2>"$W/poke.err"
  else
    physdemo poke --value "$value" --wait 5 >"$W/poke.out" 2>"$W/poke.err"
  fi
  outcome_of random "$value" $?
done
kill "$flip_job" "$compact_job" $pressure_job 2>/dev/null
wait "$flip_job" "$compact_job" $pressure_job 2>/dev/null
requested[random]="$(grep -c '^move ' "$W/flips.out")"
observed[random]="$(grep -c ': moved$' "$W/flips.out")"
elapsed=$(($(date +%s) - start))
sleep 0.3
stop_target_keep() { kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null; }
cp "$tout" "$W/target.out"
stop_target_keep
kill -USR1 "$canary_job"; wait "$canary_job"; canary_rc=$?

# --- per case: the outcomes, the moves, what each case requires --------------------
for case in before window after random; do
  l=${landed[$case]:-0} r=${refused[$case]:-0} s=${stale[$case]:-0} u=${unclear[$case]:-0}
  q=${requested[$case]:-0} o=${observed[$case]:-0}
  echo "migrate $case: $((l + r + s + u)) pokes: $l landed, $r refused, $s stale, $u unclear; forced moves: $q requested, $o observed"
  [ "$u" = 0 ] && ok "$case: every poke landed, was refused, or was reported stale" || bad "$case: $u unclear pokes"
  case "$case:$MODE" in
    before:held|after:held)
      if [ "$l" = "$ROUNDS" ] && [ "$o" = 0 ] && [ "$q" = "$ROUNDS" ]; then
        ok "$case: all $ROUNDS landed; none of the $q forced moves happened (the target holds its page)"
      else bad "$case: $l of $ROUNDS landed; moves $o of $q observed (want 0)"; fi ;;
    before:*|after:*)
      if [ "$l" = "$ROUNDS" ] && [ "$o" = "$q" ] && [ "$q" = "$ROUNDS" ]; then
        ok "$case: all $ROUNDS landed; all $q forced moves happened"
      else bad "$case: $l of $ROUNDS landed; moves $o of $q observed"; fi ;;
    window:dev-mem)
      if [ "$s" = "$ROUNDS" ] && [ "$o" = "$q" ] && [ "$q" = "$ROUNDS" ]; then
        ok "window: all $q forced moves happened inside the window, and all $ROUNDS pokes were reported stale (exit non-zero)"
      else bad "window: $s of $ROUNDS reported stale (want all: the store must hit the old frame); moves $o of $q observed"; fi ;;
    window:*)
      if [ "$l" = "$ROUNDS" ] && [ "$o" = 0 ] && [ "$q" = "$ROUNDS" ]; then
        ok "window: $q forced moves requested inside the window, 0 happened (the page was held), all $ROUNDS landed"
      else bad "window: $l of $ROUNDS landed, $o of $q forced moves happened (want 0: the page must be held)"; fi ;;
    random:dev-mem)
      [ "$o" -gt 0 ] && ok "random: $o of $q forced moves happened during the pokes" || bad "random: no forced move happened ($q requested)" ;;
    random:*)
      if [ "$s" = 0 ] && [ "$l" -gt 0 ]; then ok "random: 0 stale with the page held ($o of $q forced moves happened)"
      else bad "random: $s stale, $l landed with the page held"; fi ;;
  esac
done

# The target saw exactly the landed values, in order, and nothing else.
grep '"event":"change"' "$W/target.out" | sed -n 's/.*"new":"\([^"]*\)".*/\1/p' >"$W/seen"
moves_seen="$(grep -c '"event":"moved"' "$W/target.out")"
if cmp -s "$W/seen" "$W/landed"; then
  ok "the target saw exactly the $(wc -l <"$W/landed") landed values, in order, and no other"
  stray=0
else
  stray="$(sort "$W/seen" "$W/landed" | uniq -u | wc -l)"
  bad "the target's changes and the landed pokes differ in $stray values: $(sort "$W/seen" "$W/landed" | uniq -u | head -n 5 | tr '\n' ' ')"
fi
grep -v '^ready' "$W/canary.out" | sed 's/^/    | /'
canary_bad="$(sed -n 's/^canary: .* \([0-9]*\) words corrupted$/\1/p' "$W/canary.out")"
[ "$canary_rc" = 0 ] && [ "${canary_bad:-x}" = 0 ] && ok "anonymous canary: every byte of $CANARY_MIB MiB intact" ||
  bad "anonymous canary corrupted (exit $canary_rc, ${canary_bad:-?} words)"
[ "$(md5sum </stress/canary)" = "$tmpfs_sum" ] && ok "tmpfs canary: 16 MiB intact (md5)" || bad "tmpfs canary changed"

sum() { # sum ARRAY: its four cases added up
  local -n counts=$1
  echo $((${counts[before]:-0} + ${counts[window]:-0} + ${counts[after]:-0} + ${counts[random]:-0}))
}
echo "stress: mode $MODE, $total_pokes pokes: $(sum landed) landed, $(sum refused) refused, $(sum stale) stale, $(sum unclear) unclear; forced moves $(sum requested) requested, $(sum observed) observed; the target noticed $moves_seen moves; ${elapsed}s"
summary "migrate-$MODE" $((12 + $([ "$MODE" = physmem ] && echo 1 || echo 0)))
