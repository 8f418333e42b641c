#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/e2e/promises-read.sh: inside the VM, the read side of issue 10's
# promises against the real /dev/mem and /proc/iomem:
#   - `dump` of a huge length runs under a small memory limit, and what it
#     printed before the pipe closed is what busybox hexdump prints;
#   - `dump` past the CPU's physical address bits fails before printing,
#     like `peek` (exit 3);
#   - `dump --method rw` that fails names the first address that failed and
#     its region, and busybox dd confirms the kernel refuses exactly there;
#   - `dump X 0` prints nothing, as busybox hexdump -n 0;
#   - /dev/port is named and refused before it is opened;
#   - the real /proc/iomem parses: peek's region line names the innermost
#     region an independent awk walk finds;
#   - `peek 010` means physical 10, `devmem 010` means 8 (C octal).
#
# Usage (on the host): demos/vm/run demos/e2e/promises-read.sh
# Prints "ok"/"FAIL" lines with the exact values, then
# "promises-read: N passed, N failed"; exit 0 only when all passed and at
# least the minimum ran.
set -u
. "$(dirname "$0")/../lib.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# one_error NAME CODE NEEDLE: the last command's exit status ($rc), stdout
# ($work/out) and stderr ($work/err) are an error exit CODE with nothing on
# stdout and exactly one "physdemo: error:" line containing NEEDLE.
one_error() {
  _lines="$(wc -l <"$work/err")"
  if [ "$rc" = "$2" ] && [ ! -s "$work/out" ] && [ "$_lines" = 1 ] &&
    grep -q '^physdemo: error: ' "$work/err" && grep -qF -- "$3" "$work/err"; then
    ok "$1: exit $rc, one line: $(cat "$work/err")"
  else
    bad "$1: exit $rc (want $2), stdout $(wc -c <"$work/out") bytes, stderr: $(cat "$work/err") (want '$3')"
  fi
}

# 1. dump 0 0x10000000000 (1 TiB) under `ulimit -v 65536` (64 MiB): it must
#    stream. Read 64 KiB of its output, then close the pipe (success for it).
{
  (ulimit -v 65536 && exec physdemo dump 0 0x10000000000 2>"$work/big.err")
  echo $? >"$work/big.rc"
} | head -c 65536 >"$work/big.out"
big_rc="$(cat "$work/big.rc")"
big_bytes="$(wc -c <"$work/big.out")"
if [ "$big_rc" = 0 ] && [ ! -s "$work/big.err" ] && [ "$big_bytes" = 65536 ]; then
  ok "dump 0 0x10000000000 under ulimit -v 65536: exit 0 after 65536 bytes of output, nothing on stderr"
else
  bad "dump 0 0x10000000000 under ulimit -v 65536: exit $big_rc, $big_bytes bytes, stderr: $(head -c 300 "$work/big.err")"
fi
# The same bytes of physical memory through busybox (read(2) of /dev/mem).
busybox hexdump -C -n 65536 /dev/mem >"$work/want" 2>&1
sed '$d' "$work/want" >"$work/want.lines" # without the end-offset line
common=$(( $(wc -c <"$work/want.lines") < big_bytes ? $(wc -c <"$work/want.lines") : big_bytes ))
head -c "$common" "$work/want.lines" >"$work/want.common"
head -c "$common" "$work/big.out" >"$work/big.common"
if [ "$common" -gt 4000 ] && cmp -s "$work/want.common" "$work/big.common"; then
  ok "its first $common bytes of output = busybox hexdump -C -n 65536 /dev/mem ($(wc -l <"$work/want.common") lines)"
else
  bad "dump 0 0x10000000000 differs from busybox hexdump -C (first $common bytes):"
  diff "$work/want.common" "$work/big.common" | head -n 6 | sed 's/^/    | /'
fi

