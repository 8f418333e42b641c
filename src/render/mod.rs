// SPDX-License-Identifier: MIT OR Apache-2.0
//! Output formatting shared by the commands: `hexdump -C` lines ([`hexdump`]), the `--pages`
//! listing ([`page_list`]), what peek and poke resolved ([`subject`]), the memory device an
//! access went through ([`device`]), units ([`units`]), the progress bar ([`progress`]), JSON
//! lines ([`json`]), and the pictures: `physmap`'s grid as text ([`physmap`]), SVG ([`svg`]:
//! the writer; [`pictures`]: physmap, maps, the translation), written whole or not at all
//! ([`file`]), and what changed in a range `watch` polls ([`watch`]). Pure functions of their input, except the progress bar, which draws on
//! stderr, and [`file`], which writes the picture.

pub(crate) mod device;
pub(crate) mod file;
pub(crate) mod hexdump;
pub(crate) mod json;
pub(crate) mod page_list;
pub(crate) mod physmap;
pub(crate) mod pictures;
pub(crate) mod progress;
pub(crate) mod subject;
pub(crate) mod svg;
pub(crate) mod units;
pub(crate) mod watch;
