#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/vm/doors.sh: inside the distro VM, what physdemo does where /dev/mem is
# locked, checked against busybox and the kernel's own files:
#
#   distro    (PHYSDEMO_VM_KERNEL=distro): `physdemo doctor` reports
#             STRICT_DEVMEM, IO_STRICT_DEVMEM, PAT and the low-RAM zeros as busybox
#             devmem and dd meet them; without physdemo_mem, a poke of a target's
#             variable is refused with EPERM and the message naming STRICT_DEVMEM
#             and the module to load, the target unchanged, while reads of RAM go
#             through /proc/kcore (read-only) and say so: peek of the target's
#             variable (= its own report), peek and dump of linux_banner at the
#             physical address kallsyms and iomem give (= /proc/version), RAM below
#             1 MiB (= busybox devmem's mapping, never read()'s zeros); the doctor
#             reports /proc/kcore's ranges as /proc/iomem's System RAM; poke
#             --device /proc/kcore is refused as read-only; a device address is no
#             kcore's; write() of RAM below 1 MiB is refused, never passed off as
#             written; a claimed device range names its driver.
#             physdemo_mem is the physdemo-dkms package's, as DKMS installed it
#             (demos/kmod/build, demos/vm/run): the doctor names that install
#             (/var/lib/dkms's link, modules.dep's path, the file DKMS recorded)
#             and `modprobe physdemo_mem` as the step, and the test takes it.
#             With physdemo_mem loaded: the doctor says /dev/physmem reaches RAM;
#             inspect's physical address is pagemap's (read by dd); poke goes
#             through /dev/physmem and says so, the target sees the exact value;
#             peek --method rw, dump and devmem too; low RAM reads what busybox
#             devmem's mapping shows; edu answers through --device /dev/physmem
#             (demos/edu.sh); with /dev/mem gone, a range a driver claims is still
#             refused (the register unchanged, read by dd) while edu's unclaimed BAR
#             reads through /dev/physmem; the IOAPIC's 1 KiB reads by pread by itself
#             (= dd), and --method mmap there names ENXIO and --method rw;
#             the kmalloc buffer is rewritten (demos/kernel-buffer.sh); linux_banner
#             is dumped through /dev/physmem (= /proc/version, the note names it);
#             busybox devmem still fails; the kernel log stays clean.
#   lockdown  (PHYSDEMO_VM_KERNEL=distro PHYSDEMO_VM_APPEND=lockdown=integrity):
#             the doctor names lockdown; poke is refused (EPERM) naming lockdown
#             and its mode, while peek reads the target's variable through
#             /proc/kcore, which integrity leaves open; busybox devmem cannot open
#             /dev/mem; the unsigned physdemo_mem is refused, the signed one loads
#             and then refuses at open by itself (its one kernel log line), and
#             physdemo says so. Then lockdown is raised to confidentiality (as
#             lockdown=confidentiality would boot it): /proc/kcore refuses to open
#             (dd), and physdemo and its doctor say lockdown closed it.
#
# Usage (host): demos/vm/run demos/vm/doors.sh MODE, in the VM MODE names
# (tests/it/vm.rs runs both). Prints "ok"/"FAIL" lines with the exact values,
# then "doors-MODE: N passed, N failed"; exit 0 only when all passed.
set -u
. "$(dirname "$0")/../lib.sh"

mode="${1:-}"
extra="/lib/modules/$(uname -r)/extra"
case "$mode" in
  distro) min=51 ;;
  lockdown) min=16 ;;
  *) die "usage: doors.sh distro|lockdown (got '$mode')" ;;
esac
case "$(uname -r)" in
  *-physdemo-distro) ;;
  *) die "kernel $(uname -r) is not the distro flavour: run with PHYSDEMO_VM_KERNEL=distro" ;;
esac
EPERM="Operation not permitted"

# one_error RC WORDS...: the last `pd` exited RC with one physdemo: error line holding every WORDS
one_error() {
  _want="$1"; shift
  [ "$rc" -eq "$_want" ] && [ -z "$out" ] && [ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || return 1
  case "$err" in "physdemo: error: "*) ;; *) return 1 ;; esac
  for _w in "$@"; do case "$err" in *"$_w"*) ;; *) return 1 ;; esac; done
}
next_step() { sed -n 's/.*"next_step":"\(.*\)"}$/\1/p'; }
kernel_log_bad() { dmesg | grep -E 'BUG|Oops|WARNING|general protection'; }
# pagemap_paddr PID VADDR: the physical address, from pagemap read by dd (not physdemo)
pagemap_paddr() {
  _e="$(dd if="/proc/$1/pagemap" bs=8 skip=$(($2 / 4096)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')"
  printf '0x%x' $(( ((0x$_e) & 0x7fffffffffffff) * 4096 + ($2 % 4096) ))
}
# kallsyms NAME: NAME's address in /proc/kallsyms (hex digits)
kallsyms() { awk -v n="$1" '$3 == n { print $1; exit }' /proc/kallsyms; }
# The physical address of linux_banner by the kernel's own layout, not physdemo's: its
# distance from _text (/proc/kallsyms) plus the start of "Kernel code" (/proc/iomem).
code_start="$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel code$/\1/p' /proc/iomem | head -n 1)"
banner="$(printf '0x%x' $(( 0x$(kallsyms linux_banner) - 0x$(kallsyms _text) + 0x$code_start )))"
cat /proc/version >/tmp/version
banner_len="$(wc -c </tmp/version)"
# banner_ok FILE: FILE holds exactly /proc/version's text
banner_ok() { cmp -s "$1" /tmp/version; }

