// SPDX-License-Identifier: MIT OR Apache-2.0
//! Every subcommand's flags, declared with clap's derive API; the value parsers call the
//! core's own parsers, so a number is read the same way everywhere.

use clap::{Args, ValueEnum};

use crate::kernel::addr::{parse_u64, Pfn, PhysAddr, VirtAddr};
#[cfg(doc)]
use crate::physmem::device::AccessMethod;
use crate::physmem::port::DEV_PORT;
use crate::physmem::width::Width;

/// Where `physdemo target` keeps its variable (see [`crate::commands::target::Home`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum WhereArg {
    /// A private anonymous mapping of its own (mmap)
    Mmap,
    /// The heap ([heap] in /proc/<pid>/maps)
    Heap,
    /// The main thread's stack ([stack])
    Stack,
    /// The binary's writable data (.data, mapped from the executable)
    Static,
    /// Five pages into a transparent huge page (MADV_HUGEPAGE; 2 MiB with 4 KiB pages, 512 MiB with 64 KiB: hpage_pmd_size), where the kernel makes one; the ready report says whether it did
    Thp,
    /// Five pages into a hugetlbfs page of the default size (MAP_HUGETLB; /proc/meminfo Hugepagesize; needs vm.nr_hugepages >= 1)
    Hugetlb,
}

#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    /// Initial value of the variable (hex with 0x, or decimal)
    #[arg(long, default_value = "0x1122334455667788", value_parser = parse_u64_arg)]
    pub(crate) value: u64,

    /// Where the variable lives
    #[arg(long = "where", value_enum, default_value_t = WhereArg::Mmap)]
    pub(crate) placement: WhereArg,

    /// Busy-poll for the lowest reaction latency (uses a whole CPU)
    #[arg(long)]
    pub(crate) spin: bool,

    /// Polling interval in microseconds when not spinning
    #[arg(long, default_value_t = 500, value_name = "MICROSECONDS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub(crate) interval_us: u64,

    /// Exit once the variable holds this value
    #[arg(long, value_name = "VALUE", value_parser = parse_u64_arg)]
    pub(crate) until: Option<u64>,

    /// Exit after this many seconds (fractions allowed)
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub(crate) timeout: Option<f64>,

    /// Do not hold the page still: by default the target registers it as an io_uring fixed buffer, which keeps the kernel from migrating it (mlock alone does not); with this the kernel may move it, as migration tests want
    #[arg(long)]
    pub(crate) movable: bool,

    /// One JSON object per line on stdout (events "ready", "change", "moved", "exit")
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// Process id
    pub(crate) pid: i64,

    /// Virtual address (hex with 0x, or decimal); omit for a physdemo target's variable
    pub(crate) vaddr: Option<VirtAddr>,

    /// One JSON object on stdout
    #[arg(long)]
    pub(crate) json: bool,

    /// Draw the translation (indices, entry, frame, physical address) as SVG into FILE
    #[arg(long, value_name = "FILE", conflicts_with = "json")]
    pub(crate) svg: Option<std::path::PathBuf>,
}

/// How `poke`, `peek`, `dump` and `devmem` reach physical memory (see [`AccessMethod`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum MethodArg {
    /// mmap the page MAP_SHARED and do one volatile load/store of the exact width
    Mmap,
    /// pread/pwrite on the device (the kernel copies bytes; reaches RAM only)
    Rw,
}

/// Options shared by every command that opens a memory device (/dev/mem, /dev/physmem).
#[derive(Debug, Args)]
pub(crate) struct DeviceArgs {
    /// Open /dev/mem without O_SYNC: a write-back mapping, for device memory another mapping holds write-back (under x86 PAT no mapping of RAM above 1 MiB is allowed, cached or not: use --method rw)
    #[arg(long)]
    pub(crate) cached: bool,

    /// How to access the device [default: mmap; pread/pwrite for a device range smaller than its page through /dev/physmem]
    #[arg(long, value_enum)]
    pub(crate) method: Option<MethodArg>,

    /// The global `--device` ([`crate::cli::Cli`]), copied here by [`crate::cli::run`] so
    /// that one conversion makes the command's device options.
    #[arg(skip)]
    pub(crate) device: Option<std::path::PathBuf>,
}

