// SPDX-License-Identifier: MIT OR Apache-2.0
//! The SVG pictures: `physmap --svg` ([`physmap`]: RAM as a grid of classified cells),
//! `maps --svg` ([`maps`]: a process's mappings on a virtual axis, joined by bands to where
//! their frames lie in physical memory) and `inspect --svg` ([`translation`]: one virtual
//! address split into its page-table indices, the entry, the frame and the physical
//! address). Each is a pure function from a report to the SVG text, written with
//! [`crate::render::svg`].

pub(crate) mod maps;
pub(crate) mod physmap;
pub(crate) mod translation;
