#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/vm/explain.sh: `physdemo explain` inside the VM, each answer checked against
# the kernel's own files and against what peek and poke then really do:
#
#   - a target's variable: its pid, virtual address, the physical address pagemap
#     gives (read by dd) and the class anonymous;
#   - 0xfed00000: the HPET, as /proc/iomem has it;
#   - edu's BAR0 + 0x4: the device (sysfs, 1234:11e8), BAR0, offset 0x4, the liveness
#     register;
#   - an address in no region of /proc/iomem (found by awk): said to be in none;
#   - schedule + 0x10 (kallsyms - _text + Kernel code): schedule+0x10, and so does
#     explain --symbol schedule+0x10;
#   - every door verdict (/dev/mem, /dev/physmem, /proc/kcore) for the target's variable, a page of
#     RAM below 1 MiB, edu's identification register, the HPET and the kernel's code:
#     a read verdict against `peek --device DOOR`, a write verdict against
#     `poke --device DOOR` of the target's variable (the target reports the exact value),
#     edu's liveness register and the kernel's code (refused before any access);
#     and the door peek takes by itself against `peek` without --device.
#   MODE default: the permissive kernel, no physdemo_mem, no /proc/kcore.
#   MODE distro (PHYSDEMO_VM_KERNEL=distro): first without physdemo_mem (RAM above
#     1 MiB: /dev/mem refuses, peek --device /dev/mem fails with EPERM; peek by
#     itself reads RAM through /proc/kcore, as explain says), then with it
#     loaded (/dev/physmem reads it, and peek --device /dev/physmem does).
#
# Usage (host): demos/vm/run demos/vm/explain.sh MODE (tests/it/vm.rs runs both).
# Prints "ok"/"FAIL" lines, then "explain-MODE: N passed, N failed".
set -u
. "$(dirname "$0")/../lib.sh"

mode="${1:-}"
case "$mode" in
  default) min=33 ;;
  distro) min=63 ;;
  *) die "usage: explain.sh default|distro (got '$mode')" ;;
esac
extra="/lib/modules/$(uname -r)/extra"

# pagemap_paddr PID VADDR: the physical address, from pagemap read by dd (not physdemo)
pagemap_paddr() {
  _e="$(dd if="/proc/$1/pagemap" bs=8 skip=$(($2 / 4096)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')"
  printf '0x%x' $(( ((0x$_e) & 0x7fffffffffffff) * 4096 + ($2 % 4096) ))
}
# verdict JSON DOOR: "READ WRITE" (true, false or null) of DOOR in explain's --json
verdict() {
  printf '%s' "$1" | sed -n "s|.*\"door\":\"$2\",\"read\":{\"ok\":\([a-z]*\),\"why\":\"[^\"]*\"},\"write\":{\"ok\":\([a-z]*\),.*|\1 \2|p"
}
# why JSON DOOR: the read verdict's reason
why() { printf '%s' "$1" | sed -n "s|.*\"door\":\"$2\",\"read\":{\"ok\":[a-z]*,\"why\":\"\([^\"]*\)\".*|\1|p"; }
# route JSON: the door peek takes by itself, or null
route() { printf '%s' "$1" | sed -n 's/.*"routes":{"peek":{"door":"\{0,1\}\([^",]*\)"\{0,1\},.*/\1/p'; }

start_target --timeout 250 || die "physdemo target did not start"
paddr="$(pagemap_paddr "$pid" "$vaddr")"
echo "    target pid $pid, variable $vaddr -> physical $paddr (pagemap, by dd)"

# --- what is there ---------------------------------------------------------------
j="$(physdemo explain "$pid" "$vaddr" --json)"
if [ "$(echo "$j" | obj_field process pid)" = "$pid" ] && [ "$(echo "$j" | obj_field process vaddr)" = "$vaddr" ] &&
   [ "$(echo "$j" | json_field paddr)" = "$paddr" ] && [ "$(echo "$j" | obj_field frame class)" = anonymous ]; then
  ok "explain $pid $vaddr: pid $pid, vaddr $vaddr, physical $paddr (= pagemap), class anonymous"
else bad "explain $pid $vaddr: $j"; fi

hpet_line="$(grep -i '^fed00000-[0-9a-f]* : HPET' /proc/iomem)"
text="$(physdemo explain 0xfed00000)"
hpet_name="${hpet_line#* : }"
if [ -n "$hpet_line" ] && echo "$text" | grep -q "^iomem     $hpet_name \[0xfed00000-"; then
  ok "explain 0xfed00000: $(echo "$text" | sed -n 's/^iomem     //p') (/proc/iomem: $hpet_line)"
else bad "explain 0xfed00000 does not name '$hpet_line': $text"; fi

