// SPDX-License-Identifier: MIT OR Apache-2.0
//! /proc/kcore's ELF header and program headers: which file offset holds a physical address.
//!
//! /proc/kcore is an ELF64 core file the kernel makes up as it is read (`fs/proc/kcore.c`,
//! 6.1, `read_kcore_iter`): an `ET_CORE` header, one `PT_NOTE` and one `PT_LOAD` per entry
//! of its `kclist` — the kernel text (`KCORE_TEXT`, `p_paddr = __pa_symbol(_text)`), vmalloc
//! and modules (`KCORE_VMALLOC`), the `struct page` array (`KCORE_VMEMMAP`), and one per
//! range of System RAM (`KCORE_RAM`, `p_paddr = __pa(p_vaddr)`). Only RAM and text carry
//! their physical address; every other segment has `p_paddr = -1`. Inside a segment the file
//! offset grows with the address: `p_offset + (paddr - p_paddr)`. The same decoding reads
//! any ELF core file laid out so (a kdump `vmcore`, a crafted file in tests).
//!
//! [`ElfHeader::parse`] decodes the 64-byte header and says how many bytes the program
//! header table needs ([`ElfHeader::table_end`]); [`KcoreLayout::parse`] decodes the whole
//! prefix into the segments that have a physical address, and [`KcoreLayout::locate`]
//! maps a physical range to its file offset, refusing a range that no segment holds or that
//! runs out of the segment holding its start. Malformed input is one [`KcoreError`], never a
//! panic (fuzzed: `fuzz/fuzz_targets/kcore.rs`). [`encode`] writes a layout back as bytes,
//! for tests and the fuzz target's round trip. Reading the file is
//! [`crate::physmem::kcore`]'s.

use std::fmt;

use crate::kernel::addr::PhysAddr;

/// The size of an ELF64 file header.
pub const ELF_HEADER_LEN: usize = 64;
/// The size of an ELF64 program header (`e_phentsize`).
pub const PHDR_LEN: usize = 56;
/// `e_type` of a core file.
const ET_CORE: u16 = 4;
/// `p_type` of a loadable segment.
const PT_LOAD: u32 = 1;
/// `e_phnum` saying the real count is elsewhere (in section header 0): kcore never does it.
const PN_XNUM: u16 = 0xffff;
/// At most this many program headers are accepted (the kernel's count is an `int`, but a
/// machine has a few hundred ranges of RAM at most): a bound on what a header makes us read.
pub const MAX_SEGMENTS: u16 = 16384;

/// Why bytes are not an ELF core file physdemo can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KcoreError {
    /// Fewer bytes than the header or the program header table needs.
    Short { need: u64, got: u64 },
    /// No `\x7fELF` at the start.
    NotElf,
    /// `EI_CLASS` is not ELFCLASS64.
    Not64Bit(u8),
    /// `EI_DATA` is neither little- nor big-endian.
    Encoding(u8),
    /// `e_type` is not `ET_CORE`.
    NotCore(u16),
    /// `e_phentsize` is not 56.
    EntrySize(u16),
    /// `e_phnum` is `PN_XNUM` or more than [`MAX_SEGMENTS`].
    TooMany(u16),
    /// The program header table lies beyond 64-bit offsets.
    TableOverflow,
    /// A loadable segment whose physical or file range overflows 64 bits.
    Segment(usize),
}

impl fmt::Display for KcoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KcoreError::Short { need, got } => {
                write!(f, "it ends after {got} bytes, its headers need {need}")
            }
            KcoreError::NotElf => f.write_str("it does not start with the ELF magic \\x7fELF"),
            KcoreError::Not64Bit(class) => write!(f, "its ELF class is {class}, not 64-bit (2)"),
            KcoreError::Encoding(data) => {
                write!(
                    f,
                    "its ELF data encoding is {data}, neither little (1) nor big-endian (2)"
                )
            }
            KcoreError::NotCore(kind) => write!(f, "its ELF type is {kind}, not a core file (4)"),
            KcoreError::EntrySize(size) => {
                write!(
                    f,
                    "its program headers are {size} bytes each, not {PHDR_LEN}"
                )
            }
            KcoreError::TooMany(count) => write!(
                f,
                "it announces {count} program headers (physdemo reads at most {MAX_SEGMENTS})"
            ),
            KcoreError::TableOverflow => {
                f.write_str("its program header table lies beyond 64-bit offsets")
            }
            KcoreError::Segment(index) => write!(
                f,
                "its program header {index} describes a range that overflows 64 bits"
            ),
        }
    }
}

