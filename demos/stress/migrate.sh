#!/bin/bash
# SPDX-License-Identifier: MIT OR Apache-2.0
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
# Each outcome is counted only once a reader that is not physdemo confirms it,
# else the poke is "unclear": landed, /proc/PID/mem (dd) holds the value;
# refused, /proc/PID/mem still holds the value it held before the poke, and
# the frame the page had never got the poked value; stale, the value appeared
# at the physical address physdemo names, and /proc/PID/mem does not show it.
# A stale write the process never saw but whose value no reader caught at the
# frame (under the random flips the kernel hands a freed frame out again within
# a millisecond: physdemo's own heap, the page moving back) is counted apart,
# "stale uncaught": allowed only in the random case without a pin; the window
# case, with nothing running between move and store, must catch every one.
# The frame is watched through /dev/mem during the whole poke (memhog watch,
# from before the poke until it ended: a freed frame is handed out again within
# milliseconds, so a read afterwards would miss the store); a frame other
# than the one pagemap gave before the poke is read with busybox devmem.
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
# Forced moves are counted as requested, observed (the frame number really
# changed) and refused by the kernel, from movepage's own summary line; in
# before/after every requested move must be observed; where the page is held
# (a pin, or the target's own hold) every move must be refused by the kernel
# (move_pages: it could not migrate the page), not merely fail. The window
# case moves the page once the poke has said it is paused ("test hook:
# pausing"), and checks the poke is still paused when the move is done. Canaries:
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
# C stale uncaught, U unclear; forced moves: Q requested, O observed, K refused
# by the kernel",
# a "stress:" line with the
# totals, and "migrate-MODE: N passed, N failed" (summary, minimum 13 checks,
# 14 for physmem).
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

declare -A landed refused stale uncaught unclear requested observed declined
: >"$W/landed"
total_pokes=0
offset=$((vaddr & 4095))

count() { # count ARRAY CASE: add 1 to ARRAY[CASE]
  local -n counts=$1
  counts[$2]=$((${counts[$2]:-0} + 1))
}
before_poke() { # before_poke VALUE: the process's value and frame now, read without
  # physdemo, and a watcher on that frame's word (memhog watch: /dev/mem, polled every
  # 200 us at nice -20) for the whole poke: a frame that a move freed is soon handed out again (the
  # flips move the page back into it, a new page table takes it), so a stale store must
  # be caught when it happens, not looked for afterwards
  old_value="$(mem_word "$pid" "$vaddr")"
  old_pfn="$(pm_pfn "$(pagemap_raw "$pid" "$vaddr")")"
  old_paddr="$(printf '0x%x' $((old_pfn * 4096 + offset)))"
  "$MEMHOG" watch "$old_paddr" "$1" >"$W/watch.out" &
  watch_job=$!
  wait_for "$W/watch.out" '^ready' 50 >/dev/null
}
after_poke() { # after_poke: stop the watcher; at_old says whether it saw the value
  kill -USR1 "$watch_job"; wait "$watch_job"
  at_old="$(sed -n 's/^watch .*: 0x[0-9a-f]* \(seen\|not seen\), .*/\1/p' "$W/watch.out")"
}
witness() { # witness OUTCOME CASE VALUE: 0 when readers other than physdemo confirm OUTCOME
  local out=$1 case=$2 value=$3 seen frame paddr at
  seen="$(mem_word "$pid" "$vaddr")"
  case $out in
    landed)
      [ "$(norm_hex "$seen")" = "$(norm_hex "$value")" ] && return 0
      echo "    $case $value: exit 0, but /proc/$pid/mem holds '$seen'" ;;
    refused)
      frame="$(sed -n 's/.*moved from frame \(0x[0-9a-f]*\) to .*/\1/p' "$W/poke.err" | head -n 1)"
      frame="${frame:-$old_pfn}"
      paddr="$(printf '0x%x' $((frame * 4096 + offset)))"
      if [ "$(norm_hex "$paddr")" = "$(norm_hex "$old_paddr")" ]; then
        [ "$at_old" = "not seen" ] && at=unseen || at="$value"
      else at="$(phys_word "$paddr")"; fi
      if [ "$(norm_hex "$seen")" != "$(norm_hex "$old_value")" ]; then
        echo "    $case $value: refused, but /proc/$pid/mem holds '$seen', not the old $old_value"
      elif [ "$(norm_hex "$at")" = "$(norm_hex "$value")" ]; then
        echo "    $case $value: refused, but the old frame $frame got the poked value ($(cat "$W/watch.out" | tail -n 1))"
      else
        return 0
      fi ;;
    stale)
      paddr="$(sed -n 's/.*went to physical \(0x[0-9a-f]*\) (frame .*/\1/p' "$W/poke.err" | head -n 1)"
      if [ -z "$paddr" ]; then
        echo "    $case $value: stale, but the message names no physical address: $(cat "$W/poke.err")"
        return 1
      fi
      # the watcher on the old frame, when the report names that frame (else a read now)
      if [ "$(norm_hex "$paddr")" = "$(norm_hex "$old_paddr")" ]; then
        [ "$at_old" = seen ] && at="$value" || at="$(tail -n 1 "$W/watch.out")"
      else at="$(phys_word "$paddr")"; fi
      if [ "$(norm_hex "$seen")" = "$(norm_hex "$value")" ]; then
        echo "    $case $value: stale, yet /proc/$pid/mem shows the value"
      elif [ "$(norm_hex "$at")" != "$(norm_hex "$value")" ]; then
        echo "    $case $value: stale, the process never saw it, but no reader caught the value at $paddr: $at"
        return 2
      else
        return 0
      fi ;;
  esac
  return 1
}
outcome_of() { # outcome_of CASE VALUE RC: classify, witness and check the poke just made
  local case=$1 value=$2 rc=$3 out
  out="$(poke_outcome "$rc" "$W/poke.err")"
  total_pokes=$((total_pokes + 1))
  if [ "$out" != unclear ]; then
    witness "$out" "$case" "$value"
    case $? in 0) ;; 2) out=uncaught ;; *) out=unclear ;; esac
  fi
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
    unclear) echo "    $case $value: unclear (exit $rc): $(cat "$W/poke.err")" ;;
  esac
  count "$out" "$case"
  case $out in stale|uncaught) echo "    $case: $out, reported: $(grep -v 'test hook' "$W/poke.err" | head -n 1)" ;; esac
}

