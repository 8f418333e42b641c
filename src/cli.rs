//! The command line, declared with clap's derive API and nothing else.
//!
//! Every subcommand's flags live here; `lib.rs` turns them into actions. The same
//! definition generates `--help`, shell completions and the man page.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::addr::{PhysAddr, VirtAddr};

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
        2 bad usage, 3 not found, 4 permission, 5 kernel cannot, 6 refused for safety."
)]
pub struct Cli {
    /// When to colour output
    #[arg(long, value_enum, global = true, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
        after_help = "Forms:\n  sudo physdemo poke                       # the running physdemo target's variable\n  sudo physdemo poke <pid> <vaddr> <value> # a process's variable (64-bit by default)\n  sudo physdemo poke <paddr> <value>       # a raw physical address (32-bit by default)\n\nWithout arguments the value is --value, or 0xdeadbeefcafef00d (its bitwise NOT when the\nvariable already holds it), so the target always sees a change.\nWrites go only to System RAM or a device per /proc/iomem (not PCI configuration space, nothing\ninside Reserved) unless --force. A device gets exactly one write; RAM is also read before and\nafter (--read-back asks that of a device too). --dry-run runs every check and writes nothing.\n\nExamples:\n  sudo physdemo poke\n  sudo physdemo poke 1234 0x7f3a5c1b2040 0xdeadbeef\n  sudo physdemo poke 0x1000 0xab --width 8 --dry-run\n  sudo physdemo poke --pci 0000:00:04.0 --bar 0 0x04 0x12345678   # a device register"
    )]
    Poke(PokeArgs),

    /// Read a value of physical memory through /dev/mem
    #[command(
        allow_negative_numbers = true,
        after_help = "Forms:\n  sudo physdemo peek                 # the running physdemo target's variable (64-bit)\n  sudo physdemo peek <pid> <vaddr>   # a process's variable (64-bit by default)\n  sudo physdemo peek <paddr>         # a raw physical address (32-bit by default)\n\nNumbers are hex with 0x, or decimal, `_` allowed between digits: 010 is ten here, while\n`physdemo devmem 010` follows busybox's C rules and reads 010 as octal, eight.\n\nExamples:\n  sudo physdemo peek\n  sudo physdemo peek 0xfe000000 --width 32\n  sudo physdemo peek --pci 1234:11e8 --bar 0 0x0        # a device register, by BAR and offset"
    )]
    Peek(PeekArgs),

    /// Hex dump of a physical address range (hexdump -C layout)
    #[command(
        allow_negative_numbers = true,
        after_help = "Identical lines are shown once and then `*`, as hexdump -C does (--all shows every line); a\nlength of 0 prints nothing. Any length runs in constant memory, one page at a time.\nNumbers are hex with 0x, or decimal (010 is ten; devmem's C syntax reads it as octal).\n\nExamples:\n  sudo physdemo dump 0xf0000 256\n  sudo physdemo dump 0x1ff8 32 --all\n  sudo physdemo dump --pci 0000:00:04.0 --bar 0 0x0 64   # the first 64 bytes of BAR0"
    )]
    Dump(DumpArgs),

    /// busybox-compatible `devmem ADDRESS [WIDTH [VALUE]]`
    #[command(
        allow_negative_numbers = true,
        after_help = "Same syntax and output as busybox devmem: ADDRESS and VALUE in C syntax (0x hex, 0 octal,\ndecimal); WIDTH 8, 16, 32 (default) or 64, or b, h, w, l. A read prints 0x%0*llX with\nwidth/4 upper-case digits; a write prints nothing. Unlike busybox, physdemo refuses misaligned\naccesses, values wider than WIDTH, and (without --force) writes outside System RAM and devices,\nsuch as PCI configuration space. A write makes exactly one access.\n\nNumbers follow C here: 010 is octal, eight. peek, poke and dump read 010 as decimal ten.\n\nExamples:\n  sudo physdemo devmem 0xfe000000\n  sudo physdemo devmem 0x1000 b 0x5a"
    )]
    Devmem(DevmemArgs),

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

    /// Print a shell completion script
    #[command(
        after_help = "Example:\n  physdemo completions bash > /etc/bash_completion.d/physdemo"
    )]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff) generated from this command line
    #[command(after_help = "Example:\n  physdemo man > /usr/local/share/man/man1/physdemo.1")]
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Placement {
    /// A private anonymous mapping of its own (mmap)
    Mmap,
    /// The heap ([heap] in /proc/<pid>/maps)
    Heap,
    /// The main thread's stack ([stack])
    Stack,
    /// The binary's writable data (.data, mapped from the executable)
    Static,
}

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Initial value of the variable (hex with 0x, or decimal)
    #[arg(long, default_value = "0x1122334455667788", value_parser = parse_u64_arg)]
    pub value: u64,

    /// Where the variable lives
    #[arg(long = "where", value_enum, default_value_t = Placement::Mmap)]
    pub placement: Placement,

    /// Busy-poll for the lowest reaction latency (uses a whole CPU)
    #[arg(long)]
    pub spin: bool,

    /// Polling interval in microseconds when not spinning
    #[arg(long, default_value_t = 500, value_name = "MICROSECONDS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub interval_us: u64,

    /// Exit once the variable holds this value
    #[arg(long, value_name = "VALUE", value_parser = parse_u64_arg)]
    pub until: Option<u64>,

    /// Exit after this many seconds (fractions allowed)
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub timeout: Option<f64>,

    /// One JSON object per line on stdout (events "ready", "change", "moved", "exit")
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Process id
    pub pid: i64,

    /// Virtual address (hex with 0x, or decimal); omit for a physdemo target's variable
    pub vaddr: Option<VirtAddr>,

    /// One JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

