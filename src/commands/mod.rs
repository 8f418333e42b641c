// SPDX-License-Identifier: MIT OR Apache-2.0
//! One module per subcommand, each split the same way: *gather* (resolve and read what the
//! command needs), *report* (a value holding everything it will show), *render* (text or
//! `--json`). Each takes its typed options, built from the command line by [`crate::cli`];
//! none knows clap.

pub mod devmem;
pub(crate) mod doctor;
pub(crate) mod dump;
pub(crate) mod explain;
pub(crate) mod inspect;
pub(crate) mod maps;
pub(crate) mod owner;
pub(crate) mod peek;
pub(crate) mod physmap;
pub(crate) mod poke;
pub(crate) mod port;
pub(crate) mod target;
pub(crate) mod usage;
pub(crate) mod watch;
