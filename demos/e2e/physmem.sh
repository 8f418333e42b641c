#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/e2e/physmem.sh: inside the VM, /dev/physmem (demos/kmod/physdemo_mem.c)
# reads and writes exactly what /dev/mem does, pins the right frame, survives
# hostile use, and unloads only when nothing uses it. In the distro VM, where
# STRICT_DEVMEM keeps RAM out of /dev/mem (found by dd of the target's frame:
# EPERM), the RAM witness is the target's own memory (/proc/PID/mem) instead,
# and /dev/mem's read() and busybox devmem are checked to fail there.
#
#   - a physdemo target's variable: /dev/physmem reads the value /dev/mem
#     reads; a value written through /dev/physmem is what the target reports
#     and what /dev/mem (physdemo peek: read(); busybox devmem: mmap) reads; a
#     value written through /dev/mem is what /dev/physmem reads; a 4-byte
#     write changes those 4 bytes only; PHYSMEM_IOC_PIN's frame is inspect's;
#   - edu through /dev/physmem: ident 0x010000ed, liveness returns the exact
#     inverse (also seen by busybox devmem), misaligned and hole accesses fail
#     with EINVAL and ENXIO;
#   - demos/kmod/torture/physmem_torture all: every hostile case (its ok/FAIL
#     lines count here, its "> " lines say what it provoked);
#     including issue 18's hostile list, as root and as uid 1000 holding
#     root's open files: writable mmap of the kernel's text and rodata, a
#     memfd_secret frame, "Unusable memory", pins through a read-only file,
#     of shared memfd/shmem pages, with bad arguments and pidfds, 2 threads x
#     40 pins, offset and lseek edges, 8-byte reads of the local APIC and the
#     IOAPIC, a pc-testdev mapping kept across rmmod physdemo_testdev;
#   - rmmod fails while a process maps /dev/physmem (its file closed), works
#     after that process is killed, and a second load works;
#   - lockdown raised while /dev/physmem is open (physmem_torture lockdown;
#     the distro kernel, whose lockdown LSM is built in: the last step, as it
#     cannot be undone);
#   - the kernel log has no "WARN", "BUG", "Oops" or "general protection".
#
# Needs physdemo_mem.ko (/lib/modules/$(uname -r)/extra/ or /files/) and
# /files/physmem_torture, and the boot parameters the hostile list needs,
# secretmem.enable=1 (memfd_secret) and memmap=1M%0x30000000-1+5 (1 MiB of
# RAM turned into "Unusable memory"). On the host:
#   PHYSDEMO_VM_FILES="$(demos/kmod/torture/build)" \
#   PHYSDEMO_VM_APPEND='secretmem.enable=1 memmap=1M%0x30000000-1+5' \
#     demos/vm/run demos/e2e/physmem.sh
# (tests/it/vm.rs does exactly that, in the default VM and with
# PHYSDEMO_VM_KERNEL=distro). Prints "ok"/"FAIL" lines with the exact
# values, then "physmem: N passed, N failed"; exit 0 only when all passed.
set -u
. "$(dirname "$0")/../lib.sh"

TORTURE=/files/physmem_torture
ko=""
for try in "/lib/modules/$(uname -r)/extra/physdemo_mem.ko" /files/physdemo_mem.ko; do
  if [ -f "$try" ]; then ko="$try"; break; fi
done
if [ -z "$ko" ] || [ ! -x "$TORTURE" ]; then
  bad "need physdemo_mem.ko (found '${ko}') and $TORTURE: PHYSDEMO_VM_FILES=\"\$(demos/kmod/build) \$(demos/kmod/torture/build)\""
  summary physmem 1; exit 1
fi
t() { "$TORTURE" "$@"; }
# t_err CMD...: the errno name physmem_torture's error line ends with
t_err() { "$TORTURE" "$@" 2>&1 >/dev/null | sed -n 's/.*: \(E[A-Z0-9]*\)$/\1/p'; }
kernel_log_bad() { dmesg | grep -E 'WARN|BUG|Oops|general protection'; }

