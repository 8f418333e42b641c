// SPDX-License-Identifier: MIT OR Apache-2.0
//! Memory accounting the way the kernel's `smaps_rollup` does it, from pagemap entries and
//! each frame's map count and flags: RSS, PSS, USS and swap, pure and tested on literals.
//!
//! What `fs/proc/task_mmu.c` counts (`smaps_pte_entry`, `smaps_pmd_entry`, `smaps_account`,
//! Linux 6.1 and 6.18 alike):
//! - only pages `vm_normal_page` returns: the shared zero page and the huge zero page
//!   (kpageflags `ZERO_PAGE`), and the frames of `VM_PFNMAP`/`VM_MIXEDMAP` mappings, are not
//!   in `Rss` though pagemap shows them present with a frame number. A present entry with
//!   neither pagemap bit 61 (file or shared) nor kpageflags `ANON` had no page.
//! - hugetlbfs pages are not in `Rss`/`Pss` at all (`Shared_Hugetlb`/`Private_Hugetlb`):
//!   kpageflags `HUGE` marks them.
//! - each page adds `(PAGE_SIZE << 12) / mapcount` to PSS in 12-bit fixed point (`PSS_SHIFT`),
//!   the full page when the map count is below 2; the map count is the page's own
//!   (`page_mapcount`, `folio_precise_page_mapcount`), which is what `/proc/kpagecount` gives,
//!   so a THP counts subpage by subpage, 512 of them in a PMD-mapped one (its full size), and a
//!   KSM page counts 1/N in each of its N mappings. Pagemap bit 56 (exclusive) means a map
//!   count of 1: those frames need no map count.
//! - pages in swap are `Swap:`, not PSS (`SwapPss` divides by the swap count, which user space
//!   cannot read); here they are counted in `swap`.
//! - USS is the pages mapped once (`Private_Clean` + `Private_Dirty`).

use serde::Serialize;

use crate::kernel::kpageflags::KpageFlags;
use crate::kernel::pagemap::PagemapEntry;

/// The kernel's fixed point for PSS (`PSS_SHIFT` in fs/proc/task_mmu.c).
pub const PSS_SHIFT: u32 = 12;

/// What one frame looks like to the accounting: its kpageflags and kpagecount words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameWords {
    /// `None` where they were not read (see [`words_needed`], [`flags_needed_after_count`]).
    pub flags: Option<KpageFlags>,
    pub map_count: u64,
}

/// Whether a pagemap entry needs its frame's words read (map count, flags) to be accounted:
/// present with a frame number and not exclusively mapped, or in a huge-page region (where
/// a hugetlbfs page, which smaps leaves out, can be exclusive too).
pub fn needs_frame(entry: PagemapEntry, in_huge_region: bool) -> bool {
    let needs = words_needed(entry, in_huge_region);
    needs.count || needs.flags
}

/// Which of a frame's words an entry needs first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordsNeeded {
    /// kpagecount: the page is not exclusively mapped.
    pub count: bool,
    /// kpageflags: in a huge-page region, where a hugetlbfs page (not in smaps' Rss) may be,
    /// or the huge zero page.
    pub flags: bool,
}

/// Which of a frame's words `entry` needs (none without a frame number). kpageflags costs the
/// kernel far more per frame than kpagecount, so it is read only where the map count cannot
/// settle it ([`flags_needed_after_count`]).
pub fn words_needed(entry: PagemapEntry, in_huge_region: bool) -> WordsNeeded {
    let pfn = entry.pfn().is_some();
    WordsNeeded {
        count: pfn && !entry.exclusive(),
        flags: pfn && in_huge_region,
    }
}

/// Whether, its map count read, an entry still needs its frame's flags: present without
/// bit 61 (file or shared) and not exclusive is an anonymous page or no page at all (the zero
/// page, a PFN mapping); a mapped anonymous page has a map count of at least 1, the zero page
/// and PFN-mapped frames 0, so only a count of 0 leaves the question open.
pub fn flags_needed_after_count(entry: PagemapEntry, map_count: u64) -> bool {
    entry.pfn().is_some() && !entry.file_or_shared_anon() && !entry.exclusive() && map_count == 0
}

/// Bytes in 12-bit fixed point, as the kernel sums PSS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord)]
pub struct PssFixed(pub u64);

impl PssFixed {
    /// Whole bytes (rounded down, as `mss->pss >> PSS_SHIFT`).
    pub fn bytes(self) -> u64 {
        self.0 >> PSS_SHIFT
    }
}