/// A PCI device's register instead of a physical address: the first argument becomes an
/// offset into the BAR, resolved through /sys/bus/pci/devices/<address>/resource.
#[derive(Debug, Args)]
pub(crate) struct PciArgs {
    /// Address a PCI device's BAR: an address (0000:00:04.0, or 00:04.0) or vendor:device ids (1234:11e8); the first argument is then an offset into the BAR
    #[arg(long, value_name = "DEVICE")]
    pub(crate) pci: Option<String>,

    /// Which BAR of the --pci device, 0 to 5 [default: 0]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=5))]
    pub(crate) bar: Option<u8>,
}

/// A variable of the kernel image instead of a physical address: `--symbol NAME[+OFF]`,
/// placed through /proc/kallsyms and /proc/iomem ([`crate::resolve::symbol::locate`]); the
/// positional address is then left out.
#[derive(Debug, Args)]
pub(crate) struct SymbolArgs {
    /// A kernel symbol instead of an address: NAME[+OFF] as /proc/kallsyms lists it (e.g. jiffies, linux_banner+0x10; OFF hex with 0x or decimal), placed in physical memory by the kernel's own layout (needs root; data symbols need CONFIG_KALLSYMS_ALL)
    #[arg(long, value_name = "NAME[+OFF]")]
    pub(crate) symbol: Option<String>,
}

/// Options of the commands that write.
#[derive(Debug, Args)]
pub(crate) struct WriteArgs {
    /// Write even into the kernel's image, a reserved range, PCI configuration space, or no known region
    #[arg(long)]
    pub(crate) force: bool,

    /// Run every check the write runs and show exactly what would be written, and where, without writing (and without reading a device)
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PokeArgs {
    /// Nothing (the running target), <pid> <vaddr> <value>, <paddr> <value>, or <value> with --symbol
    #[arg(num_args = 0..=3, value_name = "ARGS")]
    pub(crate) args: Vec<String>,

    /// Access width in bits: 8, 16, 32 or 64 [default: 64 for a process, 32 for a paddr, what fits a --symbol]
    #[arg(long, value_name = "BITS", value_parser = parse_width_arg)]
    pub(crate) width: Option<Width>,

    /// The value to write in the no-argument form [default: 0xdeadbeefcafef00d, or its NOT]
    #[arg(long, value_name = "VALUE", value_parser = parse_u64_arg)]
    pub(crate) value: Option<u64>,

    /// How long to wait for a physdemo target to report the change
    #[arg(long, value_name = "SECONDS", default_value = "1", value_parser = parse_seconds)]
    pub(crate) wait: f64,

    /// Also read the location before and after the write. Always done for RAM; a device gets only the one write unless asked, since a read can have side effects (read-to-clear status, FIFOs)
    #[arg(long)]
    pub(crate) read_back: bool,

    /// One JSON object on stdout
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) write: WriteArgs,

    #[command(flatten)]
    pub(crate) pci: PciArgs,

    #[command(flatten)]
    pub(crate) symbol: SymbolArgs,

    #[command(flatten)]
    pub(crate) device: DeviceArgs,
}

#[derive(Debug, Args)]
pub(crate) struct PeekArgs {
    /// Nothing (the running target, or with --symbol), <pid> <vaddr>, or <paddr>
    #[arg(num_args = 0..=2, value_name = "ARGS")]
    pub(crate) args: Vec<String>,

    /// Access width in bits: 8, 16, 32 or 64 [default: 64 for a process, 32 for a paddr, what fits a --symbol]
    #[arg(long, value_name = "BITS", value_parser = parse_width_arg)]
    pub(crate) width: Option<Width>,

