// SPDX-License-Identifier: MIT OR Apache-2.0
//! The command line: the only place that knows clap.
//!
//! [`Cli`] and its subcommands are declared with clap's derive API ([`args`] holds each
//! subcommand's flags); the same definition generates `--help`, shell completions and the
//! man page. [`convert`] turns each subcommand's arguments into the command's typed options
//! (one `TryFrom` per command), and [`run`] hands them to [`crate::commands`].

pub(crate) mod args;
pub mod busybox;
pub mod convert;
mod man;

use std::process::ExitCode;

use anyhow::Result;
use clap::error::ErrorKind;
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};

use crate::commands;
use crate::commands::devmem::DevmemOptions;
use crate::commands::doctor::DoctorOptions;
use crate::commands::dump::DumpOptions;
use crate::commands::explain::ExplainOptions;
use crate::commands::inspect::InspectOptions;
use crate::commands::maps::MapsOptions;
use crate::commands::owner::OwnerOptions;
use crate::commands::peek::PeekOptions;
use crate::commands::physmap::PhysmapOptions;
use crate::commands::poke::PokeOptions;
use crate::commands::port::PortOptions;
use crate::commands::target::TargetOptions;
use crate::commands::usage::UsageOptions;
use crate::commands::watch::WatchOptions;
use crate::error::ExitKind;

pub(crate) use args::*;

#[derive(Debug, Parser)]
#[command(
    name = "physdemo",
    version,
    about = "Make physical memory visible from user space",
    long_about = "Make physical memory visible from user space.\n\n\
        `physdemo target` holds a 64-bit variable and reports every change; `physdemo inspect` \
        walks /proc/<pid>/maps and /proc/<pid>/pagemap to its physical address; `physdemo poke` \
        rewrites it through /dev/mem and the target reacts.",
    after_help = "Run `physdemo <command> --help` for examples. Exit codes: 0 ok, 1 failure, \
        2 bad usage, 3 not found, 4 permission, 5 kernel cannot, 6 refused for safety (nothing \
        written), 7 written but the process exited right after (do not repeat it)."
)]
pub struct Cli {
    /// When to colour output
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub(crate) color: ColorChoice,

