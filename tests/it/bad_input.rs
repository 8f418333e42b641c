// SPDX-License-Identifier: MIT OR Apache-2.0
//! Hostile command lines: every subcommand fed garbage, overflow, negative numbers, huge
//! lengths, missing and extra arguments, bad widths, misaligned addresses, pid 0, a kernel
//! thread's pid, and writes the region policy refuses; bad ports and port writes the port
//! policy refuses.
//!
//! Each row runs the real binary and asserts the contract of docs/physical-memory.md, "Exit
//! codes": the exact exit code, nothing on stdout, exactly one line on stderr that starts with
//! `physdemo: error: `, contains the row's words and ends with a hint in parentheses, and
//! never a panic. /dev/mem, /dev/port, /proc/iomem, /proc/ioports and the ACPI MCFG table
//! are scratch files and crafted copies (`PHYSDEMO_DEVICE`, `PHYSDEMO_PORT_DEVICE`,
//! `PHYSDEMO_IOMEM`, `PHYSDEMO_IOPORTS`, `PHYSDEMO_MCFG`), so nothing real is ever touched.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::common::{physdemo, VM_IOPORTS, VM_MCFG};

const IOMEM: &str = "\
00000000-00000fff : Reserved
00001000-0000ffff : System RAM
  00004000-00004fff : Kernel code
00010000-00010fff : edu-mmio
";

/// A kernel image for `--symbol`, whose `_text` lies at IOMEM's "Kernel code" (0x4000):
/// jiffies at 0x4200, a one-byte variable, a name two symbols share, init code, a per-CPU
/// offset and a module's symbol.
const KALLSYMS: &str = "\
0000000000000000 A fixed_percpu_data
ffffffff81000000 T _text
ffffffff81000000 T _stext
ffffffff81000010 T do_one_initcall
ffffffff81000100 T _etext
ffffffff81000200 D _sdata
ffffffff81000200 D jiffies
ffffffff81000208 d event_exit
ffffffff81000210 d event_exit
ffffffff81000218 b one_byte
ffffffff81000219 b next_var
ffffffff81000300 D _edata
ffffffff81000400 T _sinittext
ffffffff81000400 T start_kernel
ffffffff81000500 T _einittext
ffffffffc0000000 d edu_driver\t[edu]
";

