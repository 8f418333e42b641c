#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/e2e/doctor.sh: inside the permissive VM (the default kernel, nopat),
# `physdemo doctor` reports every door open, and each line agrees with what
# dd, busybox devmem and the kernel's files show independently: /dev/mem reads
# physdemo's own page by read() and by mapping (and dd and busybox devmem read a
# target's variable at the address inspect gives), RAM below 1 MiB reads the same
# by read() as by mapping, every device range maps, STRICT_DEVMEM and
# IO_STRICT_DEVMEM off, PAT off (nopat), no lockdown LSM, /dev/port opens, no
# /proc/kcore (no CONFIG_PROC_KCORE), and nothing is the next step. With physdemo_mem loaded the doctor sees /dev/physmem
# read the page too, and a poke still goes through /dev/mem (no detour where
# /dev/mem works).
#
# On the host: demos/vm/run demos/e2e/doctor.sh (tests/it/vm.rs runs every
# demos/e2e script). Prints "ok"/"FAIL" lines with the exact values, then
# "doctor: N passed, N failed"; exit 0 only when all passed.
set -u
. "$(dirname "$0")/../lib.sh"

next_step() { sed -n 's/.*"next_step":"\(.*\)"}$/\1/p'; }
extra="/lib/modules/$(uname -r)/extra"

case "$(uname -r)" in
  *-physdemo) ;;
  *) bad "kernel $(uname -r) is not the default flavour"; summary doctor 13; exit 1 ;;
esac
start_target --timeout 100 || die "physdemo target did not start"
initial="$(json_field value <"$tout")"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"

physdemo doctor | sed 's/^/    | /'
doc="$(physdemo doctor --json)"
reads="$(echo "$doc" | obj_field dev_mem ram_read) $(echo "$doc" | obj_field dev_mem ram_mmap) $(echo "$doc" | obj_field dev_mem ram_mmap_cached)"
via_dd="0x$(dd if=/dev/mem bs=8 skip=$((paddr / 8)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')"
via_devmem="$(devmem "$paddr" 64 | lower)"
if [ "$reads" = "exact exact exact" ] && [ "$(norm_hex "$via_dd")" = "$(norm_hex "$initial")" ] &&
   [ "$(norm_hex "$via_devmem")" = "$(norm_hex "$initial")" ]; then
  ok "doctor: /dev/mem reads its own page exactly by read(), O_SYNC and cached mappings; dd and busybox devmem read the target's $initial at $paddr"
else bad "doctor: /dev/mem probes '$reads'; dd '$via_dd', devmem '$via_devmem', target $initial"; fi
low="$(echo "$doc" | obj_field low_ram word_at)" word="$(echo "$doc" | obj_field low_ram word)"
low_dd="0x$(dd if=/dev/mem bs=8 skip=$((low / 8)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')"
if [ "$(echo "$doc" | obj_field low_ram read)" = same ] && [ -n "$(norm_hex "$word")" ] &&
   [ "$(norm_hex "$low_dd")" = "$(norm_hex "$word")" ] && [ "$(norm_hex "$(devmem "$low" 64)")" = "$(norm_hex "$word")" ]; then
  ok "doctor: low RAM read() shows what the mapping shows: $word at $low, as dd and busybox devmem read it"
else bad "doctor low RAM: $(echo "$doc" | sed 's/.*"low_ram":\({[^}]*}\).*/\1/'); dd $low_dd"; fi
devices="$(echo "$doc" | grep -o '"map":"[A-Za-z]*"' | sort | uniq -c | tr -s ' ' | sed 's/^ //')"
if [ -n "$devices" ] && ! echo "$devices" | grep -qv '"map":"ok"'; then ok "doctor: every device range maps ($devices)"
else bad "doctor devices: $devices"; fi
for v in strict_devmem io_strict_devmem; do
  on="$(echo "$doc" | obj_field "$v" on)"
  if [ "$on" = false ]; then ok "doctor: $v off ($(echo "$doc" | sed -n "s/.*\"$v\":{\"on\":false,\"why\":\"\([^\"]*\)\".*/\1/p"))"
  else bad "doctor: $v '$on'"; fi
