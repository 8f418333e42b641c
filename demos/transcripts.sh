#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/transcripts.sh: the recipes of the transcripts shown as real output in
# README.md and docs/*.md, and their runner. demos/transcripts (on the host)
# runs the `host` recipes here and the `default` and `distro` ones inside one
# boot of that VM flavour each (demos/vm/run demos/transcripts.sh run
# FLAVOUR), then compares the output with the docs or rewrites them.
# POSIX sh: bash on the host and busybox ash in the VM both run it.
#
# Usage: demos/transcripts.sh list                   the recipes: NAME WHERE COMMAND
#        demos/transcripts.sh run WHERE [NAME...]    run WHERE's recipes (or those named)
#
# A recipe is one line of the table in `transcript_recipes` below:
#   NAME   WHERE   COMMAND
# NAME is what the docs' marker names (`<!-- transcript: NAME -->` on the line
# before a fenced block); WHERE is `host` (run here, from the repo, with the
# crate's physdemo first on PATH), `host-vm` (the same, for a command that
# boots VMs of its own: run beside the others), `default` or `distro` (run
# inside that x86 VM, from /, where /demos is the repo's demos/ and physdemo
# is on PATH);
# COMMAND is sh, run with NO_COLOR=1 and stdin from /dev/null, its stdout
# and stderr together being the block. A recipe that shows several blocks
# prints `@@part PART` before each; they are the blocks NAME/PART.
#
# Helpers for COMMAND (besides demos/lib.sh's start_target, wait_for, ...):
#   show [--sudo] [--as TEXT] [--bare] [--no-stderr] [--exit N] CMD ARGS...
#       prints "$ CMD ARGS" (with --sudo "$ sudo CMD ARGS", with --as "$ TEXT",
#       with --bare nothing) and runs CMD, stderr into stdout (with --no-stderr
#       left out: for a command whose stderr says what it built, which varies);
#       the recipe fails unless CMD exits N (default 0).
#   excerpt AWK-CONDITION...   (a filter) keeps the lines for which a condition
#       holds and puts one "…" line where lines were left out.
#   expect_fail TEXT            marks the recipe failed, saying TEXT on stderr.
# Each run prints "@@transcript begin NAME", the output, then
# "@@transcript end NAME STATUS" (0 only when every command ran as expected).
set -u
. "$(dirname "$0")/lib.sh"

transcript_recipes() { # (TRANSCRIPT_RECIPES: a table to use instead, demos/transcripts --recipes)
  if [ -n "${TRANSCRIPT_RECIPES:-}" ]; then cat "$TRANSCRIPT_RECIPES"; return; fi
  cat <<'EOF'
# NAME          WHERE    COMMAND
tour            host     recipe_tour
maps-owner      host     recipe_maps_owner
usage           host     recipe_usage
physmap         host     recipe_physmap
explain-host    host     recipe_explain_host
kmod-host       host     show --bare --exit 1 demos/kmod/build --host
device          host-vm  show --no-stderr demos/device
arm64           host-vm  recipe_arm64
demo            default  recipe_demo
peek-poke       default  recipe_peek_poke
ports           default  recipe_ports
buffer-keys     default  recipe_buffer_keys
kernel-buffer   default  show --as demos/kernel-buffer demos/kernel-buffer.sh
edu             default  show --as demos/edu demos/edu.sh
watch           default  recipe_watch
symbol          default  recipe_symbol
explain-symbol  default  show --sudo physdemo explain --symbol schedule+0x10
doctor-distro   distro   show --bare physdemo doctor
kcore           distro   recipe_kcore
physmem-poke    distro   recipe_physmem_poke
explain-distro  distro   recipe_explain_distro
kcore-lockdown  distro   recipe_kcore_lockdown
EOF
}

# --- helpers ---------------------------------------------------------------

expect_fail() { echo "transcripts: $*" >&2; echo "$*" >>"$TRANSCRIPT_FAILS"; }

quote_words() { # the words as a shell would need them typed
  _q_out=""
  for _q in "$@"; do
    case "$_q" in
      "" | *[!A-Za-z0-9_./:=,+@%-]*) _q="'$_q'" ;;
    esac
    _q_out="${_q_out:+$_q_out }$_q"
  done
  printf '%s\n' "$_q_out"
}

