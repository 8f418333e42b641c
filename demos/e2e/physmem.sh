#!/bin/sh
# demos/e2e/physmem.sh: inside the VM, /dev/physmem (demos/kmod/physdemo_mem.c)
# reads and writes exactly what /dev/mem does, pins the right frame, survives
# hostile use, and unloads only when nothing uses it.
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
#   - rmmod fails while a process maps /dev/physmem (its file closed), works
#     after that process is killed, and a second load works;
#   - the kernel log has no "BUG", "Oops", "WARNING" or "general protection".
#
# Needs physdemo_mem.ko (/lib/modules/$(uname -r)/extra/ or /files/) and
# /files/physmem_torture. On the host:
#   PHYSDEMO_VM_FILES="$(demos/kmod/build) $(demos/kmod/torture/build)" \
#     demos/vm/run demos/e2e/physmem.sh
# (tests/it/vm.rs does exactly that). Prints "ok"/"FAIL" lines with the exact
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
kernel_log_bad() { dmesg | grep -E 'BUG|Oops|WARNING|general protection'; }

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
seen="$(t peek "$paddr" 8)"
via_mem="$(physdemo peek "$paddr" --width 64 --json | json_field value)"
if [ "$seen" = "$initial" ] && [ "$via_mem" = "$initial" ]; then
  ok "/dev/physmem reads $seen at $paddr, as /dev/mem does ($via_mem)"
else
  bad "at $paddr: /dev/physmem '$seen', /dev/mem '$via_mem', the target holds $initial"
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
via_mem="$(physdemo peek "$paddr" --width 64 --json | json_field value)"
via_devmem="$(devmem "$paddr" 64 | lower)"
if [ "$via_mem" = "$V" ] && [ "$via_devmem" = "$V" ]; then
  ok "/dev/mem reads it back: read() $via_mem, busybox devmem (mmap) $via_devmem"
else
  bad "/dev/mem reads back read() '$via_mem', devmem '$via_devmem', want $V"
fi
W=0x0badc0ffee0ddf00
physdemo poke "$paddr" "$W" --width 64 >/dev/null
seen="$(t peek "$paddr" 8)"
if [ "$seen" = "$W" ]; then ok "written through /dev/mem ($W), read through /dev/physmem: $seen"; else bad "/dev/mem wrote $W, /dev/physmem reads '$seen'"; fi
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

if [ -z "$(kernel_log_bad)" ]; then
  ok "the kernel log has no BUG, Oops, WARNING or general protection after everything"
else
  bad "the kernel log after the test:"; kernel_log_bad | sed 's/^/    | /'
fi
summary physmem 152