start_target --timeout 250 || die "physdemo target did not start"
initial="$(json_field value <"$tout")"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
echo "    target pid $pid, variable $vaddr -> physical $paddr, value $initial"

# --- lockdown: every door closed, and said so ------------------------------------
if [ "$mode" = lockdown ]; then
  doc="$(physdemo doctor --json)"
  physdemo doctor | sed 's/^/    | /'
  state="$(cat /sys/kernel/security/lockdown)"
  if [ "$(echo "$doc" | obj_field lockdown mode)" = integrity ] && [ "$state" = "none [integrity] confidentiality" ]; then
    ok "doctor: lockdown integrity, as /sys/kernel/security/lockdown says: $state"
  else bad "doctor lockdown '$(echo "$doc" | obj_field lockdown mode)', the file: '$state'"; fi
  via_devmem="$(devmem "$paddr" 64 2>&1)" via_dd="$(dd if=/dev/port bs=1 count=1 2>&1 >/dev/null)"
  if [ "$(echo "$doc" | obj_field dev_mem open)" = EPERM ] && [ "$(echo "$doc" | json_field dev_port)" = EPERM ] &&
     echo "$via_devmem" | grep -q "can't open '/dev/mem': $EPERM" && echo "$via_dd" | grep -q "$EPERM"; then
    ok "doctor: /dev/mem and /dev/port refuse to open (EPERM), as busybox devmem and dd meet them"
  else bad "doctor: /dev/mem '$(echo "$doc" | obj_field dev_mem open)', /dev/port '$(echo "$doc" | json_field dev_port)'; devmem: $via_devmem; dd: $via_dd"; fi
  step="$(echo "$doc" | next_step)"
  case "$step" in "lockdown (integrity) closes /dev/mem, /dev/port and /dev/physmem to root too"*) ok "doctor's next step: $step..." ;; *) bad "doctor's next step: '$step'" ;; esac
  pd peek "$pid" "$vaddr"
  if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^value     $initial  (64-bit read via /proc/kcore pread)$" &&
     echo "$out" | grep -q "^via       /proc/kcore pread, because /dev/mem could not be opened (EPERM), and there is no /dev/physmem$"; then
    ok "peek under lockdown=integrity: $initial, the target's own value, through /proc/kcore (integrity leaves it open)"
  else bad "peek under lockdown: exit $rc: $out $err (want $initial)"; fi
  physdemo dump "$banner" "$banner_len" --raw >/tmp/banner 2>/dev/null
  if banner_ok /tmp/banner; then ok "dump of linux_banner ($banner) under lockdown=integrity: exactly /proc/version, through /proc/kcore"
  else bad "dump of linux_banner under lockdown: $(cmp /tmp/banner /tmp/version 2>&1)"; fi
  pd poke "$pid" "$vaddr" 0x0badc0de
  if one_error 4 "the kernel refused to open /dev/mem (EPERM): kernel lockdown is in force (integrity, /sys/kernel/security/lockdown), and it closes /dev/mem, /dev/port and /dev/physmem to everyone, root included" "Secure Boot" &&
     ! grep -q '"event":"change"' "$tout"; then ok "poke: exit 4, $err; the target saw no change"
  else bad "poke under lockdown: exit $rc: $err"; fi
  if out="$(insmod "$extra/unsigned/physdemo_mem.ko" 2>&1)"; then bad "the unsigned physdemo_mem loaded under lockdown"; rmmod physdemo_mem
  else case "$out" in *"$EPERM"*) ok "the unsigned physdemo_mem is refused: $out" ;; *) bad "unsigned physdemo_mem: '$out'" ;; esac; fi
  if insmod "$extra/physdemo_mem.ko" && [ -c /dev/physmem ]; then ok "the signed physdemo_mem loads: /dev/physmem is there"
  else bad "the signed physdemo_mem did not load"; fi
  if out="$(dd if=/dev/physmem bs=8 count=1 skip=$((paddr / 8)) 2>&1 >/dev/null)"; then bad "dd read /dev/physmem under lockdown"
  else case "$out" in *"$EPERM"*) ok "/dev/physmem refuses to open by itself: $out" ;; *) bad "dd of /dev/physmem: '$out'" ;; esac; fi
  line="$(dmesg | grep 'physdemo_mem: /dev/physmem refused')"
  case "$line" in *"the kernel is locked down, and /dev/physmem allows no more than /dev/mem"*) ok "physdemo_mem said so once: ${line#*] }" ;;
    *) bad "no physdemo_mem lockdown line in the kernel log: '$line'" ;; esac
  pd peek "$pid" "$vaddr"
  if one_error 4 "/dev/mem could not be opened (EPERM): the kernel refused to open /dev/physmem (EPERM): kernel lockdown is in force (integrity"; then
    ok "peek with /dev/physmem there: exit 4, $err"
  else bad "peek with the module under lockdown: exit $rc: $err"; fi
  doc="$(physdemo doctor --json)"
  if [ "$(echo "$doc" | obj_field physmem present)" = true ] && [ "$(echo "$doc" | obj_field physmem open)" = EPERM ]; then
    ok "doctor: /dev/physmem present, open refused (EPERM)"
  else bad "doctor physmem: $(echo "$doc" | sed 's/.*"physmem":\({[^}]*}\).*/\1/')"; fi
  rmmod physdemo_mem && ok "rmmod physdemo_mem" || bad "rmmod physdemo_mem"
  # Confidentiality, as lockdown=confidentiality boots it: the level only rises, and it
  # closes /proc/kcore too (LOCKDOWN_KCORE).
  echo confidentiality >/sys/kernel/security/lockdown
  state="$(cat /sys/kernel/security/lockdown)"
  via_dd="$(dd if=/proc/kcore bs=64 count=1 2>&1 >/dev/null)"
  pd peek "$pid" "$vaddr"
  if [ "$state" = "none integrity [confidentiality]" ] && echo "$via_dd" | grep -q "$EPERM" &&
     one_error 4 "/dev/mem could not be opened (EPERM), and there is no /dev/physmem: the kernel refused to open /proc/kcore (EPERM): lockdown=confidentiality is in force" "closes /proc/kcore to everyone, root included"; then
    ok "lockdown raised to confidentiality ($state): dd cannot open /proc/kcore either, and peek says lockdown closed it: $err"
  else bad "confidentiality: lockdown '$state', dd '$via_dd', peek exit $rc: $out / $err"; fi
  doc="$(physdemo doctor --json)"
  if [ "$(echo "$doc" | obj_field kcore open)" = EPERM ] && [ "$(echo "$doc" | obj_field kcore closed_by_lockdown)" = true ] &&
     echo "$doc" | next_step | grep -q "^lockdown (confidentiality) closes /dev/mem, /dev/port, /dev/physmem and /proc/kcore to root too"; then
    ok "doctor under confidentiality: /proc/kcore open EPERM, closed by lockdown, and the next step names it"
  else bad "doctor under confidentiality: $(echo "$doc" | sed 's/.*"kcore":\({[^}]*}\).*/\1/'); next step '$(echo "$doc" | next_step)'"; fi
  stop_target
  if [ -z "$(kernel_log_bad)" ]; then ok "the kernel log has no BUG, Oops, WARNING or general protection"
  else bad "the kernel log:"; kernel_log_bad | sed 's/^/    | /'; fi
  summary "doors-$mode" "$min"; exit $?
