#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/e2e/promises-write.sh: inside the VM, poke/peek/devmem keep the
# promises docs/physical-memory.md makes about writing (issue 10, items 2-7 and 12):
# - PCI configuration space (ECAM/MMCONFIG) is refused without --force and
#   named by its function, found both through /proc/iomem and through the
#   ACPI MCFG table alone; the address decodes to the function sysfs reads;
# - a device register gets exactly the one write (the report says so), reads
#   only with --read-back, and a register that answers differently is the
#   device's answer, not an error;
# - --dry-run ends with the real poke's verdict (a shared frame, PCI config
#   space) and writes nothing;
# - as nobody: the hidden /proc/iomem and a root-owned target are permission
#   errors (exit 4), not "add --force" or "no target";
# - a misaligned process address is "not aligned" (exit 2) before resolving.
# Which device accesses each command really makes is checked from QEMU's own
# trace by demos/vm/accesses.sh (tests/it/vm.rs).
#
# Usage (on the host): demos/vm/run demos/e2e/promises-write.sh
# Prints "ok"/"FAIL" lines with the exact values, then "promises-write: N
# passed, N failed"; exit 0 only when all passed.
set -u
. "$(dirname "$0")/../lib.sh"

# pd ARGS...: runs physdemo, setting out, err, rc.
# one_error CODE NEEDLE: rc is CODE and stderr is one physdemo error line containing NEEDLE
one_error() {
  [ "$rc" -eq "$1" ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] \
    && case "$err" in "physdemo: error: "*"$2"*) true ;; *) false ;; esac
}
config_byte() { od -An -tx1 -j "$(($2))" -N1 "/sys/bus/pci/devices/$1/config" | tr -d ' '; }

# --- the edu device, its BAR and its configuration space ----------------------
edu="$(edu_dir)"
[ -n "$edu" ] || die "no edu device (1234:11e8) in /sys/bus/pci/devices"
bdf="$(basename "$edu")" bar0="$(bar_start "$edu")"
bus=$((0x$(echo "$bdf" | cut -d: -f2))) slot=$((0x$(echo "$bdf" | cut -d: -f3 | cut -d. -f1))) fn="${bdf##*.}"
mmconfig="$(grep 'PCI MMCONFIG' /proc/iomem | head -n 1)"
ecam=$((0x$(echo "$mmconfig" | sed 's/^ *//; s/-.*//')))
# The MCFG table's first entry: base address, 8 bytes at offset 44 (little-endian).
mcfg_base="0x$(od -An -tx1 -j44 -N8 /sys/firmware/acpi/tables/MCFG | awk '{for (i = NF; i > 0; i--) printf "%s", $i}')"
echo "edu is $bdf, BAR0 $bar0; $mmconfig; MCFG base $mcfg_base"
if [ "$((mcfg_base))" -eq "$ecam" ]; then ok "ACPI MCFG and /proc/iomem agree: ECAM at $(printf '%#x' "$ecam")"; else bad "MCFG base $mcfg_base, /proc/iomem $mmconfig"; fi

# --- item 2: PCI configuration space ---------------------------------------------
reg=0x3c
cfg=$((ecam + (bus << 20) + (slot << 15) + (fn << 12) + reg))
cfg_hex="$(printf '%#x' "$cfg")"
before="$(config_byte "$bdf" "$reg")"
seen="$(busybox devmem "$cfg" 8 | lower)"
if [ "$seen" = "0x$before" ]; then
  ok "$cfg_hex is $bdf's config byte $reg: busybox devmem reads $seen, sysfs config reads $before"
else
  bad "$cfg_hex: busybox devmem $seen, sysfs config byte $reg is $before"
fi
named="PCI configuration space (ECAM) of $bdf (1234:11e8), register $reg"
pd poke "$cfg_hex" 0x5a --width 8
if one_error 6 "refusing to write: $cfg_hex is $named"; then ok "poke into config space: exit 6: $err"; else bad "poke $cfg_hex: exit $rc: $err"; fi
pd poke "$cfg_hex" 0x5a --width 8 --dry-run
if one_error 6 "$named"; then ok "poke --dry-run into config space: exit 6 as well"; else bad "poke --dry-run $cfg_hex: exit $rc: $err"; fi
pd devmem "$cfg_hex" 8 0x5a
if one_error 6 "$named"; then ok "devmem into config space: exit 6"; else bad "devmem $cfg_hex: exit $rc: $err"; fi
pd peek "$cfg_hex" --width 8
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^config    $named$" && echo "$out" | grep -q "^value     0x$before "; then
  ok "peek names it: $(echo "$out" | grep '^config')"
else
  bad "peek $cfg_hex: exit $rc: $out $err"
fi
# The MCFG table alone: a map where nothing says MMCONFIG or Reserved, only 'pnp 00:04'.
sed '/PCI MMCONFIG/d; /^  b0000000-bfffffff : Reserved/d; s/^    \(b0000000-bfffffff : pnp\)/\1/' /proc/iomem >/tmp/iomem-no-mmconfig
if grep -q '^b0000000-bfffffff : pnp' /tmp/iomem-no-mmconfig; then
  out="$(PHYSDEMO_IOMEM=/tmp/iomem-no-mmconfig physdemo poke "$cfg_hex" 0x5a --width 8 2>/tmp/pd.err)"; rc=$?
  err="$(cat /tmp/pd.err)"
  if one_error 6 "$named" && case "$err" in *"(ACPI MCFG)"*) true ;; *) false ;; esac; then
    ok "found through the ACPI MCFG table alone: exit 6"
  else
    bad "MCFG alone: exit $rc: $err"
  fi
