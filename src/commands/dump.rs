//! `physdemo dump <paddr> <len>`: a hex dump of physical memory in `hexdump -C` layout.
//!
//! Any start and any length, in constant memory: the range is streamed one page at a time
//! ([`page_chunks`] is a lazy iterator; one mapping per page, see [`PhysMem::read_into`])
//! into a [`HexDumper`] ([`crate::render::hexdump`]), whose lines are `hexdump -C`'s; a run
//! of identical lines is shown once and then `*` (unless `--all`), and an empty range prints
//! nothing, as `hexdump -C -n 0` does. Addresses are the physical addresses themselves,
//! not offsets from the start. A range beyond the CPU's physical address bits is refused
//! before anything is printed; a read that fails midway names the first address that
//! failed and its /proc/iomem region ([`describe_stop`]). Device memory is read in whole
//! words (32-bit in a device region or with `--pci`, or `--width`'s), one load per word,
//! and then a note on stderr says how many loads of which width were made; stdout stays
//! exactly `hexdump -C`'s.

use std::io::Write;

use anyhow::Result;

use crate::error::{usage, UserError};
use crate::kernel::addr::{PageSize, PhysAddr};
use crate::kernel::iomem::{IomemMap, RegionKind};
use crate::physmem::access::{PartialRead, PhysMem};
use crate::physmem::device::DeviceOptions;
use crate::physmem::width::{encode_native, Width};
use crate::proc::iomem::{place_in_system_map, read_system_map};
use crate::render::hexdump::HexDumper;
use crate::resolve::register::{Register, RegisterRef};

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
fn check_load_range(addr: PhysAddr, len: u64, width: Width, why: &str) -> Result<(), UserError> {
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

/// Fills `out` (a multiple of the width's size, see [`check_load_range`]) from `addr` with
/// loads of `width`, one per word; on failure, says how many bytes were read before the
/// word that failed. No word is read twice.
fn read_words_into(
    mem: &PhysMem,
    addr: PhysAddr,
    width: Width,
    out: &mut [u8],
) -> Result<(), PartialRead> {
    let size = width.bytes();
    for (i, word) in out.chunks_mut(size).enumerate() {
        let at = PhysAddr(addr.0 + (size * i) as u64);
        let value = mem.read(at, width).map_err(|error| PartialRead {
            read: size * i,
            error,
        })?;
        word.copy_from_slice(&encode_native(value, width)[..word.len()]);
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

/// Where a dump starts: a physical address, or an offset into a `--pci` device's BAR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DumpFrom {
    Physical(PhysAddr),
    Register(RegisterRef),
}

/// What `dump` was asked.
#[derive(Debug, Clone)]
pub(crate) struct DumpOptions {
    pub(crate) from: DumpFrom,
    /// Bytes to show; the range fits in 64 bits.
    pub(crate) len: u64,
    /// Fold identical lines into `*` (everything but `--all`).
    pub(crate) squeeze: bool,
    /// Read with loads of this width; `None`: whole 32-bit words in a device region (when
    /// the range allows) or with `--pci`, else bytes.
    pub(crate) width: Option<Width>,
    pub(crate) device: DeviceOptions,
}

/// Runs `physdemo dump`.
pub(crate) fn run(options: &DumpOptions) -> Result<()> {
    let len = options.len;
    let (paddr, registers) = match &options.from {
        DumpFrom::Physical(paddr) => (*paddr, false),
        DumpFrom::Register(named) => (Register::resolve(named, len)?.paddr, true),
    };
    let placement = place_in_system_map(paddr);
    let mem = PhysMem::open(&options.device, false, paddr, placement.kind())?;
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
    let mut out = std::io::stdout().lock();
    let width = loads.as_ref().map(|(width, _)| *width);
    stream(&mem, paddr, len, width, options.squeeze, &mut out)?;
    if let Some((width, why)) = loads {
        if len > 0 {
            eprintln!("{}", loads_note(paddr, len, width, &why));
        }
    }
    Ok(())
}

/// Reads the range page by page into `hexdump -C` lines. A read that stops midway leaves
/// the bytes read on show, up to the address where they end, as hexdump shows a short
/// file; the error names that first address that failed and its region. Nothing is read
/// twice.
fn stream(
    mem: &PhysMem,
    paddr: PhysAddr,
    len: u64,
    words: Option<Width>,
    squeeze: bool,
    out: &mut impl Write,
) -> Result<()> {
    let page = PageSize::of_system();
    let mut dumper = HexDumper::new(paddr.0, squeeze);
    let mut buf = Vec::with_capacity(page.bytes() as usize);
    for (addr, len) in page_chunks(paddr.0, len, page) {
        buf.clear();
        buf.resize(len as usize, 0);
        let read = match words {
            Some(width) => read_words_into(mem, PhysAddr(addr), width, &mut buf),
            None => mem.read_into(PhysAddr(addr), &mut buf),
        };
        if let Err(stop) = read {
            dumper.push(&buf[..stop.read], out)?;
            dumper.finish(out)?;
            out.flush()?;
            let failed = PhysAddr(addr + stop.read as u64);
            let context = match read_system_map() {
                Ok(map) => describe_stop(&map, failed, page),
                Err(_) => format!("dump stopped at {failed}"),
            };
            return Err(stop.error.context(context));
        }
        dumper.push(&buf, out)?;
    }
    dumper.finish(out)?;
    out.flush()?;
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