    /// One JSON object on stdout
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) pci: PciArgs,

    #[command(flatten)]
    pub(crate) symbol: SymbolArgs,

    #[command(flatten)]
    pub(crate) device: DeviceArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DumpArgs {
    /// First physical address (any alignment); with --pci, an offset into the BAR; with --symbol, left out (the one number given is LEN)
    #[arg(value_parser = parse_phys_arg, required_unless_present = "symbol")]
    pub(crate) paddr: Option<PhysAddr>,

    /// Number of bytes (hex with 0x, or decimal) [with --symbol: to the next symbol, at most 256]
    #[arg(value_parser = parse_u64_arg, required_unless_present = "symbol")]
    pub(crate) len: Option<u64>,

    /// Show every line; do not fold identical lines into `*`
    #[arg(long, short = 'v')]
    pub(crate) all: bool,

    /// Write the bytes themselves, not hexdump lines (never to a terminal)
    #[arg(long, conflicts_with = "all")]
    pub(crate) raw: bool,

    /// Write the dump to FILE (whole, or not at all) instead of stdout
    #[arg(long, short = 'o', value_name = "FILE")]
    pub(crate) output: Option<std::path::PathBuf>,

    /// Read with loads of this width, 8, 16, 32 or 64 bits, one per word [default: 32-bit words in a device region when the range allows, and with --pci; else bytes]
    #[arg(long, value_name = "BITS", value_parser = parse_width_arg)]
    pub(crate) width: Option<Width>,

    #[command(flatten)]
    pub(crate) pci: PciArgs,

    #[command(flatten)]
    pub(crate) symbol: SymbolArgs,

    #[command(flatten)]
    pub(crate) device: DeviceArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DevmemArgs {
    /// Physical address (C syntax: 0x hex, 0 octal, decimal)
    pub(crate) address: String,

    /// 8, 16, 32 or 64, or b, h, w, l [default: 32]
    pub(crate) width: Option<String>,

    /// Value to write (C syntax); omit to read
    pub(crate) value: Option<String>,

    #[command(flatten)]
    pub(crate) write: WriteArgs,

    #[command(flatten)]
    pub(crate) device: DeviceArgs,
}

/// `physdemo port`'s arguments.
#[derive(Debug, Args)]
pub(crate) struct PortArgs {
    /// The I/O port, 0 to 0xffff (hex with 0x, or decimal)
    pub(crate) port: String,

    /// Values to write, each one access, in order (hex with 0x, or decimal); none to read
    pub(crate) values: Vec<String>,

    /// Access width in bits: 8 (through /dev/port), 16 or 32 (ioperm + in/out)
    #[arg(long, value_name = "BITS", default_value = "8", value_parser = parse_width_arg)]
    pub(crate) width: Width,

    /// Read the port N times, as a driver drains a data port (one access each)
    #[arg(long = "read", value_name = "N", value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub(crate) reads: Option<u32>,

    /// Write even to a port no driver claims, or one that resets or reconfigures the machine
    #[arg(long)]
    pub(crate) force: bool,

    /// Run every check and open what the access needs (/dev/port, or ioperm), without an access
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// One JSON object on stdout
    #[arg(long)]
    pub(crate) json: bool,

    /// A file standing in for /dev/port, at every width (for tests)
    #[arg(
        long,
        hide = true,
        env = "PHYSDEMO_PORT_DEVICE",
        default_value = DEV_PORT,
        value_name = "PATH"
    )]
    pub(crate) port_device: std::path::PathBuf,
}

