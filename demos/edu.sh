#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/edu.sh: device memory, narrated. QEMU's `edu` PCI device (1234:11e8)
# has registers in BAR0; physdemo finds them through sysfs and reads and
# writes them by physical address, and the device reacts:
#
#   1. find the device and its BAR0 in /sys/bus/pci/devices and /proc/iomem;
#   2. read the identification register (0x00): 0x010000ed;
#   3. write the liveness register (0x04): it reads back the bitwise inverse;
#   4. ask the factorial unit (0x08, status at 0x20) for N!.
#
# Usage: demos/edu.sh [N]      (as root, physdemo on PATH; N default 10, at most 12)
# Runs in the project's VM, which has the device (host wrapper: demos/edu).
# Exit status 0 only when all three registers answered as the spec says.
set -eu

n="${1:-10}"
. "$(dirname "$0")/lib.sh"
reg() { physdemo peek --pci "$bdf" --bar 0 "$1" --json | json_field value; }
failed=0
fail() { failed=1; echo "FAIL: $*" >&2; }

say "Step 1: find the device. Every PCI function has a directory in
    /sys/bus/pci/devices named by its address (domain:bus:device.function),
    with its vendor and device ids, and a 'resource' file: one line per BAR,
    start, end and flags in hex."
bdf=""
for dir in /sys/bus/pci/devices/*; do
  if [ "$(cat "$dir/vendor")" = 0x1234 ] && [ "$(cat "$dir/device")" = 0x11e8 ]; then
    bdf="$(basename "$dir")"
    break
  fi
done
[ -n "$bdf" ] || { echo "FAIL: no edu device (1234:11e8) on this machine: run this in the VM (demos/edu)" >&2; exit 1; }
echo "edu is $bdf; its BAR0 line:"
head -n 1 "/sys/bus/pci/devices/$bdf/resource"
bar0="$(head -n 1 "/sys/bus/pci/devices/$bdf/resource" | cut -d' ' -f1)"
echo "flags 0x40200: 0x200 = IORESOURCE_MEM (memory, not I/O ports). The kernel lists the
BAR in /proc/iomem under the device's address:"
grep "$bdf" /proc/iomem

say "Step 2: the identification register, BAR0 + 0x00: 0xRRrr00ed, major
    version RR, minor rr, and the magic 0xed. physdemo resolves --pci $bdf
    --bar 0 0x00 to BAR0's physical address through sysfs:"
physdemo peek --pci "$bdf" --bar 0 0x00
id="$(reg 0x00)"
echo "busybox devmem, which knows nothing of PCI, reads the same physical address $(printf '%#x' $((bar0))):"
echo "\$ devmem $(printf '%#x' $((bar0))) 32"
devmem "$((bar0))" 32
[ "$id" = 0x010000ed ] && echo "edu version 1.0, magic 0xed" || fail "identification register reads $id, not 0x010000ed"

say "Step 3: the liveness check, BAR0 + 0x04: whatever is written there, the
    device answers with its bitwise inverse. Memory would read back what
    was written; a register answers what the device decides. A poke of a
    device makes only the one write (a read can have side effects), so
    --read-back asks for the read before and after."
physdemo poke --pci "$bdf" --bar 0 0x04 0x12345678 --read-back
live="$(reg 0x04)"
want="$(printf '0x%08x' $(( ~0x12345678 & 0xffffffff )))"
[ "$live" = "$want" ] && echo "~0x12345678 = $want: the device is alive" || fail "liveness register reads $live, not $want"

say "Step 4: the factorial unit. Write N to BAR0 + 0x08; the device sets bit 0
    (computing) of its status register, BAR0 + 0x20, computes N! and clears
    the bit; then 0x08 holds N!. Here N = $n. The poke is one write;
    polling the status bit is what a driver must do."
physdemo poke --pci "$bdf" --bar 0 0x08 "$n"
tries=0
while [ $(( $(reg 0x20) & 1 )) -ne 0 ]; do
  tries=$((tries + 1))
  [ "$tries" -lt 100 ] || { fail "status bit 0 never cleared"; break; }
done
echo "status 0x20: $(reg 0x20) (bit 0 clear: done)"
physdemo peek --pci "$bdf" --bar 0 0x08
got="$(reg 0x08)"
fact=1 i=2
while [ "$i" -le "$n" ]; do fact=$((fact * i)); i=$((i + 1)); done
want="$(printf '0x%08x' $((fact & 0xffffffff)))"
[ "$got" = "$want" ] && echo "$n! = $fact = $want, computed by the device" || fail "$n! came back as $got, not $want"

say "Step 5: the first 48 bytes of BAR0 as physdemo dump --pci shows them
    (read as 32-bit registers: edu answers no byte reads):"
physdemo dump --pci "$bdf" --bar 0 0x00 48

if [ "$failed" -eq 0 ]; then
  say "Done: the device answered physical reads and writes as its spec says."
else
  exit 1
fi
