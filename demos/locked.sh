#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/locked.sh: physdemo where /dev/mem is locked, narrated, inside the
# distro VM (STRICT_DEVMEM, IO_STRICT_DEVMEM, PAT on, lockdown available).
#
#   distro    busybox devmem and physdemo meet STRICT_DEVMEM (physdemo says
#             why and what to do), `physdemo doctor` measures what is closed,
#             physdemo_mem is loaded, and the userland demo (demos/userland.sh)
#             completes through /dev/physmem: the target sees the exact value.
#             busybox devmem, in the same VM, still fails.
#   lockdown  the same machine booted with lockdown=integrity: the doctor names
#             lockdown; busybox devmem and physdemo are refused; the unsigned
#             module does not load, the signed one loads and refuses by itself.
#
# Usage: demos/locked.sh distro|lockdown [VALUE]   (as root, in the VM MODE
# names; the host command is demos/locked, which boots both). Exit status 0
# only when the story held: in distro the target saw exactly VALUE, in
# lockdown every door refused.
set -u
. "$(dirname "$0")/lib.sh"

mode="${1:-}"
value="${2:-0xfeedc0dedeadf00d}"
extra="/lib/modules/$(uname -r)/extra"
fail() { echo "FAIL: $*" >&2; exit 1; }
case "$mode" in distro|lockdown) ;; *) die "usage: demos/locked.sh distro|lockdown [VALUE]" ;; esac
case "$(uname -r)" in *-physdemo-distro) ;; *) fail "this is not the distro VM ($(uname -r)): run demos/locked on the host" ;; esac
# show CMD...: print the command line, run it, say how it ended
show() {
  echo "\$ $*"
  "$@"
  _rc=$?
  [ "$_rc" -eq 0 ] || echo "(exit $_rc)"
  return "$_rc"
}

if [ "$mode" = lockdown ]; then
  say "Step 1: this machine booted with lockdown=integrity (Secure Boot turns the
    same lockdown on by itself on most distributions). The kernel says:"
  show cat /sys/kernel/security/lockdown
  start_target --timeout 120 || fail "the target did not start"
  paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
  echo "physdemo target pid $pid holds $(json_field value <"$tout") at $vaddr, physical $paddr"

  say "Step 2: busybox devmem and physdemo both meet it. Lockdown closes /dev/mem
    at open(), for root too:"
  show devmem "$paddr" 64 && fail "busybox devmem read $paddr under lockdown"
  show physdemo poke "$pid" "$vaddr" "$value" && fail "physdemo poked under lockdown"

  say "Step 3: physdemo doctor says what is closed, and why:"
  physdemo doctor
  step="$(physdemo doctor --json | sed -n 's/.*"next_step":"\(.*\)"}$/\1/p')"
  case "$step" in "lockdown (integrity)"*) ;; *) fail "the doctor's next step does not name lockdown: $step" ;; esac

  say "Step 4: physdemo_mem is no way around it. Lockdown also means only signed
    modules load: the unsigned build is refused..."
  show insmod "$extra/unsigned/physdemo_mem.ko" && fail "the unsigned module loaded under lockdown"
  say "...and the copy signed with this kernel build's own key loads, but refuses
    to open, as /dev/mem does, and says so once in the kernel log:"
  show insmod "$extra/physdemo_mem.ko" || fail "the signed module did not load"
  show ls -l /dev/physmem
  show dd if=/dev/physmem bs=8 count=1 skip=$((paddr / 8)) && fail "/dev/physmem opened under lockdown"
  dmesg | grep 'physdemo_mem: /dev/physmem refused' | sed 's/^\[[^]]*\] //'
  show physdemo peek "$pid" "$vaddr" && fail "physdemo read RAM under lockdown"
  grep -q '"event":"change"' "$tout" && fail "the target's variable changed under lockdown"
  rmmod physdemo_mem
  stop_target
  say "Done: under lockdown every door is closed, physdemo's own included, by design;
    only a boot without lockdown (or the project's VM) opens them."
  exit 0
fi

say "Step 1: this kernel is configured like Debian's, Ubuntu's or Fedora's for
    everything that touches /dev/mem, and booted without nopat:"
zcat /proc/config.gz | grep -E '^CONFIG_(STRICT_DEVMEM|IO_STRICT_DEVMEM|X86_PAT|SECURITY_LOCKDOWN_LSM|MODULE_SIG)='
echo "\$ cat /proc/cmdline"; cat /proc/cmdline
start_target --timeout 120 || fail "the target did not start"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
echo "physdemo target pid $pid holds $(json_field value <"$tout") at $vaddr, which is physical $paddr:"
physdemo inspect "$pid" "$vaddr" | sed -n '/^physical/p'

say "Step 2: busybox devmem meets CONFIG_STRICT_DEVMEM: the kernel refuses every
    access to System RAM above 1 MiB through /dev/mem (EPERM)."
show devmem "$paddr" 64 && fail "busybox devmem read RAM at $paddr"

say "Step 3: so does physdemo, and it says why and what to do:"
show physdemo poke "$pid" "$vaddr" "$value" && fail "physdemo poked through a locked /dev/mem"

say "Step 4: physdemo doctor measures what this machine allows: it reads a page of
    its own through /dev/mem by read() and by mapping, compares RAM below 1 MiB,
    maps each device range without touching it, and reads the kernel's config,
    PAT's memory types and the lockdown mode:"
physdemo doctor

say "Step 5: the next step it names: load physdemo_mem, physdemo's own memory device
    (demos/kmod/physdemo_mem.c), which the physdemo-dkms package installed: DKMS
    built it for this kernel (signed here with the kernel build's key)."
show modprobe physdemo_mem || fail "modprobe physdemo_mem failed"
show ls -l /dev/physmem
stop_target

say "Step 6: the userland demo, unchanged. physdemo tries /dev/mem, is refused,
    and goes through /dev/physmem, saying so:"
log="$(mktemp)"
sh "$(dirname "$0")/userland.sh" "$value" 2>&1 | tee "$log"
grep -q "^via       /dev/physmem (physdemo_mem) mmap, because /dev/mem refused" "$log" || fail "the poke did not go through /dev/physmem"
want="$(norm_hex "$value")"
grep -q -- "-> 0x0*$want " "$log" || fail "the target did not report $value"
rm -f "$log"

say "Step 7: in the same VM, busybox devmem still cannot read RAM: only physdemo
    knows the second door."
start_target --timeout 60 || fail "the target did not start"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
show devmem "$paddr" 64 && fail "busybox devmem read RAM at $paddr"
show physdemo peek "$pid" "$vaddr"
stop_target
rmmod physdemo_mem

say "Done: on a distribution-like kernel, physdemo went through /dev/physmem where
    /dev/mem is locked, and the target saw exactly $value."
