#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/stress/privilege.sh: inside the VM, physdemo without the privileges it
# needs, and across the walls that hide processes: every refusal is one
# "physdemo: error:" line with the right exit code and a hint that names the
# actual cause, and nothing is written.
#
#   - a non-root user (`su user`): poke, inspect and maps of root's target,
#     peek, owner: exit 4, one line; the user's own target: its frame is
#     hidden (exit 4, CAP_SYS_ADMIN);
#   - root without CAP_SYS_RAWIO (/files/nocap drops it from the bounding,
#     effective and permitted sets; /proc/self/status shows it): inspect works
#     (pagemap needs CAP_SYS_ADMIN only), poke and peek fail with exit 4 naming
#     CAP_SYS_RAWIO; root without CAP_SYS_ADMIN: the frame is hidden, exit 4;
#   - a PID namespace (unshare -p -f --mount-proc): physdemo inside it given a
#     pid from outside: exit 3, one line naming the PID namespace (its
#     pid:[inode]); a target inside it, poked from outside by its outer pid,
#     and from inside by its inner pid: both land, the target sees each value;
#   - /proc mounted with hidepid=2: the user poking root's target gets exit 3
#     and a hint naming hidepid; root still pokes it.
# Root's target must see no write from any refused attempt.
#
# Usage (host): PHYSDEMO_VM_FILES="$(demos/stress/build)" demos/vm/run demos/stress/privilege.sh
# Ends with "privilege: N passed, N failed" (summary, minimum 20 checks).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/holders.sh"
need_helpers nocap

# refused LABEL RC PATTERN CMD...: CMD exits RC with exactly one error line matching PATTERN
refused() {
  _label=$1 _rc=$2 _pattern=$3; shift 3
  "$@" >"$W/out" 2>"$W/err"; _got=$?
  _err="$(cat "$W/err")"
  if [ "$_got" = "$_rc" ] && [ "$(wc -l <"$W/err")" = 1 ] && printf '%s' "$_err" | grep -q "^physdemo: error: .*$_pattern"; then
    ok "$_label: exit $_rc: ${_err#physdemo: error: }"
  else
    bad "$_label: exit $_got (want $_rc), stderr '$_err' (want one line matching '$_pattern')"
  fi
}
as_user() { su user -c "$*"; }

start_target --timeout 200 || die "physdemo target did not start"
rpid=$pid raddr=$vaddr rout=$tout rjob=$tpid
tpid="" tout=""   # keep root's target running across start_target calls

# --- a non-root user -------------------------------------------------------------
refused "user: poke root's target" 4 "permission denied" as_user physdemo poke "$rpid" "$raddr" 0x55
refused "user: inspect root's target" 4 "permission denied" as_user physdemo inspect "$rpid" "$raddr"
refused "user: maps of root's target" 4 "permission denied" as_user physdemo maps "$rpid"
refused "user: peek 0x1000" 4 "/dev/mem.*permission denied" as_user physdemo peek 0x1000
refused "user: owner 0x1000" 4 "permission denied" as_user physdemo owner 0x1000
refused "user: poke (the target form)" 4 "runs as another user" as_user physdemo poke
as_user "physdemo target --json --timeout 60" >"$W/user-target.out" &
ujob=$!
wait_for "$W/user-target.out" '"event":"ready"' 100
upid="$(json_field pid <"$W/user-target.out")" uaddr="$(json_field vaddr <"$W/user-target.out")"
refused "user: poke of the user's own target" 4 "hid the frame number.*CAP_SYS_ADMIN" as_user physdemo poke "$upid" "$uaddr" 0x55
kill "$ujob" 2>/dev/null; pkill -u user physdemo 2>/dev/null; wait "$ujob" 2>/dev/null

# --- root without a capability ------------------------------------------------------
caps="$("$NOCAP" sys_rawio grep -E '^Cap(Eff|Prm|Bnd):' /proc/self/status | tr -s '\t ' ' ' | tr '\n' ' ')"
rawio_gone=yes
for set in $(echo "$caps" | grep -o '[0-9a-f]\{16\}'); do
  [ $(((0x$set >> 17) & 1)) = 0 ] || rawio_gone=no
done
[ "$rawio_gone" = yes ] && ok "nocap sys_rawio: bit 17 clear in $caps" || bad "nocap left CAP_SYS_RAWIO: $caps"
if out="$("$NOCAP" sys_rawio physdemo inspect "$rpid" "$raddr" --json)" &&
   [ "$(echo "$out" | json_field pfn)" = "$(pm_pfn "$(pagemap_raw "$rpid" "$raddr")")" ]; then
  ok "root without CAP_SYS_RAWIO: inspect still works (frame $(echo "$out" | json_field pfn), as dd reads it)"
else
  bad "root without CAP_SYS_RAWIO: inspect: $out"