done
if [ "$(echo "$doc" | obj_field pat on)" = false ] && [ "$(echo "$doc" | obj_field pat nopat)" = true ] && grep -qw nopat /proc/cmdline; then
  ok "doctor: PAT off, nopat on the command line ($(cat /proc/cmdline))"
else bad "doctor PAT: $(echo "$doc" | sed 's/.*"pat":\({[^}]*}\).*/\1/')"; fi
if [ "$(echo "$doc" | obj_field lockdown mode)" = none ] && [ ! -e /sys/kernel/security/lockdown ]; then
  ok "doctor: no lockdown ($(echo "$doc" | sed -n 's/.*"lockdown":{"mode":"none","why":"\([^"]*\)".*/\1/p'))"
else bad "doctor lockdown: $(echo "$doc" | sed 's/.*"lockdown":\({[^}]*}\).*/\1/')"; fi
port="$(echo "$doc" | json_field dev_port)"
if [ "$port" = ok ] && dd if=/dev/port bs=1 skip=233 count=1 2>/dev/null >/dev/null; then ok "doctor: /dev/port opens (dd reads port 0xe9 too)"
else bad "doctor /dev/port '$port'"; fi
if [ "$(echo "$doc" | obj_field physmem present)" = false ] && [ "$(echo "$doc" | obj_field physmem module_file)" = "$extra/physdemo_mem.ko" ]; then
  ok "doctor: no /dev/physmem; the module is at $extra/physdemo_mem.ko"
else bad "doctor physmem: $(echo "$doc" | sed 's/.*"physmem":\({[^}]*}\).*/\1/')"; fi
if [ "$(echo "$doc" | obj_field kcore present)" = false ] && [ "$(echo "$doc" | obj_field kcore open)" = absent ] &&
   [ ! -e /proc/kcore ] && zcat /proc/config.gz >/tmp/config && grep -q '^CONFIG_DEVMEM=y' /tmp/config && ! grep -q '^CONFIG_PROC_KCORE=y' /tmp/config; then
  ok "doctor: /proc/kcore absent, as ls and the kernel's config (no CONFIG_PROC_KCORE=y) say"
else bad "doctor kcore: $(echo "$doc" | sed 's/.*"kcore":\({[^}]*}\).*/\1/'); /proc/kcore: $(ls -l /proc/kcore 2>&1)"; fi
step="$(echo "$doc" | next_step)"
if [ "$step" = "none: /dev/mem reaches RAM by read() and by mapping; physdemo works as it is" ]; then ok "doctor's next step: $step"
else bad "doctor's next step: '$step'"; fi

if insmod "$extra/physdemo_mem.ko"; then
  doc="$(physdemo doctor --json)"
  if [ "$(echo "$doc" | obj_field physmem ram_read) $(echo "$doc" | obj_field physmem ram_mmap)" = "exact exact" ] &&
     [ "$(echo "$doc" | obj_field physmem module)" = "Live (O)" ]; then
    ok "doctor with physdemo_mem: /dev/physmem reads its own page exactly; module Live (O)"
  else bad "doctor with the module: $(echo "$doc" | sed 's/.*"physmem":\({[^}]*}\).*/\1/')"; fi
  json="$(physdemo poke "$pid" "$vaddr" 0x600df00d600df00d --json)"
  if echo "$json" | grep -q '"detour":null,"device":"/dev/mem mmap, O_SYNC"' &&
     wait_for "$tout" '"new":"0x600df00d600df00d"' 50; then
    ok "with /dev/physmem there, a poke still goes through /dev/mem where it works (detour null); the target saw 0x600df00d600df00d"
  else bad "poke with the module: $json"; fi
  rmmod physdemo_mem || bad "rmmod physdemo_mem"
else bad "insmod $extra/physdemo_mem.ko"; fi
stop_target
summary doctor 13
