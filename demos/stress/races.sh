#!/bin/bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/stress/races.sh: inside a VM with two NUMA nodes and swap, the races
# of a poke by <pid> <vaddr> or by discovery, made deterministic with poke's
# hidden test pauses (PHYSDEMO_TEST_PAUSE_BEFORE_CHECK_MS: before the last
# frame check; _BEFORE_WRITE_MS: between that check and the store;
# _AFTER_WRITE_MS: after the store). Each race is
# provoked for certain (the script checks that the thing really happened in
# the window) and counted; a race that could not be provoked fails the run.
#
#   Before the last check, each refused (exit 6, nothing written):
#   1. the target exits (explicit and discovered forms);
#   2. its pid is reused by a new target at the very same address, and the
#      new process sees nothing;
#   3. its page is discarded (MADV_DONTNEED);
#   4. its page is pushed to swap (process_madvise MADV_PAGEOUT, zram).
#   Between the check and the store, with no pin, each a stale write that
#   physdemo reports (exit 1, "STALE WRITE", naming the frame the value went
#   to), and the process never sees the value:
#   5. the page is moved to the other NUMA node (move_pages);
#   5b. the page is discarded (MADV_DONTNEED): the value went to a freed frame.
#   After the store:
#   6. the target exits right after the write: reported as written (exit 7,
#      naming the value and the physical address; busybox devmem read the
#      value there before the kill), never as refused (6: nothing written);
#   7. a frame shared with others (busybox's code): refused;
#   8. forged targets (demos/stress/memhog.c forge): a header in a process
#      that is not physdemo, in a program named physdemo, pointing into
#      another mapping, in a shared page: `poke` with no arguments never
#      writes there, and with a real target beside a forger it picks the real
#      one.
# For 3-5 the page is checked to be gone / swapped / moved when the poke
# resumes (pagemap read with dd), so each race really happened.
#
# Each outcome is confirmed by readers that are not physdemo: after a refused
# poke, the frame the page had before (busybox devmem) does not hold the poked
# value (it holds the old one, unless the kernel reused the freed frame, which
# the line says) and the process, where it still exists, holds its old value
# (/proc/PID/mem, dd); after a stale write or a write reported after the fact,
# busybox devmem finds the value at the physical address physdemo names, and
# the process does not show it (after the write and before the exit of race
# 6, /proc/PID/mem and busybox devmem both show it: the write did land).
#
# Usage (host): PHYSDEMO_VM_NUMA=2 PHYSDEMO_VM_FILES="$(demos/stress/build)" \
#                 demos/vm/run demos/stress/races.sh
# Prints "ok"/"FAIL" lines, "races: N races provoked: R refused, S reported
# stale, X reported after the write; F forged targets refused" and
# "races: N passed, N failed" (summary, minimum 31 checks).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/holders.sh"
need_helpers memhog holdpage movepage
CHECK=PHYSDEMO_TEST_PAUSE_BEFORE_CHECK_MS PAUSE=PHYSDEMO_TEST_PAUSE_BEFORE_WRITE_MS AFTER=PHYSDEMO_TEST_PAUSE_AFTER_WRITE_MS
[ -d /sys/devices/system/node/node1 ] || die "one NUMA node only: run with PHYSDEMO_VM_NUMA=2"
provoked=0 refused_n=0 stale_n=0 after_n=0

