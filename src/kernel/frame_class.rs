// SPDX-License-Identifier: MIT OR Apache-2.0
//! What a physical frame is used for, told from its `/proc/kpageflags` word: the eight
//! classes `physdemo physmap` colours RAM by.
//!
//! The flags are the kernel's (`include/uapi/linux/kernel-page-flags.h`, documented in
//! `Documentation/admin-guide/mm/pagemap.rst`; names in [`crate::kernel::kpageflags`]). The
//! rules, first match wins:
//!
//! 1. `buddy`: **free**. Every frame of a free block has it (Linux 6.1 adds it to the tails
//!    through `is_free_buddy_page`, later kernels through the page type).
//! 2. `nopage`, `hwpoison`, `offline`: **other** (no usable memory behind the frame).
//! 3. `huge` (hugetlbfs, used or in the pool), or `thp` on an `anonymous` frame: **huge**.
//!    A large folio of the page cache is flagged `thp` too since Linux 6.x; it counts as
//!    page cache, below.
//! 4. `slab`: **slab**. 5. `pgtable`: **page tables**.
//! 6. `reserved` or `zero_page`: **reserved/kernel** (memblock reservations: the kernel's
//!    image, firmware areas, the memory map itself).
//! 7. `anonymous` (and `ksm`, which implies it): **anonymous**.
//! 8. `lru`, `mmap`, `swapbacked`, `swapcache`, `uptodate`, `dirty`, `writeback` or
//!    `mappedtodisk`: **page cache/file** (shmem and tmpfs included).
//! 9. `compound_tail` and nothing above: the class of its compound head (Linux 6.1 sets
//!    `slab`, `lru` and the like on the head only), which [`Classifier`] remembers.
//! 10. Anything else, and a frame with no flag at all: **other** (kernel allocations the
//!     kernel flags nothing for: vmalloc and kernel stacks, driver buffers; and frames a
//!     kernel with lazy deferred initialisation has not set up yet).
//!
//! Pure: a word in, a class out, tested on literals; so is [`RamGrid`], the cells of a range
//! of RAM with their frames counted per class. Reading the file is [`crate::proc::kpage`]'s,
//! and reading all of RAM into grids [`crate::scan::physmap`]'s.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

/// The use of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FrameClass {
    Free,
    Anonymous,
    File,
    Slab,
    PageTables,
    Huge,
    Kernel,
    Other,
}

impl FrameClass {
    /// Every class, in legend order (which is also the order ties go by).
    pub const ALL: [FrameClass; 8] = [
        FrameClass::Free,
        FrameClass::Anonymous,
        FrameClass::File,
        FrameClass::Slab,
        FrameClass::PageTables,
        FrameClass::Huge,
        FrameClass::Kernel,
        FrameClass::Other,
    ];

    /// Position in [`FrameClass::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The name in `--json`, as serde spells it.
    pub fn key(self) -> &'static str {
        match self {
            FrameClass::Free => "free",
            FrameClass::Anonymous => "anonymous",
            FrameClass::File => "file",
            FrameClass::Slab => "slab",
            FrameClass::PageTables => "page_tables",
            FrameClass::Huge => "huge",
            FrameClass::Kernel => "kernel",
            FrameClass::Other => "other",
        }
    }

    /// What the legend calls it.
    pub fn label(self) -> &'static str {
        match self {
            FrameClass::Free => "free (buddy)",
            FrameClass::Anonymous => "anonymous",
            FrameClass::File => "page cache/file",
            FrameClass::Slab => "slab",
            FrameClass::PageTables => "page tables",
            FrameClass::Huge => "huge (THP/hugetlb)",
            FrameClass::Kernel => "reserved/kernel",
            FrameClass::Other => "other (no flag)",
        }
    }

    /// The character that draws it without colour: one distinct character per class.
    pub fn glyph(self) -> char {
        match self {
            FrameClass::Free => '.',
            FrameClass::Anonymous => 'a',
            FrameClass::File => 'f',
            FrameClass::Slab => 's',
            FrameClass::PageTables => 't',
            FrameClass::Huge => 'H',
            FrameClass::Kernel => '#',
            FrameClass::Other => 'o',
        }
    }
}