# 2. Past the CPU's physical address bits: refused before anything is printed.
bits="$(sed -n 's/^address sizes[^:]*: \([0-9]*\) bits physical.*/\1/p' /proc/cpuinfo | head -n 1)"
limit=$((1 << bits))
start="$(printf '%#x' $((limit - 16)))"
limit_hex="$(printf '%#x' "$limit")"
physdemo dump "$start" 0x20 >"$work/out" 2>"$work/err"
rc=$?
one_error "dump $start 0x20 ($bits physical address bits)" 3 "runs beyond physical memory at $limit_hex: this CPU has $bits physical address bits"
physdemo peek "$limit_hex" >"$work/out" 2>"$work/err"
rc=$?
one_error "peek $limit_hex" 3 "$limit_hex is beyond physical memory: this CPU has $bits physical address bits"
physdemo dump "$start" 0x10 >"$work/out" 2>"$work/err"
rc=$?
lines="$(wc -l <"$work/out")"
if [ "$rc" = 0 ] && [ "$lines" = 2 ]; then
  ok "dump $start 0x10, the last 16 bytes below the limit: exit 0, $lines lines"
else
  bad "dump $start 0x10: exit $rc, $lines lines, stderr: $(cat "$work/err")"
fi

# 3. --method rw across the end of low RAM. Find the System RAM range that
#    ends inside a page (the VM's 00001000-0009fbff), from /proc/iomem.
ram_end="$(awk -F' : ' '$2 == "System RAM" && $1 !~ /^ / {
  split($1, r, "-"); print r[2] }' /proc/iomem | while read -r end; do
  if [ $(( (0x$end + 1) % 4096 )) -ne 0 ]; then echo "$end"; break; fi
done)"
if [ -z "$ram_end" ]; then
  bad "no System RAM range of /proc/iomem ends inside a page"
else
  next=$((0x$ram_end + 1))
  page=$((next & ~4095))
  at="$(printf '%#x' $((next - 16)))"
  ram_line="$(awk -F' : ' -v e="$ram_end" '$2 == "System RAM" && $1 ~ "-"e"$" { print $1 }' /proc/iomem)"
  ram_desc="System RAM [$(printf "%#x" "0x${ram_line%-*}")-$(printf "%#x" "0x$ram_end")]"
  rsv_line="$(grep "^$(printf '%08x' "$next")-" /proc/iomem)"
  rsv_range="${rsv_line%% : *}"
  rsv_desc="${rsv_line#* : } [$(printf '%#x' "0x${rsv_range%-*}")-$(printf '%#x' "0x${rsv_range#*-}")]"
  # Independently: read(2) of /dev/mem fails at the RAM byte itself, since the
  # kernel maps the whole page, which is part RAM and part not.
  if dd if=/dev/mem of=/dev/null bs=1 skip=$((next - 16)) count=1 2>"$work/dd"; then
    bad "busybox dd read $at through read(2); expected the kernel to refuse the mixed page"
  else
    ok "busybox dd: read(2) of /dev/mem at $at (System RAM) fails: $(tail -n 1 "$work/dd")"
  fi
  physdemo dump "$at" 0x20 --method rw >"$work/out" 2>"$work/err"
  rc=$?
  one_error "dump $at 0x20 --method rw" 3 "dump stopped at $at, in $ram_desc; its page $(printf '%#x' "$page")-$(printf '%#x' $((page + 4095))) also holds $rsv_desc: read/write on /dev/mem cannot reach $at (EFAULT)"
  # From the page before: its last line is printed, then the stop at the page.
  before="$(printf '%#x' $((page - 16)))"
  physdemo dump "$before" 0x20 --method rw >"$work/dump" 2>"$work/err"
  rc=$?
  # busybox hexdump reads whole blocks, which reach into the refused page:
  # take those 16 bytes with dd and compare the bytes column by column.
  want="$(dd if=/dev/mem bs=16 skip=$(((page - 16) / 16)) count=1 2>/dev/null |
    busybox hexdump -C | head -n 1 | sed 's/^[0-9a-f]*  //')"
  got="$(head -n 1 "$work/dump")"
  if [ "$rc" = 3 ] && [ "${got#*  }" = "$want" ] && grep -qF "dump stopped at $(printf '%#x' "$page"), in $ram_desc" "$work/err"; then
    ok "dump $before 0x20 --method rw: printed '$got' (= dd | busybox hexdump), then stopped at $(printf '%#x' "$page")"
  else
    bad "dump $before 0x20 --method rw: exit $rc, first line '$got' (busybox: '$want'), stderr: $(cat "$work/err")"
  fi
