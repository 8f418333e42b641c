//! Output formatting shared by the commands: `hexdump -C` lines ([`hexdump`]), the `--pages`
//! listing ([`page_list`]), what peek and poke resolved ([`subject`]), units ([`units`]), the
//! progress bar ([`progress`]) and JSON lines ([`json`]). Pure functions of their input,
//! except the progress bar, which draws on stderr.

pub mod hexdump;
pub mod json;
pub mod page_list;
pub mod progress;
pub mod subject;
pub mod units;
