#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/device.sh: devices at fixed physical addresses and I/O ports, and what
# the devices themselves saw, narrated (run it with demos/device, which shows
# the device's side):
#
#   a. the HPET at 0xfed00000: its capability register, its tick period and
#      its main counter read twice, the difference in nanoseconds;
#   b. QEMU's pc-testdev scratch memory at 0xff000000: in no /proc/iomem
#      region until physdemo_testdev makes it a platform device, then written
#      and read back with physdemo and with busybox devmem, 8, 16 and 32 bits;
#   c. I/O ports: fw_cfg's "QEMU" signature (a 16-bit select, byte reads) and
#      a line of text written to port 0xe9, QEMU's debug console;
#   d. the edu PCI device's registers, as demos/edu shows them.
#
# Each step's device accesses are bracketed by trace marks (trace_mark in
# demos/lib.sh); after a step the script prints one line for the host,
#   @@device N REGION:R|W:ADDRESS:VALUE:SIZE ...   (or "-" for none)
# the accesses the devices must have seen during step N, exactly, and after
# the console text
#   @@debugcon HEX                                  (the bytes, in hex)
# demos/device turns these into the "device:" and "host:" lines and checks
# them; run alone, the script checks every value the guest sees itself.
#
# Usage: demos/device.sh      (as root in the project's VM, default kernel:
#                              demos/vm/run demos/device.sh)
# Ends with "guest: N passed, N failed"; exit 0 only when all passed.
set -u
. "$(dirname "$0")/lib.sh"

# --- the step protocol (see above) -----------------------------------------
n=0 expected=""
begin() { n=$((n + 1)); expected=""; trace_mark begin "$n"; }
end() { trace_mark end "$n"; }
want() { expected="$expected $1:$2:$3:$4:$5"; } # want REGION R|W ADDRESS VALUE SIZE
device_saw() { echo "@@device $n${expected:- -}"; }
run() { # run CMD...: show the command and its output; out and rc as pd sets them
  echo "\$ $*"
  _err="$(mktemp)"
  out="$("$@" 2>"$_err")" && rc=0 || rc=$?
  err="$(cat "$_err")"
  rm -f "$_err"
  [ -z "$out" ] || printf '%s\n' "$out"
  [ -z "$err" ] || printf '%s\n' "$err"
}
value_of() { printf '%s\n' "$out" | sed -n 's/^value *\(0x[0-9a-f]*\).*/\1/p'; }
check() { # check WHAT GOT WANT
  if [ "$2" = "$3" ]; then ok "$1: $2"; else bad "$1: $2, want $3"; fi
}

