#!/bin/sh
# demos/stress/placements.sh: inside the VM, `physdemo poke <pid> <vaddr>` into
# every kind of place a variable can live, and the process reporting exactly
# the value written:
#
#   physdemo target --where mmap|heap|stack|static   (the target's "change" event)
#   holdpage heap|stack|static|thp|hugetlb           (a process that is not
#       physdemo: its own "change PID OLD -> NEW" line; demos/stress/holdpage.c)
#
# For each: the mapping `physdemo inspect` names is the expected one ([heap],
# [stack], the executable, an anonymous or huge-page mapping); its frame is the
# one the raw pagemap entry read with dd gives, and its physical address is
# that frame * 4096 + the offset in the page (for a THP or hugetlbfs page the
# word lies deep inside the huge page, 0x5040 and 0x12340 bytes in, so the
# 4 KiB subpage counts); the THP really is one (smaps AnonHugePages, and
# inspect says "transparent huge page"), the hugetlbfs page too.
#
# Usage (host): PHYSDEMO_VM_FILES="$(demos/stress/build)" demos/vm/run demos/stress/placements.sh
# Ends with "placements: N passed, N failed" (summary, minimum 29 checks).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/holders.sh"
need_helpers holdpage
MIN=29

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

# --- physdemo targets --------------------------------------------------------
for where in mmap heap stack static; do
  start_target --where "$where" --timeout 120 || { bad "target --where $where did not start"; continue; }
  case $where in
    mmap) want='[[]anonymous[]]' ;; heap) want='[[]heap[]]' ;; stack) want='[[]stack[]]' ;; static) want='*/physdemo' ;;
  esac
  located "target --where $where" "$pid" "$vaddr" "$want"
  value="$(printf '0x%04x%012x' $((0x7a00 + ${#where})) "$pid")"
  if physdemo poke "$pid" "$vaddr" "$value" >"$W/poke.out" 2>"$W/poke.err" &&
     wait_for "$tout" "\"new\":\"$value\"" 30; then
    ok "target --where $where: poke $value, the target reports exactly that"
  else
    bad "target --where $where: poke $value: $(cat "$W/poke.err"); target: $(grep change "$tout")"
  fi
  stop_target
done

# --- a process that is not physdemo, in every placement ---------------------------
echo 4 >/proc/sys/vm/nr_hugepages
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
  sub_pfn=$(($(pm_pfn "$(pagemap_raw "$hp" "$ha")") & 511)) sub_va=$((($ha >> 12) & 511))
  subpage="subpage $sub_pfn of the huge page at frame $(printf '%#x' $(($(pm_pfn "$(pagemap_raw "$hp" "$ha")") & ~511)))"
  case $kind in
    thp)
      kb="$(smaps_kb_at "$hp" "$ha" AnonHugePages)"
      if [ "${kb:-0}" -ge 2048 ] && [ "$huge" = "transparent huge page (THP)" ] && [ "$sub_pfn" = "$sub_va" ]; then
        ok "holdpage thp: a real THP (smaps AnonHugePages $kb kB; inspect: $huge), the word in $subpage"
      else bad "holdpage thp: AnonHugePages '$kb' kB, inspect huge_page '$huge', $subpage (want $sub_va)"; fi ;;
    hugetlb)
      if [ "$huge" = "hugetlbfs huge page" ] && [ "$sub_pfn" = "$sub_va" ]; then
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
