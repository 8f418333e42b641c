//! `physdemo dump <paddr> <len>`: a hex dump of physical memory in `hexdump -C` layout.
//!
//! Any start and any length: the range is read page by page (one mapping per page, see
//! [`PhysMem::read_bytes`]) and fed to a [`HexDumper`], which is pure formatting. Its lines
//! are `hexdump -C`'s: the address (at least 8 hex digits), sixteen bytes in two groups of
//! eight, and the printable ASCII between bars; a run of identical lines is shown once and
//! then `*` (unless `--all`), and a last line gives the end address. Addresses are the
//! physical addresses themselves, not offsets from the start.

use std::io::Write;

use anyhow::Result;

use crate::addr::{PageSize, PhysAddr};
use crate::cli::DumpArgs;
use crate::error::usage;
use crate::iomem::{place_in_system_map, RegionKind};
use crate::pci;
use crate::physmem::{DeviceOptions, PhysMem};

const PER_LINE: usize = 16;

/// One `hexdump -C` line for up to sixteen bytes at `addr`.
pub fn format_line(addr: u64, bytes: &[u8]) -> String {
    let mut line = format!("{addr:08x} ");
    for i in 0..PER_LINE {
        if i % 8 == 0 {
            line.push(' ');
        }
        match bytes.get(i) {
            Some(b) => line.push_str(&format!("{b:02x} ")),
            None => line.push_str("   "),
        }
    }
    line.push_str(" |");
    line.extend(bytes.iter().map(|&b| {
        if (0x20..0x7f).contains(&b) {
            b as char
        } else {
            '.'
        }
    }));
    line.push('|');
    line
}

/// Streams bytes into `hexdump -C` lines, folding repeats into `*`.
pub struct HexDumper {
    next_addr: u64,
    pending: Vec<u8>,
    previous: Option<Vec<u8>>,
    in_repeat: bool,
    squeeze: bool,
}

impl HexDumper {
    pub fn new(start: u64, squeeze: bool) -> Self {
        HexDumper {
            next_addr: start,
            pending: Vec::with_capacity(PER_LINE),
            previous: None,
            in_repeat: false,
            squeeze,
        }
    }

    /// Adds bytes that follow the ones already pushed.
    pub fn push(&mut self, mut bytes: &[u8], out: &mut impl Write) -> std::io::Result<()> {
        while !bytes.is_empty() {
            let take = (PER_LINE - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == PER_LINE {
                self.emit(out)?;
            }
        }
        Ok(())
    }

    fn emit(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        let line = std::mem::take(&mut self.pending);
        let repeat = self.squeeze
            && line.len() == PER_LINE
            && self.previous.as_deref() == Some(line.as_slice());
        if repeat {
            if !self.in_repeat {
                writeln!(out, "*")?;
                self.in_repeat = true;
            }
        } else {
            writeln!(out, "{}", format_line(self.next_addr, &line))?;
            self.in_repeat = false;
        }
        self.next_addr += line.len() as u64;
        self.previous = Some(line);
        Ok(())
    }

    /// Prints the last partial line and the end address.
    pub fn finish(mut self, out: &mut impl Write) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            self.emit(out)?;
        }
        writeln!(out, "{:08x}", self.next_addr)
    }
}

/// Splits `[start, start + len)` at page boundaries.
pub fn page_chunks(start: u64, len: u64, page: PageSize) -> Vec<(u64, u64)> {
    let mut chunks = Vec::new();
    let mut addr = start;
    let end = start.saturating_add(len);
    while addr < end {
        let page_end = page.page_base(addr).saturating_add(page.bytes());
        let chunk_end = page_end.min(end);
        chunks.push((addr, chunk_end - addr));
        addr = chunk_end;
    }
    chunks
}

/// Runs `physdemo dump`.
pub fn run(args: &DumpArgs) -> Result<()> {
    if args.paddr.0.checked_add(args.len).is_none() {
        return Err(usage(format!(
            "{} + {:#x} bytes runs past the end of the 64-bit address space",
            args.paddr, args.len
        ))
        .hint("give a smaller length")
        .into());
    }
    let paddr = pci::resolve_range(&args.pci, args.paddr, args.len)?;
    let options = DeviceOptions {
        path: args.device.device.clone(),
        cached: args.device.cached,
        method: args.device.method,
    };
    let placement = place_in_system_map(paddr);
    let mem = PhysMem::open(&options, false, paddr, placement.kind())?;
    let mut out = std::io::stdout().lock();
    // Device registers often answer only whole-word reads (edu gives zeros to byte reads):
    // with --pci, or in a device region when the range allows, read 32-bit words.
    let device_words =
        placement.kind() == Some(RegionKind::Device) && paddr.0 % 4 == 0 && args.len % 4 == 0;
    let as_words = args.pci.pci.is_some() || device_words;
    let mut dumper = HexDumper::new(paddr.0, !args.all);
    for (addr, len) in page_chunks(paddr.0, args.len, PageSize::of_system()) {
        let bytes = if as_words {
            pci::read_words(&mem, PhysAddr(addr), len)?
        } else {
            mem.read_bytes(PhysAddr(addr), len as usize)?
        };
        dumper.push(&bytes, &mut out)?;
    }
    dumper.finish(&mut out)?;
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(start: u64, bytes: &[u8], squeeze: bool) -> String {
        let mut out = Vec::new();
        let mut dumper = HexDumper::new(start, squeeze);
        // push in awkward pieces: the output must not depend on them
        for piece in bytes.chunks(7) {
            dumper.push(piece, &mut out).unwrap();
        }
        dumper.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lays_out_lines_like_hexdump_c() {
        // `printf 'Hello world.\n' | hexdump -C`
        assert_eq!(
            dump(0, b"Hello world.\n", true),
            "00000000  48 65 6c 6c 6f 20 77 6f  72 6c 64 2e 0a           |Hello world..|\n0000000d\n"
        );
        let full: Vec<u8> = (0x41..0x51).collect();
        assert_eq!(
            format_line(0x1ff8, &full),
            "00001ff8  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|"
        );
        assert_eq!(
            format_line(0x1_0000_0000, &[0x00, 0x7f, 0x20]),
            "100000000  00 7f 20                                          |.. |"
        );
    }

    #[test]
    fn folds_repeated_lines_unless_asked_not_to() {
        let mut bytes = vec![0u8; 64];
        bytes.extend_from_slice(b"x");
        assert_eq!(
            dump(0x1000, &bytes, true),
            "00001000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n*\n\
             00001040  78                                                |x|\n00001041\n"
        );
        assert_eq!(dump(0x1000, &bytes, false).lines().count(), 6);
        assert_eq!(dump(0x20, &[], true), "00000020\n");
    }

    #[test]
    fn splits_ranges_at_page_boundaries() {
        let page = PageSize::new(4096).unwrap();
        assert_eq!(page_chunks(0x1ff8, 16, page), [(0x1ff8, 8), (0x2000, 8)]);
        assert_eq!(page_chunks(0x1000, 4096, page), [(0x1000, 4096)]);
        assert_eq!(
            page_chunks(0x0fff, 4098, page),
            [(0x0fff, 1), (0x1000, 4096), (0x2000, 1)]
        );
        assert!(page_chunks(0x1000, 0, page).is_empty());
    }
}
