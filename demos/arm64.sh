#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/arm64.sh: inside the arm64 VM (QEMU virt, 4, 16 or 64 KiB pages), the
# whole story and the board's devices, each outcome checked by a witness that
# is not physdemo. Run by demos/arm64 (on the host), which checks the rest
# from outside: the PL011's serial log and QEMU's trace.
#
# inspect --svg draws the walk of the running granule (levels and index bits
# computed in shell). Then physdemo_mem (/dev/physmem) built for this kernel:
# doctor sees it as /proc/modules does, a target's variable poked through it
# (the target reacts, /proc/PID/mem reads it), the PL031 read through it (mark
# 5), and the kernel's code refused by its mmap and write paths; last, a hugetlbfs
# page and a THP of the sizes this page size gives (Hugepagesize,
# hpage_pmd_size), inspect's size against the kernel's, a poke that lands.
#
# Usage (on the host): PHYSDEMO_VM_ARCH=arm64 PHYSDEMO_VM_PAGE=4k|16k|64k \
#   demos/vm/run demos/arm64.sh LINE
#   LINE  the text physdemo writes to the PL011, byte by byte
# Prints "ok"/"FAIL" lines, "arm64: N passed, N failed" (exit 0 only when
# all passed), and, for demos/arm64, "mark N WHAT" lines: trace marks are
# 32-bit busybox devmem writes of 0xb0000000+N / 0xe0000000+N to the PL061
# GPIO's data register (0x090303fc; every pin is an input, no driver binds
# it), bracketing step N's accesses in QEMU's trace.
set -eu
. "$(dirname "$0")/lib.sh"

LINE="${1:-hello from physdemo}"
UART=0x09000000 RTC=0x09010000 FWCFG=0x09020000
obj_field() { sed -n "s/.*\"$1\":{[^}]*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1; }
mark() { # mark begin|end N WHAT
  case "$1" in begin) m=0xb0000000 ;; *) m=0xe0000000 ;; esac
  busybox devmem 0x090303fc 32 "$((m + $2))"
  [ "$1" = end ] || echo "mark $2 $3"
}
page_size=$(sed -n 's/^KernelPageSize: *\([0-9]*\) kB/\1/p' /proc/self/smaps | head -n 1)
page_size=$((page_size * 1024))
echo "kernel $(uname -r), $(uname -m), page size $page_size bytes (/proc/self/smaps)"

# 1. target -> inspect -> poke -> the target reacts.
say "target, inspect, poke: the story on $page_size-byte pages"
V=0xc0ffee0123456789
start_target --until "$V" --timeout 60 || bad "the target did not start"
physdemo inspect "$pid" "$vaddr" | sed 's/^/    | /'
json="$(physdemo inspect "$pid" "$vaddr" --json)"
paddr="$(echo "$json" | json_field paddr)"
# The witness: pagemap read with dd, not physdemo: entry = 8 bytes at (vaddr / page) * 8.
index=$((vaddr / page_size))
entry=$(dd if="/proc/$pid/pagemap" bs=8 skip="$index" count=1 2>/dev/null | od -An -tx8 | tr -d ' ')
pfn=$((0x$entry & 0x7fffffffffffff))
want=$(printf '0x%x' $((pfn * page_size + vaddr % page_size)))
if [ "$(echo "$json" | json_field page_size)" = "$page_size" ] && [ "$paddr" = "$want" ]; then
  ok "inspect: $paddr = PFN $(printf '%#x' "$pfn") x $page_size + offset $(printf '%#x' $((vaddr % page_size))) (pagemap read with dd)"
else
  bad "inspect says $paddr (page $(echo "$json" | json_field page_size)), pagemap read with dd gives $want"