show() { # show [--sudo] [--as TEXT] [--bare] [--no-stderr] [--exit N] CMD ARGS...
  _s_prompt='$ ' _s_as="" _s_bare="" _s_want=0 _s_err=""
  while :; do
    case "$1" in
      --sudo) _s_prompt='$ sudo '; shift ;;
      --as) _s_as="$2"; shift 2 ;;
      --bare) _s_bare=1; shift ;;
      --no-stderr) _s_err="$(mktemp)"; shift ;;
      --exit) _s_want="$2"; shift 2 ;;
      *) break ;;
    esac
  done
  if [ -z "$_s_bare" ]; then
    if [ -n "$_s_as" ]; then echo "$_s_prompt$_s_as"; else echo "$_s_prompt$(quote_words "$@")"; fi
  fi
  if [ -n "$_s_err" ]; then
    "$@" 2>"$_s_err" && _s_rc=0 || _s_rc=$?
  else
    "$@" 2>&1 && _s_rc=0 || _s_rc=$?
  fi
  [ "$_s_rc" = "$_s_want" ] ||
    expect_fail "'$*' exited $_s_rc, not $_s_want${_s_err:+; its stderr ends: $(tail -n 5 "$_s_err")}"
  [ -z "$_s_err" ] || rm -f "$_s_err"
  return 0
}

excerpt() { # excerpt COND...: the lines any awk COND selects, "…" for each gap
  _e_prog="function keep() { if (gap) print \"…\"; gap = 0; print } "
  for _e in "$@"; do _e_prog="$_e_prog ($_e) { keep(); next } "; done
  awk "$_e_prog { gap = 1 } END { if (gap) print \"…\" }"
}

target_log="" target_job=""
start_text_target() { # start_text_target ARGS...: `physdemo target ARGS` (text), sets pid, vaddr
  target_log="$(mktemp)"
  physdemo target "$@" >"$target_log" 2>&1 &
  target_job=$!
  wait_for "$target_log" '^Watching' 100 || expect_fail "the target did not start: $(cat "$target_log")"
  pid="$(sed -n 's/^physdemo target: pid \([0-9]*\)$/\1/p' "$target_log")"
  vaddr="$(sed -n 's/^  variable  \(0x[0-9a-f]*\) .*/\1/p' "$target_log")"
}
stop_text_target() {
  kill "$target_job" 2>/dev/null
  wait "$target_job" 2>/dev/null
  rm -f "$target_log"
}

# --- host recipes ----------------------------------------------------------

# README's tour and docs/physical-memory.md: a target, its inspect, and the
# target's report of a write to its variable (made through /proc/PID/mem:
# this host has no /dev/mem).
recipe_tour() {
  start_text_target
  echo "@@part inspect"
  show --sudo physdemo inspect "$pid" "$vaddr"
  printf '\357\276\255\336\000\000\000\000' |
    dd of="/proc/$pid/mem" bs=8 seek=$((vaddr / 8)) conv=notrunc 2>/dev/null ||
    expect_fail "writing /proc/$pid/mem failed"
  wait_for "$target_log" ' changed ' 50 || expect_fail "the target saw no change"
  echo "@@part target"
  echo '$ physdemo target'
  cat "$target_log"
  stop_text_target
}

recipe_maps_owner() {
  start_target --where heap
  paddr="$(json_field paddr <"$tout")"
  show --sudo physdemo maps "$pid" | excerpt 'NR == 1' '!n && / \[heap\]$/ && (n = NR)' 'n && NR <= n + 2'
  show --sudo physdemo maps "$pid" --pages --mapping '[heap]' | excerpt 'NR <= 5'
  show --sudo physdemo owner "$paddr"
  stop_target
}

recipe_usage() {
  sleep 60 &
  show --sudo physdemo usage | excerpt 'NR <= 4' '/^ *total /'
  show --sudo physdemo usage --by mapping --pid $! | excerpt 'NR <= 4'
  kill $!
}

