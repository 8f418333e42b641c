#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/vm/plumbing.sh: the VM's plumbing, checked inside the VM with real
# values and busybox (no physdemo): the kernel flavour, the project's modules,
# physdemo-testdev in /proc/iomem and /proc/ioports, pc-testdev's memory and
# ports, the debug console on port 0xe9, the HPET, fw_cfg, ioperm(), swap on zram, PID
# namespaces, hugetlbfs, a non-root user, and per flavour what /dev/mem
# allows (STRICT_DEVMEM, IO_STRICT_DEVMEM, PAT, lockdown, module signatures).
#
# Usage (host): demos/vm/run demos/vm/plumbing.sh MODE, with MODE and the VM:
#   default   PHYSDEMO_VM_KERNEL=default (or unset)
#   distro    PHYSDEMO_VM_KERNEL=distro
#   lockdown  PHYSDEMO_VM_KERNEL=distro PHYSDEMO_VM_APPEND=lockdown=integrity
#   knobs     PHYSDEMO_VM_NUMA=2 PHYSDEMO_VM_MEM=5G PHYSDEMO_VM_KASLR=on
#             (default kernel): two NUMA nodes, RAM above 4 GiB, KASLR
# It fails at once when the VM is not the one MODE names. tests/it/vm.rs runs
# every mode with PHYSDEMO_VM_TRACE=memory_region_ops_read,memory_region_ops_write
# and its own trace and debug console logs, and checks on the host what the
# devices saw: in default and distro exactly these accesses, in this order,
# and no others to pc-testdev (in lockdown: none at all, and an empty debug
# console):
#   pc-testdev-iomem  write 0xff000000 0x12345678 size 4   (busybox devmem)
#                     read  0xff000000 0x12345678 size 4
#   pc-testdev-ioport write 0xe0 0xcafe1234 size 4         (portio, ioperm)
#                     read  0xe0 0xcafe1234 size 4
#                     read  0xe0 0x1234 size 2
#                     read  0xe2 0xcafe size 2
#   debug console     "physdemo debugcon MODE\n", one outb per byte through
#                     /dev/port at 0xe9
# Ends with "plumbing-MODE: N passed, N failed" (summary with a minimum per
# mode); exit 0 only if all passed.
set -u
# shellcheck source=demos/lib.sh
. "$(dirname "$0")/../lib.sh"

mode="${1:-}"
rel="$(uname -r)"
extra="/lib/modules/$rel/extra"
case "$mode" in
  default|knobs) want_rel="-physdemo" min=25 ;;
  distro) want_rel="-physdemo-distro" min=31 ;;
  lockdown) want_rel="-physdemo-distro" min=17 ;;
  *) die "usage: plumbing.sh default|distro|lockdown|knobs (got '$mode')" ;;
esac
[ "$mode" = knobs ] && min=30
EPERM="Operation not permitted"

# --- the kernel is the one MODE names -------------------------------------------
case "$rel" in
  *"$want_rel") ok "kernel $rel is the ${want_rel#-} flavour" ;;
  *) bad "kernel $rel is not the ${want_rel#-} flavour that mode $mode needs"
     summary "plumbing-$mode" "$min"; exit 1 ;;
esac
cmdline="$(cat /proc/cmdline)"
echo "    /proc/cmdline: $cmdline"
config() { zcat /proc/config.gz | grep -x "$1" >/dev/null; }
if [ "$want_rel" = -physdemo-distro ]; then
  if config CONFIG_STRICT_DEVMEM=y && config CONFIG_IO_STRICT_DEVMEM=y &&
     config CONFIG_SECURITY_LOCKDOWN_LSM=y && config CONFIG_MODULE_SIG=y &&
     ! config CONFIG_MODULE_SIG_FORCE=y; then
    ok "/proc/config.gz: STRICT_DEVMEM, IO_STRICT_DEVMEM, lockdown LSM, MODULE_SIG (not forced)"
  else bad "/proc/config.gz lacks the distro settings"; fi
else
  if config '# CONFIG_STRICT_DEVMEM is not set' && ! config CONFIG_MODULE_SIG=y; then
    ok "/proc/config.gz: STRICT_DEVMEM off, no module signatures"
  else bad "/proc/config.gz: the default kernel has STRICT_DEVMEM or MODULE_SIG"; fi
fi

