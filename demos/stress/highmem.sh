#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/stress/highmem.sh: inside a VM with more than 4 GiB of RAM, a frame
# above 4 GiB, where a 32-bit physical address no longer reaches:
#
#   - /proc/iomem has System RAM at 0x100000000 and up;
#   - a physdemo target's page is put above 4 GiB (moved to the second NUMA
#     node with move_pages if it is not there already: with 5 GiB and two
#     nodes, node 1 lies wholly above 4 GiB); the target is started
#     --movable, since by default it holds its page where it is;
#   - inspect's physical address is above 4 GiB and equals the raw pagemap
#     frame (dd) * 4096 + the offset;
#   - `poke <pid> <vaddr>` lands there and the target reports the exact value;
#     busybox devmem (mmap of /dev/mem at that 64-bit offset) and physdemo
#     peek read it back;
#   - `poke <paddr>` with the raw 64-bit physical address (a 32-bit write of
#     the upper half) changes the target's variable as expected;
#   - `physdemo owner` of that address finds the target.
#
# Usage (host): PHYSDEMO_VM_MEM=5G PHYSDEMO_VM_NUMA=2 PHYSDEMO_VM_FILES="$(demos/stress/build)" \
#                 demos/vm/run demos/stress/highmem.sh
# Ends with "highmem: N passed, N failed" (summary, minimum 8 checks).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/holders.sh"
need_helpers movepage
FOUR_GIB=$((0x100000000))

high="$(grep -i '^ *1[0-9a-f]\{8\}-[0-9a-f]* : System RAM' /proc/iomem | head -n 1 | sed 's/^ *//')"
[ -n "$high" ] && ok "System RAM above 4 GiB: $high" || { bad "no System RAM above 4 GiB (PHYSDEMO_VM_MEM=5G?)"; summary highmem 8; exit 1; }

start_target --interval-us 1000 --movable || die "physdemo target did not start"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
tries=0
while [ $((paddr)) -lt $FOUR_GIB ] && [ $tries -lt 4 ]; do
  echo "    target frame at $paddr, below 4 GiB: moving it to the other node"
  "$MOVEPAGE" "$pid" "$vaddr" 1 | head -n 1 | sed 's/^/    /'
  paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
  tries=$((tries + 1))
done
raw="$(pagemap_raw "$pid" "$vaddr")"
want="$(printf '0x%x' $(((0x$raw & ((1 << 55) - 1)) * 4096 + (vaddr & 4095))))"
if [ $((paddr)) -ge $FOUR_GIB ] && [ "$(norm_hex "$paddr")" = "$(norm_hex "$want")" ]; then
  ok "target pid $pid: $vaddr -> physical $paddr, above 4 GiB, = dd's frame $(pm_pfn "$raw") * 4096 + offset"
else
  bad "target at $paddr (dd: $want), not above 4 GiB"
fi

value=0x4819b0000000abcd
if physdemo poke "$pid" "$vaddr" "$value" >"$W/poke.out" 2>"$W/poke.err" && wait_for "$tout" "\"new\":\"$value\"" 50; then
  ok "poke $pid $vaddr $value: the target reports exactly that, written at $paddr"
else
  bad "poke above 4 GiB: $(cat "$W/poke.err"); target: $(grep change "$tout")"
fi
seen="$(devmem "$paddr" 64)"
[ "$(norm_hex "$seen")" = "$(norm_hex "$value")" ] && ok "busybox devmem $paddr 64 reads $seen" ||
  bad "busybox devmem $paddr 64 reads '$seen', want $value"
seen="$(physdemo peek "$paddr" --width 64 --json | json_field value)"
[ "$(norm_hex "$seen")" = "$(norm_hex "$value")" ] && ok "physdemo peek $paddr --width 64 reads $seen" ||
  bad "physdemo peek $paddr reads '$seen'"
upper="$(printf '0x%x' $((paddr + 4)))"
if physdemo poke "$upper" 0x5eedface --width 32 >/dev/null 2>"$W/poke.err" &&
   wait_for "$tout" '"new":"0x5eedface0000abcd"' 50; then
  ok "poke $upper 0x5eedface --width 32 (a raw address above 4 GiB): the target reports 0x5eedface0000abcd"
else
  bad "raw 32-bit poke at $upper: $(cat "$W/poke.err"); target: $(grep change "$tout" | tail -n 1)"
fi
if physdemo owner "$paddr" --json | grep -q "\"pid\":${pid}[,}]"; then ok "owner $paddr finds the target, pid $pid"
else bad "owner $paddr: $(physdemo owner "$paddr" 2>&1 | head -n 3)"; fi
changes="$(grep -c '"event":"change"' "$tout")"
[ "$changes" = 2 ] && ok "the target saw exactly the 2 writes" || bad "the target saw $changes changes"
stop_target
summary highmem 8