fi
refused "root without CAP_SYS_RAWIO: poke" 4 "CAP_SYS_RAWIO" "$NOCAP" sys_rawio physdemo poke "$rpid" "$raddr" 0x55
refused "root without CAP_SYS_RAWIO: peek" 4 "CAP_SYS_RAWIO" "$NOCAP" sys_rawio physdemo peek 0x1000
refused "root without CAP_SYS_ADMIN: poke" 4 "hid the frame number.*CAP_SYS_ADMIN" "$NOCAP" sys_admin physdemo poke "$rpid" "$raddr" 0x55
refused "root without CAP_SYS_ADMIN: inspect" 4 "hid the frame number.*CAP_SYS_ADMIN" "$NOCAP" sys_admin physdemo inspect "$rpid" "$raddr"

# --- PID namespaces --------------------------------------------------------------
# physdemo inside a new PID namespace, given root's target's pid from outside.
unshare -p -f --mount-proc sh -c "readlink /proc/self/ns/pid; physdemo poke $rpid $raddr 0x55; echo rc=\$?" \
  >"$W/ns.out" 2>"$W/ns.err"
ns="$(head -n 1 "$W/ns.out")" rc="$(sed -n 's/^rc=//p' "$W/ns.out")" err="$(cat "$W/ns.err")"
if [ "$rc" = 3 ] && [ "$(wc -l <"$W/ns.err")" = 1 ] && echo "$err" | grep -q "PID namespace" &&
   echo "$err" | grep -qF "$ns"; then
  ok "in PID namespace $ns, a pid from outside: exit 3: ${err#physdemo: error: }"
else
  bad "in PID namespace $ns, pid $rpid from outside: exit $rc, '$err' (want one line naming the PID namespace $ns)"
fi
# A target inside a namespace: poked from outside by its outer pid, from inside by its own.
unshare -p -f --mount-proc sh -c 'physdemo target --json --timeout 60 & echo "inner $!"; sleep 1; cat /proc/$!/status | grep NSpid; wait' \
  >"$W/ns-target.out" 2>&1 &
njob=$!
wait_for "$W/ns-target.out" '"event":"ready"' 100
inner="$(json_field pid <"$W/ns-target.out")" naddr="$(json_field vaddr <"$W/ns-target.out")"
outer=""
for p in /proc/[0-9]*; do
  if grep -Eq "^NSpid:[[:space:]]+[0-9]+[[:space:]]+$inner\$" "$p/status" 2>/dev/null && grep -qx physdemo "$p/comm"; then
    outer="${p#/proc/}"
  fi
done
echo "    target in a PID namespace: pid $inner there, $outer outside; variable $naddr"
if [ -n "$outer" ] && physdemo poke "$outer" "$naddr" 0x0000000000000a11 >/dev/null 2>"$W/err" &&
   wait_for "$W/ns-target.out" '"new":"0xa11"' 30; then
  ok "from outside, poke $outer (its outer pid) $naddr: the namespaced target saw 0xa11"
else
  bad "from outside, poke '$outer' $naddr: $(cat "$W/err"); target: $(grep change "$W/ns-target.out")"
fi
nsenter -t "$outer" -p -m physdemo poke "$inner" "$naddr" 0x0000000000000b22 >/dev/null 2>"$W/err"; rc=$?
if [ "$rc" = 0 ] && wait_for "$W/ns-target.out" '"new":"0xb22"' 30; then
  ok "inside its namespace (nsenter), poke $inner (its inner pid) $naddr: the target saw 0xb22"
else
  bad "inside the namespace, poke $inner $naddr: exit $rc $(cat "$W/err"); target: $(grep change "$W/ns-target.out")"
fi
kill "$njob" 2>/dev/null; [ -n "$outer" ] && kill "$outer" 2>/dev/null; wait "$njob" 2>/dev/null

# --- /proc with hidepid=2 -----------------------------------------------------------
mount -o remount,hidepid=2 /proc
echo "    $(grep ' /proc proc ' /proc/mounts)"
refused "hidepid=2: user pokes root's target" 3 "hidepid" as_user physdemo poke "$rpid" "$raddr" 0x55
refused "hidepid=2: user inspects root's target" 3 "hidepid" as_user physdemo inspect "$rpid" "$raddr"
if physdemo poke "$rpid" "$raddr" 0x0000000000000c33 >/dev/null 2>"$W/err" && wait_for "$rout" '"new":"0xc33"' 30; then
  ok "hidepid=2: root pokes its target all the same, which sees 0xc33"
else
  bad "hidepid=2: root's poke: $(cat "$W/err")"
fi
mount -o remount,hidepid=0 /proc

changes="$(grep '"event":"change"' "$rout" | sed -n 's/.*"new":"\([^"]*\)".*/\1/p' | tr '\n' ' ')"
[ "$changes" = "0xc33 " ] && ok "root's target saw exactly one change, root's own 0xc33: no refused attempt wrote" ||
  bad "root's target saw: $changes"
kill "$rjob" 2>/dev/null; wait "$rjob" 2>/dev/null
summary privilege 20