const LOCKED: u64 = 1 << 0;
const UPTODATE: u64 = 1 << 3;
const DIRTY: u64 = 1 << 4;
const LRU: u64 = 1 << 5;
const SLAB: u64 = 1 << 7;
const WRITEBACK: u64 = 1 << 8;
const BUDDY: u64 = 1 << 10;
const MMAP: u64 = 1 << 11;
const ANON: u64 = 1 << 12;
const SWAPCACHE: u64 = 1 << 13;
const SWAPBACKED: u64 = 1 << 14;
const COMPOUND_HEAD: u64 = 1 << 15;
const COMPOUND_TAIL: u64 = 1 << 16;
const HUGE: u64 = 1 << 17;
const HWPOISON: u64 = 1 << 19;
const NOPAGE: u64 = 1 << 20;
const THP: u64 = 1 << 22;
const OFFLINE: u64 = 1 << 23;
const ZERO_PAGE: u64 = 1 << 24;
const PGTABLE: u64 = 1 << 26;
const RESERVED: u64 = 1 << 32;
const MAPPEDTODISK: u64 = 1 << 34;

const CACHE: u64 =
    LOCKED | UPTODATE | DIRTY | LRU | WRITEBACK | MMAP | SWAPCACHE | SWAPBACKED | MAPPEDTODISK;

/// The class of one frame by its own flags alone (rules 1-8 and 10: a compound tail
/// with nothing else is [`FrameClass::Other`] here).
pub fn classify(flags: u64) -> FrameClass {
    if flags & BUDDY != 0 {
        FrameClass::Free
    } else if flags & (NOPAGE | HWPOISON | OFFLINE) != 0 {
        FrameClass::Other
    } else if flags & HUGE != 0 || flags & (THP | ANON) == THP | ANON {
        FrameClass::Huge
    } else if flags & SLAB != 0 {
        FrameClass::Slab
    } else if flags & PGTABLE != 0 {
        FrameClass::PageTables
    } else if flags & (RESERVED | ZERO_PAGE) != 0 {
        FrameClass::Kernel
    } else if flags & ANON != 0 {
        FrameClass::Anonymous
    } else if flags & CACHE != 0 {
        FrameClass::File
    } else {
        FrameClass::Other
    }
}

/// Classifies frames in increasing frame order, giving a bare compound tail its head's
/// class (rule 9). Start a new one for a range that does not follow the last frame.
#[derive(Debug, Clone, Copy, Default)]
pub struct Classifier {
    /// The class of the compound head the frames since belong to, if any.
    head: Option<FrameClass>,
}

impl Classifier {
    /// The class of the next frame.
    #[inline]
    pub fn next(&mut self, flags: u64) -> FrameClass {
        // The two words most of RAM holds, decided without the rules' chain.
        if flags == 0 {
            self.head = None;
            return FrameClass::Other;
        }
        if flags == BUDDY {
            self.head = None;
            return FrameClass::Free;
        }
        let own = classify(flags);
        if flags & COMPOUND_HEAD != 0 {
            self.head = Some(own);
            own
        } else if flags & COMPOUND_TAIL != 0 {
            match (own, self.head) {
                (FrameClass::Other, Some(head)) => head,
                _ => own,
            }
        } else {
            self.head = None;
            own
        }
    }
}

/// Frames counted per class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCounts(pub [u64; 8]);

impl ClassCounts {
    pub fn get(&self, class: FrameClass) -> u64 {
        self.0[class.index()]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    pub fn merge(&mut self, other: &ClassCounts) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a += b;
        }
    }

    /// The class most frames have (ties go to the first in legend order); `None` when empty.
    pub fn dominant(&self) -> Option<FrameClass> {
        let mut best: Option<(FrameClass, u64)> = None;
        for class in FrameClass::ALL {
            let n = self.get(class);
            if n > 0 && best.is_none_or(|(_, m)| n > m) {
                best = Some((class, n));
            }
        }
        best.map(|(class, _)| class)
    }
}

/// In JSON: an object with every class's key, in legend order.
impl Serialize for ClassCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(FrameClass::ALL.len()))?;
        for class in FrameClass::ALL {
            map.serialize_entry(class.key(), &self.get(class))?;
        }
        map.end()
    }
}