# poke_with_move CASE VALUE HOOKVAR: poke in the background, stopped by the
# hook; move the page when the hook says so; let the poke finish.
poke_with_move() {
  local case=$1 value=$2 hook=$3 job
  : >"$W/poke.err"   # so that the wait below sees this poke's hook, not the last one's
  rm -f "$W/poke.rc"
  clear_move_out
  before_poke "$value"
  ( env "$hook=1500" physdemo poke "$pid" "$vaddr" "$value" --wait 5 >"$W/poke.out" 2>"$W/poke.err"
    echo $? >"$W/poke.rc" ) &
  job=$!
  # The poke's own report that it is paused, not a guess at how long it takes to get there.
  wait_for "$W/poke.err" "test hook: pausing" 100 >/dev/null
  # Nothing else between the move and the store: a frame a stale store hits is then
  # still free, not yet handed to this script's next command. movepage allocates
  # nothing after the move, and writes into move.out's existing page (<>: no truncation).
  "$MOVEPAGE" "$pid" "$vaddr" 1 1<>"$W/move.out"
  [ -e "$W/poke.rc" ] && in_window=no
  wait "$job"
  after_poke
  [ "$in_window" = no ] && echo "    $case $value: the move ended after the poke did, outside its window"
  count_move "$case"
  outcome_of "$case" "$value" "$(cat "$W/poke.rc")"
}

clear_move_out() { # one page of newlines, rewritten in place: the page stays the file's
  head -c 4096 /dev/zero | tr '\0' '\n' 1<>"$W/move.out"
}
move() { # move CASE: one forced move of the target's page, counted
  clear_move_out
  "$MOVEPAGE" "$pid" "$vaddr" 1 1<>"$W/move.out"
  count_move "$1"
}

count_move() { # count_move CASE [FILE]: add movepage's own counts in FILE (default $W/move.out)
  local q o k file="${2:-$W/move.out}"
  read -r q o k <<EOF
$(move_counts "$file")
EOF
  case "$q$o$k" in
    *[!0-9]*) echo "    $1: movepage gave no summary line: $(tail -n 1 "$file")"; q=0 o=0 k=0; movepage_failed=yes ;;
  esac
  requested[$1]=$((${requested[$1]:-0} + q))
  observed[$1]=$((${observed[$1]:-0} + o))
  declined[$1]=$((${declined[$1]:-0} + k))
  [ "$q" -le 1 ] && grep -q 'not moved' "$file" && echo "    $1: $(grep 'not moved' "$file")"
  return 0
}
in_window=yes movepage_failed=no

start=$(date +%s)
for i in $(seq "$ROUNDS"); do
  move before
  before_poke "$(printf '0x5eed1000%08x' "$i")"
  physdemo poke "$pid" "$vaddr" "$(printf '0x5eed1000%08x' "$i")" --wait 5 >"$W/poke.out" 2>"$W/poke.err"
  rc=$?
  after_poke
  outcome_of before "$(printf '0x5eed1000%08x' "$i")" $rc
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
  before_poke "$value"
  if [ $((i % 2)) = 0 ]; then
    physdemo poke "$pid" "$vaddr" "$value" --wait 5 >"$W/poke.out" 2>"$W/poke.err"
  else
    physdemo poke --value "$value" --wait 5 >"$W/poke.out" 2>"$W/poke.err"
  fi
  rc=$?
  after_poke
  outcome_of random "$value" $rc