fi

# --- without physdemo_mem: the doctor, and every refusal named ------------------
doc="$(physdemo doctor --json)"
physdemo doctor | sed 's/^/    | /'
s1="$(echo "$doc" | obj_field dev_mem ram_read)" s2="$(echo "$doc" | obj_field dev_mem ram_mmap)"
via_dd="$(dd if=/dev/mem bs=8 skip=$((paddr / 8)) count=1 2>&1 >/dev/null)"
via_devmem="$(devmem "$paddr" 64 2>&1)"
case "$s1 $s2 $via_dd $via_devmem" in
  "EPERM EPERM "*"$EPERM"*"$EPERM"*) ok "doctor: RAM read() $s1, mmap $s2, as dd and busybox devmem meet them at $paddr" ;;
  *) bad "doctor: RAM read() '$s1', mmap '$s2'; dd: '$via_dd'; devmem: '$via_devmem'" ;;
esac
low="$(echo "$doc" | obj_field low_ram word_at)" low_word="$(echo "$doc" | obj_field low_ram word)"
low_read="$(echo "$doc" | obj_field low_ram read)"
low_real="$(devmem "$low" 64 | lower)"
low_dd="$(dd if=/dev/mem bs=8 skip=$((low / 8)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')"
if [ "$low_read" = zeros ] && [ "$(norm_hex "$low_real")" = "$(norm_hex "$low_word")" ] && [ -n "$(norm_hex "$low_word")" ] &&
   [ "$low_dd" = 0000000000000000 ]; then
  ok "doctor: low RAM $low read() shows zeros; its mapping $low_word = busybox devmem (mmap) $low_real, dd (read) 0x$low_dd"
else bad "doctor low RAM '$low' = '$low_word' read '$low_read'; devmem '$low_real', dd '$low_dd'"; fi
for v in strict_devmem io_strict_devmem; do
  on="$(echo "$doc" | obj_field "$v" on)"
  if [ "$on" = true ]; then ok "doctor: $v on ($(echo "$doc" | obj_field "$v" why))"; else bad "doctor: $v '$on'"; fi
done
if echo "$doc" | grep -q '"name":"physdemo-testdev","start":"0xff000000","end":"0xff00ffff","map":"EPERM"' &&
   echo "$doc" | grep -q '"name":"0000:00:01.0","start":"0xfea00000","end":"0xfeafffff","map":"ok"'; then
  ok "doctor: the claimed physdemo-testdev range refuses a mapping (EPERM), edu's BAR0 maps"
