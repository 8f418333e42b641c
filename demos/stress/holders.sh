# shellcheck shell=sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/stress/holders.sh: shell helpers for the VM scenarios that poke pages
# of processes other than physdemo targets (swap, sharing, placements,
# privileges, migrations). Source it after demos/lib.sh:
#
#   . "$(dirname "$0")/../lib.sh"; . "$(dirname "$0")/holders.sh"
#
# Holders (/files/holdpage, demos/stress/holdpage.c):
#   start_holder NAME KIND [VALUE]  start `holdpage KIND VALUE` in the
#       background, its output in $W/NAME.out; wait (10 s) for its "ready"
#       line and set h_job (the background job), h_pid, h_vaddr and h_child
#       (the fork child, or ""). Returns 1, having printed the helper's
#       error, if it did not get ready.
#   holder_value NAME PID   send SIGUSR1 to PID and print the value it reports
#       ("value PID V" in $W/NAME.out), "" after 5 s without an answer.
#   holder_write NAME PID   send SIGUSR2: PID adds 1 to its word itself (breaking
#       any sharing as its own store would); print the value it wrote.
#   holder_changes NAME PID  the "change PID OLD -> NEW" lines PID printed.
#   stop_holder JOB         kill and reap a holder.
# Raw pagemap, read with dd, independent of physdemo (Documentation/admin-guide/mm/pagemap.rst):
#   pagemap_raw PID VADDR   the 64-bit entry of VADDR's page, 16 hex digits
#   pm_present RAW, pm_swapped RAW, pm_exclusive RAW  exit 0 when the bit (63, 62, 56) is set
#   pm_pfn RAW              bits 0-54 as 0x hex (the PFN when present)
#   pm_swap_type RAW        bits 0-4, decimal (when swapped)
#   pm_swap_offset RAW      bits 5-54 as 0x hex (when swapped)
#   kpagecount PFN          /proc/kpagecount for PFN (the frame's map count)
#   smaps_kb_at PID ADDR FIELD  FIELD's kB (Rss, Swap, AnonHugePages...) in
#       /proc/PID/smaps for the mapping that holds ADDR
# Forced moves, counted by movepage itself (its last line, "movepage: R
# requested, O observed, K refused by the kernel"):
#   move_counts FILE        prints "R O K" from FILE (movepage's output), or
#       "x x x" when FILE has no such line (movepage died: every check fails)
#   held_reason FILE        the kernel's refusal on the first "not moved" line
# Witnesses of a poke's outcome that are not physdemo:
#   mem_word PID VADDR      the 8 bytes at VADDR as the process sees them
#       (/proc/PID/mem read with dd), as 0x and 16 hex digits ("" if unreadable)
#   phys_word PADDR         the 8 bytes at physical PADDR, read by busybox
#       devmem (/dev/mem), as it prints them (compare with norm_hex)
# Poke outcomes (issue 14's three, plus anything else):
#   poke_outcome RC ERRFILE prints landed (exit 0), stale (the error says
#       the value went to a frame that was no longer the target's), refused
#       (non-zero, exactly one "physdemo: error:" line, about a check before
#       the write), or unclear (anything else, e.g. an error after the write
#       that is not a stale frame, or several lines).
# Tools: HOLDPAGE MOVEPAGE NOCAP MEMHOG name the helpers; W is a work
# directory (default /run/scenario).

HOLDPAGE=/files/holdpage MOVEPAGE=/files/movepage NOCAP=/files/nocap MEMHOG=/files/memhog
W="${W:-/run/scenario}"
mkdir -p "$W"

need_helpers() { # need_helpers NAME...: fail the script unless each /files/NAME exists
  for _h in "$@"; do
    [ -x "/files/$_h" ] || die "no /files/$_h: run with PHYSDEMO_VM_FILES=\"\$(demos/stress/build)\""
  done
}