done
# movepage ends on SIGTERM after its current move, with its summary line.
kill "$flip_job" "$compact_job" $pressure_job 2>/dev/null
wait "$flip_job" "$compact_job" $pressure_job 2>/dev/null
count_move random "$W/flips.out"
elapsed=$(($(date +%s) - start))
sleep 0.3
stop_target_keep() { kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null; }
cp "$tout" "$W/target.out"
stop_target_keep
kill -USR1 "$canary_job"; wait "$canary_job"; canary_rc=$?

# --- per case: the outcomes, the moves, what each case requires --------------------
for case in before window after random; do
  l=${landed[$case]:-0} r=${refused[$case]:-0} s=${stale[$case]:-0} u=${unclear[$case]:-0} c=${uncaught[$case]:-0}
  q=${requested[$case]:-0} o=${observed[$case]:-0} k=${declined[$case]:-0}
  echo "migrate $case: $((l + r + s + c + u)) pokes: $l landed, $r refused, $s stale, $c stale uncaught, $u unclear; forced moves: $q requested, $o observed, $k refused by the kernel"
  [ "$u" = 0 ] && ok "$case: every poke landed, was refused, or was reported stale, each confirmed by /proc/PID/mem or busybox devmem" || bad "$case: $u unclear pokes"
  case "$case:$MODE" in
    before:held|after:held)
      if [ "$l" = "$ROUNDS" ] && [ "$o" = 0 ] && [ "$q" = "$ROUNDS" ] && [ "$k" = "$q" ]; then
        ok "$case: all $ROUNDS landed; the kernel refused all $q forced moves (the target holds its page)"
      else bad "$case: $l of $ROUNDS landed; moves $o of $q observed (want 0), $k refused by the kernel (want all)"; fi ;;
    before:*|after:*)
      if [ "$l" = "$ROUNDS" ] && [ "$o" = "$q" ] && [ "$q" = "$ROUNDS" ]; then
        ok "$case: all $ROUNDS landed; all $q forced moves happened"
      else bad "$case: $l of $ROUNDS landed; moves $o of $q observed"; fi ;;
    window:dev-mem)
      if [ "$s" = "$ROUNDS" ] && [ "$c" = 0 ] && [ "$o" = "$q" ] && [ "$q" = "$ROUNDS" ] && [ "$in_window" = yes ]; then
        ok "window: all $q forced moves happened inside the window (the poke still paused), and all $ROUNDS pokes were reported stale (exit non-zero)"
      else bad "window: $s of $ROUNDS reported stale (want all: the store must hit the old frame); moves $o of $q observed; all inside the window: $in_window"; fi ;;
    window:*)
      if [ "$l" = "$ROUNDS" ] && [ "$o" = 0 ] && [ "$q" = "$ROUNDS" ] && [ "$k" = "$q" ] && [ "$in_window" = yes ]; then
        ok "window: $q forced moves requested inside the window (the poke still paused), the kernel refused each (the page was held), all $ROUNDS landed"
      else bad "window: $l of $ROUNDS landed, $o of $q forced moves happened (want 0: the page must be held), $k refused by the kernel (want all); all inside the window: $in_window"; fi ;;
    random:dev-mem)
      [ "$c" = 0 ] || echo "    random: $c stale writes that the process never saw, whose value no reader caught at the frame before the kernel handed it out again"
      [ "$o" -gt 0 ] && ok "random: $o of $q forced moves happened during the pokes" || bad "random: no forced move happened ($q requested)" ;;
    random:held)
      if [ "$s$c" = 00 ] && [ "$l" -gt 0 ] && [ "$o" = 0 ] && [ "$k" = "$q" ]; then ok "random: 0 stale, the kernel refused all $q forced moves (the target holds its page)"
      else bad "random: $s stale, $l landed; $o of $q forced moves happened, $k refused by the kernel, with the page held"; fi ;;
    random:*)
      if [ "$s$c" = 00 ] && [ "$l" -gt 0 ]; then ok "random: 0 stale with the page pinned for each write ($o of $q forced moves happened, $k refused by the kernel)"
      else bad "random: $s stale, $l landed with the page held"; fi ;;
  esac
done
[ "$movepage_failed" = no ] && ok "every forced move was counted from movepage's own summary line" ||
  bad "some movepage run gave no summary line: its moves are uncounted"

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
echo "stress: mode $MODE, $total_pokes pokes: $(sum landed) landed, $(sum refused) refused, $(sum stale) stale, $(sum uncaught) stale uncaught, $(sum unclear) unclear; forced moves $(sum requested) requested, $(sum observed) observed, $(sum declined) refused by the kernel; the target noticed $moves_seen moves; ${elapsed}s"
summary "migrate-$MODE" $((13 + $([ "$MODE" = physmem ] && echo 1 || echo 0)))