else bad "doctor devices: $(echo "$doc" | sed 's/.*"devices":\(\[[^]]*\]\).*/\1/')"; fi
pat_o_sync="$(echo "$doc" | obj_field mapping o_sync)"
if [ "$(echo "$doc" | obj_field pat on)" = true ] && [ "$pat_o_sync" = uncached-minus ]; then
  ok "doctor: PAT on; a /dev/mem mapping with O_SYNC is $pat_o_sync in pat_memtype_list ($(echo "$doc" | obj_field mapping region), cached: $(echo "$doc" | obj_field mapping cached))"
else bad "doctor PAT: $(echo "$doc" | sed 's/.*"pat":\({[^}]*}\).*/\1/')"; fi
[ "$(echo "$doc" | obj_field lockdown mode)" = none ] && ok "doctor: lockdown none" || bad "doctor lockdown: $(echo "$doc" | obj_field lockdown mode)"
# The module as DKMS installed it: the link DKMS keeps, the file it recorded, modules.dep.
dkms_link="$(readlink "/var/lib/dkms/physdemo/kernel-$(uname -r)-$(uname -m)")"
dkms_version="${dkms_link%%/*}"
installed="/lib/modules/$(uname -r)/updates/dkms/physdemo_mem.ko"
if [ "$dkms_link" = "$dkms_version/$(uname -r)/$(uname -m)" ] &&
   cmp -s "/var/lib/dkms/physdemo/$dkms_link/module/physdemo_mem.ko" "$installed" &&
   grep -qx "PACKAGE_VERSION=\"$dkms_version\"" "/usr/src/physdemo-$dkms_version/dkms.conf" &&
   grep -qx "updates/dkms/physdemo_mem.ko:" "/lib/modules/$(uname -r)/modules.dep" &&
   [ "$(readlink "$extra/physdemo_mem.ko")" = ../updates/dkms/physdemo_mem.ko ]; then
  ok "DKMS installed physdemo/$dkms_version: $installed (= DKMS's record, in modules.dep; $extra/physdemo_mem.ko links to it), sha256 $(sha256sum "$installed" | cut -d' ' -f1)"
else bad "no DKMS install of physdemo_mem: link '$dkms_link', $(ls -l "$installed" "$extra/physdemo_mem.ko" 2>&1)"; fi
if [ "$(echo "$doc" | json_field dkms)" = "$dkms_version" ] && [ "$(echo "$doc" | json_field module_file)" = "$installed" ]; then
  ok "doctor: physdemo_mem installed by DKMS (version $dkms_version) at $installed, as /var/lib/dkms and modules.dep say"
else bad "doctor's physmem: $(echo "$doc" | sed 's/.*"physmem":\({[^}]*}\).*/\1/')"; fi
step="$(echo "$doc" | next_step)"
if [ "$step" = "load physdemo_mem: modprobe physdemo_mem (installed by DKMS, version $dkms_version); physdemo then goes through /dev/physmem wherever /dev/mem refuses (STRICT_DEVMEM); meanwhile peek and dump read RAM through /proc/kcore (read-only), the one door to RAM open here" ]; then
  ok "doctor's next step: $step"
else bad "doctor's next step: '$step'"; fi
# /proc/kcore's ranges, as physdemo decodes its program headers, against /proc/iomem's
# System RAM (the kernel builds one segment per range, whole pages: walk_system_ram_range)
ranges="$(echo "$doc" | sed 's/.*"kcore":{[^]]*"ranges":\[\([^]]*\)\].*/\1/' | tr '}' '\n' | sed -n 's/.*"start":"\(0x[0-9a-f]*\)","end":"\(0x[0-9a-f]*\)".*/\1-\2/p' | tr '\n' ' ')"
ram="$(sed -n 's/^\([0-9a-f]*\)-\([0-9a-f]*\) : System RAM$/\1 \2/p' /proc/iomem | while read -r s e; do
  printf '%#x-%#x ' $(( (0x$s + 4095) / 4096 * 4096 )) $(( (0x$e + 1) / 4096 * 4096 - 1 )); done)"
if [ "$(echo "$doc" | obj_field kcore open)" = ok ] && [ "$(echo "$doc" | obj_field kcore ram_read)" = exact ] &&
   [ -n "$ranges" ] && [ "$ranges" = "$ram" ]; then
  ok "doctor: /proc/kcore opens, reads physdemo's page exactly, holds $ranges= /proc/iomem's System RAM in whole pages"
else bad "doctor kcore: $(echo "$doc" | sed 's/.*"kcore":\({[^]]*]*[^}]*}\).*/\1/'); ranges '$ranges', iomem '$ram'"; fi

KCORE_VIA="via       /proc/kcore pread, because /dev/mem refused"
pd peek "$pid" "$vaddr"
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^value     $initial  (64-bit read via /proc/kcore pread)$" &&
   echo "$out" | grep -q "^$KCORE_VIA $paddr (EPERM): CONFIG_STRICT_DEVMEM keeps System RAM above 1 MiB out of /dev/mem, and there is no /dev/physmem$"; then
  ok "peek of the target without physdemo_mem: $initial, the target's own value, through /proc/kcore, and it says why"