# The row of cells holding the target's variable (X), and the legend's ends.
recipe_physmap() {
  start_target
  echo "\$ sudo physdemo physmap --pid $pid --color never      # no terminal: 80 columns"
  show --bare physdemo physmap --pid "$pid" --color never |
    awk '/^  0x[0-9a-f]+ .*X/ { x = NR } { line[NR] = $0 } END {
           for (i = 1; i <= NR; i++) if (line[i] ~ /^     total /) total = i
           print line[1]; print "…"; print line[x]; print "…"
           for (i = total; i > 0 && line[i] != ""; i--) first = i
           print line[first]; print line[first + 1]; print "  …"; print line[total - 1]; print line[total]
         }'
  stop_target
}

# docs/explorer.md: explain of a target's variable on this host (no /dev/mem,
# no /proc/kcore, no module).
recipe_explain_host() {
  start_target
  show --sudo physdemo explain "$pid" "$vaddr" | excerpt '!/^door /' '/^door +\/dev\/mem read/'
  stop_target
}

# demos/arm64 boots its own VMs (4k, 16k and 64k pages; its stdout: stderr says
# what was built): the 4k part whole; the 16k part up to inspect --svg, then its
# huge pages; the 64k part up to the poke by physical address, then physdemo_mem
# and the huge pages; and for README a few of the 64k VM's checks and the total.
recipe_arm64() {
  _a_out="$(mktemp)" _a_err="$(mktemp)"
  demos/arm64 >"$_a_out" 2>"$_a_err" || expect_fail "demos/arm64 failed: $(tail -n 5 "$_a_out" "$_a_err")"
  awk '/^==> arm64 with 4k pages/ { sec = "4k"; print "@@part 4k" }
       /^==> arm64 with 16k pages/ { sec = "16k"; st = 1; print "@@part 16k" }
       /^==> arm64 with 64k pages/ { sec = "64k"; st = 1; print "@@part 64k" }
       sec == "4k" { print; next }
       sec == "64k" && /^ok   - (inspect: |poke --device \/dev\/physmem |transparent huge page|64k: the serial line)/ { readme[++n] = $0 }
       /^arm64 \(host\)/ { readme[++n] = $0 }
       st == 1 { print }
       st == 1 && (sec == "16k" && /^ok   - inspect --svg/ || sec == "64k" && /^ok   - poke 0x.* landed/) { print "…"; st = 2; next }
       st == 2 && (sec == "16k" && /^==> huge pages on/ || sec == "64k" && /^==> physdemo_mem:/) { st = 3 }
       st == 3 { print }
       st == 3 && /^arm64: .* passed/ { st = 4 }
       END { print "@@part readme"; for (i = 1; i <= n; i++) print readme[i] }' "$_a_out"
  rm -f "$_a_out" "$_a_err"
}

# --- default VM recipes ----------------------------------------------------

# README: demos/demo in the VM, with most of step 1's target and step 2 (its
# inspect: both shown above it in the README) and the target's repeated output
# left out.
recipe_demo() {
  show --bare demos/userland.sh | awk '
    /^==> / { n++; head[n] = $0; step[n] = $3; inhead = 1; next }
    inhead && /^    [^ ]/ { head[n] = head[n] "\n" $0; next }
    { inhead = 0; body[n, ++len[n]] = $0 }
    END {
      for (i = 0; i <= n; i++) {
        if (step[i] == "2:") { split(head[i], h, "\n"); print h[1] }
        else if (i > 0) print head[i]
        for (m = len[i]; m > 0 && body[i, m] == ""; m--) ;
        if (step[i] == "1:") { print body[i, 1]; print body[i, 2]; print "…" }
        else if (step[i] == "2:") print "…"
        else if (step[i] == "4:") { print "…"; print body[i, m - 1]; print body[i, m] }
        else for (j = 1; j <= m; j++) print body[i, j]
        if (m < len[i]) print ""
      }
    }'
}

