#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/stress/placements.sh: inside the VM, `physdemo poke <pid> <vaddr>` into
# every kind of place a variable can live, and the process reporting exactly
# the value written:
#
#   physdemo target --where mmap|heap|stack|static|thp|hugetlb
#                                                    (the target's "change" event)
#   holdpage heap|stack|static|thp|hugetlb           (a process that is not
#       physdemo: its own "change PID OLD -> NEW" line; demos/stress/holdpage.c)
#
# For each: the mapping `physdemo inspect` names is the expected one ([heap],
# [stack], the executable, an anonymous or huge-page mapping); its frame is the
# one the raw pagemap entry read with dd gives, and its physical address is
# that frame * 4096 + the offset in the page (for a THP or hugetlbfs page the
# word lies deep inside the huge page, 0x5040 (target, holdpage thp) and
# 0x12340 (holdpage hugetlb) bytes in, so the 4 KiB subpage counts); the THP
# really is one (smaps AnonHugePages, and inspect and the target's ready line
# say "transparent huge page"), the hugetlbfs page too. With THP switched off
# ([never]), `target --where thp` still runs and says its page is NOT a huge
# page, as inspect does.
#
# Usage (host): PHYSDEMO_VM_FILES="$(demos/stress/build)" demos/vm/run demos/stress/placements.sh
# Ends with "placements: N passed, N failed" (summary, minimum 38 checks).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/holders.sh"
need_helpers holdpage
MIN=38

# located LABEL PID VADDR WANT_PATH: inspect's mapping, frame and address vs dd
located() {
  js="$(physdemo inspect "$2" "$3" --json)"
  path="$(echo "$js" | json_field path)" pfn="$(echo "$js" | json_field pfn)" paddr="$(echo "$js" | json_field paddr)"
  raw="$(pagemap_raw "$2" "$3")"
  want_paddr="$(printf '0x%x' $(((0x$raw & ((1 << 55) - 1)) * 4096 + ($3 & 4095))))"
  case "$path" in
    $4) ok "$1: inspect names the mapping '$path'" ;;
    *) bad "$1: inspect names the mapping '$path', want $4" ;;
  esac
  if [ "$pfn" = "$(pm_pfn "$raw")" ] && [ "$(norm_hex "$paddr")" = "$(norm_hex "$want_paddr")" ]; then
    ok "$1: frame $pfn = dd's, physical $paddr = frame * 4096 + $(printf '%#x' $(($3 & 4095)))"
  else
    bad "$1: inspect pfn $pfn paddr $paddr; dd entry 0x$raw gives $want_paddr"
  fi
}

# huge_subpage LABEL PID VADDR WANT_KIND HUGE_KIND: the word's frame is a
# subpage of a huge page of WANT_KIND, the one VADDR's offset in 2 MiB names
# (HUGE_KIND: what inspect or the target said)
huge_subpage() {
  raw_pfn="$(pm_pfn "$(pagemap_raw "$2" "$3")")"
  sub_pfn=$((raw_pfn & 511)) sub_va=$((($3 >> 12) & 511))
  subpage="subpage $sub_pfn of the huge page at frame $(printf '%#x' $((raw_pfn & ~511)))"
  [ "$5" = "$4" ] && [ "$sub_pfn" = "$sub_va" ]
}

echo 4 >/proc/sys/vm/nr_hugepages
# --- physdemo targets --------------------------------------------------------
for where in mmap heap stack static thp hugetlb; do
  start_target --where "$where" --timeout 120 || { bad "target --where $where did not start"; continue; }
  case $where in
    mmap|thp) want='[[]anonymous[]]' ;; heap) want='[[]heap[]]' ;; stack) want='[[]stack[]]' ;;
    static) want='*/physdemo' ;; hugetlb) want='*anon_hugepage*' ;;
  esac
  located "target --where $where" "$pid" "$vaddr" "$want"
  case $where in
    thp|hugetlb)
      [ $where = thp ] && kind="transparent huge page (THP)" || kind="hugetlbfs huge page"
      huge="$(physdemo inspect "$pid" "$vaddr" --json | json_field huge_page)"
      said="$(json_field huge_page <"$tout")"
      if huge_subpage "$where" "$pid" "$vaddr" "$kind" "$huge" && [ "$said" = "$kind" ]; then
        ok "target --where $where: the target and inspect say $kind, the word $(printf '%#x' $(($vaddr & 0x1fffff))) in, $subpage"
      else
        bad "target --where $where: inspect '$huge', the target '$said' (want $kind), $subpage (want $sub_va)"
      fi ;;
  esac
  value="$(printf '0x%04x%012x' $((0x7a00 + ${#where})) "$pid")"
  if physdemo poke "$pid" "$vaddr" "$value" >"$W/poke.out" 2>"$W/poke.err" &&
     wait_for "$tout" "\"new\":\"$value\"" 30; then
    ok "target --where $where: poke $value, the target reports exactly that"
  else
    bad "target --where $where: poke $value: $(cat "$W/poke.err"); target: $(grep change "$tout")"
  fi
  stop_target