fi
# inspect --svg draws the MMU's walk of this granule: TTBR0_EL1, then levels of
# (page shift - 3) index bits over 48 VA bits, the last L3, computed here in
# shell from the Arm ARM's geometry and looked for in the picture.
svg=/tmp/walk.svg
physdemo inspect "$pid" "$vaddr" --svg "$svg" >/dev/null
pshift=0 s=$page_size
while [ "$s" -gt 1 ]; do s=$((s / 2)); pshift=$((pshift + 1)); done
per=$((pshift - 3)) count=$(((48 - pshift + per - 1) / per)) i=0 drawn="" missing=""
grep -q '>The walk the MMU makes (TTBR0_EL1 holds the first table' "$svg" || missing="TTBR0_EL1"
while [ "$i" -lt "$count" ]; do
  low=$((pshift + per * (count - 1 - i))) high=$((pshift + per * (count - 1 - i) + per - 1))
  [ "$high" -le 47 ] || high=47
  idx=$(((vaddr >> low) & ((1 << (high - low + 1)) - 1)))
  name="L$((4 - count + i)) $idx"
  [ "$i" -gt 0 ] || name="L$((4 - count + i)) index $idx"
  if [ "$high" = "$low" ]; then want=">$name $high<"; else want=">$name<"; fi
  if grep -qF "$want" "$svg" && { [ "$high" = "$low" ] || grep -qF ">$high-$low<" "$svg"; }; then
    drawn="$drawn $name (bits $high-$low),"
  else
    missing="$missing $name (bits $high-$low)"
  fi
  i=$((i + 1))
done
if [ -z "$missing" ] && grep -qF ">$((pshift - 1))-0<" "$svg"; then
  ok "inspect --svg draws TTBR0_EL1 and$drawn offset bits $((pshift - 1))-0 ($(wc -c <"$svg") bytes)"
else
  bad "inspect --svg lacks:$missing (want $count levels of $per bits over a $pshift-bit offset)"
fi
set +e
poke_out="$(physdemo poke "$pid" "$vaddr" "$V" 2>&1)"
poke_rc=$?
wait "$tpid"
target_rc=$?
set -e
echo "$poke_out" | sed 's/^/    | /'
if [ "$poke_rc" -eq 0 ] && grep -q "\"event\":\"change\".*\"new\":\"$V\"" "$tout" && [ "$target_rc" -eq 0 ]; then
  ok "poke $pid $vaddr $V: the target saw $V and exited (--until)"
else
  bad "poke exit $poke_rc, target exit $target_rc: $(grep '"event":"change"' "$tout" | tail -n 1)"
fi
rm -f "$tout"