/// (arguments, exit code, words the error line must contain). `{kthread}` is a kernel
/// thread's pid, `{sleeper}` a live user process's, `{dir}` the scratch directory (holding
/// `mem`, `iomem`, `ioports`, `port` (standing in for /dev/port: it must stay all zeros) and
/// `garbage`, an iomem that is not one; `kcore` and `shortcore`, ELF core files; `kallsyms`
/// (the default /proc/kallsyms), `kallsyms-hidden` (every address 0) and `kallsyms-text` (no
/// data symbols)). Leading `NAME=VALUE` words set
/// the environment; a last word `>/dev/full` sends stdout there; `\s` and `\n` in a word
/// are a blank and a newline.
const CASES: &[(&str, i32, &str)] = &[
    ("frobnicate", 2, "unrecognized subcommand"),
    ("inspect", 2, "<PID>"),
    ("inspect abc", 2, "invalid value 'abc'"),
    ("inspect -- -5", 2, "pid -5 is out of range"),
    ("inspect 0", 2, "pid 0 is not a process"),
    ("inspect 99999999999", 2, "out of range"),
    ("inspect {kthread} 0x1000", 3, "is a kernel thread"),
    ("inspect 1 0xzz", 2, "is not a hex number"),
    (
        "inspect 1 0x1ffffffffffffffff",
        2,
        "does not fit in 64 bits",
    ),
    ("inspect {sleeper} 0x10", 3, "is in no mapping"),
    ("inspect 4194304 0x1000", 3, "no process with pid 4194304"),
    ("peek 0x10g0", 2, "bad physical address"),
    ("peek 0x1001 --width 32", 2, "not aligned"),
    ("peek 0x1000 --width 12", 2, "bad width '12'"),
    ("peek 0x1000 --width q", 2, "bad width 'q'"),
    ("peek 1 2 3", 2, "unexpected value '3'"),
    ("peek -- -1", 2, "negative numbers"),
    ("peek -1", 2, "negative numbers"),
    ("dump 0x1000 -5", 2, "negative numbers"),
    ("owner -3", 2, "negative numbers"),
    ("peek 0x100000", 3, "SIGBUS"),
    ("peek 0 0x1000", 2, "pid 0 is not a process"),
    ("poke 0x1000", 2, "poke takes no arguments"),
    ("poke 0x1000 0x100 --width 8", 2, "does not fit in 8 bits"),
    ("poke 0x1000 -- -1", 2, "negative numbers"),
    (
        "poke 0x1000 0x1ffffffffffffffff",
        2,
        "does not fit in 64 bits",
    ),
    ("poke 0x1002 1 --width 32", 2, "not aligned"),
    ("poke 0x4000 1", 6, "Kernel code"),
    ("poke 0xf0000000 1", 6, "in no region"),
    ("poke 0x0 1", 6, "Reserved"),
    // PCI configuration space, found through the (crafted) ACPI MCFG table of the VM
    (
        "poke 0xb000803c 0x5a --width 8",
        6,
        "0xb000803c is PCI configuration space (ECAM) of 0000:00:01.0",
    ),
    (
        "poke 0xb000803c 0x5a --width 8 --dry-run",
        6,
        "PCI configuration space (ECAM) of 0000:00:01.0",
    ),
    (
        "devmem 0xb000803c 8 0x5a",
        6,
        "PCI configuration space (ECAM) of 0000:00:01.0",
    ),
    // a process's address is checked for alignment before it is resolved
    (
        "poke {sleeper} 0x1004 1",
        2,
        "0x1004 is not aligned for a 64-bit access",
    ),
    (
        "peek {sleeper} 0x1004",
        2,
        "0x1004 is not aligned for a 64-bit access",
    ),
    (
        "poke {sleeper} 0x1002 1 --width 32 --dry-run",
        2,
        "not aligned",
    ),
    ("poke 1 2 3 4", 2, "unexpected value '4'"),
    ("poke x 0x7f00 1", 2, "bad pid 'x'"),
    ("poke 0 0x7f00 1", 2, "pid 0 is not a process"),
    ("poke -- -3 0x7f00 1", 2, "pid -3 is out of range"),
    ("poke {kthread} 0x1000 1", 3, "is a kernel thread"),
    ("poke {sleeper} 0x10 1", 3, "is in no mapping"),
    (
        "poke 0x1000 1 --value 2",
        2,
        "--value is for the no-argument form",
    ),
    ("poke 0x1000 1 --wait abc", 2, "not a number of seconds"),
    ("poke 0x1000 1 --wait -- -1", 2, "--wait"),
    ("poke --bar 1 0x0 1", 2, "--bar 1 needs --pci"),
    ("poke --pci zz:zz.z 0x0 1", 2, "bad PCI device"),
    ("poke 0x1000 1 --method nope", 2, "invalid value 'nope'"),
    ("dump 0x1000", 2, "<LEN>"),
    ("dump 0x1000 zz", 2, "invalid value 'zz'"),
    ("dump 0x1000 0xffffffffffffffff", 2, "past the end"),
    ("dump 0xfffffffffffffff0 0x100", 2, "past the end"),
    ("dump 0x100000 16", 3, "SIGBUS"),
    ("dump 0x1001 4 --width 16", 2, "multiples of 2"),
    ("dump 0x1000 4 --width 12", 2, "bad width '12'"),
    ("devmem", 2, "<ADDRESS>"),
    ("devmem 0x1000 12", 2, "bad width '12'"),
    ("devmem 0x1000 x", 2, "bad width 'x'"),
    ("devmem -- -0x1000", 2, "invalid ADDRESS"),
    ("devmem 0x1000 32 0x1ffffffff", 2, "does not fit in 32 bits"),
    ("devmem 0x1002 32", 2, "not aligned"),
    ("devmem 0x4000 8 1", 6, "Kernel code"),
    ("devmem 0x1000 32 zz", 2, "invalid VALUE"),
    ("devmem 0x1000 32 1 2", 2, "unexpected argument '2'"),
    ("target --interval-us 0", 2, "not in 1..=1000000"),
    ("target --value -- -1", 2, "unexpected argument '-1'"),
    ("target --timeout abc", 2, "not a number of seconds"),
    ("target --where nowhere", 2, "invalid value 'nowhere'"),
    ("maps", 2, "<PID>"),
    ("maps 0", 2, "pid 0 is not a process"),
    ("maps abc", 2, "invalid value 'abc'"),
    ("maps {kthread}", 3, "is a kernel thread"),
    ("maps 1 --flag bogus", 2, "unknown flag 'bogus'"),
    ("maps 1 --mapping 0x10-0x5", 2, "is empty"),
    ("maps 1 --mapping 00401000-00400000", 2, "is empty"),
    (
        "maps 1 --mapping 0x1000-2000",
        2,
        "writes its ends differently",
    ),
    ("owner", 2, "give a physical address or --pfn"),
    ("owner zz", 2, "invalid value 'zz'"),
    ("owner 0x1000 --pfn 1", 2, "cannot be used with"),
    (
        "owner --pfn 0x1ffffffffffffffff",
        2,
        "does not fit in 64 bits",
    ),
    ("owner --pfn 1 --pid 0", 2, "pid 0 is not a process"),
    ("completions nosh", 2, "invalid value 'nosh'"),
    ("man --dir /nonexistent/man1", 3, "no such directory"),
    ("man --dir /proc/self/status", 2, "is not a directory"),
    // issue 10: broken promises
    (
        "owner --pfn 1 --pid 4194304",
        3,
        "no process with pid 4194304",
    ),
    ("owner --pfn 1 --pid {kthread}", 3, "is a kernel thread"),
    ("owner --pfn 0xfffffffffffff", 3, "is beyond the end of RAM"),
    (
        "owner --pfn 0xffffffffffffffff",
        3,
        "is beyond the end of RAM",
    ),
    (
        "maps {sleeper} --mapping 0xffffffffffffffff",
        3,
        "is in no mapping",
    ),
    (
        "inspect {sleeper} 0xffffffffffffffff",
        3,
        "is in no mapping",
    ),
    (
        "maps {sleeper} --mapping nosuchthing",
        3,
        "matches the --mapping filters",
    ),
    (
        "PHYSDEMO_IOMEM={dir}/garbage poke 0x1000 1 --dry-run",
        6,
        "line 1 is not `START-END : NAME`",
    ),
    (
        "PHYSDEMO_IOMEM={dir}/garbage devmem 0x1000 8 1",
        6,
        "(no ` : ` after the range): 'garbage'",
    ),
    (
        "peek --pci 0000:00:01.0 0x1000000000000000000",
        2,
        "does not fit in 64 bits (the offset is",
    ),
    (
        "maps {sleeper} --pages >/dev/full",
        1,
        "could not write the output",
    ),
    (
        "owner --pfn 1 --pid {sleeper} >/dev/full",
        1,
        "could not write the output: No space left on device",
    ),
    ("PHYSDEMO_DEVICE=/tmp peek 0x1000", 2, "/tmp is a directory"),
    (
        "PHYSDEMO_DEVICE=/tmp poke 0x1000 1",
        2,
        "/tmp is a directory",
    ),
    (
        "PHYSDEMO_DEVICE=/dev/null peek 0x1000",
        2,
        "is the null device",
    ),
    (
        "PHYSDEMO_DEVICE=/dev/zero dump 0x1000 16",
        2,
        "is the zero device",
    ),
    ("PHYSDEMO_DEVICE=/dev/zero devmem 0x1000", 2, "(char 1:5)"),
    (
        "peek 0x1000 --device /dev/tty",
        2,
        "is a character device, not /dev/mem: physdemo knows only /dev/mem's and /dev/physmem's layout",
    ),
    (
        "--device {dir} poke 0x1000 1",
        2,
        "is a directory, not a memory device",
    ),
    // An ELF core file laid out as /proc/kcore (`kcore`: RAM 0x1000-0x3fff only) and a
    // truncated one (`shortcore`): read-only, RAM only, never mapped.
    (
        "poke 0x2000 1 --device {dir}/kcore",
        5,
        "kcore is read-only: the kernel offers its memory there to be read (an ELF core file), never written; nothing was written",
    ),
    (
        "devmem 0x2000 32 0x5 --device {dir}/kcore",
        5,
        "kcore is read-only",
    ),
    (
        "peek 0x10000 --device {dir}/kcore",
        3,
        "kcore holds no memory at 0x10000 (edu-mmio [0x10000-0x10fff]): it maps System RAM and the kernel image only, never device memory (MMIO) or holes",
    ),
    (
        "peek 0x2000 --device {dir}/kcore --method mmap",
        2,
        "kcore cannot be mapped: physdemo reads it with pread",
    ),
    (
        "peek 0x2000 --device {dir}/shortcore",
        5,
        "shortcore is not an ELF core file physdemo can read: it ends after 100 bytes, its headers need 120",
    ),
    ("doctor now", 2, "unexpected argument 'now'"),
    ("doctor --json --pages", 2, "unexpected argument '--pages'"),
    ("peek _4096", 2, "`_` may only stand between two digits"),
    ("peek 4096_", 2, "`_` may only stand between two digits"),
    ("peek 1__0_2_4", 2, "`_` may only stand between two digits"),
    ("peek 0x_1000", 2, "`_` may only stand between two digits"),
    ("peek \\s4096", 2, "blanks or a newline"),
    ("peek 4096\\n", 2, "blanks or a newline"),
    ("peek +4096", 2, "a sign before the number"),
    ("dump 4096_ 16", 2, "`_` may only stand between two digits"),
    ("dump 0x1000 +16", 2, "a sign before the number"),
    ("dump 0x1000 16\\n", 2, "blanks or a newline"),
    ("poke 0x1000 1_", 2, "`_` may only stand between two digits"),
    ("owner --pfn \\s1", 2, "blanks or a newline"),
    (
        "maps {sleeper} --mapping 0x_10-0x20",
        2,
        "`_` may only stand",
    ),
    // issue 15: the pictures
    ("physmap --cell 0", 2, "a cell holds at least one frame"),
    (
        "physmap --cell x",
        2,
        "invalid value 'x' for '--cell <FRAMES>'",
    ),
    ("physmap --pid 4194304", 3, "no process with pid 4194304"),
    ("physmap --pid 0", 2, "pid 0 is not a process"),
    ("physmap --pid {kthread}", 3, "is a kernel thread"),
    ("physmap --json --svg {dir}/x.svg", 2, "cannot be used with"),
    (
        "physmap --svg /sys/x.svg",
        4,
        "does not let us create a file",
    ),
    (
        "physmap --svg /dev/null",
        2,
        "exists and is not a regular file",
    ),
    ("physmap --svg {dir}", 2, "is a directory"),
    (
        "PHYSDEMO_IOMEM=/proc/iomem physmap --cell 1 --svg {dir}/x.svg",
        2,
        "too many for a picture",
    ),
    // issue 18: a symbolic link is never followed nor replaced; a name ending in / is a
    // directory's, checked before the scan
    (
        "physmap --svg {dir}/stdout.svg",
        2,
        "is a symbolic link; it is not followed, and not replaced",
    ),
    ("maps {sleeper} --svg {dir}/link.svg", 2, "is a symbolic link"),
    (
        "physmap --svg {dir}/newdir/",
        3,
        "ends in / and so names a directory, and there is no directory",
    ),
    (
        "maps {sleeper} --svg {dir}/no/such/x.svg",
        3,
        "does not exist",
    ),
    (
        "maps {sleeper} --svg {dir}/x.svg --pages",
        2,
        "cannot be used with",
    ),
    (
        "maps 4194304 --svg {dir}/x.svg",
        3,
        "no process with pid 4194304",
    ),
    (
        "inspect {sleeper} 0x10 --svg {dir}/x.svg",
        3,
        "is in no mapping",
    ),
    (
        "inspect {sleeper} --svg /sys/x.svg",
        4,
        "does not let us create a file",
    ),
    // issue 20: watch (RAM is 0x1000-0xffff, a device at 0x10000, the stand-in 1 MiB long)
    ("watch 0x10000", 2, "0x10000 is not RAM (edu-mmio"),
    ("watch --pci zz:zz.z 0x0", 2, "bad PCI device"),
    ("watch --bar 1 0x0", 2, "--bar 1 needs --pci"),
    ("watch 0x1000 --interval 0ms", 2, "out of range: from 100us to 3600s"),
    ("watch 0x1000 --interval 50us", 2, "out of range"),
    ("watch 0x1000 --interval 3601s", 2, "out of range"),
    ("watch 0x1000 --interval 10", 2, "'10' has no unit"),
    ("watch 0x1000 --interval 1h", 2, "'1h' is not a duration"),
    ("watch 0x1000 --len 0", 2, "a range holds at least one byte"),
    ("watch 0x1000 --len 0x100001", 2, "`physdemo dump` shows a larger range"),
    ("watch 0x1000 --len 8 --until 1", 2, "--until stops at a value"),
    ("watch 0x1000 --width 8 --until 0x100", 2, "does not fit in 8 bits"),
    ("watch 0x1002 --width 32", 2, "not aligned"),
    ("watch 0x10000 --len 6 --width 32", 2, "multiples of 4"),
    ("watch 0x1000 --count 0", 2, "'0' for '--count <N>'"),
    ("watch 1 2 3", 2, "unexpected value '3'"),
    ("watch {sleeper} 0x10", 3, "is in no mapping"),
    ("watch 0 0x1000", 2, "pid 0 is not a process"),
    ("watch 0x100000 --width 32", 3, "SIGBUS"),
    // issue 13: I/O ports (a scratch file stands in for /dev/port, and stays all zeros)
    ("port", 2, "<PORT>"),
    ("port zz", 2, "bad port 'zz'"),
    ("port -1", 2, "bad port '-1'"),
    ("port 0x10000", 2, "port 0x10000 is out of range"),
    ("port 0x10000 1", 2, "x86 I/O ports are 0 to 0xffff"),
    (
        "port 0xfffe --width 32",
        2,
        "runs past the last port, 0xffff",
    ),
    ("port 0xe0 0x100", 2, "value 0x100 does not fit in 8 bits"),
    (
        "port 0xe0 0x1ffffffff --width 32",
        2,
        "does not fit in 32 bits (at most 0xffffffff) (an I/O port access is at most 32 bits",
    ),
    (
        "port 0xe0 0x1ffffffff",
        2,
        "does not fit in 8 bits (at most 0xff) (an I/O port access is at most 32 bits",
    ),
    ("port 0xe0 1 zz", 2, "bad value 'zz'"),
    (
        "port 0x511 --width 16",
        2,
        "port 0x511 is not aligned for a 16-bit access",
    ),
    ("port 0xe2 1 --width 32", 2, "multiple of 4"),
    ("port 0xe0 --width 64", 2, "bad width '64' for an I/O port"),
    ("port 0xe0 --width 12", 2, "bad width '12'"),
    ("port 0xe0 --read 0", 2, "0 is not in 1..=65536"),
    ("port 0xe0 1 --read 2", 2, "--read N reads the port"),
    ("port 0xe9 0x41", 6, "no driver claims port 0xe9"),
    ("port 0xe9 0x41 --dry-run", 6, "no driver claims port 0xe9"),
    (
        "port 0x2000 1 --width 32",
        6,
        "no driver claims ports 0x2000-0x2003",
    ),
    ("port 0x64 0xfe", 6, "writing 0xfe to it resets the machine"),
    ("port 0xcf9 6", 6, "the reset control register"),
    (
        "port 0xcf8 0x80000000 --width 32",
        6,
        "PCI configuration mechanism 1",
    ),
    ("port 0x70 0x8f", 6, "the real-time clock"),
    ("port 0x21 0xff", 6, "interrupt controller (8259 PIC, pic1)"),
    ("port 0x92 1 --dry-run", 6, "fast reset"),
    (
        "PHYSDEMO_IOPORTS={dir}/garbage port 0xe0 1",
        6,
        "cannot tell who claims port 0xe0",
    ),
    (
        "PHYSDEMO_PORT_DEVICE=/dev/null port 0xe0",
        2,
        "/dev/null is not /dev/port (char 1:4)",
    ),
    // issue 20: explain
    ("explain 0x10g0", 2, "bad physical address '0x10g0'"),
    ("explain -1", 2, "negative numbers"),
    ("explain 1 2 3", 2, "unexpected value '3'"),
    ("explain 0x1ffffffffffffffff", 2, "does not fit in 64 bits"),
    ("explain 0 0x1000", 2, "pid 0 is not a process"),
    ("explain {sleeper} 0x10", 3, "is in no mapping"),
    ("explain 4194304 0x1000", 3, "no process with pid 4194304"),
    ("explain {kthread} 0x1000", 3, "is a kernel thread"),
    ("explain --bar 1 0x0", 2, "--bar 1 needs --pci"),
    ("explain --pci zz:zz.z 0x0", 2, "bad PCI device"),
    (
        "explain --pci 0000:00:01.0",
        2,
        "explain --pci DEVICE takes one argument, <offset>",
    ),
    (
        "explain --pci 0000:00:01.0 1 2",
        2,
        "explain --pci DEVICE takes one argument, <offset>",
    ),
    ("explain --pci 0000:00:01.0 0x0", 3, "no PCI device 0000:00:01.0"),
    ("explain --pci 0000:00:01.0 --bar 6 0x0", 2, "6 is not in 0..=5"),
    ("explain 0x1000 >/dev/full", 1, "could not write the output"),
    // issue 20: --symbol NAME[+OFF], against the crafted /proc/kallsyms (KALLSYMS)
    (
        "peek --symbol jiffie",
        3,
        "no kernel symbol 'jiffie' in /proc/kallsyms (close names: jiffies)",
    ),
    (
        "PHYSDEMO_KALLSYMS={dir}/kallsyms-hidden peek --symbol jiffies",
        4,
        "/proc/kallsyms shows every address as 0",
    ),
    (
        "PHYSDEMO_KALLSYMS={dir}/kallsyms-text dump --symbol jiffies",
        5,
        "lists no data symbols at all: the kernel was built without CONFIG_KALLSYMS_ALL",
    ),
    (
        "PHYSDEMO_KALLSYMS={dir}/garbage peek --symbol jiffies",
        5,
        "line 1 is not `ADDRESS TYPE NAME`",
    ),
    (
        "peek --symbol edu_driver",
        3,
        "is in module [edu], not in the kernel image",
    ),
    (
        "peek --symbol event_exit",
        2,
        "2 kernel symbols are named 'event_exit', at physical 0x4208, 0x4210",
    ),
    (
        "peek --symbol fixed_percpu_data",
        3,
        "outside the kernel image: a per-CPU variable's offset",
    ),
    ("peek --symbol jiffies+zz", 2, "bad offset in --symbol"),
    ("peek --symbol +8", 2, "bad symbol name in --symbol"),
    (
        "peek --symbol jiffies+0xffffffffffffffff",
        2,
        "runs past the end of the address space",
    ),
    (
        "peek --symbol jiffies 0x1000",
        2,
        "peek --symbol NAME takes no address",
    ),
    (
        "peek --symbol jiffies --pci 00:01.0 0x0",
        2,
        "--symbol and --pci both name what to access",
    ),
    (
        "poke --symbol jiffies",
        2,
        "poke --symbol NAME takes one argument, <value>",
    ),
    (
        "poke --symbol jiffies 1",
        6,
        "0x4200 is in Kernel code",
    ),
    (
        "poke --symbol start_kernel 1 --dry-run",
        6,
        "start_kernel (+0x0) lies in the kernel's init memory, freed after boot",
    ),
    (
        "poke --symbol one_byte 1 --width 16",
        6,
        "a 16-bit write at one_byte (+0x0) runs past the symbol's end (1 byte left before the next symbol",
    ),
    (
        "dump --symbol jiffies 1 2",
        2,
        "dump --symbol NAME takes at most one argument, [LEN]",
    ),
    (
        "dump --symbol jiffies --pci 00:01.0",
        2,
        "--symbol and --pci both name what to access",
    ),
];

