//! One module per subcommand, each split the same way: *gather* (resolve and read what the
//! command needs), *report* (a value holding everything it will show), *render* (text or
//! `--json`). Each takes its typed options, built from the command line by [`crate::cli`];
//! none knows clap.

pub mod devmem;
pub mod dump;
pub mod inspect;
pub mod maps;
pub mod owner;
pub mod peek;
pub mod poke;
pub mod target;
