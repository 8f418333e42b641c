#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/vm/pat.sh: inside the VM booted with x86 PAT on (PHYSDEMO_VM_PAT=on),
# what reaches RAM through /dev/mem and what does not, and that physdemo says
# so exactly. With PAT on and no STRICT_DEVMEM, the kernel refuses every mmap
# of System RAM above 1 MiB, with or without O_SYNC (arch/x86/mm/pat/memtype.c:
# phys_mem_access_prot_allowed() -> range_is_allowed() -> devmem_is_allowed(),
# which denies RAM pages from frame 256 on; drivers/char/mem.c mmap_mem()
# returns EINVAL): so --cached cannot help, only --method rw (pread/pwrite)
# reaches RAM. Below 1 MiB and for device memory, mmap still works.
#
# With physdemo_mem loaded, physdemo goes through /dev/physmem where /dev/mem's
# mapping of RAM is refused for PAT, and says so; the doctor reports read()
# open, mapping EINVAL, PAT on, and /dev/physmem reading its page exactly.
#
# Usage (on the host): PHYSDEMO_VM_PAT=on demos/vm/run demos/vm/pat.sh
# Prints "ok"/"FAIL" lines with the exact values, then "pat: N passed, N
# failed"; exit 0 only when all passed.
set -u
. "$(dirname "$0")/../lib.sh"

if grep -qw nopat /proc/cmdline || ! grep -qw pat /proc/cpuinfo; then
  die "PAT is off (cmdline: $(cat /proc/cmdline)); run with PHYSDEMO_VM_PAT=on"
fi
pat_refusal() { # rc 5, one line blaming PAT for RAM, advising --method rw and not --cached
  [ "$rc" -eq 5 ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] \
    && echo "$err" | grep -q "with x86 PAT on, the kernel refuses to mmap System RAM above 1 MiB" \
    && echo "$err" | grep -q "(use --method rw" && ! echo "$err" | sed 's/.*(//' | grep -q -- --cached
}

start_target --timeout 60 || die "the target did not start"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
echo "target pid $pid, variable $vaddr at physical $paddr"

for flags in "" "--cached"; do
  pd peek "$paddr" --width 64 $flags
  if pat_refusal; then ok "peek $paddr ${flags:-(O_SYNC)}: exit 5: $err"; else bad "peek $paddr $flags: exit $rc: $err"; fi
  pd poke "$paddr" 0x42 --width 64 $flags
  if pat_refusal; then ok "poke $paddr ${flags:-(O_SYNC)}: exit 5"; else bad "poke $paddr $flags: exit $rc: $err"; fi
  pd poke "$paddr" 0x42 --width 64 --dry-run $flags
  if pat_refusal; then ok "poke --dry-run ${flags:-(O_SYNC)}: exit 5, the real poke's verdict"; else bad "poke --dry-run $flags: exit $rc: $out $err"; fi
done
if busybox devmem "$paddr" 64 >/dev/null 2>&1; then bad "busybox devmem mapped RAM under PAT"; else ok "busybox devmem (mmap) cannot read $paddr either"; fi
pd devmem "$paddr" 64
if pat_refusal; then ok "physdemo devmem $paddr 64: exit 5, the same advice"; else bad "physdemo devmem $paddr: exit $rc: $err"; fi

pd peek "$paddr" --width 64 --method rw
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^value     0x1122334455667788  (64-bit read via /dev/mem pread/pwrite"; then
  ok "peek --method rw reads the target's value 0x1122334455667788"
else
  bad "peek --method rw: exit $rc: $out $err"
fi
V=0xc0ffee0123456789
pd poke "$pid" "$vaddr" "$V" --method rw
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^target    saw $V at" && wait_for "$tout" "\"new\":\"$V\"" 50; then
  ok "poke --method rw: the target saw exactly $V"
else
  bad "poke --method rw: exit $rc: $out $err"
fi
stop_target

# Below 1 MiB, RAM still maps (devmem_is_allowed() answers 2 there), and so does MMIO.
low="$(printf '%#x' "0x$(grep 'System RAM' /proc/iomem | head -n 1 | sed 's/^ *//; s/-.*//')")"
pd peek "$low"
if [ "$rc" -eq 0 ]; then ok "peek $low (RAM below 1 MiB) maps under PAT"; else bad "peek $low: exit $rc: $err"; fi
pd peek --pci 1234:11e8 0x0
if [ "$rc" -eq 0 ] && echo "$out" | grep -q '^value     0x010000ed '; then ok "peek --pci edu's ID register maps under PAT: 0x010000ed"; else bad "peek --pci: exit $rc: $out $err"; fi

# physdemo_mem: the way around PAT for RAM, taken and named.
insmod "/lib/modules/$(uname -r)/extra/physdemo_mem.ko" || bad "insmod physdemo_mem"
start_target --timeout 60 || die "the target did not start"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
pd peek "$paddr" --width 64
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^value     0x1122334455667788  (64-bit read via /dev/physmem (physdemo_mem) mmap)$" &&
   echo "$out" | grep -q "^via       /dev/physmem (physdemo_mem) mmap, because /dev/mem refused $paddr (EINVAL): x86 PAT keeps System RAM above 1 MiB out of /dev/mem's mappings$"; then
  ok "with physdemo_mem, peek goes through /dev/physmem and says PAT refused /dev/mem's mapping"
else bad "peek with physdemo_mem: exit $rc: $out $err"; fi
V=0x0ddba11cafe0f00d
pd poke "$pid" "$vaddr" "$V"
if [ "$rc" -eq 0 ] && wait_for "$tout" "\"new\":\"0xddba11cafe0f00d\"" 50 && echo "$out" | grep -q "^via       /dev/physmem (physdemo_mem) mmap"; then
  ok "poke through /dev/physmem under PAT: the target saw exactly $V"
else bad "poke with physdemo_mem: exit $rc: $out $err"; fi
doc="$(physdemo doctor --json)"
physdemo doctor | sed 's/^/    | /'
got="$(echo "$doc" | obj_field dev_mem ram_read) $(echo "$doc" | obj_field dev_mem ram_mmap) $(echo "$doc" | obj_field pat on) $(echo "$doc" | obj_field physmem ram_mmap)"
if [ "$got" = "exact EINVAL true exact" ]; then
  ok "doctor: /dev/mem read() exact, mapping EINVAL, PAT on, /dev/physmem maps its page exactly"
else bad "doctor under PAT: '$got'"; fi
stop_target
rmmod physdemo_mem || bad "rmmod physdemo_mem"

summary pat 15
