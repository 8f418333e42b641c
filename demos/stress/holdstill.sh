#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/stress/holdstill.sh: inside a VM with two NUMA nodes, which ways for
# a process to keep its own page from moving really work, measured with
# forced migrations (move_pages(2), /files/movepage): PHYSDEMO_HOLD_MOVES
# (default 8) moves requested of each page, and the moves observed (the frame
# number in pagemap changed).
#
#   mmap   a plain private page: every move happens (the baseline)
#   mlock  an mlock()ed page: every move happens too: mlock keeps a page in
#          RAM, not in place (and vm.compact_unevictable_allowed lets
#          compaction move it as well)
#   uring  a page registered as an io_uring fixed buffer
#          (IORING_REGISTER_BUFFERS pins it long-term): no move happens
# Each held page is then poked, and the process sees exactly the value.
# Then physdemo target itself, which holds its page that way by default: in
# every --where placement, the 2 MiB transparent huge page of --where thp
# too, it reports whether it is held (the ready event's "held" and "hold"),
# and the forced moves agree with what it reports; with --movable every move
# happens (the THP's as well: move_pages moves it, so a held one staying put
# is the hold's doing). The counts are movepage's own ("movepage: R
# requested, O observed, K refused by the kernel"), and a page counted as
# held needs the kernel's refusal of every move (K = R: move_pages said it
# could not migrate the page), not merely a frame that stayed. Not --where hugetlb: move_pages refuses to move that
# page even unheld (status EACCES on Linux 6.1), so nothing would be measured.
#
# Usage (host): PHYSDEMO_VM_NUMA=2 PHYSDEMO_VM_FILES="$(demos/stress/build)" \
#                 demos/vm/run demos/stress/holdstill.sh
# Prints "holdstill KIND: Q forced moves requested, O observed" per kind and
# ends with "holdstill: N passed, N failed" (summary, minimum 11 checks).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/holders.sh"
need_helpers holdpage movepage
[ -d /sys/devices/system/node/node1 ] || die "one NUMA node only: run with PHYSDEMO_VM_NUMA=2"
MOVES="${PHYSDEMO_HOLD_MOVES:-8}"
echo "    vm.compact_unevictable_allowed = $(cat /proc/sys/vm/compact_unevictable_allowed)"

for kind in mmap mlock uring; do
  start_holder "$kind" "$kind" 0x1100000000000011 || { bad "holdpage $kind did not start"; continue; }
  job=$h_job hp=$h_pid ha=$h_vaddr
  "$MOVEPAGE" "$hp" "$ha" "$MOVES" 20 >"$W/$kind.moves"
  read -r requested observed refused <<EOF
$(move_counts "$W/$kind.moves")
EOF
  echo "holdstill $kind: $requested forced moves requested, $observed observed, $refused refused by the kernel"
  grep -m 1 'not moved' "$W/$kind.moves" | sed 's/^/    e.g. /'
  case $kind in
    mmap|mlock)
      [ "$requested" = "$MOVES" ] && [ "$observed" = "$MOVES" ] && ok "$kind: all $MOVES forced moves happened (it does not hold the page still)" ||
        bad "$kind: $observed of $requested forced moves happened (want $MOVES of $MOVES)" ;;
    uring)
      [ "$requested" = "$MOVES" ] && [ "$observed" = 0 ] && [ "$refused" = "$MOVES" ] &&
        ok "uring: none of $MOVES forced moves happened, each refused by the kernel ($(held_reason "$W/$kind.moves")): the io_uring fixed buffer holds the page still" ||
        bad "uring: $observed of $requested forced moves happened, $refused refused by the kernel, despite the io_uring registration"
      value=0x00c0ffee0000beef
      physdemo poke "$hp" "$ha" "$value" >/dev/null 2>"$W/poke.err"; rc=$?
      n=0
      until holder_changes uring "$hp" | grep -q . || [ $n -ge 30 ]; do sleep 0.1; n=$((n + 1)); done
      [ "$rc" = 0 ] && [ "$(holder_changes uring "$hp")" = "change $hp 0x1100000000000011 -> 0xc0ffee0000beef" ] &&
        ok "uring: poke $value landed in the held page, the process saw it" ||
        bad "uring: poke exit $rc $(cat "$W/poke.err"); saw '$(holder_changes uring "$hp")'" ;;
  esac
  stop_holder "$job"
done

# physdemo target: held by default (where the kernel lets it), movable on request.
for args in "--where mmap" "--where heap" "--where stack" "--where static" "--movable" \
  "--where thp" "--where thp --movable"; do
  # shellcheck disable=SC2086  # args are words
  start_target $args || { bad "target $args did not start"; continue; }
  held="$(json_field held <"$tout")" hold="$(sed -n 's/.*"hold":"\([^"]*\)".*/\1/p' "$tout")"
  "$MOVEPAGE" "$pid" "$vaddr" "$MOVES" 20 >"$W/target.moves"
  read -r requested observed refused <<EOF
$(move_counts "$W/target.moves")
EOF
  echo "holdstill target $args: held=$held; $requested forced moves requested, $observed observed, $refused refused by the kernel ($hold)"
  case "$args:$held" in
    *--movable:false) want="$MOVES $MOVES 0" ;;
    *--movable:*) want=bad ;;
    *:true) want="$MOVES 0 $MOVES" ;;   # held: the kernel refused every move
    *) want="$MOVES $MOVES 0" ;;   # the kernel refused the hold: it says so, and the page moves
  esac
  if [ "$requested $observed $refused" = "$want" ]; then
    ok "target $args: it says held=$held, and $observed of $requested forced moves happened$([ "$refused" = 0 ] || echo ", $refused refused by the kernel ($(held_reason "$W/target.moves"))")"
  else bad "target $args: held=$held ($hold), yet $observed of $requested forced moves happened, $refused refused by the kernel (want requested, observed, refused = $want): $(grep -m 1 'not moved\|error' "$W/target.moves")"; fi
  stop_target
done
summary holdstill 11
