//! JSON output: one typed value per line.

use std::io::Write;

use anyhow::Result;
use serde::Serialize;

/// One JSON value and a newline; serialised first, so that a closed pipe surfaces as the
/// io::Error `main` treats as success.
pub fn write_json_line(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    let mut text = serde_json::to_vec(value)?;
    text.push(b'\n');
    out.write_all(&text)?;
    Ok(())
}