if [ -z "$(kernel_log_bad)" ]; then ok "the kernel log is clean before the test"; else
  bad "the kernel log was not clean before the test:"; kernel_log_bad | sed 's/^/    | /'; fi

if insmod "$ko" && [ -c /dev/physmem ]; then ok "insmod $ko created /dev/physmem"; else
  bad "insmod $ko did not create /dev/physmem"; summary physmem 1; exit 1
fi
mode="$(ls -l /dev/physmem | cut -c1-10) $(ls -ln /dev/physmem | awk '{print $3}')"
if [ "$mode" = "crw------- 0" ]; then ok "/dev/physmem: $mode (root only)"; else bad "/dev/physmem: '$mode'"; fi

# --- RAM: a physdemo target's variable ---------------------------------------
start_target --timeout 200 || die "physdemo target did not start"
initial="$(json_field value <"$tout")"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
echo "    target pid $pid, variable $vaddr -> physical $paddr, value $initial"
# The witness of RAM: /dev/mem (physdemo peek --device /dev/mem, read()), or where
# STRICT_DEVMEM refuses it, the target's own view of its variable (/proc/PID/mem).
strict=""
case "$(dd if=/dev/mem bs=8 skip=$((paddr / 8)) count=1 2>&1 >/dev/null)" in
  *"Operation not permitted"*) strict=1 ;;
esac
proc64() { printf '0x%s' "$(dd if="/proc/$pid/mem" bs=8 skip=$((vaddr / 8)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')"; }
if [ -n "$strict" ]; then witness="the target's own memory (/proc/$pid/mem; /dev/mem refuses RAM: STRICT_DEVMEM)"
else witness="/dev/mem"; fi
mem64() {
  if [ -n "$strict" ]; then proc64
  else physdemo peek "$paddr" --width 64 --device /dev/mem --json | json_field value; fi
}
seen="$(t peek "$paddr" 8)"
via_mem="$(mem64)"
if [ "$seen" = "$initial" ] && [ "$via_mem" = "$initial" ]; then
  ok "/dev/physmem reads $seen at $paddr, as $witness does ($via_mem)"
else
  bad "at $paddr: /dev/physmem '$seen', $witness '$via_mem', the target holds $initial"
fi
pinned="$(t pin "$pid" "$vaddr" | sed -n 's/^pfn=\(0x[0-9a-f]*\) .*/\1/p')"
if [ -n "$pinned" ] && [ $((pinned * 4096 + paddr % 4096)) -eq $((paddr)) ]; then
  ok "PHYSMEM_IOC_PIN of the target's variable: frame $pinned, inspect's frame"
else
  bad "PHYSMEM_IOC_PIN gave frame '$pinned', inspect says $paddr"
fi
after="$(t peek "$((paddr + 8))" 8)"

V=0xabcdef0123456789
t poke "$paddr" 8 "$V"
wait_for "$tout" "\"new\":\"$V\"" 50 && ok "the target saw exactly $V, written through /dev/physmem" \
  || bad "the target did not report $V: $(grep change "$tout" | tail -n 1)"
via_mem="$(mem64)"
if [ -n "$strict" ]; then
  via_devmem="$(devmem "$paddr" 64 2>&1)" via_dd="$(dd if=/dev/mem bs=8 skip=$((paddr / 8)) count=1 2>&1 >/dev/null)"
  if [ "$via_mem" = "$V" ] && echo "$via_devmem" | grep -q "Operation not permitted" && echo "$via_dd" | grep -q "Operation not permitted"; then
    ok "$witness reads it back: $via_mem; /dev/mem still refuses it (busybox devmem: $via_devmem)"
  else
    bad "reads back: $witness '$via_mem' (want $V), devmem '$via_devmem', dd '$via_dd'"
  fi
else
  via_devmem="$(devmem "$paddr" 64 | lower)"
  if [ "$via_mem" = "$V" ] && [ "$via_devmem" = "$V" ]; then
    ok "/dev/mem reads it back: read() $via_mem, busybox devmem (mmap) $via_devmem"
  else
    bad "/dev/mem reads back read() '$via_mem', devmem '$via_devmem', want $V"
  fi