    /// The memory device for poke, peek, dump and devmem, used alone: /dev/mem, /dev/physmem (physdemo_mem), /proc/kcore (read-only, RAM only), or a regular file standing in for /dev/mem (tests) [default: /dev/mem, and /dev/physmem where /dev/mem refuses; to read RAM without /dev/physmem, /proc/kcore]
    #[arg(long, global = true, env = "PHYSDEMO_DEVICE", value_name = "PATH")]
    pub(crate) device: Option<std::path::PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Hold a 64-bit variable on a page of its own and report every change to it
    #[command(
        after_help = "Example:\n  physdemo target\n  physdemo target --where heap --json --until 0xdeadbeef"
    )]
    Target(TargetArgs),

    /// Show how a process's virtual address maps to a physical address
    #[command(
        allow_negative_numbers = true,
        after_help = "Examples:\n  sudo physdemo inspect 1234 0x7f3a5c1b2040\n  sudo physdemo inspect 1234          # a physdemo target's own variable\n  sudo physdemo inspect 1234 0x7f3a5c1b2040 --json"
    )]
    Inspect(InspectArgs),

    /// Write a value to physical memory through /dev/mem (a process's variable, or a raw address)
    #[command(
        allow_negative_numbers = true,
        after_help = "Forms:\n  sudo physdemo poke                       # the running physdemo target's variable\n  sudo physdemo poke <pid> <vaddr> <value> # a process's variable (64-bit by default)\n  sudo physdemo poke <paddr> <value>       # a raw physical address (32-bit by default)\n  sudo physdemo poke --symbol NAME[+OFF] <value> --force   # a kernel variable, by name\n\nWithout arguments the value is --value, or 0xdeadbeefcafef00d (its bitwise NOT when the\nvariable already holds it), so the target always sees a change.\nWrites go only to System RAM or a device per /proc/iomem (not PCI configuration space, nothing\ninside Reserved) unless --force. A device gets exactly one write; RAM is also read before and\nafter (--read-back asks that of a device too). --dry-run runs every check and writes nothing.\n\nExamples:\n  sudo physdemo poke\n  sudo physdemo poke 1234 0x7f3a5c1b2040 0xdeadbeef\n  sudo physdemo poke 0x1000 0xab --width 8 --dry-run\n  sudo physdemo poke --pci 0000:00:04.0 --bar 0 0x04 0x12345678   # a device register"
    )]
    Poke(PokeArgs),

    /// Read a value of physical memory through /dev/mem
    #[command(
        allow_negative_numbers = true,
        after_help = "Forms:\n  sudo physdemo peek                 # the running physdemo target's variable (64-bit)\n  sudo physdemo peek <pid> <vaddr>   # a process's variable (64-bit by default)\n  sudo physdemo peek <paddr>         # a raw physical address (32-bit by default)\n  sudo physdemo peek --symbol NAME[+OFF]   # a kernel variable (its width by default)\n\nNumbers are hex with 0x, or decimal, `_` allowed between digits: 010 is ten here, while\n`physdemo devmem 010` follows busybox's C rules and reads 010 as octal, eight.\n\nExamples:\n  sudo physdemo peek\n  sudo physdemo peek 0xfe000000 --width 32\n  sudo physdemo peek --pci 1234:11e8 --bar 0 0x0        # a device register, by BAR and offset\n  sudo physdemo peek --symbol jiffies                    # a kernel variable, by name (kallsyms)"
    )]
    Peek(PeekArgs),

    /// Hex dump of a physical address range (hexdump -C layout)
    #[command(
        allow_negative_numbers = true,
        after_help = "Identical lines are shown once and then `*`, as hexdump -C does (--all shows every line); a\nlength of 0 prints nothing. Any length runs in constant memory, one page at a time. Device\nmemory is read in whole words (one load each; stderr says how many, of which width).\nNumbers are hex with 0x, or decimal (010 is ten; devmem's C syntax reads it as octal).\n\nExamples:\n  sudo physdemo dump 0xf0000 256\n  sudo physdemo dump 0x1ff8 32 --all\n  sudo physdemo dump --pci 0000:00:04.0 --bar 0 0x0 64   # the first 64 bytes of BAR0\n  sudo physdemo dump 0xff000000 16 --width 16            # as 8 16-bit loads\n  sudo physdemo dump --symbol linux_banner 0xa0          # the kernel's banner, by name"
    )]
    Dump(DumpArgs),

    /// Poll a value or a range of physical memory and print each change, with its time
    #[command(
        allow_negative_numbers = true,
        after_help = "Forms:\n  sudo physdemo watch                 # the running physdemo target's variable (64-bit)\n  sudo physdemo watch <pid> <vaddr>   # a process's variable (64-bit by default)\n  sudo physdemo watch <paddr>         # a physical address (32-bit by default)\n\nEach change is printed with its CLOCK_MONOTONIC time, old -> new; a --len range as the\nhexdump -C lines holding a change, each followed by a line that marks the changed bytes\n(^^ under their hex digits, ^ under their character; mark lines start with a blank, so\n`grep -v '^ '` leaves hexdump's own lines). At the end (--count, --until, Ctrl-C or SIGTERM) a\nsummary: changes, their rate, the duration. Nothing is ever written. Outside RAM each poll reads\na device register, which a read can change: give --width to watch one. A process's page is\nchecked after every read; a move is reported and followed.\n\nExamples:\n  sudo physdemo watch --count 3\n  sudo physdemo watch 0xfed000f0 --width 32 --interval 10ms   # the HPET's main counter\n  sudo physdemo watch 1234 0x7f3a5c1b2040 --len 64 --interval 1s\n  sudo physdemo watch --pci 1234:11e8 --bar 0 0x4 --width 32 --json"
    )]
    Watch(WatchArgs),

    /// busybox-compatible `devmem ADDRESS [WIDTH [VALUE]]`
    #[command(
        allow_negative_numbers = true,
        after_help = "Same syntax and output as busybox devmem: ADDRESS and VALUE in C syntax (0x hex, 0 octal,\ndecimal); WIDTH 8, 16, 32 (default) or 64, or b, h, w, l. A read prints 0x%0*llX with\nwidth/4 upper-case digits; a write prints nothing. Unlike busybox, physdemo refuses misaligned\naccesses, values wider than WIDTH, and (without --force) writes outside System RAM and devices,\nsuch as PCI configuration space. A write makes exactly one access.\n\nNumbers follow C here: 010 is octal, eight. peek, poke and dump read 010 as decimal ten.\n\nExamples:\n  sudo physdemo devmem 0xfe000000\n  sudo physdemo devmem 0x1000 b 0x5a"
    )]
    Devmem(DevmemArgs),

    /// Read or write an x86 I/O port (/dev/port for bytes, ioperm + in/out for 16 and 32 bits)
    #[command(
        allow_negative_numbers = true,
        after_help = "Each value written, and each of --read N, is one access of --width bits (default 8):\n8 bits through /dev/port (one inb/outb), 16 and 32 through ioperm and one in/out instruction.\nThe port is located in /proc/ioports. Writes go only to ports a driver claims there, and never\nto the ones that reset or reconfigure the machine (0x64, 0x92, 0xcf8-0xcff, the PIC, PIT,\nRTC and DMA controllers, ACPI's power registers) unless --force. --dry-run runs every check\nand opens what the access needs, without the access.\n\nExamples:\n  sudo physdemo port 0x510 0 --width 16     # fw_cfg: select key 0, the signature\n  sudo physdemo port 0x511 --read 4         # and read it: \"QEMU\"\n  sudo physdemo port 0xe9 0x68 0x69 0x0a --force   # \"hi\\n\" to QEMU's debug console\n  sudo physdemo port 0xe0 --width 32 --json"
    )]
    Port(PortArgs),

    /// Every mapping of a process: resident, swapped and absent pages, huge pages, physical runs
    #[command(
        allow_negative_numbers = true,
        after_help = "Each mapping shows its page counts and its physical frames grouped into contiguous runs\n(virtual range -> physical range); --pages lists every page like the kernel's page-types -L\n(vaddr, PFN, paddr, map count, pagemap bits, kpageflags names).\n\nExamples:\n  sudo physdemo maps 1234\n  sudo physdemo maps 1234 --mapping '[heap]' --runs\n  sudo physdemo maps 1234 --pages --flag thp\n  sudo physdemo maps 1234 --pages --flag swapped --json\n  sudo physdemo maps 1234 --mapping 0x7f0000000000-0x7f0000200000 --pages"
    )]
    Maps(MapsArgs),

    /// Every process and virtual address that maps a physical frame
    #[command(
        allow_negative_numbers = true,
        after_help = "Scans every process's present pages (PAGEMAP_SCAN where the kernel has it) and stops once\nthe frame's map count from /proc/kpagecount is accounted for.\n\nExamples:\n  sudo physdemo owner 0x12345040       # a physical address\n  sudo physdemo owner --pfn 0x12345\n  sudo physdemo owner --pfn 0x12345 --pid 1234 --json"
    )]
    Owner(OwnerArgs),

    /// RSS, PSS, USS and swap of every process (procrank), or of every mapped file (librank)
    #[command(
        allow_negative_numbers = true,
        after_help = "PSS divides each page by its map count from /proc/kpagecount, as the kernel's smaps_rollup\ndoes (a THP counts at its full size, a KSM page 1/N in each of its N mappers; the zero page,\nPFN mappings and hugetlbfs pages are not RSS, as in smaps). USS: pages mapped once. Swap:\npages pagemap shows in swap. Needs root for PSS; without it, RSS, USS and swap only.\n\nExamples:\n  sudo physdemo usage\n  sudo physdemo usage --sort uss --user www-data\n  sudo physdemo usage --by mapping\n  sudo physdemo usage --pid 1234 --json"
    )]
    Usage(UsageArgs),

    /// What this machine lets physdemo do to physical memory, and why: each line measured
    #[command(
        after_help = "Measures, on this machine: /dev/mem (present, opens; RAM by read() and by mapping, probed on a\npage of physdemo's own; RAM below 1 MiB; device ranges, mapped and never read), STRICT_DEVMEM and\nIO_STRICT_DEVMEM (from the probes, and the kernel's config when /proc/config.gz or\n/boot/config-<release> is there), PAT (and the cache type a mapping gets, from debugfs),\nlockdown, /dev/port, /dev/physmem and the physdemo_mem module, whether pagemap shows frame\nnumbers, kpageflags and kpagecount; then the one next step. Nothing is written. Exit 0 when it\ncould answer.\n\nExamples:\n  sudo physdemo doctor\n  sudo physdemo doctor --json"
    )]
    Doctor(DoctorArgs),

    /// Everything physdemo can learn about one physical address, layer by layer
    #[command(
        allow_negative_numbers = true,
        after_help = "Forms:\n  sudo physdemo explain <paddr>                   # a physical address\n  sudo physdemo explain <pid> <vaddr>             # a process's virtual address\n  sudo physdemo explain                           # the running physdemo target's variable\n  sudo physdemo explain --pci DEVICE [--bar N] OFFSET   # a device register\n\nShows the /proc/iomem regions holding the address (outermost first); the PCI device, BAR and\noffset, or the configuration register (ECAM); for RAM the frame's class and flags\n(kpageflags), map count (kpagecount), NUMA node and zone, and who maps it (as `owner`); the\nkernel image's section; PAT's cache type; and which door (/dev/mem, /dev/physmem) reads and\nwrites it, or why none does, asked of the kernel by opening and mapping, nothing accessed.\nNothing is written and no device register is read. What cannot be known is named, with why.\n\nExamples:\n  sudo physdemo explain 0xfed00000\n  sudo physdemo explain 1234 0x7f3a5c1b2040 --json\n  sudo physdemo explain --pci 1234:11e8 --bar 0 0x4"
    )]
    Explain(ExplainArgs),

    /// The machine's physical memory as a picture: iomem regions, RAM cells by use (kpageflags)
    #[command(
        allow_negative_numbers = true,
        after_help = "Each cell is --cell frames (by default the smallest power of two that fits the terminal),\ncoloured by the class most of its frames have in /proc/kpageflags: . free (buddy), a anonymous,\nf page cache/file, s slab, t page tables, H huge (THP/hugetlb), # reserved/kernel, o other.\n--pid marks the process's cells @ (its physdemo target variable's cell X). The legend's\ntotals add up to the System RAM of /proc/iomem. Needs root.\n\nExamples:\n  sudo physdemo physmap\n  sudo physdemo physmap --pid 1234 --color never\n  sudo physdemo physmap --cell 256 --json\n  sudo physdemo physmap --pid 1234 --svg physmap.svg"
    )]
    Physmap(PhysmapArgs),

    /// Print a shell completion script
    #[command(
        after_help = "Example:\n  physdemo completions bash > /etc/bash_completion.d/physdemo"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff) generated from this command line, or write one per command
    #[command(
        after_help = "Examples:\n  physdemo man > /usr/local/share/man/man1/physdemo.1\n  physdemo man --dir /usr/local/share/man/man1   # physdemo.1, physdemo-poke.1, ..."
    )]
    Man {
        /// Write the pages of the command and of every subcommand (physdemo.1, physdemo-SUBCOMMAND.1) into this existing directory, printing each file's path
        #[arg(long, value_name = "DIR")]
        dir: Option<std::path::PathBuf>,
    },
}