# docs/physical-memory.md: peek, busybox devmem, devmem, dump, a dry run and a
# refusal, on a target's variable holding 0xdeadbeef.
recipe_peek_poke() {
  start_target --value 0xdeadbeef
  paddr="$(json_field paddr <"$tout")"
  page="$(printf '%#x' $((paddr & ~0xfff)))"
  kcode="$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel code$/\1/p' /proc/iomem | head -n 1)"
  show physdemo peek "$paddr" --width 64
  show busybox devmem "$paddr" 64
  show physdemo devmem "$paddr" 64
  show physdemo dump "$page" 0x60
  show physdemo poke "$paddr" 0x1 --dry-run
  show --exit 6 physdemo poke "0x$(norm_hex "$kcode")" 0x1
  stop_target
}

# docs/devices-and-ports.md: fw_cfg, pc-testdev's port, the debug console.
recipe_ports() {
  show physdemo port 0x510 0 --width 16
  show physdemo port 0x511 --read 4
  show physdemo port 0xe0 0xcafe1234 --width 32
  show physdemo port 0xe2 --width 16 --json
  show --exit 6 physdemo port 0xe9 0x68 0x69 0x0a
  show physdemo port 0xe9 0x68 0x69 0x0a --force
  show physdemo port 0x64 0xfe --force --dry-run
  show --exit 2 physdemo port 0x511 --width 16
}

# docs/setups.md: what physdemo_buf's debugfs file reports.
recipe_buffer_keys() {
  grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug
  insmod "/lib/modules/$(uname -r)/extra/physdemo_buf.ko" || expect_fail "insmod physdemo_buf failed"
  show cat /sys/kernel/debug/physdemo_buf
  rmmod physdemo_buf
}

# docs/watch.md and README: the HPET's counter, a target's variable while poke
# changes one byte of it, the refusal of a register without --width; and
# jiffies by name (README).
recipe_watch() {
  echo "@@part hpet"
  show --sudo physdemo watch 0xfed000f0 --width 32 --interval 10ms --count 3
  echo "@@part range"
  start_target
  _w_log="$(mktemp)"
  echo "\$ sudo physdemo watch $pid $vaddr --len 16 --interval 1ms --count 1"
  physdemo watch "$pid" "$vaddr" --len 16 --interval 1ms --count 1 >"$_w_log" 2>&1 &
  _w_job=$!
  wait_for "$_w_log" 'first read' 100 || expect_fail "watch did not start: $(cat "$_w_log")"
  physdemo poke "$pid" "$(printf '%#x' $((vaddr + 2)))" 0xaa --width 8 >/dev/null 2>&1 ||
    expect_fail "the poke of one byte failed"
  wait "$_w_job" || expect_fail "watch exited $?"
  cat "$_w_log"
  rm -f "$_w_log"
  stop_target
  echo "@@part refusal"
  show --sudo --exit 2 physdemo watch 0xfed000f0
  echo "@@part jiffies"
  show --sudo physdemo watch --symbol jiffies --interval 10ms --count 1
}

# docs/physical-memory.md: a kernel variable and the kernel's banner, by name.
recipe_symbol() {
  show physdemo peek --symbol jiffies
  show physdemo dump --symbol linux_banner 0xa0
}

# --- distro VM recipes -----------------------------------------------------

# docs/distribution-kernels.md: a poke through /dev/physmem where
# STRICT_DEVMEM refuses /dev/mem (physdemo_mem loaded for it, unloaded after).
recipe_physmem_poke() {
  insmod "/lib/modules/$(uname -r)/extra/physdemo_mem.ko" || expect_fail "insmod physdemo_mem failed"
  start_target
  show physdemo poke "$pid" "$vaddr" 0xfeedc0dedeadf00d | excerpt 'NR == 1' '/^(new|via|target) /'
  stop_target
  rmmod physdemo_mem
}

# banner_paddr: sets banner, linux_banner's physical address computed by hand:
# its distance from _text in /proc/kallsyms plus the start of "Kernel code".
banner_paddr() {
  _k_text="$(sed -n 's/^\([0-9a-f]*\) T _text$/\1/p' /proc/kallsyms)"
  _k_banner="$(sed -n 's/^\([0-9a-f]*\) [DR] linux_banner$/\1/p' /proc/kallsyms)"
  _k_code="$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel code$/\1/p' /proc/iomem | head -n 1)"
  banner="$(printf '%#x' $((0x$_k_banner - 0x$_k_text + 0x$_k_code)))"
}

