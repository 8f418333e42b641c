#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/e2e/kmod.sh: inside the VM, physdemo and a kernel module agree on a
# kmalloc buffer. physdemo_buf.ko (demos/kmod) reports its buffer's vaddr,
# paddr and value in debugfs; `physdemo peek` at paddr reads exactly the
# module's value; the module's vaddr is its paddr plus the direct-map base it
# reports (PAGE_OFFSET: read, never assumed, so this runs with KASLR too, as
# tests/it/vm.rs also does); after each `physdemo poke` the module reports exactly the
# value poked (64-bit, and a 32-bit poke of the upper half); a value the
# module stores (written to its file) is what peek reads; rmmod removes the
# file and a second load/unload works.
#
# Uses the module at /lib/modules/$(uname -r)/extra/physdemo_buf.ko (or $1),
# where demos/vm/run puts the project's modules in every VM run. On the host:
#   demos/vm/run demos/e2e/kmod.sh
# (tests/it/vm.rs does exactly this). Prints "ok"/"FAIL" lines with the exact
# values, then "kmod: N passed, N failed"; exit 0 only when all 14 passed.
set -eu
. "$(dirname "$0")/../lib.sh"
ko="${1:-/lib/modules/$(uname -r)/extra/physdemo_buf.ko}"
file=/sys/kernel/debug/physdemo_buf
peek64() { physdemo peek "$1" --width 64 --json | json_field value; }

if [ ! -f "$ko" ]; then
  bad "no module at $ko: demos/vm/run adds it (demos/kmod/build builds it)"
  summary kmod 14; exit 1
fi
grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug

if insmod "$ko" && [ -r "$file" ]; then ok "insmod $ko created $file"; else
  bad "insmod $ko did not create $file"; summary kmod 14; exit 1
fi
vaddr="$(key_value vaddr "$file")" paddr="$(key_value paddr "$file")" value="$(key_value value "$file")"
if [ "$value" = 0xfeedfacecafebeef ]; then ok "the module stored $value"; else bad "initial value '$value'"; fi
# The direct map: vaddr = paddr + PAGE_OFFSET, as the module reports it (fixed at
# 0xffff888000000000 with nokaslr, randomized with KASLR: never assumed here).
base="$(key_value page_offset "$file")"
if [ -n "$base" ] && [ $((vaddr - base)) -eq $((paddr)) ]; then
  ok "vaddr $vaddr is the direct map of paddr $paddr (PAGE_OFFSET $base, read from the module)"
else
  bad "vaddr $vaddr - PAGE_OFFSET '$base' != paddr $paddr"
fi
case " $(cat /proc/cmdline) " in
  *" nokaslr "*) [ "$base" = 0xffff888000000000 ] && ok "nokaslr: the direct map starts at $base" ||
                   bad "nokaslr, yet PAGE_OFFSET is $base" ;;
  *) [ "$base" != 0xffff888000000000 ] && ok "KASLR: the direct map starts at $base, not 0xffff888000000000" ||
       bad "KASLR on, yet PAGE_OFFSET is 0xffff888000000000" ;;
esac
region="$(physdemo peek "$paddr" --width 64 --json | json_field name)"
if [ "$region" = "System RAM" ]; then ok "$paddr is in System RAM"; else bad "$paddr is in '$region'"; fi

seen="$(peek64 "$paddr")"
if [ "$seen" = "$value" ]; then ok "peek $paddr = $seen = the module's value"; else bad "peek $paddr = '$seen', module says $value"; fi

for v in 0x0123456789abcdef 0xffffffffffffffff 0x0000000000000000 0x8000000000000001; do
  if out="$(physdemo poke "$paddr" "$v" --width 64 --json)"; then
    now="$(key_value value "$file")"
    if [ "$now" = "$v" ]; then
      ok "poke $v --width 64: the module reads exactly $now (readback $(echo "$out" | json_field readback))"
    else
      bad "poke $v --width 64: the module reads $now"
    fi
  else
    bad "poke $paddr $v --width 64 failed"
  fi
done

# A 32-bit poke of the upper half: x86 is little-endian, so it is at paddr + 4.
physdemo poke "$paddr" 0x0011223344556677 --width 64 >/dev/null
physdemo poke "$(printf '%#x' $((paddr + 4)))" 0xcafef00d --width 32 >/dev/null
now="$(key_value value "$file")"
if [ "$now" = 0xcafef00d44556677 ]; then ok "poke 0xcafef00d --width 32 at paddr+4: the module reads $now"; else bad "upper-half poke: the module reads $now"; fi

# The other direction: the kernel stores (WRITE_ONCE), /dev/mem reads.
echo 0x5eed0000000000ff >"$file"
seen="$(peek64 "$paddr")"
if [ "$seen" = 0x5eed0000000000ff ]; then ok "the module stored 0x5eed0000000000ff; peek reads $seen"; else bad "the module stored 0x5eed0000000000ff; peek reads $seen"; fi

if rmmod physdemo_buf && [ ! -e "$file" ] && ! grep -q '^physdemo_buf ' /proc/modules; then
  ok "rmmod removed the module and $file"
else
  bad "rmmod left the module or $file behind"
fi
if insmod "$ko" && [ "$(key_value value "$file")" = 0xfeedfacecafebeef ] && rmmod physdemo_buf; then
  ok "a second load starts from 0xfeedfacecafebeef again and unloads"
else
  bad "a second load/unload failed"
fi
summary kmod 14
