//! physdemo: make physical memory visible from user space on Linux.
//!
//! The chain it demonstrates: a process's virtual address → its mapping in
//! `/proc/<pid>/maps` → its page-table entry in `/proc/<pid>/pagemap` → the physical frame
//! (PFN) → the physical address, which `/dev/mem` can read and write. Each step is a module
//! of pure decoding with thin I/O around it; [`run`] dispatches the command line.
#![deny(unsafe_code)]

pub mod addr;
pub mod cli;
pub mod devmem;
pub mod dump;
pub mod ecam;
pub mod error;
pub mod explore;
pub mod inspect;
pub mod iomem;
pub mod kpage;
pub mod owner;
pub mod pagemap;
pub mod pci;
pub mod physmem;
pub mod poke;
pub mod process;
pub mod progress;
pub mod rawmem;
pub mod runs;
pub mod target;
pub mod targets;
pub mod u64file;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use clap::CommandFactory;

use crate::cli::{Cli, ColorChoice, Command, InspectArgs};
use crate::process::validate_pid;

/// Runs one parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.color {
        ColorChoice::Always => owo_colors::set_override(true),
        ColorChoice::Never => owo_colors::set_override(false),
        ColorChoice::Auto => {}
    }
    match cli.command {
        Command::Target(args) => target::run(&args)?,
        Command::Inspect(args) => run_inspect(&args)?,
        Command::Maps(args) => explore::run(&explore::options_from_args(
            args.pid,
            args.pages,
            args.runs,
            &args.mappings,
            &args.flags,
            args.json,
        )?)?,
        Command::Owner(args) => owner::run(&owner::options_from_args(
            args.paddr, args.pfn, &args.pids, args.all, args.json,
        )?)?,
        Command::Poke(args) => poke::run_poke(&args)?,
        Command::Peek(args) => poke::run_peek(&args)?,
        Command::Dump(args) => dump::run(&args)?,
        Command::Devmem(args) => devmem::run(&args)?,
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "physdemo",
                &mut std::io::stdout(),
            );
        }
        Command::Man => {
            clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn run_inspect(args: &InspectArgs) -> Result<()> {
    let pid = validate_pid(args.pid)?;
    let vaddr = match args.vaddr {
        Some(vaddr) => vaddr,
        None => targets::locate(pid)?.value_addr,
    };
    let resolution = inspect::resolve(pid, vaddr)?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &inspect::InspectJson::from(&resolution))?;
        writeln!(out)?;
    } else {
        inspect::render_human(&resolution, &mut out)?;
    }
    out.flush()?;
    resolution.require_paddr()?;
    Ok(())
}