impl std::error::Error for KcoreError {}

/// The fields of the ELF64 header physdemo needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElfHeader {
    pub big_endian: bool,
    /// `e_machine` (62: x86-64, 183: AArch64).
    pub machine: u16,
    pub phoff: u64,
    pub phnum: u16,
}

/// Reads an unsigned integer of `N` bytes at `at` in the given byte order; `bytes` is
/// long enough (checked by the callers).
fn uint<const N: usize>(bytes: &[u8], at: usize, big_endian: bool) -> u64 {
    let mut word = [0u8; 8];
    let field = &bytes[at..at + N];
    if big_endian {
        word[8 - N..].copy_from_slice(field);
        u64::from_be_bytes(word)
    } else {
        word[..N].copy_from_slice(field);
        u64::from_le_bytes(word)
    }
}

impl ElfHeader {
    /// Decodes the ELF header at the start of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<ElfHeader, KcoreError> {
        if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
            return Err(if bytes.len() < 4 && b"\x7fELF".starts_with(bytes) {
                KcoreError::Short {
                    need: ELF_HEADER_LEN as u64,
                    got: bytes.len() as u64,
                }
            } else {
                KcoreError::NotElf
            });
        }
        if bytes.len() < ELF_HEADER_LEN {
            return Err(KcoreError::Short {
                need: ELF_HEADER_LEN as u64,
                got: bytes.len() as u64,
            });
        }
        if bytes[4] != 2 {
            return Err(KcoreError::Not64Bit(bytes[4]));
        }
        let big_endian = match bytes[5] {
            1 => false,
            2 => true,
            other => return Err(KcoreError::Encoding(other)),
        };
        let half = |at| uint::<2>(bytes, at, big_endian) as u16;
        let kind = half(16);
        if kind != ET_CORE {
            return Err(KcoreError::NotCore(kind));
        }
        let entry = half(54);
        if entry != PHDR_LEN as u16 {
            return Err(KcoreError::EntrySize(entry));
        }
        let phnum = half(56);
        if phnum == PN_XNUM || phnum > MAX_SEGMENTS {
            return Err(KcoreError::TooMany(phnum));
        }
        let header = ElfHeader {
            big_endian,
            machine: half(18),
            phoff: uint::<8>(bytes, 32, big_endian),
            phnum,
        };
        header.table_end()?;
        Ok(header)
    }

    /// How many bytes from the file's start hold the header and the program header table.
    pub fn table_end(&self) -> Result<u64, KcoreError> {
        (u64::from(self.phnum) * PHDR_LEN as u64)
            .checked_add(self.phoff)
            .map(|end| end.max(ELF_HEADER_LEN as u64))
            .ok_or(KcoreError::TableOverflow)
    }
}

/// A loadable segment with a physical address: RAM, or the kernel's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// `p_vaddr`: where the kernel maps it.
    pub vaddr: u64,
    /// `p_paddr`: its first physical address.
    pub paddr: PhysAddr,
    /// `p_offset`: where it starts in the file.
    pub offset: u64,
    /// `p_memsz` (= `p_filesz` in kcore): its length in bytes, more than 0.
    pub size: u64,
}

impl Segment {
    /// One past its last physical address (fits: checked when decoded).
    pub fn end(&self) -> u64 {
        self.paddr.0 + self.size
    }

    /// Whether it holds the physical address `addr`.
    pub fn contains(&self, addr: PhysAddr) -> bool {
        self.paddr.0 <= addr.0 && addr.0 < self.end()
    }
}

/// Why a physical range has no file offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KcoreMiss {
    /// No segment holds the start of the range.
    NotCovered { addr: PhysAddr },
    /// The segment holding the start ends at `end` (exclusive), before the range does.
    Crosses { addr: PhysAddr, end: PhysAddr },
}

/// The loadable segments of an ELF core file that carry a physical address, in file order,
/// and how many loadable segments had none (vmalloc, modules, vmemmap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KcoreLayout {
    pub header: ElfHeader,
    pub segments: Vec<Segment>,
    pub without_paddr: usize,
}