/// The cells of one range of RAM: cell `i` holds the range's frames in
/// `[(first_cell + i) * cell_frames, (first_cell + i + 1) * cell_frames)`. Cells are
/// aligned to multiples of the cell size, so a cell's place depends on its frames only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RamGrid {
    /// The range's first frame and the frame after its last.
    pub first_pfn: u64,
    pub end_pfn: u64,
    pub first_cell: u64,
    pub cells: Vec<ClassCounts>,
    /// Frames of the highlighted process per cell (all 0 without one).
    pub marked: Vec<u64>,
}

impl RamGrid {
    /// Empty cells for the frames `[first_pfn, end_pfn)` (`end_pfn > first_pfn`).
    pub fn new(first_pfn: u64, end_pfn: u64, cell_frames: u64) -> Self {
        let first_cell = first_pfn / cell_frames;
        let cells = (end_pfn - 1) / cell_frames - first_cell + 1;
        RamGrid {
            first_pfn,
            end_pfn,
            first_cell,
            cells: vec![ClassCounts::default(); cells as usize],
            marked: vec![0; cells as usize],
        }
    }

    pub fn contains(&self, pfn: u64) -> bool {
        self.first_pfn <= pfn && pfn < self.end_pfn
    }

    /// Counts the frames `first_pfn..` whose flags are `words`, which must lie in this range
    /// and follow the frames `classifier` saw last.
    pub fn add_words(
        &mut self,
        first_pfn: u64,
        words: &[u64],
        cell_frames: u64,
        classifier: &mut Classifier,
    ) {
        let mut pfn = first_pfn;
        let mut rest = words;
        while !rest.is_empty() {
            let cell = (pfn / cell_frames - self.first_cell) as usize;
            let in_cell = ((pfn / cell_frames + 1) * cell_frames - pfn) as usize;
            let (now, later) = rest.split_at(in_cell.min(rest.len()));
            let mut counts = [0u64; 8];
            for &word in now {
                counts[classifier.next(word).index()] += 1;
            }
            for (total, n) in self.cells[cell].0.iter_mut().zip(counts) {
                *total += n;
            }
            pfn += now.len() as u64;
            rest = later;
        }
    }

    /// Marks frame `pfn` as the highlighted process's; `false` if it is not in this range.
    pub fn mark(&mut self, pfn: u64, cell_frames: u64) -> bool {
        if !self.contains(pfn) {
            return false;
        }
        self.marked[(pfn / cell_frames - self.first_cell) as usize] += 1;
        true
    }