/// How `poke`, `peek`, `dump` and `devmem` reach physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AccessMethod {
    /// mmap the page MAP_SHARED and do one volatile load/store of the exact width
    Mmap,
    /// pread/pwrite on the device (the kernel copies bytes; reaches RAM only)
    Rw,
}

/// Options shared by every command that opens /dev/mem.
#[derive(Debug, Args)]
pub struct DeviceArgs {
    /// Open /dev/mem without O_SYNC: a write-back mapping, for device memory another mapping holds write-back (under x86 PAT no mapping of RAM above 1 MiB is allowed, cached or not: use --method rw)
    #[arg(long)]
    pub cached: bool,

    /// How to access the device
    #[arg(long, value_enum, default_value_t = AccessMethod::Mmap)]
    pub method: AccessMethod,

    /// A file standing in for /dev/mem (for tests)
    #[arg(
        long,
        hide = true,
        env = "PHYSDEMO_DEVICE",
        default_value = "/dev/mem",
        value_name = "PATH"
    )]
    pub device: std::path::PathBuf,
}

/// A PCI device's register instead of a physical address: the first argument becomes an
/// offset into the BAR, resolved through /sys/bus/pci/devices/<address>/resource.
#[derive(Debug, Args)]
pub struct PciArgs {
    /// Address a PCI device's BAR: an address (0000:00:04.0, or 00:04.0) or vendor:device ids (1234:11e8); the first argument is then an offset into the BAR
    #[arg(long, value_name = "DEVICE")]
    pub pci: Option<String>,

    /// Which BAR of the --pci device, 0 to 5 [default: 0]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=5))]
    pub bar: Option<u8>,
}

/// Options of the commands that write.
#[derive(Debug, Args)]
pub struct WriteArgs {
    /// Write even into the kernel's image, a reserved range, PCI configuration space, or no known region
    #[arg(long)]
    pub force: bool,

    /// Run every check the write runs and show exactly what would be written, and where, without writing (and without reading a device)
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct PokeArgs {
    /// Nothing (the running target), <pid> <vaddr> <value>, or <paddr> <value>
    #[arg(num_args = 0..=3, value_name = "ARGS")]
    pub args: Vec<String>,

    /// Access width in bits: 8, 16, 32 or 64 [default: 64 for a process, 32 for a paddr]
    #[arg(long, value_name = "BITS", value_parser = parse_width_arg)]
    pub width: Option<crate::physmem::Width>,

    /// The value to write in the no-argument form [default: 0xdeadbeefcafef00d, or its NOT]
    #[arg(long, value_name = "VALUE", value_parser = parse_u64_arg)]
    pub value: Option<u64>,

    /// How long to wait for a physdemo target to report the change
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = parse_seconds)]
    pub wait: f64,

    /// Also read the location before and after the write. Always done for RAM; a device gets only the one write unless asked, since a read can have side effects (read-to-clear status, FIFOs)
    #[arg(long)]
    pub read_back: bool,

    /// One JSON object on stdout
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub write: WriteArgs,

    #[command(flatten)]
    pub pci: PciArgs,

    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args)]