fn parse_width_arg(text: &str) -> Result<Width, String> {
    Width::parse(text).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {
    /// <paddr>, <pid> <vaddr>, or nothing (the running target); with --pci, <offset>
    #[arg(num_args = 0..=2, value_name = "ARGS")]
    pub(crate) args: Vec<String>,

    /// One JSON object on stdout
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) pci: PciArgs,

    #[command(flatten)]
    pub(crate) symbol: SymbolArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// One JSON object on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MapsArgs {
    /// Process id
    pub(crate) pid: i64,

    /// List every page (vaddr, PFN, paddr, map count, pagemap bits, kpageflags), like page-types -L
    #[arg(long)]
    pub(crate) pages: bool,

    /// List every physical run of each mapping (default: the first 8)
    #[arg(long)]
    pub(crate) runs: bool,

    /// Only mappings matching SPEC: [heap], a path or part of one, an address (0x...) or a range START-END in hex, as /proc/PID/maps prints it (0x on both ends or neither); repeatable
    #[arg(long = "mapping", short = 'm', value_name = "SPEC")]
    pub(crate) mappings: Vec<String>,

    /// Only pages with flag NAME: a kpageflags name (thp, ksm, huge, anonymous, ...) or a pagemap bit (present, swapped, exclusive, file, soft-dirty); ~NAME negates; repeatable, all must hold
    #[arg(long = "flag", short = 'f', value_name = "NAME")]
    pub(crate) flags: Vec<String>,

    /// JSON on stdout (with --pages: one JSON object per line)
    #[arg(long)]
    pub(crate) json: bool,

    /// Draw the virtual-to-physical picture as SVG into FILE (written whole or not at all)
    #[arg(long, value_name = "FILE", conflicts_with_all = ["json", "pages"])]
    pub(crate) svg: Option<std::path::PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct OwnerArgs {
    /// Physical address (hex with 0x, or decimal)
    #[arg(conflicts_with = "pfn")]
    pub(crate) paddr: Option<PhysAddr>,

    /// A page frame number instead of a physical address
    #[arg(long, value_name = "PFN")]
    pub(crate) pfn: Option<Pfn>,

    /// Only look in this process; repeatable
    #[arg(long = "pid", value_name = "PID")]
    pub(crate) pids: Vec<i64>,

    /// Scan every process even after the map count is accounted for
    #[arg(long)]
    pub(crate) all: bool,

    /// One JSON object on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

/// How `usage` groups pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum UsageByArg {
    /// A line per process (procrank)
    Process,
    /// A line per mapped file or kind of mapping, over all processes (librank)
    Mapping,
}

/// The column `usage` sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum UsageSortArg {
    Rss,
    Pss,
    Uss,
    Swap,
}

#[derive(Debug, Args)]
pub(crate) struct UsageArgs {
    /// Only this process; repeatable
    #[arg(long = "pid", value_name = "PID")]
    pub(crate) pids: Vec<i64>,

    /// Only the processes of this user (a name or a uid)
    #[arg(long, value_name = "USER")]
    pub(crate) user: Option<String>,

    /// A line per process, or per mapped file or kind of mapping
    #[arg(long = "by", value_enum, default_value_t = UsageByArg::Process)]
    pub(crate) by: UsageByArg,

    /// Sort by this column, largest first
    #[arg(long, value_enum, default_value_t = UsageSortArg::Pss)]
    pub(crate) sort: UsageSortArg,

    /// One JSON object on stdout
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct PhysmapArgs {
    /// Highlight every frame of this process (a physdemo target's variable is marked and named)
    #[arg(long, value_name = "PID")]
    pub(crate) pid: Option<i64>,

    /// Frames per cell [default: the smallest power of two that fits the terminal, or the picture]
    #[arg(long, value_name = "FRAMES", value_parser = parse_cell_arg)]
    pub(crate) cell: Option<u64>,

    /// One JSON object on stdout: the regions, the classified cells, the totals
    #[arg(long, conflicts_with = "svg")]
    pub(crate) json: bool,

    /// Draw the picture as SVG into FILE (written whole or not at all)
    #[arg(long, value_name = "FILE")]
    pub(crate) svg: Option<std::path::PathBuf>,
}

/// A cell size: a number of frames, at least one.
fn parse_cell_arg(text: &str) -> Result<u64, String> {
    match parse_u64_arg(text)? {
        0 => Err("a cell holds at least one frame".to_string()),
        frames => Ok(frames),
    }
}

/// A u64 from hex or decimal, with the parser's own explanation on failure.
pub(crate) fn parse_u64_arg(text: &str) -> Result<u64, String> {
    parse_u64(text).map_err(|e| e.to_string())
}

/// A physical address argument.
pub(crate) fn parse_phys_arg(text: &str) -> Result<PhysAddr, String> {
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

#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    /// Nothing (the running target), <pid> <vaddr>, or <paddr>
    #[arg(num_args = 0..=2, value_name = "ARGS")]
    pub(crate) args: Vec<String>,

    /// One value of this many bits: 8, 16, 32 or 64 (with --len: the width of each load). Required outside RAM, where each poll reads a device register [default: 64 for a process, 32 for a paddr]
    #[arg(long, value_name = "BITS", value_parser = parse_width_arg)]
    pub(crate) width: Option<Width>,

    /// Watch a range of this many bytes (at most 1 MiB), shown as hexdump -C lines
    #[arg(long, value_name = "BYTES", value_parser = parse_len_arg)]
    pub(crate) len: Option<u64>,

    /// Time between two reads: a number and a unit, us, ms or s (100us to 1h)
    #[arg(long, value_name = "DURATION", default_value = "100ms", value_parser = parse_interval)]
    pub(crate) interval: std::time::Duration,

    /// Stop after this many changes
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) count: Option<u64>,

