#!/usr/bin/env bash
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/vm/watch.sh: inside the VM (x86, default kernel), `physdemo watch` through the real
# /dev/mem, each outcome against a witness that is not physdemo:
#   1. the target's variable while `poke` lands five distinct values: watch reports each,
#      exactly, in order; the witnesses are the values poked and the target's own "change"
#      lines (its reading of its own variable).
#   2. the HPET's main counter (0xfed000f0, low 32 bits, --width 32): its advance between
#      watch's first and last change, at the period the HPET's capabilities register states
#      (0xfed00004, upper 32 bits: femtoseconds per tick, read with busybox devmem), matches
#      the CLOCK_MONOTONIC times watch printed within 10 %; without --width it is refused.
#   3. jiffies, at the physical address computed here from /proc/kallsyms (jiffies - _text)
#      and /proc/iomem ("Kernel code"), watched for 2 s with --width 64 and ended by SIGINT:
#      between watch's first and last change it advances at CONFIG_HZ (/proc/config.gz)
#      within 5 % of the CLOCK_MONOTONIC times watch printed, and the `jiffies:` line of
#      /proc/timer_list, read in between, lies between the values watch read before its "now
#      at" time and after a second read's. (Under TCG the guest's ticks come late and jiffies
#      catches up in steps of 1 to 4, so it takes fewer distinct values than HZ a second,
#      however fast it is polled: the rate is the value's, not the count of changes.)
#   4. a target's page moved by move_pages(2) (/files/movepage, two NUMA nodes) while watched:
#      watch reports the move from and to the frames movepage read in pagemap, and reads the
#      new frame from then on (the next poke's value, as the target saw it).
# Then a few text runs for the README ("sample:" lines). Ends with "watch: N passed, N failed".
#
# Usage (on the host):
#   PHYSDEMO_VM_NUMA=2 PHYSDEMO_VM_FILES="$(demos/stress/build)" demos/vm/run demos/vm/watch.sh
set -u
. "$(dirname "$0")/../lib.sh"

# A hex value as lower-case digits without 0x and leading zeros ("0" for zero).
norm0() { _v="$(norm_hex "$1")"; echo "${_v:-0}"; }
# A field of the lines of FILE whose event is EVENT: field FILE EVENT NAME
field() { grep "\"event\":\"$2\"" "$1" | sed -n "s/.*\"$3\":\"\{0,1\}\([^\",}]*\).*/\1/p"; }

# 1. the target's variable, poked five times
start_target_to /tmp/target.json --interval-us 200 --timeout 120 || die "the target did not start"
physdemo watch --json --interval 1ms --count 5 >/tmp/watch.json 2>/tmp/watch.err &
wpid=$!
wait_for /tmp/watch.json '"event":"start"' 100 || bad "watch did not start: $(cat /tmp/watch.err)"
values="0x1111111111111111 0xdeadbeefcafef00d 0x0 0x0123456789abcdef 0xfffffffffffffffe"
expected="$(for v in $values; do norm0 "$v"; done)"
pokes_ok=0
for v in $values; do
  physdemo poke --value "$v" >/dev/null 2>>/tmp/poke.err && pokes_ok=$((pokes_ok + 1))
done
wait "$wpid"
wrc=$?
seen="$(field /tmp/watch.json change new | while read -r v; do norm0 "$v"; done)"
target_saw="$(grep '"event":"change"' "$tout" | sed -n 's/.*"new":"\(0x[0-9a-f]*\)".*/\1/p' | while read -r v; do norm0 "$v"; done)"
printf 'poked: %s\n' "$values"
printf 'watch saw: %s\n' "$(echo $seen)"
printf 'target saw: %s\n' "$(echo $target_saw)"
if [ "$pokes_ok" -eq 5 ] && [ "$wrc" -eq 0 ] && [ "$seen" = "$expected" ] \
  && [ "$target_saw" = "$seen" ]; then
  ok "watch reported each of the 5 pokes exactly, in order, as the target saw them"
else
  bad "pokes $pokes_ok/5, watch rc $wrc: $(cat /tmp/watch.err /tmp/poke.err)"
fi
first_old="$(field /tmp/watch.json change old | head -n 1)"
if [ "$(norm0 "$first_old")" = 1122334455667788 ] \
  && [ "$(field /tmp/watch.json summary reason)" = count ] && [ "$(field /tmp/watch.json summary changes)" = 5 ]; then
  ok "the first change starts at the target's initial value; the summary counts 5 changes (--count)"
else
  bad "first old $first_old; summary: $(grep summary /tmp/watch.json)"
fi
stop_target

# 2. the HPET's main counter
period_fs=$(( $(busybox devmem 0xfed00004 32) ))
pd watch 0xfed000f0
if [ "$rc" -eq 2 ] && [ -z "$out" ] && echo "$err" | grep -q "0xfed000f0 is not RAM"; then
  ok "the HPET without --width is refused: $err"
