// SPDX-License-Identifier: MIT OR Apache-2.0
//! Present pages in PMD-mapped huge pages, counted from the physical runs alone.

use anyhow::Result;

use crate::kernel::addr::{PageSize, Pfn};
use crate::kernel::kpageflags::KpageFlags;
use crate::proc::kpage::FrameInfoReader;
use crate::scan::runs::FrameRun;

/// Present pages in PMD-mapped huge pages (transparent or hugetlbfs), from the runs alone.
///
/// A PMD-mapped huge page always shows in pagemap as a PMD-aligned stretch of PMD size (512
/// pages of 4 KiB) backed by equally aligned, consecutive frames; one kpageflags read per
/// such candidate confirms it, so the summary needs no second page-table walk. (This is
/// what PAGEMAP_SCAN's PAGE_IS_HUGE counts too: huge pages mapped by PTEs are not included.)
pub(crate) fn pmd_mapped_huge_pages(
    runs: &[FrameRun],
    page: PageSize,
    frames: Option<&FrameInfoReader>,
) -> Result<u64> {
    let Some(frames) = frames else {
        return Ok(0);
    };
    let mut huge = 0;
    for head in pmd_candidates(runs, page) {
        let flags = frames.flags(Pfn(head), 1)?;
        if flags
            .first()
            .is_some_and(|f| f.has(KpageFlags::THP) || f.has(KpageFlags::HUGE))
        {
            huge += pages_per_pmd(page);
        }
    }
    Ok(huge)
}

/// Page-table entries per page-table page, so pages per PMD: 512 with 4 KiB pages.
fn pages_per_pmd(page: PageSize) -> u64 {
    page.bytes() / 8
}

/// The first frame of every PMD-aligned, PMD-sized stretch of `runs` whose frames are
/// PMD-aligned too: the only places a PMD-mapped huge page can be.
pub(crate) fn pmd_candidates(runs: &[FrameRun], page: PageSize) -> Vec<u64> {
    let per_pmd = pages_per_pmd(page);
    let mut heads = Vec::new();
    for run in runs.iter().filter(|r| r.pages >= per_pmd) {
        if run.first_page.wrapping_sub(run.first_pfn) % per_pmd != 0 {
            continue;
        }
        let mut vpn = run.first_page.next_multiple_of(per_pmd);
        while vpn + per_pmd <= run.first_page + run.pages {
            heads.push(run.first_pfn + (vpn - run.first_page));
            vpn += per_pmd;
        }
    }
    heads
}

#[cfg(test)]
mod tests {
    use super::*;

    fn four_k() -> PageSize {
        PageSize::new(4096).unwrap()
    }

    #[test]
    fn pmd_sized_aligned_runs_with_aligned_frames_are_the_huge_page_candidates() {
        let run = |first_page, first_pfn, pages| FrameRun {
            first_page,
            first_pfn,
            pages,
        };
        let runs = [
            // 3 PMDs' worth, starting mid-PMD: two whole aligned stretches inside
            run(0x7f00_0000_0100, 0x4_0100, 1536),
            // aligned virtual start but frames offset by one page: never a PMD mapping
            run(0x7f00_0010_0000, 0x5_0001, 1024),
            // exactly one aligned PMD
            run(0x7f00_0020_0000, 0x6_0000, 512),
            // too short
            run(0x7f00_0030_0000, 0x7_0000, 511),
        ];
        assert_eq!(
            pmd_candidates(&runs, four_k()),
            vec![0x4_0200, 0x4_0400, 0x6_0000]
        );
        assert_eq!(pages_per_pmd(four_k()), 512);
        assert!(pmd_candidates(&[], four_k()).is_empty());
    }
}
