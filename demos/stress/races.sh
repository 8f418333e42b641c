#!/bin/bash
# demos/stress/races.sh: inside the VM, the races of a poke by <pid> <vaddr> or
# by discovery, made deterministic with poke's hidden test pauses
# (PHYSDEMO_TEST_PAUSE_BEFORE_WRITE_MS / _AFTER_WRITE_MS, src/commands/poke.rs): in the
# window the target exits, its pid is reused by a new target at the very same
# address, its page is discarded (no swap here: MADV_DONTNEED makes it not
# present), or compaction moves it. Each must be refused with one clear line,
# nothing written blind. Then forged targets (demos/stress/memhog.c forge): a
# header in a process that is not physdemo, in a program named physdemo, one
# pointing into another mapping, in a shared page: poke with no arguments must
# never write there.
#
# Usage (on the host): PHYSDEMO_VM_FILES="$(demos/stress/build)" \
#                        demos/vm/run demos/stress/races.sh
# Prints "ok"/"FAIL" lines, a "races:" summary, "races: N passed, N failed";
# exit 0 only when all passed and at least the 16 checks every run makes did
# (18 when compaction moved the page in the window).
set -u
. "$(dirname "$0")/../lib.sh"
MEMHOG=/files/memhog
w=/run/races
mkdir -p "$w"
[ -x "$MEMHOG" ] || { bad "no $MEMHOG (PHYSDEMO_VM_FILES=\"\$(demos/stress/build)\")"; summary races 16; exit 1; }
named_target() { # named_target NAME ARGS...: a target whose output is $w/NAME.out
  local name=$1; shift
  start_target_to "$w/$name.out" "$@"
}
# expect NAME RC PATTERN: the poke's exit code and its one error line
expect() {
  local name=$1 rc=$2 pattern=$3 got_rc err lines
  got_rc="$(cat "$w/$name.rc")"; err="$(grep -v '^physdemo: test hook' "$w/$name.err")"
  lines="$(printf '%s\n' "$err" | grep -c .)"
  if [ "$got_rc" = "$rc" ] && [ "$lines" -eq 1 ] && printf '%s' "$err" | grep -q "^physdemo: error: .*$pattern"; then
    ok "$name: exit $rc: ${err#physdemo: error: }"
  else
    bad "$name: exit $got_rc (want $rc), stderr '$err' (want one line matching '$pattern')"
  fi
}
poke_bg() { # poke_bg NAME ENV... -- ARGS...: poke in the background, pid in $poke
  local name=$1; shift
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  ( env "${envs[@]}" physdemo poke "$@" > "$w/$name.out" 2> "$w/$name.err"; echo $? > "$w/$name.rc" ) &
  poke=$!
}
changes() { grep -c '"event":"change"' "$w/$1.out"; }
PAUSE=PHYSDEMO_TEST_PAUSE_BEFORE_WRITE_MS AFTER=PHYSDEMO_TEST_PAUSE_AFTER_WRITE_MS
races=0

# 1. The target exits between resolve and write (both forms).
for form in explicit discovered; do
  named_target exit-$form
  if [ $form = explicit ]; then args=("$pid" "$vaddr" 0xabad1dea); else args=(--value 0xabad1dea); fi
  poke_bg exit-$form "$PAUSE=3000" -- "${args[@]}"
  wait_for "$w/exit-$form.err" "test hook: pausing"
  kill -9 "$tpid"; wait "$tpid" 2>/dev/null; wait "$poke"
  expect exit-$form 6 "pid $pid exited before the write; nothing was written"
  races=$((races + 1))
done

# 2. The pid is reused by a new target at the same virtual address (no ASLR):
#    the freed frame is likely the new target's too, so only identity tells.
echo 0 > /proc/sys/kernel/randomize_va_space
echo 600 > /proc/sys/kernel/pid_max
until [ "$(sh -c 'echo $$')" -gt 400 ]; do :; done
named_target reuse-a
poke_bg reuse "$PAUSE=20000" -- "$pid" "$vaddr" 0xabad1dea
wait_for "$w/reuse.err" "test hook: pausing"
old_pid=$pid old_vaddr=$vaddr old_paddr="$(json_field paddr < "$w/reuse-a.out")"
kill -9 "$tpid"; wait "$tpid" 2>/dev/null
# Cycle pids (one fork each) until the next one is the old target's.
n=0 last=0
until [ "$last" -eq $((old_pid - 1)) ] || [ $n -gt 3000 ]; do
  : & last=$!; wait "$last"; n=$((n + 1))
done
named_target reuse-b
echo "    pid $old_pid reused after $n forks: new target at $vaddr, physical $(json_field paddr < "$w/reuse-b.out") (old: $old_vaddr, $old_paddr)"
if [ "$pid" = "$old_pid" ]; then
  wait "$poke"
  expect reuse 6 "pid $old_pid exited (the pid now belongs to another process) before the write; nothing was written"
  sleep 0.3
  [ "$(changes reuse-b)" -eq 0 ] && ok "the new process at pid $pid saw no write" || bad "the new process saw a write: $(grep change "$w/reuse-b.out")"
  races=$((races + 1))
else
  bad "could not make pid $old_pid be reused (got $pid)"; wait "$poke"
fi
kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null
echo 2 > /proc/sys/kernel/randomize_va_space

