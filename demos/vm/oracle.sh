#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/vm/oracle.sh: inside the VM, run the commands of a steps file one at a
# time, each bracketed by trace marks (trace_mark in demos/lib.sh), so that
# QEMU's device trace says exactly which accesses each command made. The
# steps come from tests/it/vm/devices.rs, which then checks the trace on the
# host: each physdemo, busybox devmem and portio access exactly one access of
# the size, address and value asked for, and nothing else touching the
# devices (pc-testdev, edu, the debug console) during it.
#
# Usage (host): PHYSDEMO_VM_TRACE=memory_region_ops_read,memory_region_ops_write
#   PHYSDEMO_VM_TRACE_LOG=FILE PHYSDEMO_VM_FILES=STEPS
#   demos/vm/run demos/vm/oracle.sh /files/STEPS
# STEPS: one step a line, "EXIT<TAB>COMMAND": the exit status the command
# must end with, and a shell command, in which $BDF (edu's PCI address),
# $BAR0 (its BAR0) and $LIVE (BAR0 + 4, its liveness register) are set.
# Prints "edu BDF BAR0 ADDRESS", then per step "step N: COMMAND (exit RC)"
# and the command's output and errors indented by "    | ", and ends with
# "oracle: N passed, N failed" (a check per step: its exit status).
set -u
. "$(dirname "$0")/../lib.sh"

steps="${1:-}"
[ -f "$steps" ] || die "usage: oracle.sh STEPS (a file of EXIT<TAB>COMMAND lines)"
edu="$(edu_dir)"
[ -n "$edu" ] || die "no edu device (1234:11e8) in /sys/bus/pci/devices"
# shellcheck disable=SC2034  # BDF, BAR0 and LIVE are for the steps' commands (eval)
BDF="$(basename "$edu")"
BAR0="$(printf '%#x' "$(bar_start "$edu")")"
LIVE="$(printf '%#x' $((BAR0 + 4)))"
echo "edu $BDF BAR0 $BAR0"

tab="$(printf '\t')"
n=0
while IFS="$tab" read -r want command; do
  [ -n "$command" ] || continue
  n=$((n + 1))
  trace_mark begin "$n"
  output="$(eval "$command" 2>&1)"
  rc=$?
  trace_mark end "$n"
  echo "step $n: $command (exit $rc)"
  [ -z "$output" ] || printf '%s\n' "$output" | sed 's/^/    | /'
  if [ "$rc" = "$want" ]; then ok "step $n exit $rc"; else bad "step $n exit $rc, want $want"; fi
done <"$steps"
[ "$n" -gt 0 ] || bad "no steps in $steps"
summary oracle "$n"