# --- modules: present for this kernel, loaded and unloaded cleanly --------------
for c in /demos/kmod/*.c; do
  name="$(basename "$c" .c)"
  if [ -f "$extra/$name.ko" ]; then ok "$extra/$name.ko is there"; else bad "no $extra/$name.ko"; fi
done
if grep -q '^physdemo_testdev ' /proc/modules; then
  ok "/init loaded physdemo_testdev at boot"
else
  bad "physdemo_testdev is not loaded"
fi
testdev_lines() { grep -c '^ *ff000000-ff00ffff : physdemo-testdev$' /proc/iomem; }
n="$(testdev_lines)"
if [ "$n" = 2 ]; then
  ok "/proc/iomem: ff000000-ff00ffff : physdemo-testdev, the device and the driver's claim"
  grep -B1 -A1 'physdemo-testdev' /proc/iomem | head -n 4 | sed 's/^/    /'
else
  bad "/proc/iomem has $n physdemo-testdev lines, want 2"
fi
overlapping() { # the /proc/iomem lines whose range overlaps 0xff000000-0xff00ffff
  sed 's/^ *//' /proc/iomem | while IFS=- read -r start rest; do
    end="${rest%% *}"
    if [ $((0x$start)) -le $((0xff00ffff)) ] && [ $((0x$end)) -ge $((0xff000000)) ]; then
      echo "$start-$rest"
    fi
  done
}
n="$(grep -c '^ *00e0-00e3 : physdemo-testdev$' /proc/ioports)"
if [ "$n" = 2 ]; then
  ok "/proc/ioports: 00e0-00e3 : physdemo-testdev, pc-testdev's 32-bit port claimed too"
else
  bad "/proc/ioports has $n physdemo-testdev lines, want 2"
fi
if rmmod physdemo_testdev && [ -z "$(overlapping)" ]; then
  ok "rmmod physdemo_testdev: no /proc/iomem region overlaps 0xff000000-0xff00ffff (no one else claims it)"
else
  bad "after rmmod physdemo_testdev /proc/iomem has at 0xff000000-0xff00ffff: $(overlapping)"
fi
if insmod "$extra/physdemo_testdev.ko" && [ "$(testdev_lines)" = 2 ]; then
  ok "insmod physdemo_testdev again: listed again"
else
  bad "reloading physdemo_testdev failed"
fi
if modprobe physdemo_buf && grep -q '^physdemo_buf ' /proc/modules && rmmod physdemo_buf &&
   ! grep -q '^physdemo_buf ' /proc/modules; then
  ok "modprobe physdemo_buf (modules.dep) and rmmod"
else
  bad "modprobe/rmmod physdemo_buf failed"
fi
if [ -f "$extra/physdemo_mem.ko" ]; then
  if insmod "$extra/physdemo_mem.ko" && [ -c /dev/physmem ] && rmmod physdemo_mem; then
    ok "physdemo_mem.ko loads (/dev/physmem) and unloads"
  else
    bad "physdemo_mem.ko did not load, create /dev/physmem and unload"
  fi
fi

# --- pc-testdev's memory: busybox devmem (mmap of /dev/mem) ---------------------
devmem_rw() { # write 0x12345678 at 0xff000000 and read it back
  if out="$(devmem 0xff000000 32 0x12345678 2>&1)"; then
    v="$(devmem 0xff000000 32)"
    if [ "$v" = 0x12345678 ]; then ok "devmem 0xff000000 32 0x12345678, read back $v"
    else bad "devmem 0xff000000 read back '$v' after writing 0x12345678"; fi
  else
    bad "devmem 0xff000000 32 0x12345678: $out"
  fi
}
case "$mode" in
  default|knobs) devmem_rw ;;
  distro)
    # IO_STRICT_DEVMEM: the range is closed while a driver claims it.
    if out="$(devmem 0xff000004 32 0x0badf00d 2>&1)"; then
      bad "devmem wrote to 0xff000004 while physdemo_testdev claims it (IO_STRICT_DEVMEM?)"
    else
      case "$out" in *"$EPERM"*) ok "IO_STRICT_DEVMEM: claimed 0xff000004 refused: $out" ;;
        *) bad "devmem 0xff000004 while claimed: '$out', want EPERM" ;; esac
    fi
    rmmod physdemo_testdev
    devmem_rw
    insmod "$extra/physdemo_testdev.ko" || bad "reloading physdemo_testdev after devmem failed" ;;
  lockdown)
    if out="$(devmem 0xff000000 32 2>&1)"; then bad "lockdown: devmem read 0xff000000: $out"
    else
      case "$out" in *"can't open '/dev/mem'"*"$EPERM"*) ok "lockdown: /dev/mem cannot be opened: $out" ;;
        *) bad "lockdown: devmem said '$out', want EPERM at open" ;; esac
    fi ;;
esac