h_job="" h_pid="" h_vaddr="" h_child=""
start_holder() { # start_holder NAME KIND [VALUE]
  _name=$1; shift
  "$HOLDPAGE" "$@" >"$W/$_name.out" 2>&1 &
  h_job=$!
  _n=0
  until grep -q '^ready \|^error' "$W/$_name.out" 2>/dev/null || [ "$_n" -gt 100 ]; do
    sleep 0.1; _n=$((_n + 1))
  done
  if ! grep -q '^ready ' "$W/$_name.out"; then
    echo "    holdpage $*: $(cat "$W/$_name.out")"
    return 1
  fi
  read -r _ h_pid h_vaddr h_child <"$W/$_name.out"
}

holder_ask() { # holder_ask NAME PID SIGNAL WORD: signal, wait for a new "WORD PID V" line, print V
  _before="$(grep -c "^$4 $2 " "$W/$1.out")"
  kill "-$3" "$2"
  _n=0
  while [ "$(grep -c "^$4 $2 " "$W/$1.out")" -le "$_before" ] && [ "$_n" -lt 50 ]; do
    sleep 0.1; _n=$((_n + 1))
  done
  grep "^$4 $2 " "$W/$1.out" | tail -n 1 | cut -d' ' -f3
}
holder_value() { holder_ask "$1" "$2" USR1 value; }
holder_write() { holder_ask "$1" "$2" USR2 wrote; }

holder_changes() { grep "^change $2 " "$W/$1.out"; }

stop_holder() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; return 0; }

pagemap_raw() { # pagemap_raw PID VADDR
  dd if="/proc/$1/pagemap" bs=8 skip=$(($2 / 4096)) count=1 2>/dev/null | od -An -tx8 | tr -d ' \n'
}
pm_present() { [ $(((0x$1 >> 63) & 1)) -eq 1 ]; }
pm_swapped() { [ $(((0x$1 >> 62) & 1)) -eq 1 ]; }
pm_exclusive() { [ $(((0x$1 >> 56) & 1)) -eq 1 ]; }
pm_pfn() { printf '0x%x' $((0x$1 & ((1 << 55) - 1))); }
pm_swap_type() { echo $((0x$1 & 0x1f)); }
pm_swap_offset() { printf '0x%x' $(((0x$1 & ((1 << 55) - 1)) >> 5)); }
smaps_kb_at() {
  _in=0
  while read -r _a _b _; do
    case "$_a" in
      *-*) _s=${_a%-*} _e=${_a#*-}
           if [ $((0x$_s)) -le $(($2)) ] && [ $(($2)) -lt $((0x$_e)) ]; then _in=1; else _in=0; fi ;;
      "$3:") [ $_in = 1 ] && echo "$_b" ;;
    esac
  done <"/proc/$1/smaps"
}
kpagecount() { dd if=/proc/kpagecount bs=8 skip=$(($1)) count=1 2>/dev/null | od -An -tu8 | tr -d ' \n'; }

move_counts() { # move_counts FILE
  _mc="$(sed -n 's/^movepage: \([0-9]*\) requested, \([0-9]*\) observed, \([0-9]*\) refused by the kernel$/\1 \2 \3/p' "$1" | tail -n 1)"
  echo "${_mc:-x x x}"
}

held_reason() { # held_reason FILE: the kernel's reason on movepage's first "not moved" line
  sed -n 's/.*: not moved (\(the kernel .*\))$/\1/p' "$1" | head -n 1
}

mem_word() { # mem_word PID VADDR
  _mw="$(dd if="/proc/$1/mem" bs=8 skip=$(($2 / 8)) count=1 2>/dev/null | od -An -tx8 | tr -d ' \n')"
  [ -n "$_mw" ] && echo "0x$_mw"
}

phys_word() { # phys_word PADDR
  busybox devmem "$1" 64
}

poke_outcome() { # poke_outcome RC ERRFILE
  _err="$(grep -v '^physdemo: test hook' "$2")"
  _lines="$(printf '%s\n' "$_err" | grep -c .)"
  if [ "$1" -eq 0 ]; then
    echo landed
  elif printf '%s' "$_err" | grep -qi 'stale\|the store went to frame'; then
    echo stale
  elif [ "$_lines" -eq 1 ] && printf '%s' "$_err" | grep -q '^physdemo: error: ' &&
       ! printf '%s' "$_err" | grep -q 'after the write\|during the write'; then
    echo refused
  else
    echo unclear
  fi
}