else bad "peek of the target through /proc/kcore: exit $rc, out '$out', err '$err' (want $initial)"; fi
pd peek "$banner" --width 64
first8="0x$(od -An -tx8 -N8 /tmp/version | tr -d ' ')"
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^value     $first8  (64-bit read via /proc/kcore pread)$"; then
  ok "peek of linux_banner ($banner: kallsyms - _text + Kernel code): $first8, /proc/version's first 8 bytes, through /proc/kcore"
else bad "peek $banner (linux_banner): exit $rc: $out / $err (want $first8)"; fi
physdemo dump "$banner" "$banner_len" --raw >/tmp/banner 2>/tmp/banner.err
rc=$?
if [ "$rc" -eq 0 ] && banner_ok /tmp/banner &&
   [ "$(cat /tmp/banner.err)" = "physdemo: note: via /proc/kcore pread, because /dev/mem refused $banner (EPERM): CONFIG_STRICT_DEVMEM keeps System RAM above 1 MiB out of /dev/mem, and there is no /dev/physmem" ]; then
  ok "dump of linux_banner, $banner_len bytes, through /proc/kcore: exactly /proc/version ($(tr -d '\n' </tmp/banner | cut -c1-40)...), the note names /proc/kcore"
else bad "dump $banner $banner_len: exit $rc, $(cat /tmp/banner.err); $(cmp /tmp/banner /tmp/version 2>&1)"; fi
physdemo dump --symbol linux_banner "$banner_len" --raw >/tmp/banner 2>/tmp/banner.err
rc=$?
if [ "$rc" -eq 0 ] && banner_ok /tmp/banner && grep -q "via /proc/kcore pread" /tmp/banner.err; then
  ok "dump --symbol linux_banner without physdemo_mem: exactly /proc/version, through /proc/kcore"
else bad "dump --symbol linux_banner: exit $rc, $(cat /tmp/banner.err); $(cmp /tmp/banner /tmp/version 2>&1)"; fi
pd poke "$pid" "$vaddr" 0x0badc0de --device /proc/kcore
if one_error 5 "/proc/kcore is read-only: the kernel offers its memory there to be read (an ELF core file), never written; nothing was written" "modprobe physdemo_mem" &&
   ! grep -q '"event":"change"' "$tout"; then
  ok "poke --device /proc/kcore: exit 5, $err; the target saw no change"
else bad "poke --device /proc/kcore: exit $rc: $out / $err"; fi
pd peek 0xfec00000 --device /proc/kcore
if one_error 3 "/proc/kcore holds no memory at 0xfec00000 (IOAPIC 0 [0xfec00000-0xfec003ff]" "never device memory (MMIO)"; then
  ok "peek 0xfec00000 --device /proc/kcore: exit 3, $err"
else bad "peek 0xfec00000 --device /proc/kcore: exit $rc: $out / $err"; fi
pd poke "$pid" "$vaddr" 0x0badc0de
if one_error 5 "CONFIG_STRICT_DEVMEM keeps RAM out of /dev/mem" && ! grep -q '"event":"change"' "$tout"; then
  ok "poke of the target: exit 5, $err; the target saw no change"
else bad "poke of the target: exit $rc: $err; target: $(grep change "$tout")"; fi
for method in rw mmap; do
  pd poke "$paddr" 0x1 --width 64 --method "$method" --dry-run
  if one_error 5 "CONFIG_STRICT_DEVMEM"; then ok "poke --dry-run --method $method of RAM: the real poke's refusal (exit 5)"
  else bad "poke --dry-run --method $method: exit $rc: $out $err"; fi
done

# Low RAM under STRICT_DEVMEM: read() shows zeros, write() is dropped; never passed off.
pd peek "$low" --width 64 --method rw
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^value     $low_real  (64-bit read via /proc/kcore pread)$" &&
   echo "$out" | grep -q "^via       /proc/kcore pread, because /dev/mem's read() shows zeros for RAM below 1 MiB under CONFIG_STRICT_DEVMEM, and there is no /dev/physmem$"; then
  ok "peek --method rw of low RAM $low: through /proc/kcore, $low_real as busybox devmem's mapping shows, never read()'s zeros"
else bad "peek --method rw $low: exit $rc: out '$out' err '$err' (want $low_real)"; fi
pd poke "$low" 0x5a5a5a5a5a5a5a5a --width 64 --method rw
if one_error 5 "not writing $low with write() on /dev/mem: under CONFIG_STRICT_DEVMEM the kernel drops a write() to RAM below 1 MiB and still reports success" "nothing was written" &&
   [ "$(devmem "$low" 64 | lower)" = "$low_real" ]; then
  ok "poke --method rw of low RAM: refused (nothing written), busybox devmem still reads $low_real"