# --- the debug console (isa-debugcon at 0xe9) through /dev/port -----------------
debugcon_write() { # each byte of $1, then a newline: one dd (one outb) each
  s="$1"
  while [ -n "$s" ]; do
    c="${s%"${s#?}"}"; s="${s#?}"
    printf '%s' "$c" | dd of=/dev/port bs=1 seek=233 count=1 conv=notrunc 2>/dev/null || return 1
  done
  printf '\n' | dd of=/dev/port bs=1 seek=233 count=1 conv=notrunc 2>/dev/null
}
if [ "$mode" = lockdown ]; then
  if out="$(dd if=/dev/port bs=1 skip=233 count=1 2>&1 >/dev/null)"; then bad "lockdown: /dev/port opened"
  else
    case "$out" in *"$EPERM"*) ok "lockdown: /dev/port cannot be opened: $out" ;;
      *) bad "lockdown: /dev/port said '$out', want EPERM" ;; esac
  fi
else
  back="$(dd if=/dev/port bs=1 skip=233 count=1 2>/dev/null | od -An -tx1 | tr -d ' ')"
  if [ "$back" = e9 ]; then ok "port 0xe9 reads 0xe9: isa-debugcon's readback, it owns the port"
  else bad "port 0xe9 reads 0x$back, want 0xe9 (isa-debugcon)"; fi
  if debugcon_write "physdemo debugcon $mode"; then
    ok "wrote 'physdemo debugcon $mode' and a newline to port 0xe9 (the host checks it arrived)"
  else
    bad "writing to port 0xe9 through /dev/port failed"
  fi
fi

# --- I/O ports with ioperm (portio): pc-testdev's 32-bit port, fw_cfg -----------
if [ "$mode" = lockdown ]; then
  if out="$(portio 0xe0 32 2>&1)"; then bad "lockdown: ioperm allowed: $out"
  else
    case "$out" in *"$EPERM"*) ok "lockdown: ioperm refused: $out" ;;
      *) bad "lockdown: portio said '$out', want EPERM" ;; esac
  fi
else
  if portio 0xe0 32 0xcafe1234 && [ "$(portio 0xe0 32)" = 0xcafe1234 ] &&
     [ "$(portio 0xe0 16)" = 0x1234 ] && [ "$(portio 0xe2 16)" = 0xcafe ]; then
    ok "ioperm works: pc-testdev port 0xe0 holds 0xcafe1234 (0xe0/16 = 0x1234, 0xe2/16 = 0xcafe)"
  else
    bad "portio on pc-testdev's port 0xe0 (ioperm: $(portio 0xe0 32 2>&1))"
  fi
  # fw_cfg: select key 0 (signature) with a 16-bit write, read 4 bytes.
  sig=""
  if portio 0x510 16 0; then
    for _ in 1 2 3 4; do sig="$sig$(portio 0x511 8 | sed 's/^0x/\\x/')"; done
  fi
  sig="$(printf '%b' "$sig")"
  if [ "$sig" = QEMU ]; then ok "fw_cfg: key 0 at ports 0x510/0x511 reads '$sig'"
  else bad "fw_cfg signature '$sig', want QEMU"; fi
fi

# --- the HPET at 0xfed00000 (read only: the kernel owns it) ---------------------
if [ "$mode" != lockdown ]; then
  cap="$(devmem 0xfed00000 32)" period="$(devmem 0xfed00004 32)"
  c1="$(devmem 0xfed000f0 64)" c2="$(devmem 0xfed000f0 64)"
  if [ "$cap" = 0x8086A201 ] && [ "$period" = 0x00989680 ]; then
    ok "HPET: capabilities $cap, period $period fs = $((period / 1000000)) ns"
  else
    bad "HPET capabilities '$cap' period '$period', want 0x8086A201 0x00989680"
  fi
  if [ $((c2)) -gt $((c1)) ]; then ok "HPET main counter moves: $c1 -> $c2"
  else bad "HPET main counter did not move: $c1 -> $c2"; fi
  grep -i hpet /proc/iomem | sed 's/^/    /'
fi

