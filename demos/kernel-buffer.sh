#!/bin/sh
# SPDX-License-Identifier: MIT OR Apache-2.0
# demos/kernel-buffer.sh: kernel memory, narrated. A kernel module kmallocs a
# buffer and tells us where it is; physdemo reads and rewrites it by physical
# address through /dev/mem, and the kernel sees the new value.
#
#   1. load physdemo_buf.ko (demos/kmod): it kmallocs 64 bytes, stores a known
#      64-bit value and reports vaddr/paddr/value and the direct-map base
#      (PAGE_OFFSET, randomized under KASLR) in debugfs;
#   2. `physdemo peek` reads the same value at the physical address;
#   3. `physdemo poke` writes a new value there;
#   4. the module, reading its own buffer with READ_ONCE, reports the new value;
#   5. unload: the module kfree()s the buffer.
#
# Usage: demos/kernel-buffer.sh [VALUE [MODULE]]   (as root, physdemo on PATH)
#   VALUE   what to poke (default 0x0123456789abcdef)
#   MODULE  physdemo_buf.ko (default /lib/modules/$(uname -r)/extra/physdemo_buf.ko,
#           where demos/vm/run puts the project's modules in every VM run)
# Exit status 0 only when the module saw exactly VALUE.
set -eu

value="${1:-0x0123456789abcdef}"
ko="${2:-/lib/modules/$(uname -r)/extra/physdemo_buf.ko}"
file=/sys/kernel/debug/physdemo_buf
. "$(dirname "$0")/lib.sh"

[ -f "$ko" ] || { echo "FAIL: no module at $ko (build it with demos/kmod/build)" >&2; exit 1; }
grep -q ' /sys/kernel/debug ' /proc/mounts || mount -t debugfs none /sys/kernel/debug
grep -q '^physdemo_buf ' /proc/modules && rmmod physdemo_buf

say "Step 1: load the module. Its init function kmallocs a 64-byte buffer, stores
    0xfeedfacecafebeef in its first 8 bytes and creates $file,
    which reports the buffer's kernel virtual address, virt_to_phys() of it,
    and the value it holds right now (read with READ_ONCE)."
insmod "$ko"
cat "$file"
vaddr="$(key_value vaddr "$file")"
paddr="$(key_value paddr "$file")"
before="$(key_value value "$file")"

base="$(key_value page_offset "$file")"
kaslr="$(grep -qw nokaslr /proc/cmdline && echo "off (nokaslr)" || echo on)"
say "Step 2: where is that? The kernel maps all of RAM at one offset, the \"direct
    map\". It starts at PAGE_OFFSET, which the module reports: $base
    (0xffff888000000000 unless KASLR randomizes it at boot; KASLR is $kaslr).
    $vaddr - $base = $(printf '%#x' $((vaddr - base))), the physical address.
    /proc/iomem places it in System RAM, outside the kernel's own image:"
grep -E 'System RAM|Kernel (code|rodata|data|bss)' /proc/iomem
echo "physdemo poke writes to System RAM without --force, and refuses the kernel image:"
kdata="$(sed -n 's/^ *\([0-9a-f]*\)-[0-9a-f]* : Kernel data$/\1/p' /proc/iomem | head -n 1)"
echo "\$ physdemo poke 0x$kdata 0 --width 64 --dry-run"
physdemo poke "0x$kdata" 0 --width 64 --dry-run || echo "(exit $?: refused, nothing written)"

say "Step 3: read the buffer by its physical address through /dev/mem. It must
    hold what the module stored."
physdemo peek "$paddr" --width 64
seen="$(physdemo peek "$paddr" --width 64 --json | json_field value)"
if [ "$(norm_hex "$seen")" = "$(norm_hex "$before")" ]; then
  echo "physdemo read $seen at $paddr; the module reports $before: the same"
else
  echo "FAIL: physdemo read $seen at $paddr but the module reports $before" >&2
  rmmod physdemo_buf; exit 1
fi

say "Step 4: write $value there. The kernel is not asked: this is a store to
    physical memory through a /dev/mem mapping of the page."
physdemo poke "$paddr" "$value" --width 64

say "Step 5: ask the module again. It reads its own buffer, and finds:"
cat "$file"
after="$(key_value value "$file")"

say "Step 6: write the value back through the module's file (the kernel stores
    it with WRITE_ONCE), read it by physical address once more, and unload:
    the module's exit function kfree()s the buffer."
echo "$before" >"$file"
physdemo peek "$paddr" --width 64 --json | json_field value
rmmod physdemo_buf
[ -e "$file" ] && { echo "FAIL: $file still exists after rmmod" >&2; exit 1; }
echo "unloaded; $file is gone"

if [ "$(norm_hex "$after")" = "$(norm_hex "$value")" ]; then
  say "Done: the kernel saw exactly $value in its kmalloc buffer, written by physical address."
else
  echo "FAIL: the module reports $after, not $value" >&2
  exit 1
fi