impl KcoreLayout {
    /// Decodes the ELF header and program headers at the start of `bytes` (at least
    /// [`ElfHeader::table_end`] of them).
    pub fn parse(bytes: &[u8]) -> Result<KcoreLayout, KcoreError> {
        let header = ElfHeader::parse(bytes)?;
        let end = header.table_end()?;
        if (bytes.len() as u64) < end {
            return Err(KcoreError::Short {
                need: end,
                got: bytes.len() as u64,
            });
        }
        let (mut segments, mut without_paddr) = (Vec::new(), 0);
        for index in 0..usize::from(header.phnum) {
            let at = header.phoff as usize + index * PHDR_LEN;
            let entry = &bytes[at..at + PHDR_LEN];
            let be = header.big_endian;
            if uint::<4>(entry, 0, be) as u32 != PT_LOAD {
                continue;
            }
            let (offset, vaddr, paddr) = (
                uint::<8>(entry, 8, be),
                uint::<8>(entry, 16, be),
                uint::<8>(entry, 24, be),
            );
            let size = uint::<8>(entry, 40, be);
            if paddr == u64::MAX {
                without_paddr += 1;
                continue;
            }
            if size == 0 {
                continue;
            }
            if paddr.checked_add(size).is_none() || offset.checked_add(size).is_none() {
                return Err(KcoreError::Segment(index));
            }
            segments.push(Segment {
                vaddr,
                paddr: PhysAddr(paddr),
                offset,
                size,
            });
        }
        Ok(KcoreLayout {
            header,
            segments,
            without_paddr,
        })
    }

    /// The segment holding `addr` that reaches farthest past it (the kernel's text is also
    /// inside a RAM segment: the longer run wins), or `None`.
    pub fn segment_at(&self, addr: PhysAddr) -> Option<&Segment> {
        self.segments
            .iter()
            .filter(|s| s.contains(addr))
            .max_by_key(|s| s.end())
    }

    /// The file offset of `[addr, addr + len)` (a `len` of 0 counts as 1), when one segment
    /// holds all of it.
    pub fn locate(&self, addr: PhysAddr, len: u64) -> Result<u64, KcoreMiss> {
        let segment = self
            .segment_at(addr)
            .ok_or(KcoreMiss::NotCovered { addr })?;
        let last = addr.0.checked_add(len.max(1) - 1);
        if last.is_none_or(|last| last >= segment.end()) {
            return Err(KcoreMiss::Crosses {
                addr,
                end: PhysAddr(segment.end()),
            });
        }
        Ok(segment.offset + (addr.0 - segment.paddr.0))
    }

    /// Whether one segment holds all of `[addr, addr + len)`.
    pub fn covers(&self, addr: PhysAddr, len: u64) -> bool {
        self.locate(addr, len).is_ok()
    }

    /// The physical ranges the segments hold, merged where they overlap or touch, in
    /// address order: `(first, last)` inclusive.
    pub fn ranges(&self) -> Vec<(PhysAddr, PhysAddr)> {
        let mut spans: Vec<(u64, u64)> = self
            .segments
            .iter()
            .map(|s| (s.paddr.0, s.end() - 1))
            .collect();
        spans.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (first, last) in spans {
            match merged.last_mut() {
                Some(prev) if first <= prev.1.saturating_add(1) => prev.1 = prev.1.max(last),
                _ => merged.push((first, last)),
            }
        }
        merged
            .into_iter()
            .map(|(first, last)| (PhysAddr(first), PhysAddr(last)))
            .collect()
    }
}

