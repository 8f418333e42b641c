#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/stress/widths.sh: inside the VM, every width and access method of
# `physdemo poke <pid> <vaddr>` changes exactly the bytes asked for and
# leaves every other byte of the page as it was, seen from the process's own
# side (/proc/PID/mem read with dd, not physdemo).
#
# The page: `holdpage pattern` (byte i = (i * 37 + 11) mod 256, so neighbours
# are known and all differ). For each device (/dev/mem, and /dev/physmem from
# physdemo_mem.ko), method (mmap, rw) and width (8, 16, 32, 64) one poke at
# its own offset, deliberately not 8-byte aligned for the narrow widths (+7
# for 8 bits, +6 for 16, +4 for 32), of a value whose every byte is the
# inverse of the byte there (so every byte the poke should change does). The
# whole page is compared before and after: exactly width/8 bytes differ, at
# the offset, holding the value's little-endian bytes. And `poke --json`
# must report the device and method asked for ("device": "/dev/mem mmap,
# O_SYNC" or "... pread/pwrite, ..."; "/dev/physmem (physdemo_mem) mmap" or
# "... pread/pwrite"), with no detour: a poke that quietly went another way
# fails, even when its bytes are right.
#
# Usage (host): PHYSDEMO_VM_FILES="$(demos/stress/build)" demos/vm/run demos/stress/widths.sh [DEVICE...]
#   DEVICE  /dev/mem and/or /dev/physmem (default: both; each poke names its
#           device with --device, so /dev/physmem is used even where /dev/mem works)
# Ends with "widths: N passed, N failed" (summary, minimum 8 checks per
# device, and one for loading the module).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/holders.sh"
need_helpers holdpage

[ $# -gt 0 ] || set -- /dev/mem /dev/physmem
devices="$*"
min=$((8 * $#))
case " $devices " in
  *" /dev/physmem "*)
    ko="/lib/modules/$(uname -r)/extra/physdemo_mem.ko"
    min=$((min + 1))
    if insmod "$ko" && [ -c /dev/physmem ]; then ok "insmod physdemo_mem.ko: /dev/physmem"
    else bad "could not load $ko"; fi ;;
esac

start_holder pattern pattern 0x0102030405060708 || die "holdpage pattern did not start"
job=$h_job pid=$h_pid page=$(($h_vaddr & ~4095))
echo "    holdpage pid $pid, pattern page $(printf '%#x' $page)"
# bytes FILE: the page as the process sees it, one hex byte per line
bytes() { dd if="/proc/$pid/mem" bs=4096 skip=$((page / 4096)) count=1 2>/dev/null | od -An -v -tx1 | tr -s ' ' '\n' | grep . >"$1"; }

case_no=0
for device in $devices; do
  for method in mmap rw; do
    for width in 8 16 32 64; do
      n=$((width / 8))
      off=$((0x100 + case_no * 0x40 + 8 - n))
      [ "$width" = 64 ] && off=$((0x100 + case_no * 0x40))
      case_no=$((case_no + 1))
      bytes "$W/before"
      # The value: the inverse of each byte there, little-endian.
      value=0x
      i=$((n - 1))
      while [ $i -ge 0 ]; do
        b="$(sed -n "$((off + i + 1))p" "$W/before")"
        value="$value$(printf '%02x' $((0x$b ^ 0xff)))"
        i=$((i - 1))
      done
      label="$width-bit $method via $device at +$(printf '%#x' $off)"
      if ! physdemo poke "$pid" "$(printf '%#x' $((page + off)))" "$value" --width "$width" \
           --method "$method" --device "$device" --json >"$W/poke.out" 2>"$W/poke.err"; then
        bad "$label: poke $value failed: $(cat "$W/poke.err")"; continue
      fi
      # What poke says it used, against what was asked for.
      reported="$(sed -n 's/.*"device":"\([^"]*\)".*/\1/p' "$W/poke.out")"
      detour="$(json_field detour <"$W/poke.out")"
      m=mmap
      [ "$method" = rw ] && m=pread/pwrite
      case "$device:$reported" in
        "/dev/mem:/dev/mem $m, O_SYNC" | "/dev/mem:/dev/mem $m, cached" | \
        "/dev/physmem:/dev/physmem (physdemo_mem) $m") ;;
        *) bad "$label: poke --json reports device '$reported', not $device with $m"; continue ;;
      esac
      [ "$detour" = null ] || { bad "$label: poke --json reports a detour: $detour"; continue; }
      bytes "$W/after"
      changed="$(awk 'NR == FNR { a[FNR] = $0; next } a[FNR] != $0 { printf "%d:%s ", FNR - 1, $0 }' "$W/before" "$W/after")"
      want="" i=0
      while [ $i -lt $n ]; do
        want="$want$((off + i)):$(printf '%02x' $(((value >> (8 * i)) & 0xff))) "
        i=$((i + 1))
      done
      if [ "$changed" = "$want" ]; then
        ok "$label: poke $value changed exactly bytes $off..$((off + n - 1)) to its little-endian bytes; the other $((4096 - n)) bytes untouched; poke --json: device '$reported', no detour"
      else
        bad "$label: poke $value changed [$changed], want [$want]"
      fi
    done
  done
done
stop_holder "$job"
grep -q '^physdemo_mem ' /proc/modules && rmmod physdemo_mem
summary widths "$min"