bdf="" bar0=""
for dir in /sys/bus/pci/devices/*; do
  if [ "$(cat "$dir/vendor")" = 0x1234 ] && [ "$(cat "$dir/device")" = 0x11e8 ]; then
    bdf="$(basename "$dir")"; bar0="$(head -n 1 "$dir/resource" | cut -d' ' -f1)"
  fi
done
edu="$(printf '0x%x' $((bar0 + 4)))"
line="$(physdemo explain "$edu" | sed -n 's/^pci       //p')"
case "$line" in
  "$bdf (1234:11e8) BAR0 [$(printf '0x%x' $((bar0))), "*" bytes] + 0x4: card liveness check"*)
    ok "explain $edu: $line (sysfs: edu is $bdf, BAR0 at $bar0)" ;;
  *) bad "explain $edu: '$line' (sysfs: edu is '$bdf', BAR0 at '$bar0')" ;;
esac

# The first byte after a top-level range that no top-level range holds.
gap="$(awk -F' : ' '/^[0-9a-f]/ { split($1, r, "-"); print r[1], r[2] }' /proc/iomem | while read -r s e; do
  a=$((0x$e + 1)); held=0
  while read -r s2 e2; do [ $((0x$s2)) -le "$a" ] && [ "$a" -le $((0x$e2)) ] && held=1; done <<EOF
$(awk -F' : ' '/^[0-9a-f]/ { split($1, r, "-"); print r[1], r[2] }' /proc/iomem)
EOF
  [ "$held" -eq 0 ] && { printf '0x%x\n' "$a"; break; }
done)"
if [ -n "$gap" ] && physdemo explain "$gap" | grep -qx "iomem     none: $gap is in no region of /proc/iomem"; then
  ok "explain $gap: in no region of /proc/iomem (no top-level range of /proc/iomem holds it)"
else bad "explain '$gap' is not said to be in no region: $(physdemo explain "$gap" 2>&1 | head -n 3)"; fi

# An address inside a kernel function: that function and the offset, as /proc/kallsyms
# has them (its address minus _text plus the start of "Kernel code", computed here), and
# no symbol of kallsyms lies between the function's start and the address.
ktext="$(sed -n 's/^\([0-9a-f]*\) T _text$/\1/p' /proc/kallsyms)"
kfunc="$(sed -n 's/^\([0-9a-f]*\) T schedule$/\1/p' /proc/kallsyms)"
kcode0="$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel code$/\1/p' /proc/iomem)"
inside="$(printf '0x%x' $(( 0x$kfunc - 0x$ktext + 0x$kcode0 + 0x10 )))"
# the first symbol of kallsyms after schedule's address (fixed-width hex sorts as numbers)
next="$(sort /proc/kallsyms | awk -v lo="$kfunc" '$1 > lo { print $1; exit }')"
between=1; [ -n "$next" ] && [ $((0x$next)) -gt $((0x$kfunc + 0x10)) ] && between=0
line="$(physdemo explain "$inside" | sed -n 's/^symbol    //p')"
case "$line:$between" in
  "schedule+0x10 (T, in text; kernel 0x$(printf '%x' $((0x$kfunc + 0x10))), /proc/kallsyms)":0)
    ok "explain $inside (schedule + 0x10 by kallsyms and iomem): $line" ;;
  *) bad "explain $inside: symbol '$line', symbols between schedule and +0x10: $between" ;;
esac
if [ "$(physdemo explain --symbol schedule+0x10 --json | json_field paddr)" = "$inside" ]; then
  ok "explain --symbol schedule+0x10 is $inside too"
else bad "explain --symbol schedule+0x10: $(physdemo explain --symbol schedule+0x10 --json 2>&1 | head -c 300)"; fi

# --- the doors, against what peek and poke then do --------------------------------
low="$(awk -F' : ' '$2 == "System RAM" { split($1, r, "-"); if (r[1] != "" && length(r[1]) <= 8) { print r[1]; exit } }' /proc/iomem)"
low="$(printf '0x%x' $(( (0x$low + 0xfff) / 4096 * 4096 )))"
kcode="0x$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel code$/\1/p' /proc/iomem)"
echo "    addresses: target $paddr, low RAM $low, edu ident $(printf '0x%x' $((bar0))), HPET 0xfed00000, Kernel code $kcode"

# check_read ADDR WIDTH DOOR: explain's read verdict against peek --device DOOR
check_read() {
  _j="$(physdemo explain "$1" --json)"
  set -- "$1" "$2" "$3" $(verdict "$_j" "$3")
  if physdemo peek "$1" --width "$2" --device "$3" >/dev/null 2>/tmp/peek.err; then _got=true; else _got=false; fi
  if [ "$4" = "$_got" ]; then ok "$1 through $3: explain says read $4 ($(why "$_j" "$3")), peek --device $3 $([ "$_got" = true ] && echo read it || echo "failed: $(cat /tmp/peek.err)")"
  else bad "$1 through $3: explain says read '$4' ($(why "$_j" "$3")), peek --device $3: $_got $(cat /tmp/peek.err)"; fi
}
# check_route ADDR WIDTH: the door explain says peek takes by itself, against peek
check_route() {
  _r="$(route "$(physdemo explain "$1" --json)")"
  _used="$(physdemo peek "$1" --width "$2" --json 2>/tmp/peek.err | json_field device)"
  case "$_r:$_used" in
    null:) ok "$1: explain says peek finds no door by itself, and peek failed: $(cat /tmp/peek.err)" ;;
    /*:"$_r"*) ok "$1: explain says peek goes through $_r by itself, and peek did: $_used" ;;
    *) bad "$1: explain's route '$_r', peek used '$_used' $(cat /tmp/peek.err)" ;;
  esac
}
# check_write ADDR WIDTH VALUE DOOR: explain's write verdict against poke --device DOOR
check_write() {
  _j="$(physdemo explain "$1" --json)"
  _w="$(verdict "$_j" "$4" | cut -d' ' -f2)"
  if physdemo poke "$1" "$3" --width "$2" --device "$4" >/dev/null 2>/tmp/poke.err; then _got=true; else _got=false; fi
  if [ "$_w" = "$_got" ]; then ok "$1 through $4: explain says write $_w, poke --device $4 $([ "$_got" = true ] && echo wrote "$3" || echo "failed: $(cat /tmp/poke.err)")"
  else bad "$1 through $4: explain says write '$_w', poke --device $4: $_got $(cat /tmp/poke.err)"; fi
}

n=0
all_doors() { # all_doors: every check of every door present or not
  for door in /dev/mem /dev/physmem /proc/kcore; do
    check_read "$paddr" 64 "$door"
    check_read "$low" 32 "$door"
    check_read "$(printf '0x%x' $((bar0)))" 32 "$door"
    check_read 0xfed00000 32 "$door"
    check_read "$kcode" 32 "$door"
    n=$((n + 1)); value="$(printf '0x%x' $((0x5eed0000 + n)))"
    check_write "$paddr" 64 "$value" "$door"
    if [ "$_got" = true ]; then
      if wait_for "$tout" "\"new\":\"$value\"" 50 >/dev/null; then ok "the target saw exactly $value (its own report)"
      else bad "the target did not report $value"; fi
    fi
    check_write "$edu" 32 0x12345678 "$door"
    check_write "$kcode" 32 0x0 "$door"
  done
  for a in "$paddr" "$(printf '0x%x' $((bar0)))"; do check_route "$a" 32; done
}

if [ "$mode" = distro ]; then
  j="$(physdemo explain "$paddr" --json)"
  case "$(verdict "$j" /dev/mem):$(why "$j" /dev/mem)" in
    "false false:STRICT_DEVMEM"*) ok "without physdemo_mem, /dev/mem: $(why "$j" /dev/mem)" ;;
    *) bad "without physdemo_mem, /dev/mem's verdict for $paddr: $(verdict "$j" /dev/mem): $(why "$j" /dev/mem)" ;;
  esac
  pd peek "$paddr" --device /dev/mem
  if [ "$rc" -ne 0 ] && case "$err" in *"(EPERM)"*) true ;; *) false ;; esac; then ok "and peek --device /dev/mem $paddr really fails with EPERM: $err"
  else bad "peek --device /dev/mem $paddr: exit $rc, $err"; fi
  all_doors
  if insmod "$extra/physdemo_mem.ko" && [ -c /dev/physmem ]; then ok "insmod physdemo_mem: /dev/physmem"
  else bad "insmod physdemo_mem failed"; fi
  j="$(physdemo explain "$paddr" --json)"
  if [ "$(verdict "$j" /dev/physmem)" = "true true" ] && physdemo peek "$paddr" --device /dev/physmem >/dev/null; then
    ok "with physdemo_mem, /dev/physmem reads and writes $paddr ($(why "$j" /dev/physmem)), and peek --device /dev/physmem reads it"
  else bad "with physdemo_mem, /dev/physmem's verdict for $paddr: $(verdict "$j" /dev/physmem)"; fi
fi
# What a reader sees (the README's example): the target's variable, and edu's register.
physdemo explain "$pid" "$vaddr" | sed 's/^/    | /'
physdemo explain "$edu" | sed 's/^/    | /'
all_doors
stop_target
summary "explain-$mode" "$min"
