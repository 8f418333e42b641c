// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: whole command lines (arguments separated by NUL bytes) through physdemo's
//! clap definition. Parsing any argv must never panic; it parses or it is a usage error.
#![no_main]

use clap::Parser;
use libfuzzer_sys::fuzz_target;
use physdemo::cli::Cli;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let args = std::iter::once("physdemo").chain(text.split('\0'));
    let _ = Cli::try_parse_from(args);
});