say "a. The HPET, the PC's high precision event timer, sits at the fixed physical
    address 0xfed00000 (ACPI's HPET table says so; /proc/iomem names it). The
    guest kernel owns it, so it is only read here: the capabilities at 0x000,
    the tick period in femtoseconds at 0x004, the 64-bit main counter at 0x0f0."
grep -i hpet /proc/iomem
begin
run physdemo peek 0xfed00000
cap="$(value_of)"
run physdemo peek 0xfed00004
period="$(value_of)"
end
want hpet R 0xfed00000 "$cap" 4
want hpet R 0xfed00004 "$period" 4
device_saw
echo "(QEMU logs the HPET's whole 64-bit register for a 4-byte read: the CPU got the low 4 bytes.)"
printf 'capabilities %s: vendor %#06x, revision %d, %d timers, %s-bit counter\n' "$cap" \
  $((cap >> 16)) $((cap & 0xff)) $(( ((cap >> 8) & 0x1f) + 1 )) "$(( (cap >> 13) & 1 ? 64 : 32 ))"
check "HPET capabilities" "$cap" 0x8086a201
check "HPET tick period" "$period" 0x00989680
echo "period $period fs = $((period)) fs = $((period / 1000000)) ns per tick"

echo
echo "The main counter, twice, a second apart:"
up0="$(cut -d' ' -f1 /proc/uptime)"
begin
run physdemo peek 0xfed000f0 --width 64
c1="$(value_of)"
end
want hpet R 0xfed000f0 "$c1" 8
device_saw
sleep 1
begin
run physdemo peek 0xfed000f0 --width 64
c2="$(value_of)"
end
want hpet R 0xfed000f0 "$c2" 8
device_saw
up1="$(cut -d' ' -f1 /proc/uptime)"
ticks=$((c2 - c1))
ns=$((ticks * period / 1000000))
echo "$c2 - $c1 = $ticks ticks x $((period / 1000000)) ns = $ns ns"
uptime_ms=$(( $(echo "$up1" | tr -d .) * 10 - $(echo "$up0" | tr -d .) * 10 ))
echo "(/proc/uptime moved $uptime_ms ms meanwhile, in 10 ms steps)"
if [ "$ns" -ge 1000000000 ] && [ "$ns" -le 5000000000 ] &&
   [ $((ns / 1000000)) -le $((uptime_ms + 20)) ]; then
  ok "the counter moved forward $ns ns across a 1 s sleep (1 to 5 s, and no more than /proc/uptime)"
else
  bad "the counter moved $ns ns across a 1 s sleep (/proc/uptime: $uptime_ms ms)"
fi

say "b. QEMU's pc-testdev has 64 KiB of scratch memory at the fixed physical
    address 0xff000000: it reads back what was written. No firmware table
    describes it, so the kernel does not know it is there; the project's module
    physdemo_testdev registers a platform device for it, and its driver claims
    the range, as a driver claims its registers. /init loaded it; unload it:"
rmmod physdemo_testdev
echo "\$ grep ff000000 /proc/iomem      (nothing)"
grep ff000000 /proc/iomem
begin
run physdemo poke 0xff000000 0x12345678
end
device_saw
check "poke into no region: exit" "$rc" 6
echo
echo "Load the module: the range becomes a device, and physdemo writes there."
insmod "/lib/modules/$(uname -r)/extra/physdemo_testdev.ko"
echo "\$ grep ff000000 /proc/iomem"
grep ff000000 /proc/iomem
begin
run physdemo poke 0xff000000 0x12345678
end
want pc-testdev-iomem W 0xff000000 0x12345678 4
device_saw
check "poke of the device: exit" "$rc" 0
begin
run physdemo peek 0xff000000
end
want pc-testdev-iomem R 0xff000000 0x12345678 4
device_saw
check "peek reads back" "$(value_of)" 0x12345678

echo
echo "busybox devmem, the classic tool, makes the same single accesses:"
begin
run devmem 0xff000004 32 0x9abcdef0
run devmem 0xff000004 32
end
want pc-testdev-iomem W 0xff000004 0x9abcdef0 4
want pc-testdev-iomem R 0xff000004 0x9abcdef0 4
device_saw
check "busybox devmem reads back" "$out" 0x9ABCDEF0

echo
echo "Narrower accesses reach the device as they are: 16 bits with physdemo, 8 with busybox."
begin
run physdemo poke 0xff000008 0xbeef --width 16
run devmem 0xff00000a 8 0x5a
end
want pc-testdev-iomem W 0xff000008 0xbeef 2
want pc-testdev-iomem W 0xff00000a 0x5a 1
device_saw
echo
echo "A dump of device memory reads whole 32-bit words, one load each, and says so:"
begin
run physdemo dump 0xff000000 16
end
want pc-testdev-iomem R 0xff000000 0x12345678 4
want pc-testdev-iomem R 0xff000004 0x9abcdef0 4
want pc-testdev-iomem R 0xff000008 0x005abeef 4
want pc-testdev-iomem R 0xff00000c 0 4
device_saw
check "the dump's first line" "$(echo "$out" | head -n 1)" \
  "ff000000  78 56 34 12 f0 de bc 9a  ef be 5a 00 00 00 00 00  |xV4.......Z.....|"

say "c. I/O ports, the x86's second address space (in/out instructions, 64 Ki
    ports). QEMU's fw_cfg answers at ports 0x510 (a 16-bit selector) and 0x511
    (data, one byte per read): select item 0, the signature, and read 4 bytes.
    /proc/ioports says who claims which ports, as /proc/iomem does for memory:"
