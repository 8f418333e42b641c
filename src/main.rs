//! The `physdemo` binary: parse the command line, run it, map the outcome to an exit code.
//!
//! Errors print as one line on stderr (`physdemo: error: …`, the whole cause chain joined
//! with `: `), never a backtrace; a closed stdout (`physdemo … | head`) is success.

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{CommandFactory, Parser};
use physdemo::cli::Cli;
use physdemo::error::{exit_kind_of, is_broken_pipe, output_failure, ExitKind};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => return clap_exit(err),
    };
    match physdemo::cli::run(cli) {
        Ok(code) => code,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let err = match output_failure(&err) {
                Some(full) => anyhow::Error::new(full),
                None => err,
            };
            eprintln!("physdemo: error: {err:#}");
            ExitCode::from(exit_kind_of(&err).code())
        }
    }
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