else bad "poke --method rw $low: exit $rc: $err; now $(devmem "$low" 64)"; fi
pd peek "$low" --width 64 --method rw --device /dev/mem
if one_error 5 "not reading $low with read() on /dev/mem: under CONFIG_STRICT_DEVMEM the kernel shows RAM below 1 MiB to read() as zeros, whatever it holds" "--method mmap"; then
  ok "peek --method rw --device /dev/mem of low RAM $low: refused, not shown as 0 ($err)"
else bad "peek --method rw --device /dev/mem $low: exit $rc: out '$out' err '$err'"; fi
got="0x$(physdemo dump "$low" 8 --method rw --raw 2>/dev/null | od -An -tx8 | tr -d ' ')"
if [ "$(norm_hex "$got")" = "$(norm_hex "$low_real")" ]; then ok "dump --method rw of low RAM: $got through /proc/kcore, not zeros"
else bad "dump --method rw $low: '$got', want $low_real"; fi
pd peek "$low" --width 64
want="$low_real"
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^value     $want  (64-bit read via /dev/mem mmap, O_SYNC)$"; then
  ok "peek (mmap) of low RAM $low: $want, what busybox devmem's mapping shows"
else bad "peek $low: exit $rc: $out $err (want $want)"; fi

# IO_STRICT_DEVMEM: the driver that claimed the range is named.
pd devmem 0xff000004 32
if one_error 5 "CONFIG_IO_STRICT_DEVMEM closes device ranges a driver has claimed, and 0xff000004 is claimed by 'physdemo-testdev' [0xff000000-0xff00ffff], inside physdemo-testdev" "iomem=relaxed"; then
  ok "devmem 0xff000004: $err"
else bad "devmem 0xff000004: exit $rc: $out $err"; fi
pd peek 0xfec00000
if one_error 5 "0xfec00000 is claimed by 'IOAPIC 0' [0xfec00000-0xfec003ff]"; then ok "peek of the IOAPIC names IOAPIC 0 as the claimant"
else bad "peek 0xfec00000: exit $rc: $err"; fi

# --- physdemo_mem loaded: the same, through /dev/physmem ----------------------
# The doctor's step, as a user takes it: modprobe loads the file modules.dep names.
if modprobe physdemo_mem && [ -c /dev/physmem ] && grep -q '^physdemo_mem .* Live ' /proc/modules; then
  ok "modprobe physdemo_mem (DKMS's build, signed): /dev/physmem, Live in /proc/modules"
else bad "modprobe physdemo_mem failed"; summary "doors-$mode" "$min"; exit 1; fi
doc="$(physdemo doctor --json)"
line="$(physdemo doctor | grep '^/dev/physmem ')"
case "$line" in
  "/dev/physmem      present; physdemo_mem loaded (Live"*"), installed by DKMS (version $dkms_version); read(): "*)
    ok "doctor: $line" ;;
  *) bad "doctor with the DKMS module loaded: '$line'" ;;
esac
if [ "$(echo "$doc" | obj_field physmem ram_read)" = exact ] && [ "$(echo "$doc" | obj_field physmem ram_mmap)" = exact ] &&
   echo "$doc" | grep -q '"pinning":"ABI 2, up to 64 pins per open file"' &&
   [ "$(echo "$doc" | next_step)" = "none: /dev/physmem reaches RAM by read() and by mapping, and physdemo goes through it wherever /dev/mem refuses (STRICT_DEVMEM)" ]; then
  ok "doctor: /dev/physmem reads physdemo's page exactly by read() and mmap, its INFO ioctl says ABI 2 and 64 pins; next step: none"
else bad "doctor with the module: physmem $(echo "$doc" | sed 's/.*"physmem":\({[^}]*}\).*/\1/'), next step '$(echo "$doc" | next_step)'"; fi

by_dd="$(pagemap_paddr "$pid" "$vaddr")"
if [ "$by_dd" = "$paddr" ]; then ok "inspect's physical address $paddr = pagemap read by dd ($by_dd)"; else bad "inspect $paddr, dd of pagemap $by_dd"; fi
V=0xc0ffee0123456789
pd poke "$pid" "$vaddr" "$V"
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^new       $V  (64-bit write via /dev/physmem (physdemo_mem) mmap; read back $V)$" &&
   echo "$out" | grep -q "^via       /dev/physmem (physdemo_mem) mmap, because /dev/mem refused $paddr (EPERM): CONFIG_STRICT_DEVMEM keeps System RAM above 1 MiB out of /dev/mem$" &&
   echo "$out" | grep -q "^target    saw $V at" && wait_for "$tout" "\"new\":\"$V\"" 50; then
  ok "poke through /dev/physmem: the target saw exactly $V, and poke said which door and why"
else bad "poke with the module: exit $rc: $out $err"; fi
W=0x123456789abcdef0
json="$(physdemo poke "$pid" "$vaddr" "$W" --json)"
if [ "$(echo "$json" | json_field device)" = "/dev/physmem (physdemo_mem) mmap" ] &&
   echo "$json" | grep -q "\"detour\":\"/dev/mem refused $paddr (EPERM): CONFIG_STRICT_DEVMEM" &&
   wait_for "$tout" "\"new\":\"$W\"" 50; then
  ok "poke --json: device /dev/physmem (physdemo_mem) mmap, detour named; the target saw $W"