fi

# 4. A length of zero prints nothing, as busybox hexdump -n 0.
physdemo dump 0x1000 0 >"$work/out" 2>"$work/err"
rc=$?
hd="$(busybox hexdump -C -n 0 /dev/mem | wc -c)"
if [ "$rc" = 0 ] && [ ! -s "$work/out" ] && [ ! -s "$work/err" ] && [ "$hd" = 0 ]; then
  ok "dump 0x1000 0: exit 0, no output (busybox hexdump -C -n 0: $hd bytes)"
else
  bad "dump 0x1000 0: exit $rc, output '$(cat "$work/out")', stderr '$(cat "$work/err")'"
fi

# 5. /dev/port is not physical memory: refused before it is opened, both
#    methods (with read(2) it would read I/O port 0x80).
for method in mmap rw; do
  PHYSDEMO_DEVICE=/dev/port physdemo peek 0x80 --width 8 --method "$method" >"$work/out" 2>"$work/err"
  rc=$?
  one_error "PHYSDEMO_DEVICE=/dev/port peek 0x80 --width 8 --method $method" 2 "/dev/port (char 1:4) is the I/O port device, not physical memory"
done

# 6. The real /proc/iomem parses, and peek names the innermost region: the
#    last, deepest line holding the address, found here by awk alone.
innermost() {
  awk -v a="$1" '
    function hex(s,  i, c, v) { v = 0; s = tolower(s)
      for (i = 1; i <= length(s); i++) { c = index("0123456789abcdef", substr(s, i, 1)) - 1; v = v * 16 + c }
      return v }
    { match($0, /^ */); d = RLENGTH; line = substr($0, d + 1)
      split(line, p, " : "); split(p[1], r, "-")
      if (hex(r[1]) <= a && a <= hex(r[2]) && d >= best) { best = d; name = substr(line, length(p[1]) + 4) } }
    END { print name }' /proc/iomem
}
kcode="0x$(grep 'Kernel code' /proc/iomem | head -n 1 | sed 's/^ *//; s/-.*//')"
edu="$(edu_dir)"
if [ -n "$edu" ]; then
  echo 1 >"$edu/enable" 2>/dev/null || true
  edu="$(bar_start "$edu")"
fi
for addr in 0x0 0x1000 "$kcode" 0x2000000 "$edu"; do
  [ -n "$addr" ] || { bad "no edu device in this VM"; continue; }
  want="$(innermost $((addr)))"
  got="$(physdemo peek "$addr" | sed -n 's/^region *//p')"
  lines="$(physdemo peek "$addr" | grep -c '^region')"
  case "$got" in
    "$want ["*) [ "$lines" = 1 ] && ok "peek $addr: region '$got' (awk: '$want')" ||
      bad "peek $addr: $lines region lines" ;;
    *) bad "peek $addr: region '$got', awk finds '$want'" ;;
  esac
done

# 7. Numbers: peek reads 010 as decimal ten, devmem as C octal eight.
peek_at="$(physdemo peek 010 --width 8 --json | json_field paddr)"
want_peek="$(busybox devmem 10 8)"
got_peek="$(physdemo peek 010 --width 8 --json | json_field value)"
want_devmem="$(busybox devmem 8 8)"
got_devmem="$(physdemo devmem 010 8)"
if [ "$peek_at" = 0xa ] && [ "$(norm_hex "$got_peek")" = "$(norm_hex "$want_peek")" ] &&
  [ "$got_devmem" = "$want_devmem" ] && [ "$(busybox devmem 010 8)" = "$want_devmem" ]; then
  ok "peek 010 reads physical $peek_at ($got_peek = busybox devmem 10 8); devmem 010 reads 8 ($got_devmem, as busybox devmem 010)"
else
  bad "peek 010 at '$peek_at' value '$got_peek' (busybox 10: $want_peek); devmem 010 '$got_devmem' (busybox 8: $want_devmem)"
fi
physdemo peek 4096_ >"$work/out" 2>"$work/err"
rc=$?
one_error "peek 4096_" 2 "\`_\` may only stand between two digits"

summary promises-read 18