fi
W=0x0badc0ffee0ddf00
if [ -n "$strict" ]; then
  # the target's own memory, written through /proc/PID/mem: 8 bytes, little-endian
  bytes="" i=0
  while [ "$i" -lt 8 ]; do bytes="$bytes\\$(printf '%03o' $(( (W >> (8 * i)) & 255 )))"; i=$((i + 1)); done
  printf "$bytes" | dd of="/proc/$pid/mem" bs=8 seek=$((vaddr / 8)) count=1 conv=notrunc 2>/dev/null
  writer="the target's own memory (/proc/$pid/mem)"
else
  physdemo poke "$paddr" "$W" --width 64 --device /dev/mem >/dev/null
  writer="/dev/mem"
fi
seen="$(t peek "$paddr" 8)"
if [ "$seen" = "$W" ]; then ok "written through $writer ($W), read through /dev/physmem: $seen"; else bad "$writer wrote $W, /dev/physmem reads '$seen'"; fi
t poke "$((paddr + 4))" 4 0xcafef00d
seen="$(t peek "$paddr" 8)" now_after="$(t peek "$((paddr + 8))" 8)"
if [ "$seen" = 0xcafef00dee0ddf00 ] && [ "$now_after" = "$after" ]; then
  ok "a 4-byte write at +4 changed the upper half only: $seen, the next word still $now_after"
else
  bad "after a 4-byte write at +4: '$seen' (want 0xcafef00dee0ddf00), next word '$now_after' (was $after)"
fi
wait_for "$tout" '"new":"0xcafef00dee0ddf00"' 50 && ok "the target saw 0xcafef00dee0ddf00" || bad "the target did not see 0xcafef00dee0ddf00"
stop_target

# --- edu through /dev/physmem ------------------------------------------------
edu="$(edu_dir)" bar0=""
[ -z "$edu" ] || bar0="$(bar_start "$edu")"
if [ -z "$bar0" ]; then bad "no edu device (1234:11e8)"; else
  bar0="$(printf '%#x' $((bar0)))"
  id="$(t peek "$bar0" 4)"
  if [ "$id" = 0x010000ed ]; then ok "edu ident through /dev/physmem: $id"; else bad "edu ident through /dev/physmem: '$id'"; fi
  for v in 0x12345678 0x00000000 0xffffffff 0xa5a5a5a5; do
    want="$(printf '0x%08x' $(( ~v & 0xffffffff )))"
    t poke "$((bar0 + 4))" 4 "$v"
    got="$(t peek "$((bar0 + 4))" 4)" witness="$(devmem "$((bar0 + 4))" 32 | lower)"
    if [ "$got" = "$want" ] && [ "$witness" = "$want" ]; then
      ok "edu liveness: wrote $v, /dev/physmem reads $got, busybox devmem $witness"
    else
      bad "edu liveness: wrote $v, want $want, /dev/physmem '$got', devmem '$witness'"
    fi
  done
  e="$(t_err peek "$((bar0 + 2))" 4)"
  if [ "$e" = EINVAL ]; then ok "a misaligned 4-byte register read: $e"; else bad "a misaligned register read: '$e'"; fi
  e="$(t_err peek 0xfee01000 4)"
  if [ "$e" = ENXIO ]; then ok "a read where nothing is (0xfee01000): $e"; else bad "a read of a hole: '$e'"; fi
fi

# --- the kernel's text: physdemo cannot write it through /dev/physmem ---------------
code="$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel code$/\1/p' /proc/iomem)"
at="$(printf '%#x' $((0x$code + 0x40)))"
before="$(t peek "$at" 8)"
for method in mmap rw; do
  err="$(physdemo poke "$at" 0x4141414141414141 --width 64 --device /dev/physmem --force --method "$method" 2>&1 >/dev/null)"
  rc=$?
  first="$(echo "$err" | head -n 1)"
  case "$method" in
    mmap) want="/dev/physmem refuses to map 0x" ;;
    rw) want="/dev/physmem cannot write 0x" ;;
  esac
  if [ "$rc" -ne 0 ] && echo "$first" | grep -qF "$want" && echo "$first" | grep -qF "(EIO): the kernel" &&
     [ "$(t peek "$at" 8)" = "$before" ]; then
    ok "physdemo poke --force of Kernel code $at through /dev/physmem (--method $method): exit $rc, '$first'; the code still reads $before"
  else
    bad "physdemo poke of Kernel code $at (--method $method): exit $rc, '$err', now $(t peek "$at" 8) (was $before)"
  fi
