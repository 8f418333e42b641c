#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/e2e/devmem.sh: inside the VM, `physdemo devmem`, `peek` and `dump`
# read exactly what busybox devmem reads at the same physical address, in
# every width; a busybox devmem write is seen by `physdemo peek` (and by the
# target holding that memory); a `physdemo devmem` write is seen by busybox;
# and the edu PCI device's registers answer physdemo as they answer busybox.
#
# Usage (on the host): demos/vm/run demos/e2e/devmem.sh
# Prints "ok"/"FAIL" lines with the exact values, then "devmem: N passed,
# N failed"; exit 0 only when all 41 checks ran and passed.
set -eu
. "$(dirname "$0")/../lib.sh"

start_target --timeout 60 || bad "the target did not start"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
echo "target pid $pid, variable $vaddr -> physical $paddr"

# 1. Same bytes, same text: physdemo devmem vs busybox devmem, every width spelling.
ktext="0x$(grep 'Kernel code' /proc/iomem | head -n 1 | sed 's/^ *//; s/-.*//')"
for addr in "$paddr" "$ktext" 0x1000; do
  for width in "" 8 16 32 64 b h w l B; do
    # shellcheck disable=SC2086  # empty width means "no WIDTH argument"
    want="$(busybox devmem "$addr" $width)"
    # shellcheck disable=SC2086
    got="$(physdemo devmem "$addr" $width)"
    if [ "$got" = "$want" ]; then
      ok "devmem $addr ${width:-(default)}: physdemo '$got' = busybox '$want'"
    else
      bad "devmem $addr ${width:-(default)}: physdemo '$got' != busybox '$want'"
    fi
  done
done

# 2. peek (all three forms, both methods) reads what busybox reads.
want="$(busybox devmem "$paddr" 64 | lower)"
for form in "$paddr --width 64" "$pid $vaddr" "" "$paddr --width 64 --method rw" "$pid $vaddr --cached"; do
  # shellcheck disable=SC2086
  got="$(physdemo peek $form --json | json_field value)"
  if [ "$got" = "$want" ]; then
    ok "peek ${form:-(no arguments)} -> $got = busybox devmem $paddr 64"
  else
    bad "peek ${form:-(no arguments)} -> '$got', busybox devmem says '$want'"
  fi
done

# 3. A write by busybox devmem is seen by physdemo peek, and by the target.
W=0x0123456789ABCDEF
busybox devmem "$paddr" 64 "$W"
got="$(physdemo peek "$pid" "$vaddr" --json | json_field value)"
sleep 0.3
seen="$(grep '"event":"change"' "$tout" | tail -n 1 | json_field new)"
if [ "$got" = "$(echo "$W" | lower)" ] && [ "$seen" = 0x123456789abcdef ]; then
  ok "busybox devmem $paddr 64 $W -> physdemo peek $got; target saw $seen"
else
  bad "after busybox devmem write $W: physdemo peek '$got', target saw '$seen'"
fi

# 4. A write by physdemo devmem is seen by busybox devmem (8 bits, then 64).
physdemo devmem "$paddr" b 0x5A
byte="$(busybox devmem "$paddr" 8)"
physdemo devmem "$paddr" 64 0xFEEDFACECAFEBEEF
word="$(busybox devmem "$paddr" 64)"
if [ "$byte" = 0x5A ] && [ "$word" = 0xFEEDFACECAFEBEEF ]; then
  ok "physdemo devmem writes read back by busybox: $byte, $word"
else
  bad "physdemo devmem writes: busybox read '$byte' (want 0x5A), '$word' (want 0xFEEDFACECAFEBEEF)"
fi
wout="$(physdemo devmem "$paddr" 64 0x1122334455667788)"
if [ -z "$wout" ]; then ok "a physdemo devmem write prints nothing, as busybox"; else bad "devmem write printed '$wout'"; fi

# 5. dump of the target's page header shows its magic, in hexdump -C layout.
page=$(( paddr - 0x40 ))
dump="$(physdemo dump "$page" 16)"
echo "$dump" | sed 's/^/    | /'
if echo "$dump" | head -n 1 | grep -q "^$(printf '%08x' "$page")  50 48 59 53 44 45 4d 4f  .* |PHYSDEMO"; then
  ok "dump $(printf '%#x' "$page") 16 starts with the target's magic |PHYSDEMO...|"
else
  bad "dump of the target page lacks the PHYSDEMO magic"
fi

# 6. The edu PCI device: ID register and the bit-inverting liveness register.
edu="$(edu_dir)"
if [ -n "$edu" ]; then
  echo 1 >"$edu/enable" 2>/dev/null || true
  bar0="$(bar_start "$edu")"
  id="$(physdemo devmem "$bar0")"
  physdemo devmem $((bar0 + 4)) 32 0x12345678
  live="$(busybox devmem $((bar0 + 4)) 32)"
  region="$(physdemo peek "$bar0" | grep '^region')"
  if [ "$id" = 0x010000ED ] && [ "$live" = 0xEDCBA987 ]; then
    ok "edu BAR0 $bar0: physdemo devmem ID = $id; wrote 0x12345678 to liveness, busybox reads $live"
  else
    bad "edu BAR0 $bar0: ID '$id' (want 0x010000ED), liveness '$live' (want 0xEDCBA987)"
  fi
  echo "    | $region"
  if echo "$region" | grep -q "$(basename "$edu")"; then
    ok "peek names the device's /proc/iomem region: ${region#region    }"
  else
    bad "peek region for edu BAR0: '$region'"
  fi
else
  bad "no edu device (1234:11e8) in this VM"
fi

stop_target
summary devmem 41