# 2. A poke lands exactly: a fresh target, 8 bytes at its variable's frame,
#    read back by busybox devmem (64-bit) and through /proc/PID/mem (dd).
start_target --timeout 60 || bad "the target did not start"
paddr="$(physdemo inspect "$pid" "$vaddr" --json | json_field paddr)"
W=0x0123456789abcdef
physdemo poke "$paddr" "$W" --width 64 >/dev/null 2>&1 || bad "poke $paddr $W --width 64 failed"
seen_devmem="$(busybox devmem "$paddr" 64 | lower)"
seen_mem=0x$(dd if="/proc/$pid/mem" bs=8 skip=$((vaddr / 8)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')
if [ "$seen_devmem" = "$W" ] && [ "$seen_mem" = "$W" ]; then
  ok "poke $paddr $W landed: busybox devmem and /proc/$pid/mem read $W"
else
  bad "after poke $paddr $W: busybox devmem $seen_devmem, /proc/$pid/mem $seen_mem"
fi

# 3. devmem = the arm64 busybox's devmem, every width, reads and writes (the
#    target's page: RAM, ours to change).
say "devmem against busybox devmem at $paddr, widths 8 16 32 64"
same=0
for w in 8 16 32 64; do
  [ "$(physdemo devmem "$paddr" "$w")" = "$(busybox devmem "$paddr" "$w")" ] && same=$((same + 1))
  v=$(( (0x5a5a5a5a5a5a5a5a >> (64 - w)) ^ w ))
  [ "$w" = 64 ] && v=0x5a5a5a5a5a5a5a1a
  physdemo devmem "$paddr" "$w" "$v"
  [ "$(busybox devmem "$paddr" "$w")" = "$(physdemo devmem "$paddr" "$w")" ] && same=$((same + 1))
  busybox devmem "$paddr" "$w" 0x11
  [ "$(physdemo devmem "$paddr" "$w")" = "$(busybox devmem "$paddr" "$w")" ] && same=$((same + 1))
done
if [ "$same" -eq 12 ]; then
  ok "devmem: 12 of 12 reads after reads and writes match busybox devmem (e.g. $(physdemo devmem "$paddr" 64))"
else
  bad "devmem: only $same of 12 outputs match busybox devmem"
fi
stop_target

# 4. The PL011: the line written byte by byte to its data register.
say "the PL011 UART at $UART: \"$LINE\" written byte by byte"
pd poke "$UART" 0x48 --width 8 --dry-run
echo "$out" | sed 's/^/    | /'
if echo "$out" | grep -q 'PL011 UART.*data register UARTDR'; then
  ok "poke $UART names the PL011's data register (device tree)"
else
  bad "poke $UART --dry-run does not name the PL011's data register: $out $err"
fi
mark begin 1 "pl011 write 8 ${#LINE}"
rest="$LINE"
while [ -n "$rest" ]; do
  c="${rest%"${rest#?}"}"
  rest="${rest#?}"
  physdemo poke "$UART" "$(printf '0x%02x' "'$c")" --width 8 >/dev/null || bad "poke of '$c' failed"
done
physdemo poke "$UART" 0x0a --width 8 >/dev/null
mark end 1
ok "wrote ${#LINE} bytes and a newline to the PL011 (the host checks the serial log)"

# 5. The PL031: its data register counts seconds since the epoch.
say "the PL031 RTC at $RTC"
pd peek "$RTC" --width 32
echo "$out" | sed 's/^/    | /'
mark begin 2 "pl031 read 32 1"
rtc="$(physdemo peek "$RTC" --width 32 --json | json_field value)"
mark end 2
now="$(date +%s)"
diff=$((now - rtc))
if [ "$diff" -ge -1 ] && [ "$diff" -le 1 ] && echo "$out" | grep -q 'PL031 RTC'; then
  ok "peek $RTC = $((rtc)) (named the PL031 RTC), date +%s = $now"
else
  bad "peek $RTC = $((rtc)), date +%s = $now, output: $out"
fi

# 6. fw_cfg: select key 0 (16-bit big-endian selector at +8), read "QEMU" at +0.
say "fw_cfg at $FWCFG: selector 0, the signature"
mark begin 3 "fw_cfg write 16 1"
physdemo poke $((FWCFG + 8)) 0x0000 --width 16 >/dev/null || bad "selecting fw_cfg key 0 failed"
mark end 3
mark begin 4 "fw_cfg read 8 4"
sig=""
for _ in 1 2 3 4; do
  b="$(physdemo peek "$FWCFG" --width 8 --json | json_field value)"
  sig="$sig$(printf "\\$(printf '%03o' "$((b))")")"
done
mark end 4
if [ "$sig" = QEMU ]; then
  ok "fw_cfg signature: $sig"
else
  bad "fw_cfg signature: '$sig', want QEMU"
fi

# 7. I/O ports are an x86 thing.
pd port 0x80
if [ "$rc" -eq 5 ] && [ "$(echo "$err" | wc -l)" -eq 1 ] && echo "$err" | grep -q 'x86'; then
  ok "port 0x80: exit 5, one line: $err"
else
  bad "port 0x80: exit $rc, stderr: $err"
fi

# 8. The kmalloc setup (demos/kernel-buffer.sh): a kernel buffer found by physical
#    address, rewritten, and the module reads the new value.
say "the kmalloc setup: demos/kernel-buffer.sh on $page_size-byte pages"
set +e
kb="$(sh "$(dirname "$0")/kernel-buffer.sh" 0x0123456789abcdef 2>&1)"
kb_rc=$?
set -e
echo "$kb" | tail -n 12 | sed 's/^/    | /'
if [ "$kb_rc" -eq 0 ] && echo "$kb" | grep -q 'the kernel saw exactly 0x0123456789abcdef in its kmalloc buffer'; then
  ok "kernel-buffer: the module saw exactly 0x0123456789abcdef, written by physical address"
else
  bad "kernel-buffer.sh exit $kb_rc"
fi

# 9. A kernel variable by name: linux_banner placed by _stext and /proc/iomem's "Kernel
#    code" (--symbol), its bytes those of /proc/version.
say "dump --symbol linux_banner: the kernel's own text, found by name"
cat /proc/version >/tmp/version
size=$(wc -c </tmp/version)
if physdemo dump --symbol linux_banner --raw >/tmp/banner 2>/tmp/banner.err &&
  head -c "$size" /tmp/banner | cmp -s - /tmp/version; then
  sed 's/^/    | /' /tmp/banner.err
  ok "dump --symbol linux_banner is the text of /proc/version ($size bytes)"
else
  bad "dump --symbol linux_banner: $(head -c 300 /tmp/banner.err), $(head -c "$size" /tmp/banner | cmp - /tmp/version 2>&1)"
fi
rm -f /tmp/version /tmp/banner /tmp/banner.err

# 10. physdemo_mem (/dev/physmem) built for this arm64 kernel: loaded, seen by
#    doctor as /proc/modules shows it, a target's variable poked through it
#    (the target reacts, /proc/PID/mem reads it), the PL031 read through it
#    (one 32-bit read in QEMU's trace, mark 5), and the kernel's code refused.
say "physdemo_mem: /dev/physmem on $page_size-byte pages"
ko="/lib/modules/$(uname -r)/extra/physdemo_mem.ko"
if insmod "$ko" && [ -c /dev/physmem ]; then
  doc="$(physdemo doctor --json)"
  live="$(sed -n 's/^physdemo_mem .* \(Live\) .*/\1/p' /proc/modules)"
  if [ "$(echo "$doc" | obj_field physmem module)" = "Live (O)" ] && [ "$live" = Live ] &&
     [ "$(echo "$doc" | obj_field physmem ram_read) $(echo "$doc" | obj_field physmem ram_mmap)" = "exact exact" ]; then
    ok "doctor: physdemo_mem Live (O) (/proc/modules: $(grep '^physdemo_mem ' /proc/modules)); /dev/physmem reads and maps its page exactly"
  else
    bad "doctor with physdemo_mem: $(echo "$doc" | sed 's/.*"physmem":\({[^}]*}\).*/\1/'); /proc/modules: $(grep '^physdemo_mem ' /proc/modules)"
  fi
else
  bad "insmod $ko: no /dev/physmem"
fi
P=0xfeedc0de0dd0a11c
start_target --timeout 60 || bad "the target did not start"
pd poke --device /dev/physmem "$pid" "$vaddr" "$P"
echo "$out" | sed 's/^/    | /'
seen_mem=0x$(dd if="/proc/$pid/mem" bs=8 skip=$((vaddr / 8)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')
if [ "$rc" -eq 0 ] && echo "$out" | grep -q 'via /dev/physmem' && wait_for "$tout" "\"new\":\"$P\"" 50 &&
   [ "$seen_mem" = "$P" ]; then
  ok "poke --device /dev/physmem $pid $vaddr $P: the target saw it, /proc/$pid/mem reads $seen_mem"
else
  bad "poke --device /dev/physmem: exit $rc, /proc/$pid/mem $seen_mem, $err"
fi
stop_target
mark begin 5 "physmem pl031 read 32 1"
rtc="$(physdemo peek --device /dev/physmem "$RTC" --width 32 --json | json_field value)"
mark end 5
now="$(date +%s)"
diff=$((now - rtc))
if [ "$diff" -ge -1 ] && [ "$diff" -le 1 ]; then
  ok "peek --device /dev/physmem $RTC = $((rtc)), date +%s = $now"
else
  bad "peek --device /dev/physmem $RTC = $((rtc)), date +%s = $now"
fi
# The kernel's code (text and rodata: the linear map keeps it read-only, which
# the module asks of the MMU): refused by both paths, the bytes unchanged.
code="$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel code$/\1/p' /proc/iomem)"
at="$(printf '%#x' $((0x$code + 0x40)))"
before="$(busybox devmem "$at" 64)"
refused=""
for method in mmap rw; do
  pd poke "$at" 0x4141414141414141 --width 64 --device /dev/physmem --force --method "$method"
  if [ "$rc" -ne 0 ] && echo "$err" | head -n 1 | grep -qF "(EIO): the kernel"; then refused="$refused $method"; fi
done
if [ "$refused" = " mmap rw" ] && [ "$(busybox devmem "$at" 64)" = "$before" ]; then
  ok "poke --force of Kernel code $at through /dev/physmem: EIO by mmap and by write; busybox devmem still reads $before"
else
  bad "poke of Kernel code $at: refused by [$refused], busybox devmem now $(busybox devmem "$at" 64) (was $before): $err"
fi
rmmod physdemo_mem || bad "rmmod physdemo_mem"

# 11. Huge pages follow the page size: a hugetlbfs page of the default size
#     (/proc/meminfo Hugepagesize) and a THP (hpage_pmd_size): 2 MiB with 4 KiB
#     pages, 32 MiB with 16 KiB, 512 MiB with 64 KiB. inspect's size equals the
#     kernel's, the kernel's own accounting shows the page (HugePages_Free,
#     smaps' AnonHugePages), and a poke lands (/proc/PID/mem, the target).
# huge_story WHERE SIZE: target --where WHERE, inspect, poke; sets huge_ok.
huge_story() {
  huge_ok=""
  start_target --where "$1" --timeout 60 || { bad "target --where $1 did not start"; return; }
  json="$(physdemo inspect "$pid" "$vaddr" --json)"
  physdemo inspect "$pid" "$vaddr" | grep -E '^(huge page|physical) ' | sed 's/^/    | /'
  got="$(echo "$json" | json_field huge_page_size)"
  smaps_kb="$(awk -v a="$(printf '%x' "$vaddr")" '
    /^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); inside = (length(r[1]) < length(a) || (length(r[1]) == length(a) && r[1] <= a)) && (length(r[2]) > length(a) || (length(r[2]) == length(a) && r[2] > a)) }
    inside && /^AnonHugePages:/ { print $2 }
    inside && /^KernelPageSize:/ { k = $2 }
    END { if (k != "") print "kps " k }' "/proc/$pid/smaps" | tr '\n' ' ')"
  H=0xa5a5f00dcafe0001
  physdemo poke "$pid" "$vaddr" "$H" >/dev/null 2>&1 || true
  seen_mem=0x$(dd if="/proc/$pid/mem" bs=8 skip=$((vaddr / 8)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')
  if [ "$got" = "$2" ] && [ "$seen_mem" = "$H" ] && wait_for "$tout" "\"new\":\"$H\"" 50; then
    huge_ok="inspect says $got bytes (smaps: $smaps_kb), poke landed: /proc/$pid/mem reads $seen_mem"
  else
    huge_err="inspect huge_page_size '$got' (want $2), smaps $smaps_kb, /proc/$pid/mem $seen_mem after poke $H"
  fi
  stop_target
}
say "huge pages on $page_size-byte pages"
hsize=$(( $(sed -n 's/^Hugepagesize: *\([0-9]*\) kB/\1/p' /proc/meminfo) * 1024 ))
echo 1 >/proc/sys/vm/nr_hugepages
if [ "$(sed -n 's/^HugePages_Free: *//p' /proc/meminfo)" = 1 ]; then
  huge_story hugetlb "$hsize"
  if [ -n "$huge_ok" ] && echo "$smaps_kb" | grep -q "kps $((hsize / 1024)) "; then
    ok "hugetlbfs page of $hsize bytes (Hugepagesize): $huge_ok"
  else bad "hugetlbfs page of $hsize bytes: ${huge_err:-smaps KernelPageSize $smaps_kb}"; fi
else
  bad "no hugetlbfs page of $hsize bytes: $(grep HugePages_ /proc/meminfo | tr '\n' ' ')"
fi
echo 0 >/proc/sys/vm/nr_hugepages
tsize=$(cat /sys/kernel/mm/transparent_hugepage/hpage_pmd_size)
huge_story thp "$tsize"
if [ -n "$huge_ok" ] && echo "$smaps_kb" | grep -q "^$((tsize / 1024)) "; then
  ok "transparent huge page of $tsize bytes (hpage_pmd_size): $huge_ok"
else
  bad "transparent huge page of $tsize bytes: ${huge_err:-smaps AnonHugePages $smaps_kb}"
fi

# 12. The explorer, explain and watch on this granule, each against the kernel's
#     own files: owner and maps find the target's frame (pagemap read with dd),
#     physmap marks it, usage's PSS is smaps_rollup's, explain names the UART as
#     /proc/iomem does, and watch sees a poke exactly.
say "maps, owner, physmap, usage, explain, watch on $page_size-byte pages"
start_target --timeout 60 || bad "the target did not start"
entry=$(dd if="/proc/$pid/pagemap" bs=8 skip=$((vaddr / page_size)) count=1 2>/dev/null | od -An -tx8 | tr -d ' ')
tpfn=$(printf '%#x' $((0x$entry & 0x7fffffffffffff)))
tpaddr=$(printf '%#x' $((tpfn * page_size + vaddr % page_size)))
tpage=$(printf '%#x' $((vaddr / page_size * page_size)))
own="$(physdemo owner "$tpaddr" --json)"
if [ "$(echo "$own" | json_field pid)" = "$pid" ] && [ "$(echo "$own" | json_field vaddr)" = "$(printf '%#x' "$vaddr")" ]; then
  ok "owner $tpaddr: pid $pid at $(printf '%#x' "$vaddr") (pagemap read with dd: frame $tpfn)"
else bad "owner $tpaddr: $(echo "$own" | head -c 300)"; fi
row="$(physdemo maps "$pid" --pages --mapping '[anonymous]' | awk -v v="$tpage" '$1 == v { print $2; exit }')"
if [ "$row" = "$tpfn" ]; then ok "maps --pages: the variable's page $tpage is frame $row (= pagemap read with dd)"
else bad "maps --pages: page $tpage is frame '$row', pagemap read with dd gives $tpfn"; fi
if [ "$(physdemo physmap --pid "$pid" --json | obj_field target pfn)" = "$tpfn" ]; then
  ok "physmap --pid $pid marks frame $tpfn as the target's"
else bad "physmap --pid $pid does not mark frame $tpfn"; fi
# (usage runs from a copy of the binary: the same file would share its pages with the
# target while usage runs, and halve their share of the target's PSS.)
cp "$(command -v physdemo)" /tmp/physdemo-copy
# RSS exactly, PSS within 0.5 % or a page (tests/it/usage.rs's bounds: the kernel sums
# fractional shares and prints kB).
rss_kb=$(sed -n 's/^Rss: *\([0-9]*\) kB/\1/p' "/proc/$pid/smaps_rollup")
pss_kb=$(sed -n 's/^Pss: *\([0-9]*\) kB/\1/p' "/proc/$pid/smaps_rollup")
use="$(/tmp/physdemo-copy usage --pid "$pid" --json)"
rss=$(echo "$use" | json_field rss) pss=$(echo "$use" | json_field pss)
off=$((pss - pss_kb * 1024)); [ "$off" -lt 0 ] && off=$((-off))
slack=$((pss_kb * 1024 / 200)); [ "$slack" -lt "$page_size" ] && slack=$page_size
if [ -n "$pss" ] && [ "$rss" = $((rss_kb * 1024)) ] && [ "$off" -le "$slack" ]; then
  ok "usage --pid $pid: RSS $rss bytes = smaps_rollup's $rss_kb kB, PSS $pss bytes within $off of its $pss_kb kB"
else bad "usage --pid $pid: RSS '$rss', PSS '$pss'; smaps_rollup Rss $rss_kb kB, Pss $pss_kb kB"; fi
rm -f /tmp/physdemo-copy
uart_name="$(sed -n 's/^ *09000000-[0-9a-f]* : //p' /proc/iomem | head -n 1)"
if [ -n "$uart_name" ] && physdemo explain "$UART" | grep -q "^iomem .*$uart_name \[0x9000000-"; then
  ok "explain $UART: $(physdemo explain "$UART" | sed -n 's/^iomem *//p' | head -n 1) (/proc/iomem: $uart_name)"
else bad "explain $UART does not name '$uart_name': $(physdemo explain "$UART" 2>&1 | head -n 4)"; fi
W=0x5eedf00d5eedf00d
physdemo watch "$pid" "$vaddr" --count 1 --interval 1ms --json >/tmp/watch.json 2>/tmp/watch.err &
wjob=$!
wait_for /tmp/watch.json '"event":"start"' 100 >/dev/null || bad "watch did not start: $(cat /tmp/watch.err)"
physdemo poke "$pid" "$vaddr" "$W" >/dev/null 2>&1
wait "$wjob"
if grep -q "\"event\":\"change\".*\"new\":\"$W\"" /tmp/watch.json && wait_for "$tout" "\"new\":\"$W\"" 50 >/dev/null; then
  ok "watch $pid $(printf '%#x' "$vaddr") saw the poke of $W, as the target did"
else bad "watch: $(cat /tmp/watch.json /tmp/watch.err | head -c 400)"; fi
stop_target
rm -f /tmp/watch.json /tmp/watch.err

summary arm64 24
