// SPDX-License-Identifier: MIT OR Apache-2.0
//! `physdemo dump <paddr> <len>`: a hex dump of physical memory in `hexdump -C` layout.
//!
//! Any start and any length, in constant memory: the range is streamed in batches of 1 MiB
//! ([`page_chunks`] is a lazy iterator; one mapping or one `pread` per batch, RAM copied
//! in aligned 64-bit loads, see [`PhysMem::read_into`]) into a [`HexDumper`]
//! ([`crate::render::hexdump`]), whose lines are `hexdump -C`'s, built with table lookups in
//! one reused buffer; a run
//! of identical lines is shown once and then `*` (unless `--all`), and an empty range prints
//! nothing, as `hexdump -C -n 0` does. Addresses are the physical addresses themselves,
//! not offsets from the start. A range beyond the CPU's physical address bits is refused
//! before anything is printed; a read that fails midway names the first address that
//! failed and its /proc/iomem region ([`describe_stop`]); a batch whose mapping is refused
//! is read again page by page for that. A bus error ends the process in the SIGBUS guard
//! (naming the address that faulted), after the lines of the batches before it. Device memory is read in whole
//! words (32-bit in a device region or with `--pci`, or `--width`'s), one load per word,
//! and then a note on stderr says how many loads of which width were made; stdout stays
//! exactly `hexdump -C`'s. `--raw` writes the bytes themselves (never to a terminal), and
//! `--output FILE` writes either to a file that appears whole or not at all. `--symbol
//! NAME[+OFF]` starts at a variable of the kernel image ([`crate::resolve::symbol`]) and,
//! without a length, shows it to the next symbol (at most [`SYMBOL_MAX`] bytes); a note on
//! stderr names it.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::error::{usage, UserError};
use crate::kernel::addr::{PageSize, PhysAddr};
use crate::kernel::iomem::{IomemMap, RegionKind};
use crate::physmem::access::{PartialRead, PhysMem};
use crate::physmem::device::DeviceOptions;
use crate::physmem::width::Width;
use crate::proc::iomem::{place_in_system_map, read_system_map};
use crate::render::device::DeviceUsed;
use crate::render::file::OutputFile;
use crate::render::hexdump::HexDumper;
use crate::resolve::register::{Register, RegisterRef};
use crate::resolve::symbol::{self, SymbolLocation, SymbolRef};

