#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/sharing.sh: one frame of RAM, two processes, narrated. The kernel
# shares a physical frame between processes when their pages hold the same
# bytes: KSM merges identical pages of unrelated processes, and fork() leaves
# parent and child on the same frames until one of them writes. A write to
# that frame through /dev/mem is seen by every process that maps it:
#
#   1. two unrelated processes fill a page each with the same bytes; two
#      frames, one per process (physdemo inspect);
#   2. KSM is switched on and merges them: one frame, map count 2, and
#      physdemo owner finds both processes in it;
#   3. physdemo poke refuses to write there (it would change both);
#   4. poke --force writes once, and BOTH processes report the new value;
#   5. one process writes its own word: copy-on-write gives it a frame of its
#      own again, and a poke of the other's frame reaches only the other;
#   6. the same with fork(): parent and child share the frame until one writes.
#
# Usage: demos/sharing.sh   (as root in the VM, with /files/holdpage from
#   demos/stress/build; `demos/sharing` on the host does all of that)
# Exit status 0 only when both processes saw exactly the one write each time.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/stress/holders.sh"
need_helpers holdpage
frame() { pm_pfn "$(pagemap_raw "$1" "$2")"; }
# brief PID VADDR: the lines of `physdemo inspect` that matter here
brief() { physdemo inspect "$1" "$2" | grep -E '^(process|pagemap|flags|map count|physical) ' | sed 's/^/    /'; }
# seen NAME PID: what the process printed about its word
seen() { grep "^change $2 " "$W/$1.out" | sed "s/^change $2 /    pid $2 saw its word change: /"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
KSM=/sys/kernel/mm/ksm
echo 0 >$KSM/run

value=0x6b736d0000000001
say "Step 1: two unrelated processes each fill a page with the same bytes
    (every word $value) and tell KSM they may be merged (MADV_MERGEABLE).
    KSM is off: each page has a frame of its own."
start_holder a ksm "$value" || fail "holdpage did not start"
ja=$h_job pa=$h_pid aa=$h_vaddr
start_holder b ksm "$value" || fail "holdpage did not start"
jb=$h_job pb=$h_pid ab=$h_vaddr
trap 'kill $ja $jb 2>/dev/null' EXIT
echo "    process A: pid $pa, word at $aa -> frame $(frame "$pa" "$aa")"
echo "    process B: pid $pb, word at $ab -> frame $(frame "$pb" "$ab")"

say "Step 2: switch KSM on. It scans the mergeable pages, finds the two equal,
    keeps one frame, maps it read-only into both processes and frees the other."
echo 100 >$KSM/pages_to_scan; echo 20 >$KSM/sleep_millisecs; echo 1 >$KSM/run
n=0
until [ "$(frame "$pa" "$aa")" = "$(frame "$pb" "$ab")" ] || [ $n -ge 200 ]; do sleep 0.1; n=$((n + 1)); done
[ "$(frame "$pa" "$aa")" = "$(frame "$pb" "$ab")" ] || fail "KSM did not merge the pages within 20 s"
shared="$(frame "$pa" "$aa")"
echo "    merged after $((n / 10)).$((n % 10)) s: both words are now in frame $shared"
echo "\$ physdemo inspect $pa $aa"
brief "$pa" "$aa"
echo "\$ physdemo owner --pfn $shared"
physdemo owner --pfn "$shared" | sed 's/^/    /'

new=0x6b736d00000000ff
say "Step 3: write $new into A's word. physdemo sees the frame is
    mapped more than once and refuses: the write would change B too."
echo "\$ physdemo poke $pa $aa $new"
physdemo poke "$pa" "$aa" "$new" && fail "poke wrote to a shared frame without --force"

say "Step 4: with --force it writes, once, to frame $shared. Neither process
    wrote anything, and both see the new value:"
echo "\$ physdemo poke $pa $aa $new --force"
physdemo poke "$pa" "$aa" "$new" --force | sed 's/^/    /'
sleep 0.3
seen a "$pa"; seen b "$pb"
[ "$(holder_value a "$pa")" = "$new" ] && [ "$(holder_value b "$pb")" = "$new" ] ||
  fail "A reads $(holder_value a "$pa"), B reads $(holder_value b "$pb"), want $new in both"

say "Step 5: now B writes its own word (adds 1). The frame is read-only to
    both, so the write faults and the kernel gives B a copy of its own
    (copy-on-write). A keeps frame $shared, alone: a poke needs no --force."
wrote="$(holder_write b "$pb")"
echo "    B wrote $wrote; A's word: frame $(frame "$pa" "$aa"), B's word: frame $(frame "$pb" "$ab")"
echo "\$ physdemo poke $pa $aa 0xa0"
physdemo poke "$pa" "$aa" 0xa0 >/dev/null || fail "poke of A's private frame failed"
echo "    A reads $(holder_value a "$pa"), B reads $(holder_value b "$pb")"
[ "$(holder_value a "$pa")" = 0xa0 ] && [ "$(holder_value b "$pb")" = "$wrote" ] || fail "the private poke reached the wrong process"
kill "$ja" "$jb"; wait "$ja" "$jb" 2>/dev/null
echo 0 >$KSM/run

value=0xf0f0000000000001 new=0xf0f00000000000ff
say "Step 6: fork() shares every page the same way. A process writes $value,
    forks, and neither parent nor child writes again: one frame, two processes."
start_holder fork fork "$value" || fail "holdpage fork did not start"
jf=$h_job parent=$h_pid child=$h_child addr=$h_vaddr
trap 'kill $jf 2>/dev/null' EXIT
echo "    parent pid $parent and child pid $child: $addr -> frame $(frame "$parent" "$addr") and $(frame "$child" "$addr")"
echo "\$ physdemo poke $parent $addr $new --force"
physdemo poke "$parent" "$addr" "$new" --force >/dev/null || fail "poke --force failed"
sleep 0.3
seen fork "$parent"; seen fork "$child"
[ "$(holder_value fork "$parent")" = "$new" ] && [ "$(holder_value fork "$child")" = "$new" ] ||
  fail "the parent reads $(holder_value fork "$parent"), the child $(holder_value fork "$child"), want $new in both"
wrote="$(holder_write fork "$child")"
echo "    the child writes ($wrote): its word moves to frame $(frame "$child" "$addr"); the parent keeps $(frame "$parent" "$addr")"

say "Done: one write to one frame changed two processes, every time they shared it."