else
  bad "could not build a map without MMCONFIG from: $(grep b0000000 /proc/iomem)"
fi
pd poke "$cfg_hex" 0x5a --width 8 --force --dry-run
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^dry run   would write 0x5a (8-bit) to physical $cfg_hex"; then ok "--force --dry-run shows the write"; else bad "--force --dry-run: exit $rc: $out $err"; fi
after="$(config_byte "$bdf" "$reg")"
if [ "$after" = "$before" ]; then ok "$bdf's config byte $reg still $after"; else bad "$bdf's config byte $reg changed: $before -> $after"; fi

# --- items 3 and 7: a device register gets the one write; its answer is no error ---
live="$(printf '%#x' $((bar0 + 4)))"
pd poke "$live" 0x12345678
answer="$(busybox devmem "$live" 32)"
if [ "$rc" -eq 0 ] && [ -z "$err" ] && echo "$out" | grep -q '^accesses  1 write (32-bit), no read' \
   && ! echo "$out" | grep -q 'read back' && [ "$answer" = 0xEDCBA987 ]; then
  ok "poke $live (edu liveness, no --pci): exit 0, one write, no read; the device answers $answer"
else
  bad "poke $live: exit $rc, register $answer: $out $err"
fi
pd poke "$live" 0x12345678 --read-back
if [ "$rc" -eq 0 ] && [ -z "$err" ] && echo "$out" | grep -q '^accesses  read, write, read back (32-bit each)' \
   && echo "$out" | grep -q '; read back 0xedcba987)$' \
   && echo "$out" | grep -q '^note      a device register need not read back what was written: this one answered 0xedcba987'; then
  ok "poke --read-back: exit 0, the device's answer 0xedcba987 reported as such"
else
  bad "poke $live --read-back: exit $rc: $out $err"
fi
pd poke --pci "$bdf" 0x04 0x1 --json
if [ "$rc" -eq 0 ] && [ "$(echo "$out" | json_field readback)" = null ] && [ "$(echo "$out" | json_field old)" = null ]; then
  ok "poke --pci without --read-back reads nothing: $(echo "$out" | sed 's/.*\("accesses":[^]]*]\).*/\1/')"
else
  bad "poke --pci --json: exit $rc: $out $err"
fi
pd poke "$live" 0x5555 --dry-run
if [ "$rc" -eq 0 ] && echo "$out" | grep -q '^current   not read' && [ "$(busybox devmem "$live" 32)" = 0xFFFFFFFE ]; then
  ok "poke --dry-run of a register: exit 0, not read, nothing written (still 0xFFFFFFFE)"
else
  bad "poke --dry-run $live: exit $rc: $out $err"
fi

# --- item 4: a dry run ends with the real poke's verdict on a shared frame -------
sleep 60 &
sleeper=$!
sleep 0.2
page="$(physdemo maps "$sleeper" --pages --mapping /bin/busybox | awk '!/^#/ && $2 != "-" {print $1; exit}')"
if [ -n "$page" ]; then
  pd poke "$sleeper" "$page" 0x42; real_rc=$rc real_err="$err"
  pd poke "$sleeper" "$page" 0x42 --dry-run
  if [ "$real_rc" -eq 6 ] && one_error 6 "belongs to a file or shared memory" && [ "$err" = "$real_err" ]; then
    ok "busybox's text page in pid $sleeper: poke and poke --dry-run both exit 6: $err"
  else
    bad "shared frame: poke exit $real_rc ($real_err), --dry-run exit $rc ($err)"
  fi
else
  bad "no present page of /bin/busybox in pid $sleeper"
fi

# --- item 12: a misaligned process address is "not aligned", before resolving ----
pd poke "$sleeper" 0x1004 1
if one_error 2 "0x1004 is not aligned for a 64-bit access"; then ok "poke $sleeper 0x1004 1: exit 2: $err"; else bad "misaligned: exit $rc: $err"; fi
kill "$sleeper"; wait "$sleeper" 2>/dev/null

# --- item 6: without root -----------------------------------------------------------
grep -q '^nobody:' /etc/passwd || echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd
grep -q '^nobody:' /etc/group || echo 'nobody:x:65534:' >>/etc/group
as_nobody() { # as_nobody ARGS...: physdemo ARGS as user nobody; sets out, err, rc
  out="$(su -s /bin/sh nobody -c "physdemo $*" 2>/tmp/pd.err)"; rc=$?
  err="$(cat /tmp/pd.err)"
}
start_target --timeout 60 || die "the target did not start"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
as_nobody poke "$paddr" 1 --width 64
if one_error 4 "/proc/iomem shows only zeros to a user without root" && ! echo "$err" | grep -q -- --force; then
  ok "as nobody, poke $paddr: exit 4: $err"
else
  bad "as nobody, poke $paddr: exit $rc: $err"
fi
as_nobody poke --dry-run
if one_error 4 "the physdemo target (pid $pid) runs as another user"; then ok "as nobody, poke --dry-run with root's target: exit 4: $err"; else bad "as nobody, poke --dry-run: exit $rc: $err"; fi
as_nobody peek
if one_error 4 "runs as another user"; then ok "as nobody, peek: exit 4"; else bad "as nobody, peek: exit $rc: $err"; fi
value="$(busybox devmem "$paddr" 64 | lower)"
if [ "$value" = 0x1122334455667788 ]; then ok "the target's variable is untouched: $value"; else bad "the target's variable is $value"; fi
stop_target

summary promises-write 19