/// How many rows must run: every row of the table. In a pid namespace that shows no kernel
/// thread the rows needing one are skipped, loudly, and this fails.
const FLOOR: usize = CASES.len();

/// A kernel thread's pid (PF_KTHREAD in /proc/<pid>/stat), if this pid namespace shows one.
fn kernel_thread() -> Option<i32> {
    const PF_KTHREAD: u64 = 0x0020_0000;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let flags: u64 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(6)?
                .parse()
                .ok()?;
            (flags & PF_KTHREAD != 0).then_some(pid)
        })
}

struct Sleeper(Child);
impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn every_bad_command_line_gets_one_clear_error_line_and_its_exit_code() {
    let scratch = tempfile::Builder::new()
        .prefix("physdemo-bad-input-")
        .tempdir()
        .expect("a scratch directory");
    let dir = scratch.path();
    let device: PathBuf = dir.join("mem");
    std::fs::File::create(&device)
        .unwrap()
        .set_len(1 << 20)
        .unwrap();
    std::fs::write(dir.join("iomem"), IOMEM).unwrap();
    std::fs::write(dir.join("ioports"), VM_IOPORTS).unwrap();
    let ports = dir.join("port");
    std::fs::write(&ports, vec![0u8; 0x1_0000]).unwrap();
    std::fs::write(dir.join("garbage"), "garbage\n").unwrap();
    let mut kcore = physdemo::kernel::kcore::encode(
        62,
        &[(0xffff_8880_0000_1000, Some(0x1000), 0x1000, 0x3000)],
    );
    kcore.resize(0x4000, 0x5a);
    std::fs::write(dir.join("kcore"), &kcore).unwrap();
    std::fs::write(dir.join("shortcore"), &kcore[..100]).unwrap();
    std::fs::write(dir.join("kallsyms"), KALLSYMS).unwrap();
    let hidden: String = KALLSYMS
        .lines()
        .map(|l| format!("{:016x}{}\n", 0, &l[16..]))
        .collect();
    std::fs::write(dir.join("kallsyms-hidden"), hidden).unwrap();
    let text_only: String = KALLSYMS
        .lines()
        .filter(|l| l.contains(" T "))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(dir.join("kallsyms-text"), text_only).unwrap();
    let full = std::path::Path::new("/dev/full");
    assert!(full.exists(), "this test writes to /dev/full");
    std::fs::write(dir.join("mcfg"), VM_MCFG).unwrap();
    // --svg destinations that are symbolic links: to a file of ours, and to stdout
    std::fs::write(dir.join("mine.svg"), "mine").unwrap();
    std::os::unix::fs::symlink(dir.join("mine.svg"), dir.join("link.svg")).unwrap();
    std::os::unix::fs::symlink("/proc/self/fd/1", dir.join("stdout.svg")).unwrap();
    let sleeper = Sleeper(
        Command::new("sleep")
            .arg("100")
            .stdout(Stdio::null())
            .spawn()
            .expect("spawning sleep"),
    );
    let kthread = kernel_thread();
    let mut tried = 0;
    let mut failures = Vec::new();
    for &(line, code, needle) in CASES {
        if line.contains("{kthread}") && kthread.is_none() {
            eprintln!("skipped (no kernel thread visible in this pid namespace): {line}");
            continue;
        }
        let line = line
            .replace("{kthread}", &kthread.unwrap_or(2).to_string())
            .replace("{sleeper}", &sleeper.0.id().to_string())
            .replace("{dir}", &dir.display().to_string());
        let mut words: Vec<String> = line
            .split_whitespace()
            .map(|w| w.replace("\\s", " ").replace("\\n", "\n"))
            .collect();
        let to_full = words.last().is_some_and(|w| w == ">/dev/full");
        if to_full {
            words.pop();
        }
        let env_words = words
            .iter()
            .take_while(|w| w.contains('=') && !w.starts_with('-'))
            .count();
        let mut cmd = physdemo();
        cmd.env("PHYSDEMO_DEVICE", &device)
            .env("PHYSDEMO_IOMEM", dir.join("iomem"))
            .env("PHYSDEMO_KALLSYMS", dir.join("kallsyms"))
            .env("PHYSDEMO_MCFG", dir.join("mcfg"))
            .env("PHYSDEMO_PCI_SYSFS", dir.join("no-pci-devices"))
            .env("PHYSDEMO_IOPORTS", dir.join("ioports"))
            .env("PHYSDEMO_PORT_DEVICE", &ports);
        for pair in &words[..env_words] {
            let (name, value) = pair.split_once('=').unwrap();
            cmd.env(name, value);
        }
        cmd.args(&words[env_words..]);
        if to_full {
            cmd.stdout(std::fs::File::create(full).unwrap());
        }
        let out = cmd.output().expect("running physdemo");
        tried += 1;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let well_formed = matches!(lines.as_slice(), [only]
            if only.starts_with("physdemo: error: ") && only.contains(needle) && only.ends_with(')'));
        if out.status.code() != Some(code)
            || !well_formed
            || !out.stdout.is_empty()
            || stderr.contains("panicked")
        {
            failures.push(format!(
                "`physdemo {line}`: exit {:?} (want {code}), stderr {stderr:?} (want one line with {needle:?} and a hint)",
                out.status.code()
            ));
        }
    }
    eprintln!("{tried} bad command lines tried");
    assert_eq!(
        tried, FLOOR,
        "only {tried} of {FLOOR} bad command lines ran"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    let port_bytes = std::fs::read(&ports).expect("the /dev/port stand-in");
    assert!(
        port_bytes.iter().all(|&b| b == 0),
        "a refused port write reached the /dev/port stand-in"
    );
    for link in ["link.svg", "stdout.svg"] {
        let meta = std::fs::symlink_metadata(dir.join(link)).expect("the link is still there");
        assert!(meta.file_type().is_symlink(), "--svg replaced {link}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("mine.svg")).unwrap(),
        "mine"
    );
    assert!(!dir.join("newdir").exists(), "--svg DIR/ created something");
}