/// The pieces of `[start, start + len)` split at page boundaries, `(address, length)`,
/// produced one at a time: nothing is stored, whatever the length.
#[derive(Debug, Clone)]
pub(crate) struct PageChunks {
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
pub(crate) fn page_chunks(start: u64, len: u64, page: PageSize) -> PageChunks {
    PageChunks {
        next: start,
        end: start.saturating_add(len),
        page,
    }
}

/// Where a dump stopped: the first address that failed, its /proc/iomem region, and, when
/// the page holding it is shared by several top-level regions (the kernel's read() refuses
/// such a mixed page whole), the other regions in that page.
pub(crate) fn describe_stop(map: &IomemMap, addr: PhysAddr, page: PageSize) -> String {
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

/// Device registers are read whole: `len` bytes at `addr` as loads of `width`, both
/// multiples of its size (QEMU's `edu`, like many devices, answers only 32- and 64-bit
/// accesses, so a byte-by-byte copy would show zeros). This refuses a range that cannot be
/// read so; `why` says what asked for whole loads (`--pci`, `--width`).
pub(crate) fn check_load_range(
    addr: PhysAddr,
    len: u64,
    width: Width,
    why: &str,
) -> Result<(), UserError> {
    let bytes = width.bytes() as u64;
    if addr.0 % bytes != 0 || len % bytes != 0 {
        return Err(usage(format!(
            "{why} reads {width} words: {addr} and {len} bytes must be multiples of {bytes}"
        ))
        .hint(format!(
            "round the start down and the length up to a multiple of {bytes}"
        )));
    }
    Ok(())
}

/// The note a dump read in whole words ends with, on stderr (stdout stays exactly
/// `hexdump -C`'s): how many loads of which width it made, and why.
fn loads_note(addr: PhysAddr, len: u64, width: Width, why: &str) -> String {
    format!(
        "physdemo: dump: {} {width} reads from {addr}, one per word, none repeated ({why})",
        len / width.bytes() as u64
    )
}

/// Where a dump starts: a physical address, an offset into a `--pci` device's BAR, or a
/// kernel symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DumpFrom {
    Physical(PhysAddr),
    Register(RegisterRef),
    Symbol(SymbolRef),
}

/// The most `dump --symbol NAME` shows without a length, 16 lines: kallsyms gives no
/// sizes, only the distance to the next symbol, which can be large (strings and the
/// section's end are no symbols: linux_banner is followed by 900 KB without one).
pub(crate) const SYMBOL_MAX: u64 = 256;
/// What `dump --symbol NAME` shows of the image's last symbol, whose size is unknown.
const SYMBOL_UNSIZED: u64 = 64;

/// The length a `dump --symbol` shows: the one given, else the rest of the symbol (to the
/// next one), at most [`SYMBOL_MAX`].
fn symbol_len(symbol: &SymbolLocation, given: Option<u64>) -> Result<u64, UserError> {
    let len = given.unwrap_or_else(|| {
        symbol
            .remaining()
            .map_or(SYMBOL_UNSIZED, |left| left.min(SYMBOL_MAX))
    });
    if symbol.paddr.0.checked_add(len).is_none() {
        return Err(usage(format!(
            "{} + {len:#x} bytes runs past the end of the 64-bit address space",
            symbol.paddr
        ))
        .hint("give a smaller length"));
    }
    Ok(len)
}

/// What `dump` was asked.
#[derive(Debug, Clone)]
pub(crate) struct DumpOptions {
    pub(crate) from: DumpFrom,
    /// Bytes to show (the range fits in 64 bits); `None` only with a symbol: to its end.
    pub(crate) len: Option<u64>,
    /// Fold identical lines into `*` (everything but `--all`).
    pub(crate) squeeze: bool,
    /// Read with loads of this width; `None`: whole 32-bit words in a device region (when
    /// the range allows) or with `--pci`, else bytes.
    pub(crate) width: Option<Width>,
    /// The bytes themselves (`--raw`), not `hexdump -C` lines.
    pub(crate) raw: bool,
    /// Written whole to this file (`--output`) instead of stdout.
    pub(crate) output: Option<PathBuf>,
    pub(crate) device: DeviceOptions,
}

/// Bytes are read in batches of this many (at batch boundaries), each one mapping or one
/// `pread`; the lines of each batch reach the output before the next is read.
const BATCH: u64 = 1 << 20;

/// Where the dump goes: stdout (its file descriptor, written in large pieces), or a file
/// written whole or not at all.
enum Destination {
    Stdout(File),
    File(OutputFile),
}

impl Destination {
    /// Checks the destination before anything is read: `--raw` bytes are not sent to a
    /// terminal; a bad `--output` path fails at once.
    fn open(options: &DumpOptions) -> Result<Destination> {
        if let Some(path) = &options.output {
            return Ok(Destination::File(OutputFile::create_for(path, "--output")?));
        }
        let stdout = std::io::stdout();
        if options.raw && stdout.is_terminal() {
            return Err(
                usage("dump --raw writes the bytes themselves, and stdout is a terminal")
                    .hint("redirect stdout (> FILE, | xxd) or give --output FILE")
                    .into(),
            );
        }
        let fd = stdout.as_fd().try_clone_to_owned().context("stdout")?;
        Ok(Destination::Stdout(File::from(fd)))
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Destination::Stdout(file) => file,
            Destination::File(file) => file,
        }
    }

    /// Puts a `--output` file in place; stdout has nothing left to do.
    fn finish(self) -> Result<()> {
        match self {
            Destination::Stdout(_) => Ok(()),
            Destination::File(file) => file.finish(),
        }
    }
}

/// What the bytes become: `hexdump -C` lines, or themselves (`--raw`).
enum Shape {
    Lines(HexDumper),
    Raw,
}

impl Shape {
    fn push(&mut self, bytes: &[u8], out: &mut dyn Write) -> std::io::Result<()> {
        match self {
            Shape::Lines(dumper) => dumper.push(bytes, out),
            Shape::Raw => out.write_all(bytes),
        }
    }

    fn finish(self, out: &mut dyn Write) -> std::io::Result<()> {
        match self {
            Shape::Lines(dumper) => dumper.finish(out),
            Shape::Raw => Ok(()),
        }?;
        out.flush()
    }
}