/// An ELF64 little-endian core file's headers holding `segments` (each a `PT_LOAD` with its
/// physical address; `None` writes `p_paddr = -1`), its program headers right after the
/// ELF header, as the kernel lays /proc/kcore out: `(vaddr, paddr, offset, size)`.
pub fn encode(machine: u16, segments: &[(u64, Option<u64>, u64, u64)]) -> Vec<u8> {
    let mut out = vec![0u8; ELF_HEADER_LEN];
    out[..8].copy_from_slice(b"\x7fELF\x02\x01\x01\x00");
    out[16..18].copy_from_slice(&ET_CORE.to_le_bytes());
    out[18..20].copy_from_slice(&machine.to_le_bytes());
    out[20..24].copy_from_slice(&1u32.to_le_bytes());
    out[32..40].copy_from_slice(&(ELF_HEADER_LEN as u64).to_le_bytes());
    out[52..54].copy_from_slice(&(ELF_HEADER_LEN as u16).to_le_bytes());
    out[54..56].copy_from_slice(&(PHDR_LEN as u16).to_le_bytes());
    out[56..58].copy_from_slice(&(segments.len() as u16).to_le_bytes());
    for &(vaddr, paddr, offset, size) in segments {
        let mut entry = [0u8; PHDR_LEN];
        entry[0..4].copy_from_slice(&PT_LOAD.to_le_bytes());
        entry[4..8].copy_from_slice(&7u32.to_le_bytes()); // PF_R | PF_W | PF_X
        entry[8..16].copy_from_slice(&offset.to_le_bytes());
        entry[16..24].copy_from_slice(&vaddr.to_le_bytes());
        entry[24..32].copy_from_slice(&paddr.unwrap_or(u64::MAX).to_le_bytes());
        entry[32..40].copy_from_slice(&size.to_le_bytes());
        entry[40..48].copy_from_slice(&size.to_le_bytes());
        entry[48..56].copy_from_slice(&4096u64.to_le_bytes());
        out.extend_from_slice(&entry);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The x86-64 distro VM's /proc/kcore (nokaslr, 1 GiB), as `readelf -l` shows it: the
    /// kernel text, vmalloc, modules, two ranges of RAM and their vmemmap.
    fn vm_kcore() -> Vec<u8> {
        let data = 0x2000;
        let mask = (1u64 << 47) - 1; // x86-64's kc_vaddr_to_offset(): v & __VIRTUAL_MASK
        let off = |v: u64| (v & mask) + data;
        encode(
            62,
            &[
                (
                    0xffff_ffff_8100_0000,
                    Some(0x0100_0000),
                    off(0xffff_ffff_8100_0000),
                    0x0260_0000,
                ),
                (
                    0xffff_c900_0000_0000,
                    None,
                    off(0xffff_c900_0000_0000),
                    0x1fff_ffff_ffff,
                ),
                (
                    0xffff_ffff_a000_0000,
                    None,
                    off(0xffff_ffff_a000_0000),
                    0x5f00_0000,
                ),
                (
                    0xffff_8880_0000_1000,
                    Some(0x1000),
                    off(0xffff_8880_0000_1000),
                    0x9e000,
                ),
                (
                    0xffff_ea00_0000_0000,
                    None,
                    off(0xffff_ea00_0000_0000),
                    0x3000,
                ),
                (
                    0xffff_8880_0010_0000,
                    Some(0x10_0000),
                    off(0xffff_8880_0010_0000),
                    0x3fee_0000,
                ),
                (
                    0xffff_ea00_0000_4000,
                    None,
                    off(0xffff_ea00_0000_4000),
                    0x00ff_c000,
                ),
            ],
        )
    }

    #[test]
    fn maps_physical_addresses_to_file_offsets_as_the_kernel_lays_them_out() {
        let layout = KcoreLayout::parse(&vm_kcore()).unwrap();
        assert_eq!(layout.header.machine, 62);
        assert_eq!(layout.segments.len(), 3);
        assert_eq!(layout.without_paddr, 4);
        // RAM: the direct map's offset plus the distance into the segment
        assert_eq!(
            layout.locate(PhysAddr(0x0123_4567), 8),
            Ok(0x0880_0000_0000 + 0x2000 + 0x0123_4567)
        );
        // inside the kernel image both the text and the RAM segment hold it: the RAM
        // segment reaches farther, so it is the one read
        assert_eq!(
            layout.segment_at(PhysAddr(0x0100_0000)).unwrap().paddr,
            PhysAddr(0x10_0000)
        );
        assert_eq!(
            layout.locate(PhysAddr(0x1000), 0),
            Ok(0x0880_0000_1000 + 0x2000)
        );
        // the last byte of low RAM, and one past it
        assert_eq!(
            layout.locate(PhysAddr(0x9efff), 1),
            Ok(0x0880_0009_efff + 0x2000)
        );
        assert_eq!(
            layout.locate(PhysAddr(0x9eff8), 16),
            Err(KcoreMiss::Crosses {
                addr: PhysAddr(0x9eff8),
                end: PhysAddr(0x9f000)
            })
        );
        assert_eq!(
            layout.locate(PhysAddr(0x9f000), 1),
            Err(KcoreMiss::NotCovered {
                addr: PhysAddr(0x9f000)
            })
        );
        // no segment for device memory (the IOAPIC), nor page 0
        for addr in [0xfec0_0000, 0, 0x4000_0000] {
            assert!(!layout.covers(PhysAddr(addr), 4), "{addr:#x}");
        }
        assert!(!layout.covers(PhysAddr(0x3fff_fff8), u64::MAX));
        assert_eq!(
            layout.ranges(),
            vec![
                (PhysAddr(0x1000), PhysAddr(0x9efff)),
                (PhysAddr(0x10_0000), PhysAddr(0x3ffd_ffff))
            ]
        );
    }

    #[test]
    fn reads_the_header_and_says_how_much_to_read() {
        let bytes = vm_kcore();
        let header = ElfHeader::parse(&bytes[..ELF_HEADER_LEN]).unwrap();
        assert_eq!(header.phnum, 7);
        assert_eq!(header.table_end(), Ok(64 + 7 * 56));
        assert_eq!(
            KcoreLayout::parse(&bytes[..100]),
            Err(KcoreError::Short {
                need: 456,
                got: 100
            })
        );
        // big-endian: the same header with every field swapped decodes the same
        let mut be = vec![0u8; 64 + 56];
        be[..6].copy_from_slice(b"\x7fELF\x02\x02");
        be[16..18].copy_from_slice(&4u16.to_be_bytes());
        be[32..40].copy_from_slice(&64u64.to_be_bytes());
        be[54..56].copy_from_slice(&56u16.to_be_bytes());
        be[56..58].copy_from_slice(&1u16.to_be_bytes());
        be[64..68].copy_from_slice(&1u32.to_be_bytes());
        be[64 + 8..64 + 16].copy_from_slice(&0x5000u64.to_be_bytes());
        be[64 + 24..64 + 32].copy_from_slice(&0x20_0000u64.to_be_bytes());
        be[64 + 40..64 + 48].copy_from_slice(&0x1000u64.to_be_bytes());
        let layout = KcoreLayout::parse(&be).unwrap();
        assert_eq!(layout.locate(PhysAddr(0x20_0010), 4), Ok(0x5010));
    }

    #[test]
    fn refuses_what_is_not_a_kcore_in_one_error() {
        let good = vm_kcore();
        let with = |at: usize, patch: &[u8]| {
            let mut bytes = good.clone();
            bytes[at..at + patch.len()].copy_from_slice(patch);
            KcoreLayout::parse(&bytes)
        };
        assert_eq!(
            KcoreLayout::parse(b""),
            Err(KcoreError::Short { need: 64, got: 0 })
        );
        assert_eq!(
            KcoreLayout::parse(b"\x7fEL"),
            Err(KcoreError::Short { need: 64, got: 3 })
        );
        assert_eq!(KcoreLayout::parse(b"#!/bin/sh\n"), Err(KcoreError::NotElf));
        assert_eq!(with(4, &[1]), Err(KcoreError::Not64Bit(1)));
        assert_eq!(with(5, &[3]), Err(KcoreError::Encoding(3)));
        assert_eq!(with(16, &2u16.to_le_bytes()), Err(KcoreError::NotCore(2)));
        assert_eq!(
            with(54, &32u16.to_le_bytes()),
            Err(KcoreError::EntrySize(32))
        );
        assert_eq!(with(56, &[0xff, 0xff]), Err(KcoreError::TooMany(0xffff)));
        assert_eq!(with(32, &[0xff; 8]), Err(KcoreError::TableOverflow));
        assert_eq!(
            with(56, &[0x40, 0]),
            Err(KcoreError::Short {
                need: 64 + 64 * 56,
                got: good.len() as u64
            })
        );
        // a RAM segment whose physical end overflows
        let overflow = encode(62, &[(0, Some(u64::MAX - 4), 0x2000, 0x10)]);
        assert_eq!(KcoreLayout::parse(&overflow), Err(KcoreError::Segment(0)));
        // a PT_NOTE and an empty segment are no segments
        let mut note = encode(
            62,
            &[(0, Some(0x1000), 0x2000, 0x1000), (0, Some(0x5000), 0, 0)],
        );
        note[64] = 4;
        let layout = KcoreLayout::parse(&note).unwrap();
        assert_eq!((layout.segments.len(), layout.without_paddr), (0, 0));
        for err in [
            KcoreError::NotElf,
            KcoreError::Short {
                need: 456,
                got: 100,
            },
            KcoreError::TooMany(0xffff),
            KcoreError::Segment(3),
        ] {
            assert!(!err.to_string().is_empty() && !err.to_string().contains('\n'));
        }
        assert_eq!(
            KcoreError::Short {
                need: 456,
                got: 100
            }
            .to_string(),
            "it ends after 100 bytes, its headers need 456"
        );
    }
}
