#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/stress/sharing.sh: inside the VM, one frame mapped by two processes,
# for real, two ways: KSM merging identical pages of two unrelated processes,
# and fork() before copy-on-write. For each, checked against the kernel's own
# files read with dd (pagemap, kpagecount), not through physdemo:
#
#   - both processes' pagemap entries name the same frame, neither has the
#     exclusive bit (56), /proc/kpagecount says 2; `physdemo inspect` shows
#     that frame with map count 2 (and the ksm flag for KSM); `physdemo owner`
#     finds both processes;
#   - `physdemo poke PID VADDR V` is refused (exit 6, one line: mapped more
#     than once) and neither process sees a change;
#   - `poke --force` writes once (JSON accesses: read, write, read back) and
#     BOTH processes report the exact new value (each its own "change" line),
#     the frame still shared;
#   - then the second process writes its word itself: copy-on-write (or KSM
#     unmerging) gives it a frame of its own; the first one's page is now
#     exclusive, a poke without --force lands there, and only the first sees it.
# KSM is switched on (run=1, 100 pages per 20 ms scan) and the merge awaited
# for at most 20 s; the time it took is printed.
#
# Usage (host): PHYSDEMO_VM_FILES="$(demos/stress/build)" demos/vm/run demos/stress/sharing.sh
# Ends with "sharing: N passed, N failed" (summary, minimum 24 checks).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/holders.sh"
need_helpers holdpage
MIN=24

# wait_change NAME PID OLD NEW: PID printed exactly one change line, OLD -> NEW (2 s)
wait_change() {
  _n=0
  until holder_changes "$1" "$2" | grep -q . || [ "$_n" -ge 20 ]; do sleep 0.1; _n=$((_n + 1)); done
  [ "$(holder_changes "$1" "$2")" = "change $2 $3 -> $4" ]
}

# shared LABEL NAME1 PID1 VADDR1 NAME2 PID2 VADDR2 VALUE NEW: the checks above
shared() {
  label=$1 n1=$2 p1=$3 a1=$4 n2=$5 p2=$6 a2=$7 value=$8 new=$9
  r1="$(pagemap_raw "$p1" "$a1")" r2="$(pagemap_raw "$p2" "$a2")"
  frame="$(pm_pfn "$r1")"
  if pm_present "$r1" && pm_present "$r2" && [ "$frame" = "$(pm_pfn "$r2")" ] &&
     ! pm_exclusive "$r1" && ! pm_exclusive "$r2"; then
    ok "$label: pid $p1 and pid $p2 both map frame $frame, exclusive bit clear in both (dd of pagemap: 0x$r1, 0x$r2)"
  else
    bad "$label: pagemap 0x$r1 (pid $p1), 0x$r2 (pid $p2): not one shared frame"
  fi
  count="$(kpagecount "$frame")"
  [ "$count" = 2 ] && ok "$label: /proc/kpagecount of $frame is 2" || bad "$label: kpagecount of $frame is '$count'"
  js="$(physdemo inspect "$p1" "$a1" --json)"
  flags="$(echo "$js" | sed -n 's/.*"kpageflags":\[\([^]]*\)\].*/\1/p')"
  if [ "$(echo "$js" | json_field pfn)" = "$frame" ] && [ "$(echo "$js" | json_field kpagecount)" = 2 ]; then
    ok "$label: inspect $p1 $a1: frame $frame, map count 2, flags $flags"
  else
    bad "$label: inspect says pfn $(echo "$js" | json_field pfn), map count $(echo "$js" | json_field kpagecount)"
  fi
  owners="$(physdemo owner --pfn "$frame" --json)"
  if echo "$owners" | grep -q "\"pid\":${p1}[,}]" && echo "$owners" | grep -q "\"pid\":${p2}[,}]"; then
    ok "$label: owner --pfn $frame finds pid $p1 and pid $p2"
  else
    bad "$label: owner --pfn $frame: $owners"
  fi
  physdemo poke "$p1" "$a1" "$new" >"$W/poke.out" 2>"$W/poke.err"; rc=$?
  err="$(cat "$W/poke.err")"
  if [ "$rc" = 6 ] && [ "$(wc -l <"$W/poke.err")" = 1 ] && echo "$err" | grep -q 'mapped more than once'; then
    ok "$label: poke without --force refused, exit 6: ${err#physdemo: error: }"
  else
    bad "$label: poke of a shared frame: exit $rc, '$err'"
  fi
  v1="$(holder_value "$n1" "$p1")" v2="$(holder_value "$n2" "$p2")"
  if [ "$v1" = "$value" ] && [ "$v2" = "$value" ] && ! holder_changes "$n1" "$p1" | grep -q . &&
     ! holder_changes "$n2" "$p2" | grep -q .; then
    ok "$label: after the refusal both still read $value, no change seen"
  else
    bad "$label: after the refusal: $v1 and $v2 (want $value)"
  fi
  js="$(physdemo poke "$p1" "$a1" "$new" --force --json 2>"$W/poke.err")"; rc=$?
  if [ "$rc" = 0 ] && echo "$js" | grep -q '"accesses":\["read","write","read back"\]'; then
    ok "$label: poke --force: exit 0, one write (accesses read, write, read back), paddr $(echo "$js" | json_field paddr)"
  else
    bad "$label: poke --force: exit $rc, $js $(cat "$W/poke.err")"
  fi
  if wait_change "$n1" "$p1" "$value" "$new" && wait_change "$n2" "$p2" "$value" "$new"; then
    ok "$label: BOTH processes saw it: '$(holder_changes "$n1" "$p1")' and '$(holder_changes "$n2" "$p2")'"
  else
    bad "$label: pid $p1 saw '$(holder_changes "$n1" "$p1")', pid $p2 saw '$(holder_changes "$n2" "$p2")'"
  fi
  r1b="$(pagemap_raw "$p1" "$a1")" r2b="$(pagemap_raw "$p2" "$a2")"
  [ "$(pm_pfn "$r1b")" = "$frame" ] && [ "$(pm_pfn "$r2b")" = "$frame" ] &&
    ok "$label: both still map frame $frame after the write" || bad "$label: frames now $(pm_pfn "$r1b"), $(pm_pfn "$r2b")"

  # The second process writes its word itself: it gets a frame of its own.
  wrote="$(holder_write "$n2" "$p2")"
  r1c="$(pagemap_raw "$p1" "$a1")" r2c="$(pagemap_raw "$p2" "$a2")"
  if [ "$(norm_hex "$wrote")" = "$(norm_hex "$(printf '%#x' $((new + 1)))")" ] &&
     [ "$(pm_pfn "$r2c")" != "$frame" ] && [ "$(pm_pfn "$r1c")" = "$frame" ] && pm_exclusive "$r1c"; then
    ok "$label: pid $p2 wrote $wrote itself: it now has frame $(pm_pfn "$r2c"), pid $p1 keeps $frame, exclusive now"
  else
    bad "$label: after pid $p2's own write ($wrote): pid $p1 0x$r1c, pid $p2 0x$r2c"
  fi
  last=0xddba110000000000
  physdemo poke "$p1" "$a1" "$last" >"$W/poke.out" 2>"$W/poke.err"; rc=$?
  sleep 0.3
  if [ "$rc" = 0 ] && [ "$(holder_value "$n1" "$p1")" = "$last" ] &&
     [ "$(holder_value "$n2" "$p2")" = "$wrote" ]; then
    ok "$label: now a poke without --force lands in pid $p1 only ($last); pid $p2 keeps $wrote"
  else
    bad "$label: private poke: exit $rc $(cat "$W/poke.err"); values $(holder_value "$n1" "$p1"), $(holder_value "$n2" "$p2")"
  fi
}