    /// Stop once the value equals VALUE (a single value, not a --len range)
    #[arg(long, value_name = "VALUE", value_parser = parse_u64_arg)]
    pub(crate) until: Option<u64>,

    /// One JSON object per line on stdout (events "start", "change", "moved", "summary")
    #[arg(long)]
    pub(crate) json: bool,

    #[command(flatten)]
    pub(crate) symbol: SymbolArgs,

    #[command(flatten)]
    pub(crate) pci: PciArgs,

    #[command(flatten)]
    pub(crate) device: DeviceArgs,
}

/// A range length for `watch --len`: 1 byte to 1 MiB (the whole range is read at each poll).
fn parse_len_arg(text: &str) -> Result<u64, String> {
    match parse_u64_arg(text)? {
        0 => Err("a range holds at least one byte".to_string()),
        len if len > WATCH_MAX_LEN => Err(format!(
            "{len} bytes is more than watch reads at every poll (at most {WATCH_MAX_LEN}); `physdemo dump` shows a larger range once"
        )),
        len => Ok(len),
    }
}

/// The longest range `watch --len` polls: 1 MiB.
const WATCH_MAX_LEN: u64 = 1 << 20;

/// The shortest and the longest `--interval`.
const INTERVAL_RANGE: std::ops::RangeInclusive<std::time::Duration> =
    std::time::Duration::from_micros(100)..=std::time::Duration::from_secs(3600);

/// A duration with its unit: `500us`, `10ms`, `1.5s` (`µs` too), from 100 µs to 1 hour.
pub(crate) fn parse_interval(text: &str) -> Result<std::time::Duration, String> {
    let unit_at = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(unit_at);
    let nanos_per_unit = match unit {
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "" => {
            return Err(format!(
                "'{text}' has no unit: write e.g. 10ms, 500us or 1s"
            ))
        }
        _ => {
            return Err(format!(
                "'{text}' is not a duration: a number and us, ms or s, e.g. 10ms"
            ))
        }
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration: a number and us, ms or s, e.g. 10ms"))?;
    let interval = std::time::Duration::from_nanos((value * nanos_per_unit).round() as u64);
    if !INTERVAL_RANGE.contains(&interval) {
        return Err(format!(
            "an interval of {text} is out of range: from 100us to 3600s"
        ));
    }
    Ok(interval)
}

#[cfg(test)]
mod watch_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn intervals_need_a_unit_and_a_sane_size() {
        assert_eq!(parse_interval("10ms"), Ok(Duration::from_millis(10)));
        assert_eq!(parse_interval("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_interval("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_interval("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_interval("250µs"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_interval("3600s"), Ok(Duration::from_secs(3600)));
        for bad in [
            "0ms", "0", "10", "99us", "3601s", "1e3ms", "-1ms", "ms", "1.2.3s", "10 ms",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
        assert!(parse_interval("10").unwrap_err().contains("has no unit"));
        assert!(parse_interval("0ms").unwrap_err().contains("out of range"));
    }

    #[test]
    fn a_range_is_one_byte_to_one_mib() {
        assert_eq!(parse_len_arg("0x100"), Ok(256));
        assert_eq!(parse_len_arg("1048576"), Ok(1 << 20));
        assert!(parse_len_arg("0").is_err());
        assert!(parse_len_arg("1048577")
            .unwrap_err()
            .contains("physdemo dump"));
    }
}