grep -e 0510 -e 00e0 /proc/ioports
begin
run physdemo port 0x510 0 --width 16
end
want fwcfg W 0x510 0 2
device_saw
begin
run physdemo port 0x511 --read 4
end
for b in 0x51 0x45 0x4d 0x55; do want fwcfg R 0x511 "$b" 1; done
device_saw
check "fw_cfg signature" "$(echo "$out" | sed -n 's/^read .*|\(.*\)|$/\1/p')" QEMU

echo
echo "Port 0xe9 is QEMU's debug console: every byte written there comes out on the
host. No driver claims it, so physdemo wants --force:"
text="Hello, host!"
begin
run physdemo port 0xe9 0x48 0x0a
end
device_saw
check "a write to an unclaimed port without --force: exit" "$rc" 6
bytes="$(printf '%s\n' "$text" | od -An -tx1 | tr -s ' \n' ' ' | sed 's/ \([0-9a-f][0-9a-f]\)/ 0x\1/g; s/^ //; s/ $//')"
begin
printf '$ physdemo port 0xe9 %s ... 0x0a --force    ("%s\\n")\n' "$(echo "$bytes" | cut -d' ' -f1-4)" "$text"
# shellcheck disable=SC2086  # one argument per byte
out="$(physdemo port 0xe9 $bytes --force 2>&1)" && rc=0 || rc=$?
printf '%s\n' "$out" | sed -n '/^accesses/p'
end
for b in $bytes; do want isa-debugcon W 0xe9 "$b" 1; done
device_saw
check "the write to port 0xe9: exit" "$rc" 0
echo "@@debugcon $(printf '%s\n' "$text" | od -An -tx1 | tr -d ' \n')"

say "d. The edu PCI device (demos/edu tells its story): its registers are found
    through sysfs, and each access is one the device sees."
edu="$(edu_dir)"
[ -n "$edu" ] || die "no edu device (1234:11e8)"
bdf="$(basename "$edu")" bar0="$(printf '%#x' "$(bar_start "$edu")")"
echo "edu is $bdf, BAR0 at $bar0"
begin
run physdemo peek --pci "$bdf" 0x00
end
want edu-mmio R "$bar0" 0x010000ed 4
device_saw
check "identification register" "$(value_of)" 0x010000ed
begin
run physdemo poke --pci "$bdf" 0x04 0x12345678 --read-back
end
live="$(printf '%#x' $((bar0 + 4)))"
want edu-mmio R "$live" "$(echo "$out" | sed -n 's/^old *//p')" 4
want edu-mmio W "$live" 0x12345678 4
want edu-mmio R "$live" 0xedcba987 4
device_saw
check "liveness: read back the inverse" "$(echo "$out" | sed -n 's/.*; read back \(0x[0-9a-f]*\).*/\1/p')" 0xedcba987
fact="$(printf '%#x' $((bar0 + 8)))" status="$(printf '%#x' $((bar0 + 0x20)))"
begin
run physdemo poke --pci "$bdf" 0x08 10
want edu-mmio W "$fact" 10 4
polls=0
while :; do
  s="$(physdemo peek --pci "$bdf" 0x20 --json | json_field value)"
  want edu-mmio R "$status" "$s" 4
  polls=$((polls + 1))
  [ $((s & 1)) -eq 0 ] || [ "$polls" -ge 100 ] || continue
  break
done
echo "status (0x20) read $polls time(s) until bit 0, computing, was clear: $s"
run physdemo peek --pci "$bdf" 0x08
end
want edu-mmio R "$fact" 0x00375f00 4
device_saw
check "10! computed by the device" "$(value_of)" 0x00375f00

summary guest 14
