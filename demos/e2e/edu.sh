#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/e2e/edu.sh: inside the VM, QEMU's `edu` PCI device answers physdemo
# --pci as its spec says: the identification register reads 0x010000ed (through
# --pci by address and by vendor:device, and through busybox devmem at the BAR
# address from sysfs); the liveness register returns the exact inverse of
# every value written; the factorial unit computes N! for several N; dump
# --pci shows the same registers; peek's region names the device; bad BARs,
# offsets and devices fail with their exit codes.
#
# Usage (on the host): demos/vm/run demos/e2e/edu.sh
# Prints "ok"/"FAIL" lines with the exact values, then "edu: N passed,
# N failed"; exit 0 only when all passed and at least the 26 checks every VM
# runs did (a 27th names an I/O port BAR, when the VM has one).
set -eu
. "$(dirname "$0")/../lib.sh"

edu="$(edu_dir)"
if [ -z "$edu" ]; then
  bad "no edu device (1234:11e8) in /sys/bus/pci/devices"
  summary edu 26; exit 1
fi
bdf="$(basename "$edu")" bar0="$(bar_start "$edu")"
ok "edu is $bdf, BAR0 at $bar0"
reg() { physdemo peek --pci "$bdf" --bar 0 "$1" --json | json_field value; }

# Identification, three ways.
for dev in "$bdf" 1234:11e8; do
  id="$(physdemo peek --pci "$dev" --bar 0 0x0 --json | json_field value)"
  if [ "$id" = 0x010000ed ]; then ok "peek --pci $dev --bar 0 0x0 = $id"; else bad "peek --pci $dev 0x0 = '$id'"; fi
done
id="$(devmem "$((bar0))" 32 | tr 'A-FX' 'a-fx')"
if [ "$id" = 0x010000ed ]; then ok "busybox devmem $bar0 32 = $id"; else bad "busybox devmem $bar0 = '$id'"; fi
paddr="$(physdemo peek --pci "$bdf" 0x0 --json | json_field paddr)"
if [ $((paddr)) -eq $((bar0)) ]; then ok "--pci resolves BAR0 + 0 to $paddr"; else bad "--pci resolved $paddr, sysfs says $bar0"; fi
region="$(physdemo peek --pci "$bdf" 0x0 | sed -n 's/^region *//p')"
case "$region" in
  "$bdf "*) ok "the region names the device: $region" ;;
  *) bad "region '$region' does not name $bdf" ;;
esac

# Liveness: the exact inverse, through poke's own read-back (--read-back: a device
# gets no read unless asked) and a later peek.
for v in 0x12345678 0x00000000 0xffffffff 0xa5a5a5a5 0x00000001 0x80000000; do
  want="$(printf '0x%08x' $(( ~v & 0xffffffff )))"
  readback="$(physdemo poke --pci "$bdf" --bar 0 0x04 "$v" --read-back --json | json_field readback)"
  got="$(reg 0x04)"
  if [ "$readback" = "$want" ] && [ "$got" = "$want" ]; then
    ok "liveness: wrote $v, read back $got"
  else
    bad "liveness: wrote $v, want $want, poke read back '$readback', peek '$got'"
  fi
done

# Factorial: write N to 0x08, wait for status bit 0 to clear, read 0x08.
for n in 0 1 5 10 12; do
  physdemo poke --pci "$bdf" --bar 0 0x08 "$n" >/dev/null
  tries=0
  while [ $(( $(reg 0x20) & 1 )) -ne 0 ] && [ "$tries" -lt 100 ]; do tries=$((tries + 1)); done
  fact=1 i=2
  while [ "$i" -le "$n" ]; do fact=$((fact * i)); i=$((i + 1)); done
  want="$(printf '0x%08x' "$fact")"
  got="$(reg 0x08)"
  if [ "$got" = "$want" ]; then ok "factorial: $n! = $got"; else bad "factorial: $n! came back '$got', want $want"; fi
done

# dump --pci shows the registers (little-endian words).
line="$(physdemo dump --pci "$bdf" --bar 0 0x0 16 | head -n 1)"
case "$line" in
  "$(printf '%08x' $((bar0)))  ed 00 00 01 "*) ok "dump --pci: $line" ;;
  *) bad "dump --pci first line: '$line'" ;;
esac
# A plain dump of a device region reads whole words too (edu answers zeros to byte reads).
line="$(physdemo dump "$bar0" 16 | head -n 1)"
case "$line" in
  "$(printf '%08x' $((bar0)))  ed 00 00 01 "*) ok "dump of the device region by address: $line" ;;
  *) bad "dump $bar0 16 first line: '$line'" ;;
esac

# Error paths: each with its exit code.
expect() { # expect CODE DESCRIPTION ARGS...
  code="$1" what="$2"; shift 2
  set +e; err="$(physdemo "$@" 2>&1 >/dev/null)"; rc=$?; set -e
  if [ "$rc" -eq "$code" ] && [ -n "$err" ]; then ok "$what: exit $rc: $err"; else bad "$what: exit $rc (want $code): $err"; fi
}
expect 3 "unused BAR" peek --pci "$bdf" --bar 1 0x0
expect 2 "offset past the BAR" peek --pci "$bdf" --bar 0 0x100000
expect 2 "access straddling the BAR's end" peek --pci "$bdf" --bar 0 0xffffc --width 64
expect 3 "no such device" peek --pci 0000:00:1e.7 0x0
expect 3 "no such vendor:device" peek --pci 1234:ffff 0x0
expect 2 "a malformed device" poke --pci 00:04 0x4 0x1
io=""
for dir in /sys/bus/pci/devices/*; do
  i=0
  while read -r start end flags; do
    if [ "$i" -lt 6 ] && [ $((flags & 0x100)) -ne 0 ]; then io="$(basename "$dir") $i"; break 2; fi
    i=$((i + 1))
  done <"$dir/resource"
done
if [ -n "$io" ]; then
  set -- $io
  expect 5 "I/O port BAR ($1 BAR$2)" peek --pci "$1" --bar "$2" 0x0
fi
summary edu 26
