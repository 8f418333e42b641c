//! Output formatting shared by the commands: `hexdump -C` lines ([`hexdump`]), the `--pages`
//! listing ([`page_list`]), what peek and poke resolved ([`subject`]), units ([`units`]), the
//! progress bar ([`progress`]) and JSON lines ([`json`]). Pure functions of their input,
//! except the progress bar, which draws on stderr.

pub(crate) mod hexdump;
pub(crate) mod json;
pub(crate) mod page_list;
pub(crate) mod progress;
pub(crate) mod subject;
pub(crate) mod units;
