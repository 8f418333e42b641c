// SPDX-License-Identifier: MIT OR Apache-2.0
//! JSON output: one typed value per line.
//!
//! Every `--json` object is a `Serialize` struct or enum (the schema of each command is in
//! docs/json.md). Most are written in their declared field order ([`write_json_line`]);
//! those of `target`, `peek`, `poke` and the `maps --pages` mapping and total lines have
//! always listed their keys in alphabetical order, and keep doing so
//! ([`write_sorted_json_line`]).

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

/// One JSON value and a newline; serialised first, so that a closed pipe surfaces as the
/// io::Error `main` treats as success.
pub(crate) fn write_json_line(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    let mut text = serde_json::to_vec(value)?;
    text.push(b'\n');
    out.write_all(&text)?;
    Ok(())
}

/// As [`write_json_line`], with every object's keys in alphabetical order: the value goes
/// through `serde_json::Value`, whose map is sorted (serde_json without `preserve_order`).
pub(crate) fn write_sorted_json_line(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    write_json_line(out, &serde_json::to_value(value)?)
}