impl Command {
    /// The device options of a command that opens a memory device.
    fn device_args(&mut self) -> Option<&mut DeviceArgs> {
        match self {
            Command::Poke(args) => Some(&mut args.device),
            Command::Peek(args) => Some(&mut args.device),
            Command::Dump(args) => Some(&mut args.device),
            Command::Devmem(args) => Some(&mut args.device),
            Command::Watch(args) => Some(&mut args.device),
            _ => None,
        }
    }
}

/// Parses the process's command line. Help and version are printed, as clap formats them,
/// and a usage error as one line on stderr; either way the exit code to end with comes
/// back instead of a [`Cli`].
pub fn parse() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(clap_exit)
}

/// `physdemo <subcommand> --help` for the subcommand on the command line, if any.
fn help_command() -> String {
    let command = Cli::command();
    let subcommand = std::env::args().skip(1).find(|arg| {
        command
            .get_subcommands()
            .any(|sub| sub.get_name() == arg.as_str())
    });
    match subcommand {
        Some(name) => format!("physdemo {name} --help"),
        None => "physdemo --help".to_string(),
    }
}

/// Help and version print as clap formats them; a usage error becomes one line.
fn clap_exit(err: clap::Error) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(ExitKind::Usage.code())
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            // clap's message runs until the first blank line (then come usage and tips);
            // its continuation lines (e.g. the missing arguments) join the first.
            let rendered = err.render().to_string();
            let message = rendered
                .lines()
                .take_while(|line| !line.trim().is_empty())
                .map(str::trim)
                .collect::<Vec<_>>()
                .join(" ");
            let first = message.trim_start_matches("error: ");
            eprintln!("physdemo: error: {first} (see `{}`)", help_command());
            ExitCode::from(ExitKind::Usage.code())
        }
    }
}

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.color {
        ColorChoice::Always => owo_colors::set_override(true),
        ColorChoice::Never => owo_colors::set_override(false),
        ColorChoice::Auto => {}
    }
    let mut command = cli.command;
    if let Some(device_args) = command.device_args() {
        device_args.device = cli.device;
    }
    match command {
        Command::Target(args) => commands::target::run(&TargetOptions::try_from(&args)?)?,
        Command::Inspect(args) => commands::inspect::run(&InspectOptions::try_from(&args)?)?,
        Command::Maps(args) => commands::maps::run(&MapsOptions::try_from(&args)?)?,
        Command::Owner(args) => commands::owner::run(&OwnerOptions::try_from(&args)?)?,
        Command::Usage(args) => commands::usage::run(&UsageOptions::try_from(&args)?)?,
        Command::Physmap(args) => commands::physmap::run(&PhysmapOptions::try_from(&args)?)?,
        Command::Poke(args) => commands::poke::run(&PokeOptions::try_from(&args)?)?,
        Command::Peek(args) => commands::peek::run(&PeekOptions::try_from(&args)?)?,
        Command::Dump(args) => commands::dump::run(&DumpOptions::try_from(&args)?)?,
        Command::Devmem(args) => commands::devmem::run(&DevmemOptions::try_from(&args)?)?,
        Command::Doctor(args) => commands::doctor::run(&DoctorOptions::try_from(&args)?)?,
        Command::Explain(args) => commands::explain::run(&ExplainOptions::try_from(&args)?)?,
        Command::Port(args) => commands::port::run(&PortOptions::try_from(&args)?)?,
        Command::Watch(args) => commands::watch::run(&WatchOptions::try_from(&args)?)?,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "physdemo",
                &mut std::io::stdout(),
            );
        }
        Command::Man { dir } => man::run(dir.as_deref())?,
    }
    Ok(ExitCode::SUCCESS)
}