else
  bad "watch 0xfed000f0 without --width: rc $rc, $err"
fi
physdemo watch 0xfed000f0 --width 32 --interval 10ms --count 40 --json >/tmp/hpet.json 2>/tmp/hpet.err
hrc=$?
counts=($(field /tmp/hpet.json change new))
times=($(field /tmp/hpet.json change monotonic_ns))
n=${#counts[@]}
if [ "$hrc" -eq 0 ] && [ "$n" -eq 40 ] && [ "$period_fs" -gt 0 ]; then
  ticks=$(( (counts[n - 1] - counts[0]) & 0xffffffff ))
  expected_ns=$(( ticks * period_fs / 1000000 ))
  measured_ns=$(( times[n - 1] - times[0] ))
  permille=$(( expected_ns * 1000 / measured_ns ))
  printf 'hpet: period %d fs, %d ticks in %d ns of CLOCK_MONOTONIC: %d.%03d of the stated rate\n' \
    "$period_fs" "$ticks" "$measured_ns" $((permille / 1000)) $((permille % 1000))
  if [ "$permille" -ge 900 ] && [ "$permille" -le 1100 ]; then
    ok "the HPET advanced at its stated period ($period_fs fs) within 10 %"
  else
    bad "the HPET advanced at $permille/1000 of its stated rate"
  fi
else
  bad "watch of the HPET: rc $hrc, $n changes, period $period_fs: $(cat /tmp/hpet.err)"
fi
if [ "$(grep -c . /tmp/hpet.err)" -eq 1 ] && grep -q "each poll, every 10ms, is one 32-bit read of 0xfed000f0" /tmp/hpet.err; then
  ok "watch said once, on stderr, that each poll reads the register"
else
  bad "the device note: $(cat /tmp/hpet.err)"
fi

# 3. jiffies: watch --symbol, against the address found here by hand
text=$(sed -n 's/^\([0-9a-f]*\) T _text$/\1/p' /proc/kallsyms)
jiffies=$(sed -n 's/^\([0-9a-f]*\) [dDbB] jiffies$/\1/p' /proc/kallsyms)
code=$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel code$/\1/p' /proc/iomem)
hz=$(zcat /proc/config.gz | sed -n 's/^CONFIG_HZ=//p')
[ -n "$jiffies" ] && [ -n "$text" ] && [ -n "$code" ] && [ -n "$hz" ] \
  || die "no jiffies in /proc/kallsyms (a kernel without CONFIG_KALLSYMS_ALL?), no _text, Kernel code or CONFIG_HZ"
paddr=$(printf '%#x' $(( 0x$jiffies - 0x$text + 0x$code )))
printf 'jiffies: virtual 0x%s, _text 0x%s, Kernel code 0x%s: physical %s; CONFIG_HZ=%s\n' "$jiffies" "$text" "$code" "$paddr" "$hz"
physdemo watch --symbol jiffies --interval 1ms --json >/tmp/jiffies.json 2>/tmp/jiffies.err &
wpid=$!
wait_for /tmp/jiffies.json '"event":"start"' 100 || bad "watch of jiffies did not start: $(cat /tmp/jiffies.err)"
start_paddr=$(field /tmp/jiffies.json start paddr)
if [ "$start_paddr" = "$paddr" ] && [ "$(field /tmp/jiffies.json start width)" = 64 ]; then
  ok "watch --symbol jiffies watches $start_paddr, 64 bits: the address kallsyms and iomem give"
else bad "watch --symbol jiffies watches '$start_paddr', computed $paddr: $(head -c 300 /tmp/jiffies.json)"; fi
sleep 1
cp /proc/timer_list /tmp/timer_list
cp /proc/timer_list /tmp/timer_list.after
sleep 1
kill -INT "$wpid"
wait "$wpid"
jrc=$?
now_ns=$(sed -n 's/^now at \([0-9]*\) nsecs$/\1/p' /tmp/timer_list)
after_ns=$(sed -n 's/^now at \([0-9]*\) nsecs$/\1/p' /tmp/timer_list.after)
tl_jiffies=$(sed -n 's/^jiffies: //p' /tmp/timer_list | head -n 1)
values=($(field /tmp/jiffies.json change new))
times=($(field /tmp/jiffies.json change monotonic_ns))
changes=$(field /tmp/jiffies.json summary changes)
n=${#values[@]}
if [ "$jrc" -eq 0 ] && [ "$n" -gt 10 ] && [ "$(field /tmp/jiffies.json summary reason)" = signal ]; then
  ticks=$(( values[n - 1] - values[0] ))
  span_ns=$(( times[n - 1] - times[0] ))
  per_s=$(( ticks * 1000000000 / span_ns ))
  printf 'jiffies: +%s in %s ns of CLOCK_MONOTONIC between the first and last of %s changes: %s per second; CONFIG_HZ %s\n' \
    "$ticks" "$span_ns" "$changes" "$per_s" "$hz"
  if [ $(( per_s * 100 )) -ge $(( hz * 95 )) ] && [ $(( per_s * 100 )) -le $(( hz * 105 )) ]; then
    ok "jiffies, watched for 2 s, ran at CONFIG_HZ=$hz within 5 % ($per_s per second)"
  else
    bad "jiffies ran at $per_s per second, CONFIG_HZ $hz"
  fi
  # the value watch read last before timer_list's "now at", and first after the second read's
  before="" after=""
  for i in "${!times[@]}"; do
    [ "${times[$i]}" -le "$now_ns" ] && before=$(( values[i] ))
    [ -z "$after" ] && [ "${times[$i]}" -ge "$after_ns" ] && after=$(( values[i] ))
  done
  printf 'timer_list: now at %s ns, jiffies: %s; watch read %s before it and %s after it\n' \
    "$now_ns" "$tl_jiffies" "$before" "$after"
  if [ -n "$before" ] && [ -n "$after" ] && [ "$before" -le "$tl_jiffies" ] && [ "$tl_jiffies" -le $(( after + 1 )) ]; then
    ok "/proc/timer_list's jiffies ($tl_jiffies) lies between the values watch read before and after it"
  else
    bad "timer_list jiffies $tl_jiffies, watch read $before before and $after after"
  fi
else
  bad "watch of jiffies: rc $jrc, $n changes: $(cat /tmp/jiffies.err)"
fi

# 4. a page that moves under watch: movepage (move_pages(2) to the other node) moves the
# target's page; watch must report the move exactly as movepage read it in pagemap, then
# read the new frame, where the next poke lands
[ -x /files/movepage ] || die "no /files/movepage: run with PHYSDEMO_VM_FILES=\"\$(demos/stress/build)\" and PHYSDEMO_VM_NUMA=2"
start_target_to /tmp/movable.json --movable --interval-us 200 --timeout 120 || die "the movable target did not start"
physdemo watch "$pid" "$vaddr" --json --interval 1ms --count 1 >/tmp/moved.json 2>/tmp/moved.err &
wpid=$!
wait_for /tmp/moved.json '"event":"start"' 100 || bad "watch did not start: $(cat /tmp/moved.err)"
move="$(/files/movepage "$pid" "$vaddr" 1 | grep '^move 1:')"
echo "movepage: $move"
from="$(echo "$move" | sed -n 's/.* pfn \(0x[0-9a-f]*\) -> \(0x[0-9a-f]*\): moved$/\1/p')"
to="$(echo "$move" | sed -n 's/.* pfn \(0x[0-9a-f]*\) -> \(0x[0-9a-f]*\): moved$/\2/p')"
wait_for /tmp/moved.json "\"new_pfn\":\"$to\"" 50
physdemo poke --value 0x5151515151515151 >/dev/null 2>/tmp/poke.err
prc=$?
wait "$wpid"
wrc=$?
grep moved /tmp/moved.json | sed 's/^/watch: /'
first_old="$(field /tmp/moved.json moved old_pfn | head -n 1)"
last_new="$(field /tmp/moved.json moved new_pfn | tail -n 1)"
paddr_now="$(field /tmp/moved.json change paddr)"
if [ -n "$to" ] && [ "$first_old" = "$from" ] && [ "$last_new" = "$to" ]; then
  ok "watch reported the move from frame $from to $to, as movepage read it in pagemap"
else
  bad "movepage: '$move'; watch's moves: $(grep moved /tmp/moved.json)"
fi
if [ "$prc" -eq 0 ] && [ "$wrc" -eq 0 ] && [ "$(norm0 "$(field /tmp/moved.json change new)")" = 5151515151515151 ] \
  && [ $(( paddr_now >> 12 )) -eq $(( to )) ] && grep -q '"new":"0x5151515151515151"' "$tout"; then
  ok "then it read frame $to: the poke's 0x5151515151515151 at $paddr_now, as the target saw it"
else
  bad "after the move: poke rc $prc, watch rc $wrc, change $(grep change /tmp/moved.json): $(cat /tmp/moved.err /tmp/poke.err)"
fi
stop_target

# Text runs for the README
physdemo watch 0xfed000f0 --width 32 --interval 10ms --count 3 2>&1 | sed 's/^/sample: /'
start_target --timeout 60 >/dev/null || die "the target did not start"
physdemo watch "$pid" "$vaddr" --len 16 --interval 1ms --count 1 >/tmp/range.txt 2>&1 &
wpid=$!
wait_for /tmp/range.txt "first read" 100
physdemo poke --value 0x1122334455aa7788 >/dev/null
wait "$wpid"
sed 's/^/sample: /' /tmp/range.txt
stop_target

summary watch 10