# --- features of issue 14 (both kernels) ---------------------------------------
# io_uring has no busybox applet: its implementation (not the ENOSYS stub) is there.
if grep -q ' t io_uring_setup$' /proc/kallsyms; then ok "io_uring built in (io_uring_setup in /proc/kallsyms)"
else bad "no io_uring_setup in /proc/kallsyms"; fi
if [ "$mode" != lockdown ]; then
  if echo 64M >/sys/block/zram0/disksize && mkswap /dev/zram0 >/dev/null &&
     swapon /dev/zram0 && grep -q '^/dev/zram0 ' /proc/swaps; then
    ok "swap on zram: $(grep '^/dev/zram0 ' /proc/swaps | tr -s ' ') ($(cat /sys/block/zram0/comp_algorithm))"
    swapoff /dev/zram0
  else
    bad "swap on /dev/zram0 failed"
  fi
  inner="$(unshare -p -f --mount-proc sh -c 'echo $$; ls /proc | grep -c "^[0-9]"')"
  if [ "$(echo "$inner" | head -n 1)" = 1 ]; then
    ok "PID namespace: the shell is pid 1 there, sees $(echo "$inner" | tail -n 1) processes"
  else
    bad "unshare -p: '$inner'"
  fi
  mkdir -p /dev/hugepages
  if echo 2 >/proc/sys/vm/nr_hugepages && mount -t hugetlbfs none /dev/hugepages &&
     [ "$(sed -n 's/^HugePages_Total: *//p' /proc/meminfo)" = 2 ]; then
    ok "hugetlbfs mounted, 2 huge pages reserved"
    umount /dev/hugepages; echo 0 >/proc/sys/vm/nr_hugepages
  else
    bad "hugetlbfs / nr_hugepages"
  fi
  if [ -w /sys/kernel/mm/ksm/run ] && [ -f /sys/kernel/mm/transparent_hugepage/enabled ]; then
    ok "KSM and THP controls present (THP $(cat /sys/kernel/mm/transparent_hugepage/enabled))"
  else bad "no KSM or THP controls in /sys/kernel/mm"; fi
  who="$(su user -c 'id -u; test -r /dev/mem && echo readable || echo unreadable')"
  if [ "$who" = "1000
unreadable" ]; then ok "su user: uid 1000, /dev/mem unreadable"; else bad "su user: '$who'"; fi
fi

# --- per flavour: what /dev/mem allows ------------------------------------------
kcode="$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel code$/\1/p' /proc/iomem | head -n 1)"
case "$mode" in
  default|knobs)
    v="$(dd if=/dev/mem bs=8 skip=$((0x$kcode / 8)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')"
    if [ -n "$v" ] && [ "$v" != 0000000000000000 ]; then
      ok "no STRICT_DEVMEM: read() of kernel code at 0x$kcode gives 0x$v"
    else bad "read() of kernel code at 0x$kcode gave '$v'"; fi
    if echo " $cmdline " | grep -q ' nopat ' && [ ! -e /sys/kernel/debug/x86/pat_memtype_list ]; then
      ok "nopat: PAT off, no pat_memtype_list"
    else bad "default kernel without nopat, or PAT on"; fi
    ;;
  distro)
    if echo " $cmdline " | grep -q ' nopat '; then bad "distro booted with nopat"
    elif [ -r /sys/kernel/debug/x86/pat_memtype_list ]; then
      ok "PAT on: no nopat, /sys/kernel/debug/x86/pat_memtype_list has $(wc -l </sys/kernel/debug/x86/pat_memtype_list) lines"
    else bad "PAT: no /sys/kernel/debug/x86/pat_memtype_list"; fi
    if out="$(devmem "0x$kcode" 32 2>&1)"; then bad "STRICT_DEVMEM: devmem of kernel code 0x$kcode gave $out"
    else
      case "$out" in *"$EPERM"*) ok "STRICT_DEVMEM: devmem (mmap) of RAM at 0x$kcode: $out" ;;
        *) bad "devmem of RAM 0x$kcode: '$out', want EPERM" ;; esac
    fi
    if out="$(dd if=/dev/mem bs=8 skip=$((0x$kcode / 8)) count=1 2>&1 >/dev/null)"; then
      bad "STRICT_DEVMEM: read() of RAM at 0x$kcode succeeded"
    else
      case "$out" in *"$EPERM"*) ok "STRICT_DEVMEM: read() of RAM at 0x$kcode: $out" ;;
        *) bad "read() of RAM 0x$kcode: '$out', want EPERM" ;; esac
    fi
    # Low RAM: mmap shows the real bytes, read() substitutes zeros.
    low="" real=""
    for a in 0x9f000 0x9e000 0x9d000 0x1000 0x2000 0x3000 0x6000 0x7000 0x8000; do
      real="$(devmem "$a" 32 2>/dev/null)" || continue
      [ "$real" != 0x00000000 ] && { low="$a"; break; }
    done
    if [ -n "$low" ]; then
      v="$(dd if=/dev/mem bs=4 skip=$((low / 4)) count=1 2>/dev/null | od -An -tx4 | tr -d ' ')"
      if [ "$v" = 00000000 ]; then ok "low RAM $low: mmap shows $real, read() gives zeros"
      else bad "low RAM $low: mmap shows $real, read() gives 0x$v (want zeros)"; fi
    else
      bad "found no non-zero word in low RAM to compare"
    fi
    state="$(cat /sys/kernel/security/lockdown 2>&1)"
    if [ "$state" = "[none] integrity confidentiality" ]; then ok "lockdown available and off: $state"
    else bad "/sys/kernel/security/lockdown: '$state'"; fi
    if tail -c 28 "$extra/physdemo_buf.ko" | grep -q '~Module signature appended~' &&
       ! tail -c 28 "$extra/unsigned/physdemo_buf.ko" | grep -q '~Module signature appended~'; then
      ok "extra/physdemo_buf.ko is signed, extra/unsigned/physdemo_buf.ko is not"
    else bad "signatures: extra/ not signed or extra/unsigned/ signed"; fi
    t0="$(cat /proc/sys/kernel/tainted)"
    if insmod "$extra/unsigned/physdemo_buf.ko" && rmmod physdemo_buf; then
      t1="$(cat /proc/sys/kernel/tainted)"
      if [ $(( (t1 >> 13) & 1 )) = 1 ]; then
        ok "without lockdown an unsigned module loads, tainting the kernel (E): tainted $t0 -> $t1"
      else bad "unsigned module loaded without the E taint ($t0 -> $t1)"; fi
    else bad "without lockdown, the unsigned module did not load"; fi
    ;;
  lockdown)
    state="$(cat /sys/kernel/security/lockdown 2>&1)"
    if [ "$state" = "none [integrity] confidentiality" ]; then ok "lockdown: $state"
    else bad "/sys/kernel/security/lockdown: '$state'"; fi
    if out="$(insmod "$extra/unsigned/physdemo_buf.ko" 2>&1)"; then
      bad "lockdown: the unsigned module loaded"; rmmod physdemo_buf
    else
      case "$out" in *"$EPERM"*) ok "lockdown: unsigned module refused: $out" ;;
        *) bad "lockdown: unsigned module: '$out', want EPERM" ;; esac
    fi
    if insmod "$extra/physdemo_buf.ko" && grep -q '^physdemo_buf ' /proc/modules && rmmod physdemo_buf; then
      ok "lockdown: the signed physdemo_buf.ko loads and unloads"
    else bad "lockdown: the signed module did not load"; fi
    ;;
