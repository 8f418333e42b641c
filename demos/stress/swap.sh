#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/stress/swap.sh: inside the VM, a page in real swap (zram) as physdemo
# sees it, checked against what the kernel says independently.
#
#   - swap on /dev/zram0 (64 MiB); `holdpage swap` maps 16 pages, fills them
#     and pushes them out with MADV_PAGEOUT, so they really are in swap;
#   - the raw pagemap entry of the helper's word, read with dd: bit 62 set,
#     bit 63 clear; `physdemo inspect --json` shows that raw entry, swapped,
#     not present, no frame, and the same swap type (bits 0-4) and offset
#     (bits 5-54); the type is the zram device's index in /proc/swaps;
#   - `physdemo maps` counts exactly the pages smaps' Swap: counts, for the
#     mapping and for the whole process, and `maps --pages --flag swapped`
#     lists those 16 pages with the same swap:TYPE:OFFSET as the raw entries;
#   - `physdemo poke` of the swapped word is refused with one line (exit 3,
#     naming swap), with and without --force, and the helper then reads its
#     original value (nothing was written anywhere);
#   - once the helper reads it, the page is present again with the value.
#
# Usage (host): PHYSDEMO_VM_FILES="$(demos/stress/build)" demos/vm/run demos/stress/swap.sh
# Ends with "swap: N passed, N failed" (summary, minimum 14 checks).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/holders.sh"
need_helpers holdpage

VALUE=0x5a5a000011112222
if echo 64M >/sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null && swapon /dev/zram0; then
  ok "swap on /dev/zram0: $(grep '^/dev/zram0 ' /proc/swaps | tr -s ' ')"
else
  bad "could not enable swap on /dev/zram0"; summary swap 14; exit 1
fi
zram_index=$(($(grep -n '^/dev/zram0 ' /proc/swaps | cut -d: -f1) - 2))   # line 1 is the header

start_holder swap swap "$VALUE" || { bad "holdpage swap did not get ready"; summary swap 14; exit 1; }
job=$h_job pid=$h_pid vaddr=$h_vaddr
raw="$(pagemap_raw "$pid" "$vaddr")"
echo "    holdpage pid $pid, word $vaddr, raw pagemap entry 0x$raw"
if pm_swapped "$raw" && ! pm_present "$raw"; then
  ok "raw pagemap (dd): bit 62 swapped, bit 63 clear; type $(pm_swap_type "$raw"), offset $(pm_swap_offset "$raw")"
else
  bad "raw pagemap entry 0x$raw is not a swap entry"
fi
[ "$(pm_swap_type "$raw")" = "$zram_index" ] && ok "swap type $(pm_swap_type "$raw") = /dev/zram0's index in /proc/swaps" ||
  bad "swap type $(pm_swap_type "$raw"), /dev/zram0 is swap index $zram_index"

# --- inspect --------------------------------------------------------------------
js="$(physdemo inspect "$pid" "$vaddr" --json 2>"$W/inspect.err")"; inspect_rc=$?
j_raw="$(echo "$js" | json_field raw)"
j_type="$(echo "$js" | json_field swap_type)"
j_off="$(echo "$js" | json_field swap_offset)"
j_pfn="$(echo "$js" | json_field pfn)"
if [ "$(norm_hex "$j_raw")" = "$(norm_hex "$raw")" ] && [ "$j_type" = "$(pm_swap_type "$raw")" ] &&
   [ "$(norm_hex "$j_off")" = "$(norm_hex "$(pm_swap_offset "$raw")")" ]; then
  ok "inspect --json: raw $j_raw, swap_type $j_type, swap_offset $j_off = the raw bits"
else
  bad "inspect --json: raw $j_raw type $j_type offset $j_off; dd: 0x$raw"
fi
if echo "$js" | grep -q '"present":false,"swapped":true' && [ "$j_pfn" = null ]; then
  ok "inspect --json: present false, swapped true, pfn null"
else
  bad "inspect --json: $js"
fi
if [ "$inspect_rc" = 3 ] && [ "$(wc -l <"$W/inspect.err")" = 1 ]; then
  ok "inspect exits 3 (no frame) with one line: $(cat "$W/inspect.err")"
else
  bad "inspect of a swapped page: exit $inspect_rc, stderr '$(cat "$W/inspect.err")'"