# 3. The page is made not present in the window (no swap device: MADV_DONTNEED).
"$MEMHOG" vanish > "$w/vanish.out" &
vpid=$!
wait_for "$w/vanish.out" ready
read -r _ p a < "$w/vanish.out"
poke_bg vanish "$PAUSE=3000" -- "$p" "$a" 0xabad1dea
wait_for "$w/vanish.err" "test hook: pausing"
kill -USR1 "$vpid"; wait_for "$w/vanish.out" discarded; wait "$poke"
expect vanish 6 "the page of $a in pid $p is no longer present (unmapped or discarded) before the write; nothing was written"
races=$((races + 1))
kill "$vpid"; wait "$vpid" 2>/dev/null

# 4. The target exits right after the write, before it noticed (it polls once a second).
named_target after --interval-us 1000000
poke_bg after "$AFTER=3000" -- "$pid" "$vaddr" 0xabad1dea
wait_for "$w/after.err" "test hook: pausing"
kill -9 "$tpid"; wait "$tpid" 2>/dev/null; wait "$poke"
expect after 6 "pid $pid exited right after the write, without reporting the new value"
races=$((races + 1))

# 5. Compaction moves the page in the window (tried up to 5 times; a page high in
#    memory is never picked, so this one may not happen).
moved=no
for try in 1 2 3 4 5; do
  "$MEMHOG" hold 700 > "$w/hold.out" & hold=$!
  wait_for "$w/hold.out" held
  named_target move-$try
  kill "$hold"; wait "$hold" 2>/dev/null
  poke_bg move-$try "$PAUSE=2000" -- "$pid" "$vaddr" 0xabad1dea
  wait_for "$w/move-$try.err" "test hook: pausing"
  echo 1 > /proc/sys/vm/compact_memory
  wait "$poke"; sleep 0.3
  if grep -q '"event":"moved"' "$w/move-$try.out"; then
    moved=yes
    expect move-$try 6 "the page of $vaddr in pid $pid moved from frame 0x[0-9a-f]* to 0x[0-9a-f]* before the write; nothing was written"
    [ "$(changes move-$try)" -eq 0 ] && ok "the moved target saw no write" || bad "the moved target changed: $(grep change "$w/move-$try.out")"
    races=$((races + 1))
  fi
  kill "$tpid"; wait "$tpid" 2>/dev/null
  [ $moved = yes ] && break
done
[ $moved = yes ] || echo "note - compaction did not move the target's page in 5 tries: that race was not provoked"

# 6. A frame shared with others: busybox's own code, mapped from the file.
sleep 1000 & spid=$!
text="$(grep ' r-xp ' /proc/$spid/maps | head -n 1 | cut -d- -f1)"
physdemo poke "$spid" "0x$text" 0x0 --width 8 > "$w/shared.out" 2> "$w/shared.err"; echo $? > "$w/shared.rc"
expect shared 6 "belongs to a file or shared memory"
kill "$spid"; wait "$spid" 2>/dev/null

# 7. Forged targets: none may be written by `poke` with no arguments.
forged=0
mkdir -p /run/forge && cp "$MEMHOG" /run/forge/physdemo
forge_case() { # forge_case NAME PROGRAM HOW RC PATTERN
  local name=$1 prog=$2 how=$3 rc=$4 pattern=$5
  "$prog" forge "$how" target > "$w/$name.forger" & local fpid=$!
  wait_for "$w/$name.forger" ready
  physdemo poke --value 0xabad1dea > "$w/$name.out" 2> "$w/$name.err"; echo $? > "$w/$name.rc"
  expect "$name" "$rc" "$pattern"
  kill -USR1 "$fpid"; wait_for "$w/$name.forger" values; wait "$fpid"
  if grep -q '^values 0x1122334455667788 0x1122334455667788$' "$w/$name.forger"; then
    ok "$name: the forger's memory is untouched"
  else
    bad "$name: the forger's memory changed: $(grep values "$w/$name.forger")"
  fi
  forged=$((forged + 1))
}
forge_case forge-not-physdemo "$MEMHOG" self 3 "no running physdemo target found"
forge_case forge-named-physdemo /run/forge/physdemo self 3 "runs another executable than this physdemo"
forge_case forge-elsewhere /run/forge/physdemo elsewhere 3 "no running physdemo target found"
forge_case forge-shared /run/forge/physdemo shared 3 "no running physdemo target found"
# A real target beside a forger: the no-argument poke must not pick the forger.
named_target real
/run/forge/physdemo forge self target > "$w/both.forger" & fpid=$!
wait_for "$w/both.forger" ready
physdemo poke --value 0xabad1dea > "$w/both.out" 2>&1; rc=$?
sleep 0.3
kill -USR1 "$fpid"; wait_for "$w/both.forger" values; wait "$fpid"
if [ $rc -eq 0 ] && grep -q '"new":"0xabad1dea"' "$w/real.out" && grep -q '^values 0x1122334455667788 0x1122334455667788$' "$w/both.forger"; then
  ok "real target beside a forger: the real one (pid $pid) got the write, the forger nothing"
else
  bad "real target beside a forger: exit $rc, $(cat "$w/both.out"), forger $(grep values "$w/both.forger")"
fi
forged=$((forged + 1))
kill "$tpid"; wait "$tpid" 2>/dev/null

echo "races: $races races provoked and refused, $forged forged targets refused, move race provoked: $moved"
summary races 16