else bad "poke --json: $json"; fi
got="$(physdemo peek "$pid" "$vaddr" --method rw --json | json_field value)"
[ "$got" = "$W" ] && ok "peek --method rw through /dev/physmem: $got" || bad "peek --method rw: '$got', want $W"
if out="$(devmem "$paddr" 64 2>&1)"; then bad "busybox devmem read $paddr with STRICT_DEVMEM: $out"
else case "$out" in *"$EPERM"*) ok "busybox devmem of $paddr still fails: $out" ;; *) bad "busybox devmem: '$out'" ;; esac; fi
page="$(printf '%#x' $((paddr & ~4095)))"
pd dump "$page" 0x48
if [ "$rc" -eq 0 ] && echo "$out" | head -n 1 | grep -q "|PHYSDEMO" &&
   [ "$err" = "physdemo: note: via /dev/physmem (physdemo_mem) mmap, because /dev/mem refused $page (EPERM): CONFIG_STRICT_DEVMEM keeps System RAM above 1 MiB out of /dev/mem" ]; then
  ok "dump of the target's page through /dev/physmem: its PHYSDEMO header, the note on stderr"
else bad "dump $page: exit $rc: $out / $err"; fi
got="$(physdemo peek "$low" --width 64 --method rw --json | json_field value)"
if [ "$got" = "$want" ]; then ok "peek --method rw of low RAM $low through /dev/physmem: $got, busybox devmem's value"
else bad "peek --method rw $low with the module: '$got', want $want"; fi
physdemo dump "$banner" "$banner_len" --raw >/tmp/banner 2>/tmp/banner.err
rc=$?
if [ "$rc" -eq 0 ] && banner_ok /tmp/banner &&
   [ "$(cat /tmp/banner.err)" = "physdemo: note: via /dev/physmem (physdemo_mem) mmap, because /dev/mem refused $banner (EPERM): CONFIG_STRICT_DEVMEM keeps System RAM above 1 MiB out of /dev/mem" ]; then
  ok "dump of linux_banner with physdemo_mem loaded: exactly /proc/version, through /dev/physmem (the note names it)"
else bad "dump $banner with the module: exit $rc, $(cat /tmp/banner.err); $(cmp /tmp/banner /tmp/version 2>&1)"; fi
physdemo dump --symbol linux_banner "$banner_len" --raw >/tmp/banner 2>/tmp/banner.err
rc=$?
if [ "$rc" -eq 0 ] && banner_ok /tmp/banner && grep -q "via /dev/physmem (physdemo_mem)" /tmp/banner.err; then
  ok "dump --symbol linux_banner with physdemo_mem loaded: exactly /proc/version, through /dev/physmem"
else bad "dump --symbol linux_banner with the module: exit $rc, $(cat /tmp/banner.err); $(cmp /tmp/banner /tmp/version 2>&1)"; fi

# A range a driver claimed is not gone around by itself: the user names /dev/physmem.
pd devmem 0xff000004 32 --device /dev/physmem
before="$out"
pd devmem 0xff000004 32 0x5a5a1234
refusal="$err"
if one_error 5 "0xff000004 is claimed by 'physdemo-testdev'" "to go around the driver on purpose, add --device /dev/physmem (physdemo never does that by itself)"; then
  pd devmem 0xff000004 32 --device /dev/physmem
  if [ "$rc" -eq 0 ] && [ -n "$before" ] && [ "$out" = "$before" ] && [ "$before" != 0x5A5A1234 ]; then
    ok "devmem write of 0xff000004 (claimed by physdemo-testdev), module loaded, no --device: refused, the register still $out: $refusal"
  else bad "the refused write of 0xff000004 changed it: $before -> $out ($err)"; fi
else bad "devmem 0xff000004 0x5a5a1234 with the module, no --device: exit $rc: $out / $err"; fi
pd devmem 0xff000004 32 0x5a5a1234 --device /dev/physmem
pd2="$rc/$err"
pd devmem 0xff000004 32 --device /dev/physmem
if [ "$rc" -eq 0 ] && [ "$out" = 0x5A5A1234 ] && [ "$pd2" = "0/" ] && [ -z "$err" ]; then
  ok "devmem --device /dev/physmem write and read of 0xff000004 (claimed by physdemo-testdev): $out, no detour note"
else bad "devmem 0xff000004 --device /dev/physmem: $out / $pd2 / $err"; fi
# Nor when /dev/mem is not there at all: the detour to /dev/physmem never reaches a range a
# driver claims unless named. dd through /dev/physmem (one 4-byte read) is the witness.
reg_dd() { dd if=/dev/physmem bs=4 count=1 skip=$((0xff000004 / 4)) 2>/dev/null | od -An -tx4 | tr -d ' '; }
reg_before="$(reg_dd)"
mv /dev/mem /dev/mem.away
pd poke 0xff000004 0x77
if one_error 6 "refusing to go around a driver: 0xff000004 is claimed by 'physdemo-testdev' [0xff000000-0xff00ffff], inside physdemo-testdev, and physdemo came to /dev/physmem only because /dev/mem does not exist" "nothing was accessed" "add --device /dev/physmem" &&
   [ -n "$reg_before" ] && [ "$(reg_dd)" = "$reg_before" ] && [ "$reg_before" != 00000077 ]; then
  ok "no /dev/mem: poke 0xff000004 0x77 refused (exit 6), dd through /dev/physmem still reads 0x$reg_before: $err"