    pub fn totals(&self) -> ClassCounts {
        let mut totals = ClassCounts::default();
        for cell in &self.cells {
            totals.merge(cell);
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words read from /proc/kpageflags on a Linux 6.18 host (the most frequent ones) and
    /// in the project's 6.1 VM, with the class each must get.
    #[test]
    fn classifies_real_kpageflags_words() {
        for (word, class) in [
            (0x0, FrameClass::Other),
            (0x400, FrameClass::Free),              // buddy
            (0x408, FrameClass::Free),              // buddy, uptodate (a 6.18 block head)
            (0x4_0000_006c, FrameClass::File),      // referenced uptodate lru active mappedtodisk
            (0x1_0080, FrameClass::Slab),           // slab compound_tail
            (0x80, FrameClass::Slab),               // slab
            (0x8080, FrameClass::Slab),             // slab compound_head
            (0x8_0241_002c, FrameClass::File),      // a page-cache large folio's tail, thp
            (0x1_0000_0000, FrameClass::Kernel),    // reserved
            (0x1_0100_0000, FrameClass::Kernel),    // zero_page reserved
            (0x4_0000_5828, FrameClass::Anonymous), // uptodate lru mmap anonymous swapbacked
            (0x1_1080, FrameClass::Slab),           // slab anonymous(=slab's own use) tail
            (0x20_1080, FrameClass::Slab),          // slab anonymous ksm bits: slab wins
            (0x40_d868, FrameClass::Huge), // anon THP head: lru mmap anon swapbacked compound_head thp
            (0x2_8000, FrameClass::Huge),  // hugetlb head: compound_head huge
            (0x400_0000, FrameClass::PageTables), // pgtable
            (0x10_0000, FrameClass::Other), // nopage
            (0x8_0000 | 0x400, FrameClass::Free), // hwpoison on a free frame: still free
            (0x80_0000, FrameClass::Other), // offline
            (0x4000, FrameClass::File),    // swapbacked alone: shmem
        ] {
            assert_eq!(classify(word), class, "{word:#x}");
        }
    }

    #[test]
    fn a_bare_compound_tail_takes_its_heads_class_until_the_compound_ends() {
        let mut c = Classifier::default();
        // Linux 6.1: a slab of four frames flags `slab` on its head only.
        let classes: Vec<FrameClass> = [0x8080, 0x1_0000, 0x1_0000, 0x1_0000, 0x0, 0x1_0000]
            .iter()
            .map(|&w| c.next(w))
            .collect();
        assert_eq!(
            classes,
            [
                FrameClass::Slab,
                FrameClass::Slab,
                FrameClass::Slab,
                FrameClass::Slab,
                FrameClass::Other,
                // a tail with no head before it stays what its own flags say
                FrameClass::Other,
            ]
        );
        // A tail with flags of its own keeps them; a new head replaces the old one.
        let mut c = Classifier::default();
        assert_eq!(c.next(0x8080), FrameClass::Slab);
        assert_eq!(c.next(0x1_0028), FrameClass::File);
        assert_eq!(c.next(0x40_d868), FrameClass::Huge);
        assert_eq!(c.next(0x1_0000), FrameClass::Huge);
        assert_eq!(c.next(0x400), FrameClass::Free);
        assert_eq!(c.next(0x1_0000), FrameClass::Other);
    }

    #[test]
    fn glyphs_and_keys_are_distinct() {
        let mut glyphs: Vec<char> = FrameClass::ALL.iter().map(|c| c.glyph()).collect();
        glyphs.sort_unstable();
        glyphs.dedup();
        assert_eq!(glyphs.len(), 8);
        for (i, class) in FrameClass::ALL.iter().enumerate() {
            assert_eq!(class.index(), i);
            assert_eq!(
                serde_json::to_value(class).unwrap(),
                serde_json::Value::from(class.key())
            );
        }
    }

    #[test]
    fn cells_are_aligned_count_only_their_ranges_frames_and_pick_the_most_common_class() {
        // Frames 6..21 with 8 frames a cell: cells 0 (6, 7), 1 (8..16), 2 (16..21).
        let mut grid = RamGrid::new(6, 21, 8);
        assert_eq!((grid.first_cell, grid.cells.len()), (0, 3));
        let mut c = Classifier::default();
        let words = [
            0x400,
            0x80, // cell 0: free, slab
            0x400,
            0x400,
            0x400,
            0,
            0,
            0,
            0,
            0x1_0000_0000, // cell 1
            0x4_0000_5828,
            0x4_0000_5828,
            0x400,
            0,
            0x1_0000_0000, // cell 2
        ];
        grid.add_words(6, &words[..5], 8, &mut c);
        grid.add_words(11, &words[5..], 8, &mut c);
        assert_eq!(grid.cells[0].total(), 2);
        assert_eq!(
            grid.cells[0].dominant(),
            Some(FrameClass::Free),
            "a tie goes to free"
        );
        assert_eq!(grid.cells[1].dominant(), Some(FrameClass::Other));
        assert_eq!(grid.cells[1].get(FrameClass::Free), 3);
        assert_eq!(grid.cells[2].dominant(), Some(FrameClass::Anonymous));
        let totals = grid.totals();
        assert_eq!(totals.total(), 15);
        assert_eq!(
            totals.0,
            [5, 2, 0, 1, 0, 0, 2, 5],
            "free anon file slab pgtable huge kernel other"
        );
        assert!(grid.mark(20, 8) && grid.mark(16, 8) && grid.mark(6, 8));
        assert!(!grid.mark(21, 8) && !grid.mark(5, 8));
        assert_eq!(grid.marked, [1, 0, 2]);
        assert_eq!(ClassCounts::default().dominant(), None);
        assert_eq!(
            serde_json::to_string(&totals).unwrap(),
            r#"{"free":5,"anonymous":2,"file":0,"slab":1,"page_tables":0,"huge":0,"kernel":2,"other":5}"#
        );
        // A range starting past cell 0: first_cell follows the frame number.
        let grid = RamGrid::new(0x100, 0x101, 0x40);
        assert_eq!((grid.first_cell, grid.cells.len()), (4, 1));
    }
}