done

# --- hostile use ---------------------------------------------------------------
out="$(mktemp)"
t all >"$out" 2>&1
rc=$?
while IFS= read -r line; do
  case "$line" in
    "ok   - "*) ok "${line#ok   - }" ;;
    "FAIL - "*) bad "${line#FAIL - }" ;;
    *) echo "$line" ;;
  esac
done <"$out"
if [ "$rc" -eq 0 ] && grep -q '^torture: [0-9]* passed, 0 failed$' "$out"; then
  ok "physmem_torture all: exit 0, $(grep '^torture:' "$out")"
else
  bad "physmem_torture all: exit $rc, '$(grep '^torture:' "$out")'"
fi
rm -f "$out"

# --- unloading while mapped ------------------------------------------------------
ram="$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel code$/\1/p' /proc/iomem)"
hold="$(mktemp)"
"$TORTURE" hold-map "0x$ram" >"$hold" &
holder=$!
if wait_for "$hold" mapped 100; then
  if rmmod physdemo_mem 2>/dev/null; then
    bad "rmmod succeeded while a process maps /dev/physmem"
  elif grep -q '^physdemo_mem [0-9]* 1 ' /proc/modules; then
    ok "rmmod refused while a process maps /dev/physmem (file closed): $(grep '^physdemo_mem ' /proc/modules | cut -d' ' -f1-3)"
  else
    bad "rmmod failed but /proc/modules says: $(grep '^physdemo_mem ' /proc/modules)"
  fi
else
  bad "physmem_torture hold-map did not map: $(cat "$hold")"
fi
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null
rm -f "$hold"
if rmmod physdemo_mem && [ ! -e /dev/physmem ] && ! grep -q '^physdemo_mem ' /proc/modules; then
  ok "after the mapping's process was killed, rmmod removed the module and /dev/physmem"
else
  bad "rmmod after munmap failed"
fi
if insmod "$ko" && [ "$(t peek "$bar0" 4)" = 0x010000ed ] && rmmod physdemo_mem; then
  ok "a second load reads edu's ident again and unloads"
else
  bad "a second load/unload failed"
fi

# --- lockdown raised while the file is open (last: it cannot be undone) -----------
if [ -e /sys/kernel/security/lockdown ]; then
  insmod "$ko" || bad "insmod $ko for the lockdown step failed"
  out="$(mktemp)"
  t lockdown >"$out" 2>&1
  rc=$?
  while IFS= read -r line; do
    case "$line" in
      "ok   - "*) ok "${line#ok   - }" ;;
      "FAIL - "*) bad "${line#FAIL - }" ;;
      *) echo "$line" ;;
    esac
  done <"$out"
  [ "$rc" -eq 0 ] || bad "physmem_torture lockdown: exit $rc"
  rm -f "$out"
elif zcat /proc/config.gz >/dev/null && ! zcat /proc/config.gz | grep -q '^CONFIG_SECURITY_LOCKDOWN_LSM=y'; then
  ok "lockdown after open: this kernel has no lockdown LSM (no CONFIG_SECURITY_LOCKDOWN_LSM=y in /proc/config.gz); the distro VM runs that step"
else
  bad "no /sys/kernel/security/lockdown, though /proc/config.gz has the lockdown LSM (or cannot be read)"
fi

if [ -z "$(kernel_log_bad)" ]; then
  ok "the kernel log has no WARN, BUG, Oops or general protection after everything"
else
  bad "the kernel log after the test:"; kernel_log_bad | sed 's/^/    | /'
fi
summary physmem 257
