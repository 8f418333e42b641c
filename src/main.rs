// SPDX-License-Identifier: MIT OR Apache-2.0
//! The `physdemo` binary: parse the command line, run it, map the outcome to an exit code.
//!
//! Errors print as one line on stderr (`physdemo: error: …`, the whole cause chain joined
//! with `: `), never a backtrace; a closed stdout (`physdemo … | head`) is success. The
//! command line is [`physdemo::cli`]'s to parse (a usage error is one line there too).

use std::process::ExitCode;

use physdemo::error::{exit_kind_of, is_broken_pipe, output_failure};

fn main() -> ExitCode {
    let cli = match physdemo::cli::parse() {
        Ok(cli) => cli,
        Err(code) => return code,
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
