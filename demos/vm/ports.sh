#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/vm/ports.sh: "IO ports still work without those": in the distro VM,
# where /dev/mem is filtered as on distributions (STRICT_DEVMEM, PAT on, no
# physdemo_mem module), /dev/mem refuses physdemo RAM (--device /dev/mem: without
# it, reads of RAM go through /proc/kcore) but physdemo still reads fw_cfg's
# signature and writes a line to the debug console through I/O ports; under
# lockdown=integrity the same port accesses are refused, and physdemo says it
# is lockdown, naming the mode /sys/kernel/security/lockdown shows.
#
# Usage (host): demos/vm/run demos/vm/ports.sh MODE, with MODE and the VM:
#   distro    PHYSDEMO_VM_KERNEL=distro
#   lockdown  PHYSDEMO_VM_KERNEL=distro PHYSDEMO_VM_APPEND=lockdown=integrity
# In distro mode the line "physdemo port distro" and a newline go to port
# 0xe9, one physdemo port write per byte value; tests/it/vm/devices.rs checks
# on the host that the debug console log holds exactly that (and, under
# lockdown, nothing). Ends with "ports-MODE: N passed, N failed".
set -u
. "$(dirname "$0")/../lib.sh"

mode="${1:-}"
case "$mode" in
  distro) min=7 ;;
  lockdown) min=8 ;;
  *) die "usage: ports.sh distro|lockdown (got '$mode')" ;;
esac
case "$(uname -r)" in
  *-physdemo-distro) ok "kernel $(uname -r): the distro flavour" ;;
  *) bad "kernel $(uname -r) is not the distro flavour (PHYSDEMO_VM_KERNEL=distro)"
     summary "ports-$mode" "$min"; exit 1 ;;
esac
if zcat /proc/config.gz | grep -qx CONFIG_STRICT_DEVMEM=y && ! grep -qw nopat /proc/cmdline &&
   ! grep -q '^physdemo_mem ' /proc/modules; then
  ok "STRICT_DEVMEM=y, PAT on (no nopat), physdemo_mem not loaded"
else
  bad "not the filtered /dev/mem this test needs"
fi
lockdown="$(cat /sys/kernel/security/lockdown)"
echo "    /sys/kernel/security/lockdown: $lockdown"

say "/dev/mem: RAM is refused"
ram="$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel code$/\1/p' /proc/iomem | head -n 1)"
pd peek "0x$ram" --device /dev/mem
echo "\$ physdemo peek 0x$ram --device /dev/mem"
echo "$err"
case "$mode:$rc" in
  distro:5) case "$err" in *CONFIG_STRICT_DEVMEM*) ok "peek of RAM: exit 5, STRICT_DEVMEM named" ;;
            *) bad "peek of RAM: exit 5 without STRICT_DEVMEM: $err" ;; esac ;;
  lockdown:4) case "$err" in *lockdown*) ok "peek of RAM: exit 4, lockdown named" ;;
              *) bad "peek of RAM: exit 4 without lockdown: $err" ;; esac ;;
  *) bad "peek of RAM 0x$ram: exit $rc: $err" ;;
esac

say "I/O ports: fw_cfg's signature (a 16-bit select of key 0 at 0x510, byte reads of 0x511)"
pd port 0x510 0 --width 16
echo "\$ physdemo port 0x510 0 --width 16"
printf '%s\n' "$out" "$err" | sed '/^$/d'
select_rc=$rc
pd port 0x511 --read 4 --json
echo "\$ physdemo port 0x511 --read 4 --json"
printf '%s\n' "$out" "$err" | sed '/^$/d'
sig="$(echo "$out" | json_field ascii)"
if [ "$mode" = distro ]; then
  if [ "$select_rc" = 0 ] && [ "$rc" = 0 ] && [ "$sig" = QEMU ]; then
    ok "fw_cfg read through ports: '$sig', with STRICT_DEVMEM on"
  else
    bad "fw_cfg: select exit $select_rc, read exit $rc, signature '$sig'"
  fi
else
  if [ "$select_rc" = 4 ] && [ "$rc" = 4 ]; then ok "both port accesses refused: exit 4"
  else bad "under lockdown: select exit $select_rc, read exit $rc (want 4 and 4)"; fi
  case "$err" in
    *"the kernel is locked down (integrity, /sys/kernel/security/lockdown)"*)
      ok "the refusal names lockdown and its mode, integrity" ;;
    *) bad "the refusal does not name lockdown (integrity): $err" ;;
  esac
fi

say "I/O ports: a line to QEMU's debug console (port 0xe9; no driver claims it: --force)"
text="physdemo port $mode"
bytes="$(printf '%s\n' "$text" | od -An -tx1 | tr -s ' \n' ' ' | sed 's/ \([0-9a-f][0-9a-f]\)/ 0x\1/g; s/ $//')"
pd port 0xe9 $bytes --force
echo "\$ physdemo port 0xe9$bytes --force"
printf '%s\n' "$out" "$err" | sed '/^$/d'
if [ "$mode" = distro ]; then
  if [ "$rc" = 0 ] && echo "$out" | grep -q "^accesses  $(( ${#text} + 1 )) writes, 8-bit each"; then
    ok "wrote '$text' and a newline to port 0xe9, $(( ${#text} + 1 )) outb (the host checks the debug console)"
  else bad "writing to port 0xe9: exit $rc"; fi
  # the 16- and 32-bit path (ioperm) as well: pc-testdev's port, claimed by physdemo_testdev
  pd port 0xe0 0x600dcafe --width 32
  pd port 0xe2 --width 16 --json
  v="$(echo "$out" | sed -n 's/.*"values":\["\([^"]*\)".*/\1/p')"
  if [ "$rc" = 0 ] && [ "$v" = 0x600d ]; then ok "ioperm: port 0xe0 32-bit write, 0xe2 16-bit read back $v"
  else bad "ioperm on pc-testdev's port: exit $rc, read '$v'"; fi
  if ! devmem "0x$ram" 32 >/dev/null 2>&1; then ok "busybox devmem is refused RAM too (STRICT_DEVMEM)"
  else bad "busybox devmem read RAM at 0x$ram"; fi
else
  case "$rc:$err" in
    4:*"ocked down (integrity"*) ok "the write to port 0xe9 refused: exit 4, lockdown named" ;;
    *) bad "the write to port 0xe9 under lockdown: exit $rc: $err" ;;
  esac
  pd port 0xe0 --width 32
  case "$rc:$err" in
    4:*"ioperm for port 0xe0 was refused (EPERM): the kernel is locked down (integrity"*)
      ok "ioperm refused under lockdown, named: $err" ;;
    *) bad "ioperm under lockdown: exit $rc: $err" ;;
  esac
  if [ "$lockdown" = "none [integrity] confidentiality" ]; then ok "lockdown mode: $lockdown"
  else bad "lockdown mode '$lockdown'"; fi
fi
summary "ports-$mode" "$min"