/// RSS, PSS, USS and swap of a set of pages (bytes; PSS in fixed point).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub rss: u64,
    pub pss: PssFixed,
    pub uss: u64,
    pub swap: u64,
    /// hugetlbfs pages mapped (bytes): not in RSS, as in smaps.
    pub hugetlb: u64,
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.rss += other.rss;
        self.pss.0 += other.pss.0;
        self.uss += other.uss;
        self.swap += other.swap;
        self.hugetlb += other.hugetlb;
    }

    /// A page mapped once: the whole of it is RSS, PSS and USS.
    pub fn add_exclusive(&mut self, page_bytes: u64, pages: u64) {
        self.rss += page_bytes * pages;
        self.pss.0 += (page_bytes << PSS_SHIFT) * pages;
        self.uss += page_bytes * pages;
    }

    /// Accounts one present page whose frame words were read.
    pub fn add_page(&mut self, page_bytes: u64, entry: PagemapEntry, frame: FrameWords) {
        match charge(entry, frame) {
            Charge::None => {}
            Charge::Hugetlb => self.hugetlb += page_bytes,
            Charge::Mapped(count) if count < 2 => self.add_exclusive(page_bytes, 1),
            Charge::Mapped(count) => {
                self.rss += page_bytes;
                self.pss.0 += (page_bytes << PSS_SHIFT) / count;
            }
        }
    }
}

/// How smaps counts a present page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    /// No `struct page` smaps would count: the zero page, a PFN mapping.
    None,
    /// A hugetlbfs page.
    Hugetlb,
    /// A normal page with this map count (an exclusive entry counts 1).
    Mapped(u64),
}

/// How smaps counts a present page, from its pagemap entry and its frame's words.
pub fn charge(entry: PagemapEntry, frame: FrameWords) -> Charge {
    if let Some(flags) = frame.flags {
        if flags.has(KpageFlags::ZERO_PAGE) {
            return Charge::None;
        }
        if flags.has(KpageFlags::HUGE) {
            return Charge::Hugetlb;
        }
    }
    if !entry.file_or_shared_anon() && !entry.exclusive() {
        let anon = match frame.flags {
            Some(flags) => flags.has(KpageFlags::ANON),
            None => frame.map_count > 0,
        };
        if !anon {
            return Charge::None;
        }
    }
    if entry.exclusive() {
        return Charge::Mapped(1);
    }
    Charge::Mapped(frame.map_count)
}

/// The facts of `/proc/<pid>/stat` a process list needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatBrief {
    pub command: String,
    pub state: char,
    /// The task's `PF_*` flags (field 9).
    pub flags: u64,
}

/// PF_KTHREAD from include/linux/sched.h.
const PF_KTHREAD: u64 = 0x0020_0000;

impl StatBrief {
    /// A kernel thread or a zombie: no address space to account.
    pub fn has_no_memory(&self) -> bool {
        self.flags & PF_KTHREAD != 0 || self.state == 'Z' || self.state == 'X'
    }
}

/// Parses `/proc/<pid>/stat`: the command is between the first `(` and the last `)` (it may
/// hold spaces and parentheses), then state and the numeric fields.
pub fn parse_stat_brief(text: &str) -> Option<StatBrief> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let command = text.get(open + 1..close)?.to_string();
    let mut rest = text.get(close + 1..)?.split_ascii_whitespace();
    let state = rest.next()?.chars().next()?;
    // After the state: ppid pgrp session tty_nr tpgid flags.
    let flags = rest.nth(5)?.parse().ok()?;
    Some(StatBrief {
        command,
        state,
        flags,
    })
}

/// How a mapping is grouped in `usage --by mapping`: its file, or the kind of anonymous
/// memory (`[heap]`, `[stack]`, `[anon]`, `[anon:NAME]`, `[vdso]`, ...).
pub fn mapping_key(path: &str) -> String {
    match path {
        "" | "[anonymous]" => "[anon]".to_string(),
        p if p.starts_with("[stack") => "[stack]".to_string(),
        p => p.to_string(),
    }
}

/// One line of a usage table as JSON: bytes, PSS rounded down like smaps.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
pub struct UsageJson {
    pub rss: u64,
    /// `None` where it could not be computed (no frame numbers without CAP_SYS_ADMIN).
    pub pss: Option<u64>,
    pub uss: Option<u64>,
    pub swap: u64,
    pub hugetlb: u64,
}