# expect NAME RC PATTERN: the poke's exit code and its one error line
expect() {
  local name=$1 rc=$2 pattern=$3 got_rc err lines
  got_rc="$(cat "$W/$name.rc")"; err="$(grep -v '^physdemo: test hook' "$W/$name.err")"
  lines="$(printf '%s\n' "$err" | grep -c .)"
  if [ "$got_rc" = "$rc" ] && [ "$lines" -eq 1 ] && printf '%s' "$err" | grep -q "^physdemo: error: .*$pattern"; then
    ok "$name: exit $rc: ${err#physdemo: error: }"
  else
    bad "$name: exit $got_rc (want $rc), stderr '$err' (want one line matching '$pattern')"
  fi
}
poke_bg() { # poke_bg NAME ENV... -- ARGS...: poke in the background, its job in $poke
  local name=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  ( env "${envs[@]}" physdemo poke "$@" >"$W/$name.out" 2>"$W/$name.err"; echo $? >"$W/$name.rc" ) &
  poke=$!
}
changes() { grep -c '"event":"change"' "$1"; }
POKED=0x00000000abad1dea
frame_addr() { # frame_addr PFN VADDR: the physical address of VADDR's word in frame PFN
  printf '0x%x' $(($1 * 4096 + ($2 & 4095)))
}
refused_witness() { # refused_witness NAME OLD_PADDR OLD_VALUE [PID VADDR]
  local name=$1 paddr=$2 old=$3 p=${4:-} a=${5:-} at seen=""
  at="$(phys_word "$paddr")"
  [ -n "$p" ] && seen="$(mem_word "$p" "$a")"
  if [ "$(norm_hex "$at")" = "$(norm_hex "$POKED")" ]; then
    bad "$name: refused, yet busybox devmem finds the poked value at the old frame's $paddr"
  elif [ -n "$p" ] && [ "$(norm_hex "$seen")" != "$(norm_hex "$old")" ]; then
    bad "$name: refused, yet /proc/$p/mem holds '$seen', not the old $old"
  elif [ "$(norm_hex "$at")" = "$(norm_hex "$old")" ]; then
    ok "$name: witnessed nothing written: ${p:+/proc/$p/mem still holds $old, }busybox devmem $paddr (the old frame) reads the old value $at"
  else
    ok "$name: witnessed nothing written: ${p:+/proc/$p/mem still holds $old, }busybox devmem $paddr (the old frame, freed and reused since) reads $at, not the poked value"
  fi
}
watch_start() { # watch_start PADDR: memhog watches PADDR's word for the poked value
  watched="$1"
  "$MEMHOG" watch "$1" "$POKED" >"$W/watch.out" &
  watch_job=$!
  wait_for "$W/watch.out" '^ready' 50 >/dev/null
}
watch_stop() { # watch_stop: end the watch, right after the poke
  kill -USR1 "$watch_job"; wait "$watch_job"
}
value_witness() { # value_witness NAME [PID VADDR]: the value appeared at the address the error
  # names: seen by the watcher on that frame during the poke (a freed frame is handed out
  # again within milliseconds), else read now with busybox devmem
  local name=$1 p=${2:-} a=${3:-} paddr at seen=""
  paddr="$(grep -o 'went to physical 0x[0-9a-f]*\|written to 0x[0-9a-f]*' "$W/$name.err" | head -n 1 | grep -o '0x[0-9a-f]*$')"
  if [ -z "$paddr" ]; then bad "$name: the error names no physical address: $(cat "$W/$name.err")"; return; fi
  if [ "$(norm_hex "$paddr")" = "$(norm_hex "${watched:-}")" ]; then
    grep -q "^watch .* seen, " "$W/watch.out" && at="$POKED (memhog watch)" || at="$(tail -n 1 "$W/watch.out")"
  else
    at="$(phys_word "$paddr")"
  fi
  [ -n "$p" ] && [ -d "/proc/$p" ] && seen="$(mem_word "$p" "$a")"
  if [ "$(norm_hex "${at% (memhog watch)}")" != "$(norm_hex "$POKED")" ]; then
    bad "$name: at $paddr: $at, not the value physdemo says went there"
  elif [ -n "$seen" ] && [ "$(norm_hex "$seen")" = "$(norm_hex "$POKED")" ]; then
    bad "$name: the process shows the value at $a, yet physdemo said it never saw it"
  else
    ok "$name: witnessed: $at appeared at $paddr, the address physdemo named${seen:+; /proc/$p/mem holds $seen}"
  fi
}
happened=no
race_done() { # race_done NAME: count the race if it happened ($happened), by its poke's outcome
  [ "$happened" = yes ] || return 0
  happened=no
  provoked=$((provoked + 1))
  case "$(poke_outcome "$(cat "$W/$1.rc")" "$W/$1.err")" in
    refused) refused_n=$((refused_n + 1)) ;;
    stale) stale_n=$((stale_n + 1)) ;;
    *) grep -q 'after the write' "$W/$1.err" && after_n=$((after_n + 1)) ;;
  esac
}