else bad "no /dev/mem: poke 0xff000004 0x77: exit $rc: $out / $err; dd before 0x$reg_before, now 0x$(reg_dd)"; fi
pd peek 0xff000004
if one_error 6 "refusing to go around a driver: 0xff000004 is claimed by 'physdemo-testdev'"; then ok "no /dev/mem: peek 0xff000004 refused too (exit 6)"
else bad "no /dev/mem: peek 0xff000004: exit $rc: $out / $err"; fi
edu_bar="$(bar_start "$(edu_dir)")"
pd peek "$edu_bar"
if [ "$rc" -eq 0 ] && echo "$out" | grep -q "^value     0x010000ed  (32-bit read via /dev/physmem (physdemo_mem) mmap)$" &&
   echo "$out" | grep -q "^via       /dev/physmem (physdemo_mem) mmap, because /dev/mem does not exist"; then
  ok "no /dev/mem: edu's BAR0 $edu_bar, which no driver claims, is read through /dev/physmem: 0x010000ed, edu's ident"
else bad "no /dev/mem: peek $edu_bar: exit $rc: $out / $err"; fi
mv /dev/mem.away /dev/mem

# The IOAPIC's 1 KiB does not fill its page: /dev/physmem maps no such page, so without
# --method physdemo reads it with pread; dd (a pread too) reads the same register.
ioapic_dd="$(dd if=/dev/physmem bs=4 count=1 skip=$((0xfec00000 / 4)) 2>/dev/null | od -An -tx4 | tr -d ' ')"
pd peek 0xfec00000 --device /dev/physmem --json
if [ "$rc" -eq 0 ] && [ -n "$ioapic_dd" ] && [ "$(echo "$out" | json_field value)" = "0x$ioapic_dd" ] &&
   echo "$out" | grep -q '"device":"/dev/physmem (physdemo_mem) pread/pwrite (a device range smaller than its page, which /dev/physmem does not map)"'; then
  ok "peek 0xfec00000 (IOAPIC 0, 1 KiB) --device /dev/physmem: pread/pwrite chosen by itself, 0x$ioapic_dd as dd reads it"
else bad "peek 0xfec00000 --device /dev/physmem: exit $rc: $out / $err (dd: 0x$ioapic_dd)"; fi
pd peek 0xfec00000 --device /dev/physmem --method mmap
if one_error 3 "/dev/physmem refuses to map 0xfec00000 (ENXIO): IOAPIC 0 [0xfec00000-0xfec003ff] does not fill its page" "use --method rw"; then
  ok "peek 0xfec00000 --method mmap: $err"
else bad "peek 0xfec00000 --method mmap: exit $rc: $out / $err"; fi

pd peek "$pid" "$vaddr" --device /dev/mem
if one_error 5 "CONFIG_STRICT_DEVMEM" "without --device (and PHYSDEMO_DEVICE) physdemo goes through /dev/physmem, which is loaded"; then
  ok "peek --device /dev/mem uses /dev/mem alone: refused, and says /dev/physmem is loaded"
else bad "peek --device /dev/mem: exit $rc: $err"; fi

log="$(mktemp)"
if PHYSDEMO_DEVICE=/dev/physmem sh /demos/edu.sh 7 >"$log" 2>&1 && grep -q '(32-bit read via /dev/physmem (physdemo_mem) mmap)' "$log" &&
   grep -q "^edu version 1.0, magic 0xed$" "$log" && grep -q "the device is alive$" "$log"; then
  ok "demos/edu.sh through --device /dev/physmem: ident 0x010000ed, liveness inverse, 7! by the device"
else bad "demos/edu.sh through /dev/physmem:"; sed 's/^/    | /' "$log"; fi
if sh /demos/kernel-buffer.sh 0x1357924680acebdf >"$log" 2>&1 && grep -q "^via       /dev/physmem (physdemo_mem) mmap, because /dev/mem refused" "$log" &&
   grep -q "the kernel saw exactly 0x1357924680acebdf in its kmalloc buffer" "$log"; then
  ok "demos/kernel-buffer.sh: the kmalloc buffer rewritten through /dev/physmem, the module saw 0x1357924680acebdf"
else bad "demos/kernel-buffer.sh:"; sed 's/^/    | /' "$log"; fi
rm -f "$log"
stop_target
if rmmod physdemo_mem && [ ! -e /dev/physmem ]; then ok "rmmod physdemo_mem"; else bad "rmmod physdemo_mem"; fi
if [ -z "$(kernel_log_bad)" ]; then ok "the kernel log has no BUG, Oops, WARNING or general protection"
else bad "the kernel log:"; kernel_log_bad | sed 's/^/    | /'; fi
summary "doors-$mode" "$min"