esac

# --- knobs: NUMA, RAM above 4 GiB, KASLR ---------------------------------------
if [ "$mode" = knobs ]; then
  if [ -d /sys/devices/system/node/node1 ]; then
    for node in 0 1; do
      echo "    node$node: cpus $(cat /sys/devices/system/node/node$node/cpulist)," \
        "$(sed -n 's/.*MemTotal: *//p' /sys/devices/system/node/node$node/meminfo)"
    done
    ok "two NUMA nodes from the SRAT: $(cat /sys/devices/system/node/online)"
  else bad "no /sys/devices/system/node/node1 (PHYSDEMO_VM_NUMA=2?)"; fi
  high="$(grep -i '^ *1[0-9a-f]\{8\}-[0-9a-f]* : System RAM' /proc/iomem | head -n 1)"
  if [ -n "$high" ]; then
    ok "System RAM above 4 GiB: $(echo "$high" | sed "s/^ *//")"
    start="$(echo "$high" | sed 's/^ *\([0-9a-f]*\)-.*/\1/')"
    if v="$(devmem "0x$start" 64)"; then ok "devmem reads RAM at 0x$start: $v"; else bad "devmem 0x$start failed"; fi
  else bad "no System RAM above 4 GiB in /proc/iomem"; fi
  text="$(sed -n 's/^\([0-9a-f]*\) T _text$/\1/p' /proc/kallsyms)"
  if echo " $cmdline " | grep -q ' nokaslr '; then bad "booted nokaslr"
  elif [ -n "$text" ] && [ "$text" != ffffffff81000000 ]; then
    ok "KASLR: _text at 0x$text, not 0xffffffff81000000"
  else bad "KASLR: _text at '0x$text'"; fi
  insmod "$extra/physdemo_buf.ko"
  base="$(sed -n 's/^vaddr=//p;s/^paddr=/-/p' /sys/kernel/debug/physdemo_buf | tr -d '\n')"
  base="$(printf '0x%x' $((base)))"
  rmmod physdemo_buf
  if [ "$base" != 0xffff888000000000 ]; then ok "KASLR: the direct map starts at $base (vaddr - paddr of physdemo_buf)"
  else bad "KASLR on but the direct map is at $base"; fi
fi

summary "plumbing-$mode" "$min"
