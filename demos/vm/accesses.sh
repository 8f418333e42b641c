#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/vm/accesses.sh: inside the VM, run poke, peek and devmem on the edu
# device's liveness register (BAR0 + 4) in a fixed order, each step fenced by
# a busybox read of the identification register (BAR0 + 0), so that QEMU's
# trace of the device's accesses (demos/vm/run with PHYSDEMO_VM_TRACE) splits
# into one segment per step. tests/it/vm.rs checks the segments: a poke of a
# device is exactly one write, --read-back adds a read before and after, a dry
# run touches nothing, peek and devmem read once, and a write refused for
# PCI configuration space (ECAM) never reaches it, while busybox's read of
# that very byte, last, does (the positive control in the same trace).
#
# Usage (on the host): PHYSDEMO_VM_TRACE=memory_region_ops_read,memory_region_ops_write
#   PHYSDEMO_VM_TRACE_LOG=FILE demos/vm/run demos/vm/accesses.sh
# Prints one "step N: COMMAND (exit RC)" line per step, then
# "accesses: N passed, N failed" (a check per step: its exit code).
set -u
. "$(dirname "$0")/../lib.sh"

edu="$(edu_dir)"
[ -n "$edu" ] || die "no edu device (1234:11e8) in /sys/bus/pci/devices"
bdf="$(basename "$edu")" bar0="$(bar_start "$edu")"
live="$(printf '%#x' $((bar0 + 4)))"
# edu's configuration space byte 0x3c through ECAM (PCI MMCONFIG in /proc/iomem)
ecam=$((0x$(grep 'PCI MMCONFIG' /proc/iomem | head -n 1 | sed 's/^ *//; s/-.*//')))
bus=$((0x$(echo "$bdf" | cut -d: -f2))) slot=$((0x$(echo "$bdf" | cut -d: -f3 | cut -d. -f1)))
config="$(printf '%#x' $((ecam + (bus << 20) + (slot << 15) + (${bdf##*.} << 12) + 0x3c)))"
echo "edu $bdf: BAR0 $(printf '%#x' $((bar0))), liveness register $live, config byte 0x3c at $config"

n=0
fence() { busybox devmem "$bar0" 32 >/dev/null; }
step() { # step WANT_RC ARGS...: one fenced physdemo command
  want="$1"; shift
  n=$((n + 1))
  physdemo "$@" >/dev/null 2>&1; rc=$?
  fence
  echo "step $n: physdemo $* (exit $rc)"
  if [ "$rc" -eq "$want" ]; then ok "step $n exit $rc"; else bad "step $n exit $rc, want $want"; fi
}

fence
step 0 poke "$live" 0x11111111
step 0 poke "$live" 0x22222222 --read-back
step 0 poke "$live" 0x33333333 --dry-run
step 0 poke --pci "$bdf" 0x04 0x44444444
step 0 devmem "$live" 32 0x55555555
step 0 devmem "$live" 32 0x66666666 --dry-run
step 0 peek "$live"
step 0 devmem "$live" 32
step 0 poke "$live" 0x77777777 --read-back --dry-run
step 3 poke "$live" 0x88888888 --method rw
step 6 poke "$config" 0x5a --width 8
step 6 devmem "$config" 8 0x5a
# The positive control for the two refusals: a read of that very byte that does reach
# config space (busybox, after the last fence), so the same trace shows such accesses.
echo "config byte 0x3c read by busybox devmem: $(busybox devmem "$config" 8)"
summary accesses 12
