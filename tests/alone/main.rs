// SPDX-License-Identifier: MIT OR Apache-2.0
//! Integration tests that must be the only `physdemo target`s on the machine: discovery
//! without a pid (`poke` with no arguments) looks at every process, so a target another
//! test started meanwhile would answer in the forger's place. Cargo runs test binaries one
//! after another, so none of `tests/it`'s targets (started by tests in parallel) is alive
//! while these run; a target the user left running is named, and the test fails.

#[allow(dead_code)]
#[path = "../it/common.rs"]
mod common;
mod forge;
