#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/stress/huge.sh: inside the VM, `physdemo maps` counts transparent huge pages
# exactly as the kernel does. A helper (/files/memhog thp) maps 16 MiB with
# MADV_HUGEPAGE; the summary's huge count (told from PMD-aligned runs, confirmed by
# kpageflags) must equal the kernel's AnonHugePages for that mapping in smaps, and the
# per-page listing filtered on the `thp` flag must list the same pages.
# And the PAGEMAP_SCAN detection: the kernel is asked directly (memhog scan,
# no physdemo) whether it answers the ioctl; the 6.1 guest refuses it, so
# `maps --json` must say "pagemap_scan":false and count by plain reads (the
# counts above); where the kernel answers, it must say true. (On the host,
# tests/it/maps_and_owner.rs checks the other side with strace.)
#
# Usage (on the host): PHYSDEMO_VM_FILES="$(demos/stress/build)" demos/vm/run demos/stress/huge.sh
# Prints "ok"/"FAIL" lines and "huge: N passed, N failed"; exit 0 only when
# all 5 passed.
set -eu
. "$(dirname "$0")/../lib.sh"

out="$(mktemp)"
/files/memhog thp 16 >"$out" &
hog=$!
n=0
until [ -s "$out" ] || [ "$n" -gt 100 ]; do sleep 0.1; n=$((n + 1)); done
addr="$(cut -d' ' -f3 "$out")"
start="${addr#0x}"

# The kernel's own count: AnonHugePages (kB) of the mapping that starts at addr.
smaps_kb="$(awk -v s="$start" '
  /^[0-9a-f]+-[0-9a-f]+ / { split($1, r, "-"); inside = (r[1] == s) }
  inside && /^AnonHugePages:/ { print $2 }' "/proc/$hog/smaps")"
kernel_pages=$(( ${smaps_kb:-0} / 4 ))

summary_pages="$(physdemo maps "$hog" --mapping "$addr" --json | grep -o '"huge":[0-9]*' | tail -n 1 | cut -d: -f2)"
listed_pages="$(physdemo maps "$hog" --mapping "$addr" --pages --flag thp | grep -vc '^#' || true)"

if [ "$kernel_pages" -gt 0 ]; then
  ok "the kernel backs the mapping with THP: AnonHugePages ${smaps_kb} kB = $kernel_pages pages"
else
  bad "no THP in the helper's mapping (AnonHugePages '${smaps_kb}'); THP enabled: $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
fi
if [ "${summary_pages:-x}" = "$kernel_pages" ]; then
  ok "maps summary: huge $summary_pages pages = AnonHugePages"
else
  bad "maps summary says huge '${summary_pages}', smaps says $kernel_pages"
fi
if [ "$listed_pages" = "$kernel_pages" ]; then
  ok "maps --pages --flag thp lists $listed_pages pages = AnonHugePages"
else
  bad "maps --pages --flag thp lists $listed_pages pages, smaps says $kernel_pages"
fi
kernel_says="$(/files/memhog scan "$hog")"
used="$(physdemo maps "$hog" --json | grep -o '"pagemap_scan":[a-z]*' | head -n 1 | cut -d: -f2)"
case "$kernel_says" in
  "PAGEMAP_SCAN: refused ("*) want=false ;;
  "PAGEMAP_SCAN: answered"*) want=true ;;
  *) want=unknown ;;
esac
if [ "$want" != unknown ]; then
  ok "Linux $(uname -r), asked directly: $kernel_says"
else
  bad "memhog scan: '$kernel_says'"
fi
if [ "$used" = "$want" ]; then
  ok "maps --json: \"pagemap_scan\":$used, as the kernel answered ($([ "$used" = false ] && echo "the fallback: plain pagemap reads" || echo "PAGEMAP_SCAN"))"
else
  bad "maps --json: \"pagemap_scan\":'$used', but the kernel says: $kernel_says"
fi
kill "$hog" 2>/dev/null || true
rm -f "$out"
summary huge 5