# 1. The target exits between resolve and the last check (both forms).
for form in explicit discovered; do
  start_target
  if [ $form = explicit ]; then args=("$pid" "$vaddr" 0xabad1dea); else args=(--value 0xabad1dea); fi
  old="$(mem_word "$pid" "$vaddr")" old_paddr="$(json_field paddr <"$tout")"
  poke_bg exit-$form "$CHECK=3000" -- "${args[@]}"
  wait_for "$W/exit-$form.err" "test hook: pausing"
  kill -9 "$tpid"; wait "$tpid" 2>/dev/null
  [ -d "/proc/$pid" ] && bad "exit-$form: pid $pid still exists after kill -9" || happened=yes
  wait "$poke"; race_done exit-$form
  expect exit-$form 6 "pid $pid exited before the write; nothing was written"
  refused_witness exit-$form "$old_paddr" "$old"
  stop_target
done

# 2. The pid is reused by a new target at the same virtual address (no ASLR):
#    the freed frame is likely the new target's too, so only identity tells.
echo 0 >/proc/sys/kernel/randomize_va_space
echo 600 >/proc/sys/kernel/pid_max
until [ "$(sh -c 'echo $$')" -gt 400 ]; do :; done
start_target
poke_bg reuse "$CHECK=20000" -- "$pid" "$vaddr" 0xabad1dea
wait_for "$W/reuse.err" "test hook: pausing"
old_pid=$pid old_vaddr=$vaddr old_paddr="$(json_field paddr <"$tout")" old="$(mem_word "$pid" "$vaddr")"
kill -9 "$tpid"; wait "$tpid" 2>/dev/null; stop_target
n=0 last=0
until [ "$last" -eq $((old_pid - 1)) ] || [ $n -gt 3000 ]; do
  : & last=$!; wait "$last"; n=$((n + 1))
done
# Started directly (start_target's mktemp would take the pid first).
physdemo target --json >"$W/reuse-b.out" &
tpid=$! tout="$W/reuse-b.out"
wait_for "$tout" '"event":"ready"' 100
pid="$(json_field pid <"$tout")" vaddr="$(json_field vaddr <"$tout")"
echo "    pid $old_pid reused after $n forks: new target at $vaddr, physical $(json_field paddr <"$tout") (old: $old_vaddr, $old_paddr)"
if [ "$pid" = "$old_pid" ]; then
  happened=yes
  new_value="$(mem_word "$pid" "$vaddr")"
  wait "$poke"; race_done reuse
  expect reuse 6 "pid $old_pid exited (the pid now belongs to another process) before the write; nothing was written"
  refused_witness reuse "$old_paddr" "$old"
  seen="$(mem_word "$pid" "$vaddr")"
  [ "$seen" = "$new_value" ] && ok "reuse: /proc/$pid/mem of the new process still holds its own $seen" ||
    bad "reuse: the new process's word changed: $new_value -> $seen"
  sleep 0.3
  [ "$(changes "$tout")" -eq 0 ] && ok "reuse: the new process at pid $pid saw no write" || bad "reuse: the new process saw a write: $(grep change "$tout")"
else
  bad "reuse: could not make pid $old_pid be reused (got $pid)"; wait "$poke"
fi
stop_target
echo 2 >/proc/sys/kernel/randomize_va_space

# 3. The page is discarded before the last check (MADV_DONTNEED: not present).
"$MEMHOG" vanish >"$W/vanish.out" &
vjob=$!
wait_for "$W/vanish.out" ready
read -r _ p a <"$W/vanish.out"
old_paddr="$(frame_addr "$(pm_pfn "$(pagemap_raw "$p" "$a")")" "$a")"
poke_bg vanish "$CHECK=3000" -- "$p" "$a" 0xabad1dea
wait_for "$W/vanish.err" "test hook: pausing"
kill -USR1 "$vjob"; wait_for "$W/vanish.out" discarded
pm_present "$(pagemap_raw "$p" "$a")" && bad "vanish: the page is still present" || happened=yes
wait "$poke"; race_done vanish
expect vanish 6 "the page of $a in pid $p is no longer present (unmapped or discarded) before the write; nothing was written"
# A discarded anonymous page reads as zeros: that is the process's old value now.
refused_witness vanish "$old_paddr" 0x0000000000000000 "$p" "$a"
kill "$vjob"; wait "$vjob" 2>/dev/null

# 4. The page is pushed to swap before the last check.
echo 64M >/sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0 ||
  bad "swap on /dev/zram0 failed"