done

# --- THP switched off: the target says its page is no huge page ---------------
thp_mode="$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled)"
echo never >/sys/kernel/mm/transparent_hugepage/enabled
if start_target --where thp --timeout 120; then
  huge="$(physdemo inspect "$pid" "$vaddr" --json | json_field huge_page)"
  if grep -q '"huge_page":null,"huge_page_note":"NOT a huge page: THP is disabled (\[never\]' "$tout" &&
     [ "$huge" = null ]; then
    ok "target --where thp with THP [never]: the target says NOT a huge page ($(sed -n 's/.*"huge_page_note":"\([^"]*\)".*/\1/p' "$tout")), inspect agrees"
  else
    bad "target --where thp with THP [never]: inspect huge_page '$huge', the target: $(head -n 1 "$tout")"
  fi
else
  bad "target --where thp with THP [never] did not start"
fi
stop_target
echo "$thp_mode" >/sys/kernel/mm/transparent_hugepage/enabled

# --- a process that is not physdemo, in every placement ---------------------------
for kind in heap stack static thp hugetlb; do
  initial=0x1100000000000011
  start_holder "$kind" "$kind" "$initial" || { bad "holdpage $kind did not start"; continue; }
  job=$h_job hp=$h_pid ha=$h_vaddr
  case $kind in
    heap) want='[[]heap[]]' ;; stack) want='[[]stack[]]' ;; static) want='*/holdpage' ;;
    thp) want='[[]anonymous[]]' ;; hugetlb) want='*anon_hugepage*' ;;
  esac
  located "holdpage $kind" "$hp" "$ha" "$want"
  huge="$(physdemo inspect "$hp" "$ha" --json | json_field huge_page)"
  # In a 2 MiB page, the 4 KiB subpage's frame is the head frame + the subpage index.
  case $kind in
    thp)
      kb="$(smaps_kb_at "$hp" "$ha" AnonHugePages)"
      if huge_subpage "$kind" "$hp" "$ha" "transparent huge page (THP)" "$huge" && [ "${kb:-0}" -ge 2048 ]; then
        ok "holdpage thp: a real THP (smaps AnonHugePages $kb kB; inspect: $huge), the word in $subpage"
      else bad "holdpage thp: AnonHugePages '$kb' kB, inspect huge_page '$huge', $subpage (want $sub_va)"; fi ;;
    hugetlb)
      if huge_subpage "$kind" "$hp" "$ha" "hugetlbfs huge page" "$huge"; then
        ok "holdpage hugetlb: inspect says $huge, the word in $subpage"
      else bad "holdpage hugetlb: inspect huge_page '$huge', $subpage (want $sub_va)"; fi ;;
  esac
  value="$(printf '0x%04x%012x' $((0x7b00 + ${#kind})) "$hp")"
  physdemo poke "$hp" "$ha" "$value" >"$W/poke.out" 2>"$W/poke.err"; rc=$?
  n=0
  until holder_changes "$kind" "$hp" | grep -q . || [ $n -ge 30 ]; do sleep 0.1; n=$((n + 1)); done
  if [ "$rc" = 0 ] && [ "$(holder_changes "$kind" "$hp")" = "change $hp $initial -> $value" ]; then
    ok "holdpage $kind: poke $value, the process itself saw exactly that: $(holder_changes "$kind" "$hp")"
  else
    bad "holdpage $kind: poke exit $rc $(cat "$W/poke.err"); the process saw '$(holder_changes "$kind" "$hp")'"
  fi
  stop_holder "$job"
done
echo 0 >/proc/sys/vm/nr_hugepages
summary placements "$MIN"
