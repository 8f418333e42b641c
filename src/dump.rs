//! `physdemo dump <paddr> <len>`: a hex dump of physical memory in `hexdump -C` layout.
//!
//! Any start and any length, in constant memory: the range is streamed one page at a time
//! ([`page_chunks`] is a lazy iterator; one mapping per page, see [`PhysMem::read_into`])
//! into a [`HexDumper`], which is pure formatting and holds at most two lines. Its lines
//! are `hexdump -C`'s: the address (at least 8 hex digits), sixteen bytes in two groups of
//! eight, and the printable ASCII between bars; a run of identical lines is shown once and
//! then `*` (unless `--all`), and a last line gives the end address; an empty range prints
//! nothing, as `hexdump -C -n 0` does. Addresses are the physical addresses themselves,
//! not offsets from the start. A range beyond the CPU's physical address bits is refused
//! before anything is printed; a read that fails midway names the first address that
//! failed and its /proc/iomem region ([`describe_stop`]).

use std::io::Write;

use anyhow::Result;

use crate::addr::{PageSize, PhysAddr};
use crate::cli::DumpArgs;
use crate::error::usage;
use crate::iomem::{place_in_system_map, IomemMap, RegionKind};
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
    start: u64,
    next_addr: u64,
    pending: Vec<u8>,
    previous: Option<Vec<u8>>,
    in_repeat: bool,
    squeeze: bool,
}

impl HexDumper {
    pub fn new(start: u64, squeeze: bool) -> Self {
        HexDumper {
            start,
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

    /// Prints the last partial line and the end address; nothing at all when no byte came,
    /// as `hexdump -C -n 0`.
    pub fn finish(mut self, out: &mut impl Write) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            self.emit(out)?;
        }
        if self.next_addr == self.start {
            return Ok(());
        }
        writeln!(out, "{:08x}", self.next_addr)
    }
}

/// The pieces of `[start, start + len)` split at page boundaries, `(address, length)`,
/// produced one at a time: nothing is stored, whatever the length.
#[derive(Debug, Clone)]
pub struct PageChunks {
    next: u64,
    end: u64,
    page: PageSize,
}

impl Iterator for PageChunks {
    type Item = (u64, u64);

    fn next(&mut self) -> Option<(u64, u64)> {
        if self.next >= self.end {
            return None;
        }
        let page_end = self
            .page
            .page_base(self.next)
            .saturating_add(self.page.bytes());
        let chunk_end = page_end.min(self.end);
        let chunk = (self.next, chunk_end - self.next);
        self.next = chunk_end;
        Some(chunk)
    }
}

/// Splits `[start, start + len)` at page boundaries, lazily.
pub fn page_chunks(start: u64, len: u64, page: PageSize) -> PageChunks {
    PageChunks {
        next: start,
        end: start.saturating_add(len),
        page,
    }
}