start_holder swapped quiet 0x1122334455667788 || die "holdpage quiet did not start"
sjob=$h_job p=$h_pid a=$h_vaddr
poke_bg swap "$CHECK=3000" -- "$p" "$a" 0xabad1dea
wait_for "$W/swap.err" "test hook: pausing"
"$MOVEPAGE" "$p" "$a" swap >"$W/swapout.out"; echo "    $(cat "$W/swapout.out")"
pm_swapped "$(pagemap_raw "$p" "$a")" && happened=yes || bad "swap: the page did not go to swap"
wait "$poke"; race_done swap
expect swap 6 "the page of $a in pid $p was swapped out before the write; nothing was written"
swap_pfn="$(sed -n 's/^swapped out: pfn \(0x[0-9a-f]*\) .*/\1/p' "$W/swapout.out")"
refused_witness swap "$(frame_addr "${swap_pfn:-0}" "$a")" 0x1122334455667788 "$p" "$a"
v="$(holder_value swapped "$p")"
[ "$v" = 0x1122334455667788 ] && ok "swap: the process reads its own value back from swap, $v" || bad "swap: the process reads $v"
stop_holder "$sjob"
swapoff /dev/zram0

# 5. The page moves to the other node between the check and the store: the store
#    hits the old frame, and physdemo must say so.
start_target --interval-us 100000 --movable
watch_start "$(json_field paddr <"$tout")"
poke_bg move "$PAUSE=3000" -- "$pid" "$vaddr" 0xabad1dea
wait_for "$W/move.err" "test hook: pausing"
# Nothing else between the move and the store, so that the frame the stale store hits is
# still free rather than handed to this script's next command.
"$MOVEPAGE" "$pid" "$vaddr" 1 >"$W/moved.out"
wait "$poke"
watch_stop
echo "    $(head -n 1 "$W/moved.out")"
grep -q ': moved$' "$W/moved.out" && happened=yes || bad "move: movepage did not move the page: $(cat "$W/moved.out")"
old_frame="$(sed -n 's/.*pfn \(0x[0-9a-f]*\) -> .*/\1/p' "$W/moved.out")"
race_done move
expect move 1 "STALE WRITE: the value 0x00000000abad1dea went to physical 0x[0-9a-f]* (frame $old_frame).*moved from frame $old_frame"
sleep 0.3
[ "$(changes "$tout")" -eq 0 ] && ok "move: the moved target saw no write (the value went to frame $old_frame)" ||
  bad "move: the target changed: $(grep change "$tout")"
value_witness move "$pid" "$vaddr"
stop_target

# 5b. The page is discarded between the check and the store: the value goes to a freed frame.
"$MEMHOG" vanish >"$W/vanish2.out" &
vjob=$!
wait_for "$W/vanish2.out" ready
read -r _ p a <"$W/vanish2.out"
watch_start "$(frame_addr "$(pm_pfn "$(pagemap_raw "$p" "$a")")" "$a")"
poke_bg discard "$PAUSE=3000" -- "$p" "$a" 0xabad1dea
wait_for "$W/discard.err" "test hook: pausing"
kill -USR1 "$vjob"; wait_for "$W/vanish2.out" discarded
# (checked before the poke goes on: its own check afterwards reads the address, which maps
# the zero page there)
pm_present "$(pagemap_raw "$p" "$a")" && bad "discard: the page is still present" || happened=yes
wait "$poke"
watch_stop
race_done discard
expect discard 1 "STALE WRITE: the value 0x00000000abad1dea went to .*no longer present"
value_witness discard "$p" "$a"
kill "$vjob"; wait "$vjob" 2>/dev/null

# 6. The target exits right after the write, before it noticed (it polls once a second).
start_target --interval-us 1000000
tpaddr="$(json_field paddr <"$tout")"
poke_bg after "$AFTER=3000" -- "$pid" "$vaddr" 0xabad1dea
wait_for "$W/after.err" "test hook: pausing"
# The value is there before the process dies (its frame is freed, and reused, after).
at="$(phys_word "$tpaddr")" seen="$(mem_word "$pid" "$vaddr")"
kill -9 "$tpid"; wait "$tpid" 2>/dev/null; stop_target
[ -d "/proc/$pid" ] || happened=yes
wait "$poke"; race_done after
expect after 7 "the value 0x00000000abad1dea was written to physical $tpaddr (frame .*, but pid $pid exited right after the write, without reporting the new value (the write was made: do not repeat it"
if [ "$(norm_hex "$at")" = abad1dea ] && [ "$(norm_hex "$seen")" = abad1dea ]; then
  ok "after: witnessed before the exit: /proc/$pid/mem held $seen, busybox devmem $tpaddr (the address physdemo named) $at: the write landed, as exit 7 says"
