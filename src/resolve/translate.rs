// SPDX-License-Identifier: MIT OR Apache-2.0
//! From a process's virtual address to the physical address: the mapping that holds it
//! (`/proc/<pid>/maps`), its pagemap entry, and the frame's flags and map count.
//!
//! [`resolve`] does the I/O once and returns a [`Resolution`] that `inspect`, `peek` and
//! `poke` share; when there is no physical address, [`Resolution::require_paddr`] says why
//! in words a user can act on (hidden without root, swapped, never touched, no entry).

use anyhow::Result;

use crate::error::{not_found, permission, UserError};
use crate::kernel::addr::{PageSize, Pfn, PhysAddr, VirtAddr};
use crate::kernel::kpageflags::KpageFlags;
use crate::kernel::maps::MappingSummary;
use crate::kernel::pagemap::{outside_pagemap_words, PagemapEntry};
use crate::kernel::thp::pmd_size;
use crate::kernel::walk::Mmu;
use crate::proc::kpage::FrameInfoReader;
use crate::proc::pagemap::PagemapFile;
use crate::proc::process::open_user_process;

/// Everything known about one virtual address of one process.
#[derive(Debug, Clone)]
pub(crate) struct Resolution {
    pub(crate) pid: i32,
    pub(crate) command: String,
    pub(crate) vaddr: VirtAddr,
    pub(crate) page: PageSize,
    pub(crate) mapping: MappingSummary,
    /// The pagemap entry; all zero when pagemap has none (see `pagemap_covered`).
    pub(crate) entry: PagemapEntry,
    /// False when pagemap has no entry for the address at all: it lies above the user
    /// address space pagemap covers (the vsyscall page).
    pub(crate) pagemap_covered: bool,
    pub(crate) frame: Option<FrameInfo>,
    /// The machine's MMU, whose walk `inspect` shows.
    pub(crate) mmu: Mmu,
}

/// What the kernel says about the physical frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FrameInfo {
    pub(crate) flags: KpageFlags,
    pub(crate) map_count: u64,
    /// For a huge page: its size where kpageflags show it spanning the whole block a PMD
    /// entry maps (2 MiB with 4 KiB pages, 512 MiB with 64 KiB): the block's first frame a
    /// compound head, every other frame its tail. `None` otherwise (no huge page, a smaller
    /// one, or flags not readable).
    pub(crate) huge_size: Option<PageSize>,
}

impl Resolution {
    pub(crate) fn pfn(&self) -> Option<Pfn> {
        self.entry.pfn()
    }

    pub(crate) fn paddr(&self) -> Option<PhysAddr> {
        let offset = self.page.offset_in_page(self.vaddr.0);
        self.pfn().and_then(|pfn| self.page.phys_addr(pfn, offset))
    }

    /// The physical address, or the error a user needs to see when there is none.
    pub(crate) fn require_paddr(&self) -> Result<PhysAddr, UserError> {
        if let Some(paddr) = self.paddr() {
            return Ok(paddr);
        }
        let what = format!("address {} of pid {}", self.vaddr, self.pid);
        Err(if !self.pagemap_covered {
            not_found(format!(
                "{what} has no pagemap entry: it is in {}",
                outside_pagemap_words(&self.mapping.path)
            ))
            .hint(format!(
                "there is no frame of the process's own to find there; pick an address in a user mapping, see /proc/{}/maps",
                self.pid
            ))
        } else if self.entry.pfn_hidden() {
            permission(format!("the kernel hid the frame number of {what}"))
                .hint("run with sudo: pagemap shows PFNs only with CAP_SYS_ADMIN")
        } else if self.entry.swapped() {
            not_found(format!(
                "{what} is swapped out (swap type {}, offset {:#x}), so it has no frame",
                self.entry.swap_type().unwrap_or(0),
                self.entry.swap_offset().unwrap_or(0)
            ))
            .hint("touch the page to bring it back, or mlock it")
        } else {
            not_found(format!(
                "{what} is not present in RAM: the page was never touched"
            ))
            .hint("write to the variable first; physdemo target does this for you")
        })
    }
}

/// Resolves `vaddr` in `pid`: mapping, pagemap entry, frame flags and map count.
pub(crate) fn resolve(pid: i32, vaddr: VirtAddr) -> Result<Resolution> {
    let process = open_user_process(pid)?;
    let mapping = MappingSummary::from(process.mapping_of(vaddr)?);
    let page = PageSize::of_system();
    let covered_entry = PagemapFile::open(pid)?.entry_if_covered(page.page_index(vaddr))?;
    let entry = covered_entry.unwrap_or_default();
    let frame = entry.pfn().and_then(|pfn| {
        let reader = FrameInfoReader::open().ok()?;
        let flags = *reader.flags(pfn, 1).ok()?.first()?;
        Some(FrameInfo {
            flags,
            map_count: *reader.map_counts(pfn, 1).ok()?.first()?,
            huge_size: flags
                .huge_kind()
                .and_then(|_| pmd_mapped_size(&reader, pfn, page)),
        })
    });
    Ok(Resolution {
        pid,
        command: process.command,
        vaddr,
        page,
        mapping,
        entry,
        pagemap_covered: covered_entry.is_some(),
        frame,
        mmu: crate::proc::arch::running_mmu(),
    })
}

/// The PMD size, when the frames of the PMD-sized, aligned block holding `pfn` are one
/// compound page (one read of kpageflags: 8192 words with 64 KiB pages).
fn pmd_mapped_size(reader: &FrameInfoReader, pfn: Pfn, page: PageSize) -> Option<PageSize> {
    let size = pmd_size(page)?;
    let frames = size.bytes() >> page.shift();
    let first = Pfn(pfn.0 & !(frames - 1));
    let flags = reader.flags(first, usize::try_from(frames).ok()?).ok()?;
    KpageFlags::one_compound_page(&flags).then_some(size)
}

/// A resolution to draw and report in unit tests: pid 42's anonymous page at
/// 0x7f1234567000, its variable 0x40 in, with pagemap entry `entry` and an anonymous,
/// mapped-once frame.
#[cfg(test)]
pub(crate) fn sample_resolution(entry: u64) -> Resolution {
    use crate::kernel::addr::Hex;
    Resolution {
        pid: 42,
        command: "physdemo".into(),
        vaddr: VirtAddr(0x7f12_3456_7040),
        page: PageSize::new(4096).expect("4096 is a page size"),
        mapping: MappingSummary {
            start: VirtAddr(0x7f12_3456_7000),
            end: VirtAddr(0x7f12_3456_8000),
            perms: "rw-p".into(),
            offset: Hex(0),
            device: "00:00".into(),
            inode: 0,
            path: "[anonymous]".into(),
        },
        entry: PagemapEntry(entry),
        pagemap_covered: true,
        frame: Some(FrameInfo {
            flags: KpageFlags(1 << 11 | 1 << 12),
            map_count: 1,
            huge_size: None,
        }),
        mmu: Mmu::X86_64,
    }
}