/// Where a dump stopped: the first address that failed, its /proc/iomem region, and, when
/// the page holding it is shared by several top-level regions (the kernel's read() refuses
/// such a mixed page whole), the other regions in that page.
pub fn describe_stop(map: &IomemMap, addr: PhysAddr, page: PageSize) -> String {
    let mut text = format!("dump stopped at {addr}, in {}", map.place(addr).describe());
    if map.is_hidden() {
        return text;
    }
    let first = page.page_base(addr.0);
    let last = first.saturating_add(page.bytes() - 1);
    let others: Vec<String> = map
        .regions
        .iter()
        .filter(|r| r.depth == 0 && r.start <= last && first <= r.end && !r.contains(addr.0))
        .map(|r| r.to_string())
        .collect();
    if !others.is_empty() {
        text.push_str(&format!(
            "; its page {first:#x}-{last:#x} also holds {}",
            others.join(" and ")
        ));
    }
    text
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
    // The whole range, not just its start, must be addressable: refuse before printing.
    mem.check_reachable(paddr, args.len)?;
    let mut out = std::io::stdout().lock();
    // Device registers often answer only whole-word reads (edu gives zeros to byte reads):
    // with --pci, or in a device region when the range allows, read 32-bit words.
    let device_words =
        placement.kind() == Some(RegionKind::Device) && paddr.0 % 4 == 0 && args.len % 4 == 0;
    let as_words = args.pci.pci.is_some() || device_words;
    if as_words {
        pci::check_word_range(paddr, args.len)?;
    }
    let page = PageSize::of_system();
    let mut dumper = HexDumper::new(paddr.0, !args.all);
    let mut buf = Vec::with_capacity(page.bytes() as usize);
    for (addr, len) in page_chunks(paddr.0, args.len, page) {
        buf.clear();
        buf.resize(len as usize, 0);
        let read = if as_words {
            pci::read_words_into(&mem, PhysAddr(addr), &mut buf)
        } else {
            mem.read_into(PhysAddr(addr), &mut buf)
        };
        if let Err(stop) = read {
            // The bytes read stand, up to the address where they end, as hexdump shows a
            // short file; the error names that first address that failed and its region.
            // Nothing is read twice.
            dumper.push(&buf[..stop.read], &mut out)?;
            dumper.finish(&mut out)?;
            out.flush()?;
            let failed = PhysAddr(addr + stop.read as u64);
            let context = match IomemMap::read_system() {
                Ok(map) => describe_stop(&map, failed, page),
                Err(_) => format!("dump stopped at {failed}"),
            };
            return Err(stop.error.context(context));
        }
        dumper.push(&buf, &mut out)?;
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
    }

    #[test]
    fn an_empty_range_prints_nothing_like_hexdump_n_0() {
        assert_eq!(dump(0x20, &[], true), "");
        assert_eq!(dump(0x20, &[], false), "");
        assert_eq!(
            dump(0x20, b"A", true),
            "00000020  41                                                |A|\n00000021\n"
        );
    }

    #[test]
    fn splits_ranges_at_page_boundaries() {
        let page = PageSize::new(4096).unwrap();
        let chunks = |start, len| page_chunks(start, len, page).collect::<Vec<_>>();
        assert_eq!(chunks(0x1ff8, 16), [(0x1ff8, 8), (0x2000, 8)]);
        assert_eq!(chunks(0x1000, 4096), [(0x1000, 4096)]);
        assert_eq!(
            chunks(0x0fff, 4098),
            [(0x0fff, 1), (0x1000, 4096), (0x2000, 1)]
        );
        assert!(chunks(0x1000, 0).is_empty());
    }

    #[test]
    fn page_chunks_of_any_length_cost_nothing_up_front() {
        // 2^52 pages: the chunks come one at a time, none is stored
        let page = PageSize::new(4096).unwrap();
        let mut chunks = page_chunks(0x10, u64::MAX - 0x10, page);
        assert_eq!(chunks.next(), Some((0x10, 0xff0)));
        assert_eq!(chunks.nth(1_000_000), Some((0xf424_1000, 4096)));
        assert_eq!(std::mem::size_of_val(&chunks), 24);
        let mut last = page_chunks(u64::MAX - 0x1800, 0x1800, page);
        assert_eq!(last.next(), Some((u64::MAX - 0x1800, 0x801)));
        assert_eq!(last.next(), Some((u64::MAX - 0xfff, 0xfff)));
        assert_eq!(last.next(), None);
    }

    #[test]
    fn a_stop_names_the_address_its_region_and_a_mixed_page() {
        // the VM's low memory: RAM ends inside page 0x9f000, where Reserved begins
        let map = IomemMap::parse(
            b"00000000-00000fff : Reserved\n00001000-0009fbff : System RAM\n\
              0009fc00-000fffff : Reserved\n  000f0000-000fffff : System ROM\n",
        )
        .unwrap();
        let page = PageSize::new(4096).unwrap();
        assert_eq!(
            describe_stop(&map, PhysAddr(0x9fbf0), page),
            "dump stopped at 0x9fbf0, in System RAM [0x1000-0x9fbff]; \
             its page 0x9f000-0x9ffff also holds Reserved [0x9fc00-0xfffff]"
        );
        assert_eq!(
            describe_stop(&map, PhysAddr(0x9fc00), page),
            "dump stopped at 0x9fc00, in Reserved [0x9fc00-0xfffff]; \
             its page 0x9f000-0x9ffff also holds System RAM [0x1000-0x9fbff]"
        );
        assert_eq!(
            describe_stop(&map, PhysAddr(0x5000), page),
            "dump stopped at 0x5000, in System RAM [0x1000-0x9fbff]"
        );
        assert_eq!(
            describe_stop(&map, PhysAddr(0x20_0000), page),
            "dump stopped at 0x200000, in no region of /proc/iomem"
        );
    }
}
