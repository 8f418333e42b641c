#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/stress/usage.sh: inside the VM (Linux 6.1: no PAGEMAP_SCAN, so `usage` reads each
# mapping's pagemap whole), `physdemo usage` against the kernel's own accounting for
# processes sharing pages every way: the same static binary's text in every holder (page
# cache pages mapped by N processes), two unrelated processes with KSM-merged pages, a
# parent and child sharing anonymous pages after fork(), a transparent huge page. For each
# holder: usage's RSS equals the Rss: line of /proc/PID/smaps_rollup and its PSS is within
# 0.5 % (or 4 kB) of Pss:, read right after (busybox awk, not physdemo).
# KSM is switched on for the test and put back as it was.
#
# Usage (host): demos/stress/run usage
# Ends with "usage: N passed, N failed" (summary, minimum 8 checks).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/holders.sh"
need_helpers holdpage
MIN=8

KSM=/sys/kernel/mm/ksm
ksm_was="$(cat $KSM/run)"
echo 100 >$KSM/pages_to_scan; echo 20 >$KSM/sleep_millisecs; echo 1 >$KSM/run
value=0x7573616765000001
start_holder ksm-a ksm "$value" || die "holdpage ksm did not start"
pa=$h_pid aa=$h_vaddr
start_holder ksm-b ksm "$value" || die "holdpage ksm did not start"
pb=$h_pid ab=$h_vaddr
tenths=0
until [ "$(pm_pfn "$(pagemap_raw "$pa" "$aa")")" = "$(pm_pfn "$(pagemap_raw "$pb" "$ab")")" ] || [ "$tenths" -ge 200 ]; do
  sleep 0.1; tenths=$((tenths + 1))
done
[ "$tenths" -lt 200 ] && ok "KSM merged the two pages" || bad "KSM did not merge within 20 s"
start_holder fork fork 0x7573616765000002 || die "holdpage fork did not start"
pf=$h_pid cf=$h_child
start_holder thp thp 0x7573616765000003 || die "holdpage thp did not start"
pt=$h_pid
grep -q '^AnonHugePages: *[1-9]' "/proc/$pt/smaps_rollup" && ok "the THP holder has a huge page" ||
  bad "no AnonHugePages in the THP holder: $(grep AnonHuge "/proc/$pt/smaps_rollup")"
sleep 1

pids="$pa $pb $pf $cf $pt"
args=""
for p in $pids; do args="$args --pid $p"; done
# shellcheck disable=SC2086
physdemo usage --json $args >"$W/usage.json" 2>"$W/usage.err"; rc=$?
for p in $pids; do cat "/proc/$p/smaps_rollup" >"$W/rollup.$p"; done
[ "$rc" = 0 ] || bad "usage: exit $rc $(cat "$W/usage.err")"
for p in $pids; do
  line="$(tr '{' '\n' <"$W/usage.json" | grep "\"pid\":$p,")"
  rss=$(printf '%s' "$line" | json_field rss) pss=$(printf '%s' "$line" | json_field pss)
  their_rss=$(awk '/^Rss:/ {print $2}' "$W/rollup.$p") their_pss=$(awk '/^Pss:/ {print $2}' "$W/rollup.$p")
  if [ -n "$rss" ] && [ $((rss / 1024)) = "$their_rss" ]; then ok "pid $p: RSS $((rss / 1024)) kB = Rss"
  else bad "pid $p: RSS ${rss:-none} bytes, Rss $their_rss kB"; fi
  if [ -n "$pss" ] && awk -v a="$((pss / 1024))" -v b="$their_pss" 'BEGIN { d = a - b; if (d < 0) d = -d; s = b / 200; if (s < 4) s = 4; exit !(d <= s) }'; then
    ok "pid $p: PSS $((pss / 1024)) kB, Pss $their_pss kB"
  else bad "pid $p: PSS ${pss:-none} bytes, Pss $their_pss kB"; fi
done
for j in $(jobs -p); do kill "$j" 2>/dev/null; done
kill "$cf" 2>/dev/null
echo "$ksm_was" >$KSM/run
summary usage $MIN