/// The uid of `user` in the text of /etc/passwd (`name:x:uid:...`); a number is a uid as is.
pub fn uid_in_passwd(passwd: &str, user: &str) -> Option<u32> {
    if let Ok(uid) = user.parse() {
        return Some(uid);
    }
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == user).then_some(())?;
        fields.nth(1)?.parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: u64 = 4096;
    const PRESENT: u64 = 1 << 63;
    const FILE: u64 = 1 << 61;
    const EXCLUSIVE: u64 = 1 << 56;

    fn words(flags: u64, map_count: u64) -> FrameWords {
        FrameWords {
            flags: Some(KpageFlags(flags)),
            map_count,
        }
    }

    #[test]
    fn flags_are_read_only_where_the_map_count_leaves_it_open() {
        let shared_anon = PagemapEntry(PRESENT | 9);
        assert!(!flags_needed_after_count(shared_anon, 3));
        assert!(
            flags_needed_after_count(shared_anon, 0),
            "zero page or PFN mapping"
        );
        assert!(!flags_needed_after_count(
            PagemapEntry(PRESENT | FILE | 9),
            0
        ));
        let unread = |map_count| FrameWords {
            flags: None,
            map_count,
        };
        assert_eq!(charge(shared_anon, unread(3)), Charge::Mapped(3));
        assert_eq!(charge(shared_anon, unread(0)), Charge::None);
        assert_eq!(
            charge(PagemapEntry(PRESENT | FILE | 9), unread(5)),
            Charge::Mapped(5)
        );
    }

    #[test]
    fn a_shared_page_counts_one_nth_in_fixed_point_like_the_kernel() {
        let mut usage = Usage::default();
        let libc_page = PagemapEntry(PRESENT | FILE | 0x1234);
        usage.add_page(PAGE, libc_page, words(1 << 5, 3));
        assert_eq!(usage.rss, 4096);
        assert_eq!(usage.pss.0, (4096 << 12) / 3);
        assert_eq!(usage.pss.bytes(), 1365);
        assert_eq!(usage.uss, 0);
    }

    #[test]
    fn exclusive_and_map_count_one_are_unique() {
        let mut usage = Usage::default();
        usage.add_exclusive(PAGE, 2);
        usage.add_page(PAGE, PagemapEntry(PRESENT | FILE | 7), words(0, 1));
        assert_eq!(
            (usage.rss, usage.uss, usage.pss.bytes()),
            (3 * PAGE, 3 * PAGE, 3 * PAGE)
        );
    }

    #[test]
    fn zero_page_pfnmap_and_hugetlb_are_not_rss() {
        let zero = 1 << KpageFlags::ZERO_PAGE;
        // The huge zero page: 6.1's pagemap marks it "file" (bit 61).
        assert_eq!(
            charge(PagemapEntry(PRESENT | FILE | 9), words(zero, 0)),
            Charge::None
        );
        // A PFN mapping: present, no bit 61, not anonymous.
        assert_eq!(
            charge(PagemapEntry(PRESENT | 9), words(1 << 10, 0)),
            Charge::None
        );
        let hugetlb = 1 << KpageFlags::HUGE | 1 << 15;
        assert_eq!(
            charge(
                PagemapEntry(PRESENT | FILE | EXCLUSIVE | 9),
                words(hugetlb, 1)
            ),
            Charge::Hugetlb
        );
        let mut usage = Usage::default();
        usage.add_page(PAGE, PagemapEntry(PRESENT | FILE | 9), words(hugetlb, 1));
        assert_eq!((usage.rss, usage.hugetlb), (0, PAGE));
    }

    #[test]
    fn fork_shared_and_ksm_anonymous_pages_divide_by_their_map_count() {
        let ksm = 1 << KpageFlags::ANON | 1 << 21;
        assert_eq!(
            charge(PagemapEntry(PRESENT | 9), words(ksm, 40)),
            Charge::Mapped(40)
        );
        let thp_tail = 1 << KpageFlags::ANON | 1 << KpageFlags::THP | 1 << 16;
        assert_eq!(
            charge(PagemapEntry(PRESENT | 9), words(thp_tail, 2)),
            Charge::Mapped(2)
        );
    }

    #[test]
    fn only_shared_or_huge_frames_need_their_words() {
        assert!(needs_frame(PagemapEntry(PRESENT | FILE | 5), false));
        assert!(!needs_frame(PagemapEntry(PRESENT | EXCLUSIVE | 5), false));
        assert!(needs_frame(PagemapEntry(PRESENT | EXCLUSIVE | 5), true));
        assert!(!needs_frame(PagemapEntry(1 << 62 | 5 << 5), false));
        assert!(
            !needs_frame(PagemapEntry(PRESENT | FILE), false),
            "PFN hidden"
        );
        let file = words_needed(PagemapEntry(PRESENT | FILE | 5), false);
        assert_eq!((file.count, file.flags), (true, false));
        let anon = words_needed(PagemapEntry(PRESENT | 5), false);
        assert_eq!((anon.count, anon.flags), (true, false));
        let huge = words_needed(PagemapEntry(PRESENT | FILE | EXCLUSIVE | 5), true);
        assert_eq!((huge.count, huge.flags), (false, true));
    }

    #[test]
    fn reads_stat_with_a_command_holding_parentheses_and_spaces() {
        let text = "4242 (we(ird) name) S 1 4242 4242 0 -1 4194560 93 0 0 0 0 0 0 0 20 0 1 0";
        let brief = parse_stat_brief(text).unwrap();
        assert_eq!(brief.command, "we(ird) name");
        assert_eq!((brief.state, brief.flags), ('S', 4194560));
        assert!(!brief.has_no_memory());
        let kthread = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0";
        assert!(parse_stat_brief(kthread).unwrap().has_no_memory());
        assert!(parse_stat_brief("12 (x").is_none());
    }

    #[test]
    fn groups_mappings_by_file_or_kind() {
        assert_eq!(mapping_key("[anonymous]"), "[anon]");
        assert_eq!(mapping_key("[stack:123]"), "[stack]");
        assert_eq!(mapping_key("/usr/lib/libc.so.6"), "/usr/lib/libc.so.6");
    }

    #[test]
    fn finds_a_user_by_name_or_number() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/usr/sbin/nologin\n";
        assert_eq!(uid_in_passwd(passwd, "nobody"), Some(65534));
        assert_eq!(uid_in_passwd(passwd, "1000"), Some(1000));
        assert_eq!(uid_in_passwd(passwd, "nobod"), None);
    }
}