else
  bad "after: before the exit /proc/$pid/mem held '$seen', busybox devmem $tpaddr '$at' (want 0xabad1dea)"
fi
grep -q 'run the command again\|nothing was written' "$W/after.err" && bad "after: the error suggests a second write: $(cat "$W/after.err")"

# 7. A frame shared with others: busybox's own code, mapped from the file.
sleep 1000 & spid=$!
text="$(grep ' r-xp ' /proc/$spid/maps | head -n 1 | cut -d- -f1)"
old="$(mem_word "$spid" "0x$text")" old_paddr="$(frame_addr "$(pm_pfn "$(pagemap_raw "$spid" "0x$text")")" "0x$text")"
physdemo poke "$spid" "0x$text" 0x0 --width 8 >"$W/shared.out" 2>"$W/shared.err"; echo $? >"$W/shared.rc"
expect shared 6 "belongs to a file or shared memory"
# A file's frame stays the file's: the word must still be the old one there and in the process.
at="$(phys_word "$old_paddr")" seen="$(mem_word "$spid" "0x$text")"
if [ "$(norm_hex "$at")" = "$(norm_hex "$old")" ] && [ "$seen" = "$old" ]; then
  ok "shared: witnessed nothing written: /proc/$spid/mem and busybox devmem $old_paddr both still read $old"
else bad "shared: the word was $old; /proc/$spid/mem reads $seen, busybox devmem $old_paddr reads $at"; fi
kill "$spid"; wait "$spid" 2>/dev/null

# 8. Forged targets: none may be written by `poke` with no arguments.
forged=0
mkdir -p /run/forge && cp "$MEMHOG" /run/forge/physdemo
forge_case() { # forge_case NAME PROGRAM HOW RC PATTERN
  local name=$1 prog=$2 how=$3 rc=$4 pattern=$5
  "$prog" forge "$how" target >"$W/$name.forger" & local fpid=$!
  wait_for "$W/$name.forger" ready
  physdemo poke --value 0xabad1dea >"$W/$name.out" 2>"$W/$name.err"; echo $? >"$W/$name.rc"
  expect "$name" "$rc" "$pattern"
  kill -USR1 "$fpid"; wait_for "$W/$name.forger" values; wait "$fpid"
  if grep -q '^values 0x1122334455667788 0x1122334455667788$' "$W/$name.forger"; then
    ok "$name: the forger's memory is untouched"
  else
    bad "$name: the forger's memory changed: $(grep values "$W/$name.forger")"
  fi
  forged=$((forged + 1))
}
forge_case forge-not-physdemo "$MEMHOG" self 3 "no running physdemo target found"
forge_case forge-named-physdemo /run/forge/physdemo self 3 "runs another executable than this physdemo"
forge_case forge-elsewhere /run/forge/physdemo elsewhere 3 "no running physdemo target found"
forge_case forge-shared /run/forge/physdemo shared 3 "no running physdemo target found"
# A real target beside a forger: the no-argument poke must not pick the forger.
start_target
/run/forge/physdemo forge self target >"$W/both.forger" & fpid=$!
wait_for "$W/both.forger" ready
physdemo poke --value 0xabad1dea >"$W/both.out" 2>&1; rc=$?
sleep 0.3
kill -USR1 "$fpid"; wait_for "$W/both.forger" values; wait "$fpid"
if [ $rc -eq 0 ] && grep -q '"new":"0xabad1dea"' "$tout" && grep -q '^values 0x1122334455667788 0x1122334455667788$' "$W/both.forger"; then
  ok "real target beside a forger: the real one (pid $pid) got the write, the forger nothing"
else
  bad "real target beside a forger: exit $rc, $(cat "$W/both.out"), forger $(grep values "$W/both.forger")"
fi
forged=$((forged + 1))
stop_target

[ "$provoked" = 8 ] && ok "all 8 races were provoked (each checked to have happened in the window)" ||
  bad "only $provoked of 8 races were provoked"
echo "races: $provoked races provoked: $refused_n refused, $stale_n reported stale, $after_n reported after the write; $forged forged targets refused"
summary races 31