# docs/distribution-kernels.md: RAM read through /proc/kcore, physdemo_mem not
# loaded: linux_banner placed by hand (kallsyms and iomem), then by name.
recipe_kcore() {
  banner_paddr
  echo '$ grep -w -e _text -e linux_banner /proc/kallsyms; grep "Kernel code" /proc/iomem'
  grep -w -e _text -e linux_banner /proc/kallsyms
  grep "Kernel code" /proc/iomem
  show physdemo peek "$banner" --width 64
  show physdemo dump "$banner" 0x40
  show cat /proc/version
  echo '$ physdemo doctor | grep -e kcore -e "next step"'
  physdemo doctor | grep -e kcore -e "next step"
}

# docs/explorer.md and README: explain of a target's variable with physdemo_mem
# loaded (whole, and the README's few lines), and of edu's liveness register.
recipe_explain_distro() {
  insmod "/lib/modules/$(uname -r)/extra/physdemo_mem.ko" || expect_fail "insmod physdemo_mem failed"
  start_target
  _x_out="$(mktemp)"
  show --sudo physdemo explain "$pid" "$vaddr" >"$_x_out"
  echo "@@part full"
  cat "$_x_out"
  echo "@@part readme"
  excerpt 'NR == 1' '/^(physical|iomem|frame) /' '/^door +\/dev\/(mem|physmem) read/' <"$_x_out"
  rm -f "$_x_out"
  stop_target
  echo "@@part edu"
  _x_bar="$(bar_start "$(edu_dir)")"
  show --sudo physdemo explain "$(printf '%#x' $((_x_bar + 4)))"
  rmmod physdemo_mem
}

# docs/distribution-kernels.md: lockdown raised to integrity (/proc/kcore still
# reads), then to confidentiality (it closes). Last of the distro recipes: the
# level only rises.
recipe_kcore_lockdown() {
  banner_paddr
  echo '$ echo integrity >/sys/kernel/security/lockdown'
  echo integrity >/sys/kernel/security/lockdown || expect_fail "lockdown integrity refused"
  show physdemo peek "$banner" --width 64 | excerpt 'NR == 1' '/^(value|via) /'
  echo '$ echo confidentiality >/sys/kernel/security/lockdown'
  echo confidentiality >/sys/kernel/security/lockdown || expect_fail "lockdown confidentiality refused"
  show --exit 4 physdemo peek "$banner" --width 64
}

# --- the runner --------------------------------------------------------------

transcript_run() { # transcript_run WHERE [NAME...]
  _where="$1"
  shift
  cd "$(dirname "$0")/.." # the repo on the host, / in the VM (where demos/ is /demos)
  export NO_COLOR=1
  TRANSCRIPT_FAILS="$(mktemp)"
  _out="$(mktemp)"
  transcript_recipes | while read -r _name _w _cmd; do
    case "$_name" in "" | "#"*) continue ;; esac
    [ "$_w" = "$_where" ] || continue
    if [ $# -gt 0 ]; then
      case " $* " in *" $_name "*) ;; *) continue ;; esac
    fi
    : >"$TRANSCRIPT_FAILS"
    (eval "$_cmd") </dev/null >"$_out" 2>&1 && _rc=0 || _rc=$?
    [ "$_rc" = 0 ] && [ -s "$TRANSCRIPT_FAILS" ] && _rc=1
    echo "@@transcript begin $_name"
    cat "$_out"
    echo "@@transcript end $_name $_rc"
  done
  rm -f "$TRANSCRIPT_FAILS" "$_out"
}

case "${1:-}" in
  list) transcript_recipes | grep -v '^#' ;;
  run)
    [ $# -ge 2 ] || die "usage: demos/transcripts.sh run WHERE [NAME...]"
    shift
    transcript_run "$@"
    ;;
  *) die "usage: demos/transcripts.sh list | run WHERE [NAME...]" ;;
esac
