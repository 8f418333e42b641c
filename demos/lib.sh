# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/lib.sh: helpers shared by every demo and test script, on the host and
# in the VM (POSIX sh: busybox ash and bash both source it).
#
#   . "$(dirname "$0")/lib.sh"          (from demos/)
#   . "$(dirname "$0")/../lib.sh"       (from demos/e2e, demos/stress, demos/vm)
#
# Checks: `ok TEXT` and `bad TEXT` print one "ok   - " / "FAIL - " line and
# count it; `summary NAME MIN` prints "NAME: P passed, F failed" and returns
# non-zero when anything failed or fewer than MIN checks passed (a suite that
# silently ran nothing must not pass). End a test script with
# `summary NAME MIN; exit $?` or `summary NAME MIN || exit 1`.
#
# Values: `json_field NAME` prints the value of "NAME" in the JSON on stdin
# (a string without its quotes, or a number/true/false/null; of a line with
# several, the last; of several lines, the first line's);
# `key_value KEY FILE` prints VALUE of the line KEY=VALUE in FILE (a kernel
# module's debugfs file);
# `lower` lower-cases hex; `norm_hex V` prints V as lower-case hex without
# 0x and leading zeros ("" for zero), for comparing numbers written
# differently.
#
# PCI: `edu_dir` prints the sysfs directory of QEMU's edu device (1234:11e8),
# nothing when there is none; `bar_start DIR [N]` prints the start address of
# BAR N (default 0) from DIR/resource.
#
# Running: `pd ARGS...` runs `physdemo ARGS` and sets out (its stdout), err
# (its stderr) and rc (its exit status).
#
# Targets: `start_target ARGS...` starts `physdemo target --json ARGS` in the
# background and waits (up to 10 s) for its ready line; it sets tpid (the
# background job), tout (its output file, a new temporary one), pid and vaddr;
# `start_target_to FILE ARGS...` does the same with its output in FILE. `stop_target` ends
# it and removes tout. `wait_for FILE PATTERN [TENTHS]` waits until FILE
# contains PATTERN (default 20 s).
#
# Trace marks (in the VM, default kernel): `trace_mark begin|end N` is one
# 32-bit busybox devmem write of 0xb0000000 + N or 0xe0000000 + N to
# 0xff00fffc, the last word of pc-testdev's scratch memory, which nothing
# else uses; in QEMU's device trace (demos/vm/run with PHYSDEMO_VM_TRACE) the
# two bracket the accesses of step N (tests/it/trace.rs, demos/device).
#
# Errors: `die TEXT` prints "SCRIPT: error: TEXT" on stderr and exits 1.
#
# Demos: `say TEXT` prints a step's heading, after a blank line, in bold
# unless NO_COLOR is set.

passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }

summary() { # summary NAME MIN
  echo "$1: $passed passed, $failed failed"
  if [ "$failed" -ne 0 ]; then return 1; fi
  if [ "$passed" -lt "${2:-1}" ]; then
    echo "FAIL - $1: only $passed checks passed, at least ${2:-1} expected (a check did not run)"
    return 1
  fi
  return 0
}

die() { echo "${0##*/}: error: $*" >&2; exit 1; }

trace_mark() { # trace_mark begin|end N
  case "$1" in begin) _m=0xb0000000 ;; *) _m=0xe0000000 ;; esac
  busybox devmem 0xff00fffc 32 "$((_m + $2))"
}

say() {
  if [ -n "${NO_COLOR:-}" ]; then
    printf '\n==> %s\n' "$*"
  else
    printf '\n\033[1m==> %s\033[0m\n' "$*"
  fi
}

json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1; }

# obj_field OBJECT NAME: NAME's value in the first flat object "OBJECT":{...} of the JSON on stdin
obj_field() { sed -n "s/.*\"$1\":{[^}]*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1; }

key_value() { sed -n "s/^$1=//p" "$2"; }

lower() { tr 'A-F' 'a-f'; }

norm_hex() { printf '%s' "$1" | sed 's/^0[xX]//' | tr 'A-F' 'a-f' | sed 's/^0*//'; }

edu_dir() {
  for _d in /sys/bus/pci/devices/*; do
    if [ "$(cat "$_d/vendor")" = 0x1234 ] && [ "$(cat "$_d/device")" = 0x11e8 ]; then
      echo "$_d"
      return 0
    fi
  done
}

bar_start() { sed -n "$((${2:-0} + 1))p" "$1/resource" | cut -d' ' -f1; }

out="" err="" rc=0
pd() { # pd ARGS...: sets out, err, rc
  _pd_err="$(mktemp)"
  out="$(physdemo "$@" 2>"$_pd_err")" && rc=0 || rc=$?
  err="$(cat "$_pd_err")"
  rm -f "$_pd_err"
}

wait_for() { # wait_for FILE PATTERN [TENTHS]
  _n=0
  while [ "$_n" -lt "${3:-200}" ]; do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
    _n=$((_n + 1))
  done
  echo "    (timed out waiting for '$2' in $1)"
  return 1
}

tpid="" tout="" pid="" vaddr=""
start_target() { # start_target ARGS...: sets tpid, tout, pid, vaddr
  start_target_to "$(mktemp)" "$@"
}

start_target_to() { # start_target_to FILE ARGS...: the same, its output in FILE
  tout="$1"
  shift
  physdemo target --json "$@" >"$tout" &
  tpid=$!
  wait_for "$tout" '"event":"ready"' 100 || return 1
  pid="$(json_field pid <"$tout")"
  vaddr="$(json_field vaddr <"$tout")"
}

stop_target() {
  if [ -n "$tpid" ]; then
    kill "$tpid" 2>/dev/null || true
    wait "$tpid" 2>/dev/null || true
  fi
  [ -n "$tout" ] && rm -f "$tout"
  tpid="" tout=""
}