pub struct PeekArgs {
    /// Nothing (the running target), <pid> <vaddr>, or <paddr>
    #[arg(num_args = 0..=2, value_name = "ARGS")]
    pub args: Vec<String>,

    /// Access width in bits: 8, 16, 32 or 64 [default: 64 for a process, 32 for a paddr]
    #[arg(long, value_name = "BITS", value_parser = parse_width_arg)]
    pub width: Option<crate::physmem::Width>,

    /// One JSON object on stdout
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub pci: PciArgs,

    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// First physical address (any alignment); with --pci, an offset into the BAR
    #[arg(value_parser = parse_phys_arg)]
    pub paddr: PhysAddr,

    /// Number of bytes (hex with 0x, or decimal)
    #[arg(value_parser = parse_u64_arg)]
    pub len: u64,

    /// Show every line; do not fold identical lines into `*`
    #[arg(long, short = 'v')]
    pub all: bool,

    #[command(flatten)]
    pub pci: PciArgs,

    #[command(flatten)]
    pub device: DeviceArgs,
}

#[derive(Debug, Args)]
pub struct DevmemArgs {
    /// Physical address (C syntax: 0x hex, 0 octal, decimal)
    pub address: String,

    /// 8, 16, 32 or 64, or b, h, w, l [default: 32]
    pub width: Option<String>,

    /// Value to write (C syntax); omit to read
    pub value: Option<String>,

    #[command(flatten)]
    pub write: WriteArgs,

    #[command(flatten)]
    pub device: DeviceArgs,
}

fn parse_width_arg(text: &str) -> Result<crate::physmem::Width, String> {
    crate::physmem::Width::parse(text).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct MapsArgs {
    /// Process id
    pub pid: i64,

    /// List every page (vaddr, PFN, paddr, map count, pagemap bits, kpageflags), like page-types -L
    #[arg(long)]
    pub pages: bool,

    /// List every physical run of each mapping (default: the first 8)
    #[arg(long)]
    pub runs: bool,

    /// Only mappings matching SPEC: [heap], a path or part of one, an address (0x...) or a range START-END; repeatable
    #[arg(long = "mapping", short = 'm', value_name = "SPEC")]
    pub mappings: Vec<String>,

    /// Only pages with flag NAME: a kpageflags name (thp, ksm, huge, anonymous, ...) or a pagemap bit (present, swapped, exclusive, file, soft-dirty); ~NAME negates; repeatable, all must hold
    #[arg(long = "flag", short = 'f', value_name = "NAME")]
    pub flags: Vec<String>,

    /// JSON on stdout (with --pages: one JSON object per line)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OwnerArgs {
    /// Physical address (hex with 0x, or decimal)
    #[arg(conflicts_with = "pfn")]
    pub paddr: Option<PhysAddr>,

    /// A page frame number instead of a physical address
    #[arg(long, value_name = "PFN")]
    pub pfn: Option<crate::addr::Pfn>,

    /// Only look in this process; repeatable
    #[arg(long = "pid", value_name = "PID")]
    pub pids: Vec<i64>,

    /// Scan every process even after the map count is accounted for
    #[arg(long)]
    pub all: bool,

    /// One JSON object on stdout
    #[arg(long)]
    pub json: bool,
}

/// A u64 from hex or decimal, with the parser's own explanation on failure.
pub fn parse_u64_arg(text: &str) -> Result<u64, String> {
    crate::addr::parse_u64(text).map_err(|e| e.to_string())
}

/// A physical address argument.
pub fn parse_phys_arg(text: &str) -> Result<PhysAddr, String> {
    parse_u64_arg(text).map(PhysAddr)
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if (0.0..1e9).contains(&s) => Ok(s),
        _ => Err(format!(
            "'{text}' is not a number of seconds (e.g. 5 or 0.5)"
        )),
    }
}
