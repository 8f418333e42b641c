//! The `physdemo` binary: parse the command line, run it, map the outcome to an exit code.
//!
//! Errors print as one line on stderr (`physdemo: error: …`, the whole cause chain joined
//! with `: `), never a backtrace; a closed stdout (`physdemo … | head`) is success.

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::Parser;
use physdemo::cli::Cli;
use physdemo::error::{exit_kind_of, is_broken_pipe, ExitKind};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_exit(err),
    };
    match physdemo::run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("physdemo: error: {err:#}");
            ExitCode::from(exit_kind_of(&err).code())
        }
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
            let rendered = err.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("invalid command line")
                .trim_start_matches("error: ");
            eprintln!("physdemo: error: {first} (see `physdemo --help`)");
            ExitCode::from(ExitKind::Usage.code())
        }
    }
}