/// Runs `physdemo dump`.
pub(crate) fn run(options: &DumpOptions) -> Result<()> {
    let (paddr, len, registers, named) = start(options)?;
    let placement = place_in_system_map(paddr);
    let mem = PhysMem::open(&options.device, false, paddr)?;
    // The whole range, not just its start, must be addressable: refuse before printing.
    mem.check_reachable(paddr, len)?;
    // Device registers often answer only whole-word reads (edu gives zeros to byte reads):
    // with --pci, or in a device region when the range allows, read 32-bit words.
    let device_words =
        placement.kind() == Some(RegionKind::Device) && paddr.0 % 4 == 0 && len % 4 == 0;
    let loads = match options.width {
        Some(width) => Some((width, format!("--width {}", width.bits()))),
        None if registers => Some((Width::W32, "dump --pci".to_string())),
        None if device_words => Some((Width::W32, "a device region".to_string())),
        None => None,
    };
    if let Some((width, why)) = &loads {
        check_load_range(paddr, len, *width, why)?;
    }
    let mut destination = Destination::open(options)?;
    let shape = match options.raw {
        true => Shape::Raw,
        false => Shape::Lines(HexDumper::new(paddr.0, options.squeeze)),
    };
    let width = loads.as_ref().map(|(width, _)| *width);
    stream(&mem, paddr, len, width, shape, destination.writer())?;
    destination.finish()?;
    if let Some((width, why)) = loads {
        if len > 0 {
            eprintln!("{}", loads_note(paddr, len, width, &why));
        }
    }
    if let Some(note) = named {
        eprintln!("{note}");
    }
    // stdout is hexdump's; that /dev/mem was gone around goes to stderr.
    if let Some(note) = DeviceUsed::of(&mem).note() {
        eprintln!("{note}");
    }
    Ok(())
}

/// Where the dump starts and how long it is, whether it reads a `--pci` device's registers,
/// and, for a symbol, the note naming it.
fn start(options: &DumpOptions) -> Result<(PhysAddr, u64, bool, Option<String>)> {
    let len = options.len.unwrap_or(0);
    Ok(match &options.from {
        DumpFrom::Physical(paddr) => (*paddr, len, false, None),
        DumpFrom::Register(named) => (Register::resolve(named, len)?.paddr, len, true, None),
        DumpFrom::Symbol(named) => {
            let symbol = symbol::locate(named)?;
            let len = symbol_len(&symbol, options.len)?;
            let cut = options.len.is_none() && symbol.remaining().is_none_or(|left| left > len);
            let note = format!(
                "physdemo: dump: {len} bytes of {}, physical {}{}",
                symbol.describe(),
                symbol.paddr,
                if cut { "; give LEN for more" } else { "" }
            );
            (symbol.paddr, len, false, Some(note))
        }
    })
}

/// Fills `buf` from `addr`: bytes in the widest loads RAM allows, or loads of `words`.
/// A batch over more than one page that fails before its first byte (a mapping refused,
/// or a pread that /dev/mem fails whole because one of its pages cannot be copied) is read
/// again page by page, so that the failure names its first address and the pages before
/// it are shown.
fn read_batch(
    mem: &PhysMem,
    addr: u64,
    words: Option<Width>,
    buf: &mut [u8],
    page: PageSize,
) -> Result<(), PartialRead> {
    let read = |at: u64, into: &mut [u8]| match words {
        Some(width) => mem.read_words_into(PhysAddr(at), width, into),
        None => mem.read_into(PhysAddr(at), into),
    };
    match read(addr, buf) {
        Err(stop) if stop.read == 0 && addr % page.bytes() + buf.len() as u64 > page.bytes() => {
            let mut done = 0;
            for (at, n) in page_chunks(addr, buf.len() as u64, page) {
                let n = n as usize;
                read(at, &mut buf[done..done + n]).map_err(|stop| PartialRead {
                    read: done + stop.read,
                    error: stop.error,
                })?;
                done += n;
            }
            Ok(())
        }
        other => other,
    }
}

/// Reads the range in batches into `hexdump -C` lines (or the raw bytes). A read that
/// stops midway leaves the bytes read on show, up to the address where they end, as
/// hexdump shows a short file; the error names that first address that failed and its
/// region. Nothing is read twice.
fn stream(
    mem: &PhysMem,
    paddr: PhysAddr,
    len: u64,
    words: Option<Width>,
    mut shape: Shape,
    out: &mut dyn Write,
) -> Result<()> {
    let page = PageSize::of_system();
    // Both are powers of two, so the larger is one; the page itself is the fallback.
    let batch = PageSize::new(BATCH.max(page.bytes())).unwrap_or(page);
    let mut buf = vec![0u8; len.min(batch.bytes()) as usize];
    for (addr, n) in page_chunks(paddr.0, len, batch) {
        let buf = &mut buf[..n as usize];
        if let Err(stop) = read_batch(mem, addr, words, buf, page) {
            shape.push(&buf[..stop.read], out)?;
            shape.finish(out)?;
            let failed = PhysAddr(addr + stop.read as u64);
            let context = match read_system_map() {
                Ok(map) => describe_stop(&map, failed, page),
                Err(_) => format!("dump stopped at {failed}"),
            };
            return Err(stop.error.context(context));
        }
        shape.push(buf, out)?;
    }
    shape.finish(out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
