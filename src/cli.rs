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
        after_help = "Examples:\n  sudo physdemo inspect 1234 0x7f3a5c1b2040\n  sudo physdemo inspect 1234          # a physdemo target's own variable\n  sudo physdemo inspect 1234 0x7f3a5c1b2040 --json"
    )]
    Inspect(InspectArgs),

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
    #[arg(long, default_value_t = 200, value_name = "MICROSECONDS", value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
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