fi
text="$(physdemo inspect "$pid" "$vaddr" 2>/dev/null)"
if echo "$text" | grep -q "swapped *yes"; then ok "inspect: $(echo "$text" | grep 'swapped' | head -n 1 | tr -s ' ')"
else bad "inspect does not say swapped: $text"; fi

# --- maps: swap counts against smaps' Swap: --------------------------------------
start="$(printf '%x' $((vaddr & ~4095)))"
smaps_kb() { # smaps_kb PID [START]: Swap: kB of the mapping starting at START, or of all
  awk -v s="${2:-}" '/^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); inside = (s == "" || r[1] == s) }
    inside && /^Swap:/ { kb += $2 } END { print kb + 0 }' "/proc/$1/smaps"
}
m_kb="$(smaps_kb "$pid" "$start")" all_kb="$(smaps_kb "$pid")"
m_maps="$(physdemo maps "$pid" --mapping "$vaddr" --json | grep -o '"swapped":[0-9]*' | head -n 1 | cut -d: -f2)"
all_maps="$(physdemo maps "$pid" --json | grep -o '"swapped":[0-9]*' | tail -n 1 | cut -d: -f2)"
if [ "$m_kb" = 64 ] && [ "${m_maps:-x}" = $((m_kb / 4)) ]; then
  ok "maps --mapping $vaddr: swapped $m_maps pages = smaps Swap: $m_kb kB"
else
  bad "maps --mapping: swapped '$m_maps', smaps Swap: $m_kb kB (want 64 kB = 16 pages)"
fi
if [ "${all_maps:-x}" = $((all_kb / 4)) ]; then
  ok "maps total: swapped $all_maps pages = smaps Swap: $all_kb kB over the whole process"
else
  bad "maps total swapped '$all_maps', smaps Swap: $all_kb kB"
fi
listing="$(physdemo maps "$pid" --mapping "$vaddr" --pages --flag swapped | grep -v '^#')"
listed=0 agree=0
for i in $(seq 0 15); do
  a=$(((vaddr & ~4095) + i * 4096))
  r="$(pagemap_raw "$pid" "$a")"
  listed=$((listed + 1))
  echo "$listing" | grep -q "swap:$(pm_swap_type "$r"):$(pm_swap_offset "$r")" && agree=$((agree + 1))
done
if [ "$(echo "$listing" | grep -c 'swap:')" = 16 ] && [ "$agree" = 16 ]; then
  ok "maps --pages --flag swapped: 16 pages, each swap:TYPE:OFFSET as dd reads it"
else
  bad "maps --pages --flag swapped: $(echo "$listing" | grep -c 'swap:') listed, $agree of $listed agree with dd"
  echo "$listing" | head -n 4 | sed 's/^/    | /'
fi

# --- poke refuses, with and without --force ---------------------------------------
for force in "" --force; do
  physdemo poke "$pid" "$vaddr" 0xbad0bad0bad0bad0 $force >"$W/poke.out" 2>"$W/poke.err"; rc=$?
  err="$(cat "$W/poke.err")"
  if [ "$rc" = 3 ] && [ "$(wc -l <"$W/poke.err")" = 1 ] && echo "$err" | grep -q '^physdemo: error: .*swapped out'; then
    ok "poke ${force:-(no --force)}: exit 3: ${err#physdemo: error: }"
  else
    bad "poke $force of a swapped page: exit $rc, '$err'"
  fi
done
raw2="$(pagemap_raw "$pid" "$vaddr")"
[ "$raw2" = "$raw" ] && ok "the refused pokes left the page in swap (entry unchanged)" || bad "entry changed: 0x$raw -> 0x$raw2"

# --- the helper reads its page: back from swap, with the value it had ---------------
seen="$(holder_value swap "$pid")"
raw3="$(pagemap_raw "$pid" "$vaddr")"
if [ "$(norm_hex "$seen")" = "$(norm_hex "$VALUE")" ] && pm_present "$raw3"; then
  ok "the helper reads $seen (its own value) and the page is back, frame $(pm_pfn "$raw3")"
else
  bad "the helper reads '$seen' (want $VALUE); entry now 0x$raw3"
fi
stop_holder "$job"
swapoff /dev/zram0
summary swap 14