# --- KSM: two unrelated processes, identical pages -----------------------------
KSM=/sys/kernel/mm/ksm
echo 100 >$KSM/pages_to_scan; echo 20 >$KSM/sleep_millisecs; echo 1 >$KSM/run
value=0x6b736d0000000001
start_holder ksm-a ksm "$value" || die "holdpage ksm did not start"
ja=$h_job pa=$h_pid aa=$h_vaddr
start_holder ksm-b ksm "$value" || die "holdpage ksm did not start"
jb=$h_job pb=$h_pid ab=$h_vaddr
tenths=0
until [ "$(pm_pfn "$(pagemap_raw "$pa" "$aa")")" = "$(pm_pfn "$(pagemap_raw "$pb" "$ab")")" ] || [ "$tenths" -ge 200 ]; do
  sleep 0.1; tenths=$((tenths + 1))
done
if [ "$tenths" -lt 200 ]; then
  ok "KSM merged the two pages within $((tenths / 10)).$((tenths % 10)) s (pages_shared $(cat $KSM/pages_shared), pages_sharing $(cat $KSM/pages_sharing), full scans $(cat $KSM/full_scans))"
else
  bad "KSM did not merge within 20 s (pages_shared $(cat $KSM/pages_shared))"
fi
if physdemo inspect "$pa" "$aa" --json | grep -q '"kpageflags":\[[^]]*"ksm"'; then ok "KSM: kpageflags has ksm"
else bad "KSM: no ksm flag in inspect --json"; fi
shared KSM ksm-a "$pa" "$aa" ksm-b "$pb" "$ab" "$value" 0x6b736d00000000ff
stop_holder "$ja"; stop_holder "$jb"
echo 0 >$KSM/run

# --- fork before copy-on-write -----------------------------------------------------
value=0xf0f0000000000001
start_holder fork fork "$value" || die "holdpage fork did not start"
jf=$h_job parent=$h_pid child=$h_child addr=$h_vaddr
echo "    parent pid $parent, child pid $child, both at $addr"
shared fork fork "$parent" "$addr" fork "$child" "$addr" "$value" 0xf0f00000000000ff
stop_holder "$jf"

summary sharing "$MIN"
