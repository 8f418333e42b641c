// SPDX-License-Identifier: MIT OR Apache-2.0
//! physdemo: make physical memory visible from user space on Linux.
//!
//! The chain it demonstrates: a process's virtual address → its mapping in
//! `/proc/<pid>/maps` → its page-table entry in `/proc/<pid>/pagemap` → the physical frame
//! (PFN) → the physical address, which `/dev/mem` can read and write. The modules are layers,
//! each importing only those below it (ARCHITECTURE.md has the picture):
//!
//! - [`cli`]: the command line (the only module that knows clap), turned into typed options;
//! - [`commands`]: one module per subcommand, gather → report → render;
//! - [`resolve`]: from what a command names to a physical address, and what lies there;
//! - [`scan`]: the engine `maps` and `owner` share; [`render`]: output formatting;
//! - [`physmem`]: the /dev/mem access layer, its write policy and error explanations;
//! - [`proc`]: thin I/O over /proc and sysfs; [`kernel`]: pure decoders of kernel formats;
//! - [`sys`]: the only `unsafe` code; [`error`]: errors a user can act on, and exit codes.
#![deny(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod error;
pub mod kernel;
pub mod physmem;
pub(crate) mod proc;
pub(crate) mod render;
pub mod resolve;
pub mod scan;
pub(crate) mod sys;
