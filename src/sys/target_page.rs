// SPDX-License-Identifier: MIT OR Apache-2.0
//! The page of a `physdemo target` that holds the watched 64-bit variable, and its header.
//!
//! The page is read and written only with volatile accesses: another agent (a write through
//! /dev/mem) changes it behind the compiler's back. Its header lets another process (inspect,
//! poke) verify through `/proc/<pid>/mem` that a page really is a live target's
//! ([`crate::kernel::target_header`] decodes it), and see the target's reaction.

use std::cell::UnsafeCell;
use std::io;
use std::mem::offset_of;
use std::ptr::{addr_of, addr_of_mut};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::sys::io_uring::{register_fixed_buffer, FixedBuffer};

/// Marks a target page: the ASCII bytes "PHYSDEMO" as a little-endian word.
pub(crate) const TARGET_MAGIC: u64 = u64::from_le_bytes(*b"PHYSDEMO");

/// The layout of a target's page. The header lets another process (inspect, poke) verify
/// through `/proc/<pid>/mem` that a page really is a live target's, and see its reaction.
#[repr(C, align(4096))]
pub(crate) struct TargetPage {
    magic: u64,
    pid: u64,
    /// The virtual address of `value` in the target: a copy elsewhere cannot pass for it.
    value_addr: u64,
    /// The last value the watcher noticed, when (CLOCK_MONOTONIC ns), and how many so far.
    seen_value: u64,
    seen_at_ns: u64,
    seen_count: u64,
    reserved: [u64; 2],
    /// The watched variable, on a cache line of its own.
    value: u64,
    rest: [u64; 503],
}

/// Byte offsets of the header fields, for readers of /proc/<pid>/mem.
pub(crate) mod layout {
    use super::*;
    pub(crate) const MAGIC: usize = offset_of!(TargetPage, magic);
    pub(crate) const PID: usize = offset_of!(TargetPage, pid);
    pub(crate) const VALUE_ADDR: usize = offset_of!(TargetPage, value_addr);
    pub(crate) const SEEN_VALUE: usize = offset_of!(TargetPage, seen_value);
    pub(crate) const SEEN_AT_NS: usize = offset_of!(TargetPage, seen_at_ns);
    pub(crate) const SEEN_COUNT: usize = offset_of!(TargetPage, seen_count);
    pub(crate) const VALUE: usize = offset_of!(TargetPage, value);
    pub(crate) const HEADER_LEN: usize = VALUE + 8;
    pub(crate) const PAGE_LEN: usize = std::mem::size_of::<TargetPage>();
}

const _: () = assert!(layout::PAGE_LEN == 4096);

impl TargetPage {
    /// A page with a non-zero word, so a `static` of it lands in `.data`, not `.bss`.
    pub(crate) const INITIAL: TargetPage = TargetPage {
        magic: 0,
        pid: 0,
        value_addr: 0,
        seen_value: 0,
        seen_at_ns: 0,
        seen_count: 0,
        reserved: [0; 2],
        value: 0x1122_3344_5566_7788,
        rest: [0; 503],
    };
}

struct StaticPage(UnsafeCell<TargetPage>);
// SAFETY: the page is handed out at most once (STATIC_TAKEN), and then only accessed
// through volatile reads and writes by the one TargetCell that owns it.
unsafe impl Sync for StaticPage {}
static STATIC_PAGE: StaticPage = StaticPage(UnsafeCell::new(TargetPage::INITIAL));
static STATIC_TAKEN: AtomicBool = AtomicBool::new(false);

enum Owner {
    /// An anonymous mapping of `len` bytes from `base` that we unmap on drop (the page may
    /// lie inside it, not at its start).
    Mapping { base: *mut libc::c_void, len: usize },
    /// A heap allocation that we free on drop.
    Heap,
    /// The binary's writable data, or the caller's stack frame: nothing to free.
    Borrowed,
}

/// Where the target page lies inside its huge page: this many base pages in (0x5000 bytes
/// with 4 KiB pages), not at its start, so that its frame is a subpage's (the head frame +
/// 5), not the head's.
pub(crate) const PAGES_INTO_HUGE_PAGE: usize = 5;

/// A target page, accessed only through volatile reads and writes.
pub(crate) struct TargetCell<'a> {
    page: *mut TargetPage,
    /// The range that locking and advice cover: from `cover_start`, `extent` bytes (the page
    /// itself, up to the stack's top ([`TargetCell::cover_up_to`]), or a whole huge page).
    cover_start: *mut libc::c_void,
    extent: usize,
    owner: Owner,
    _borrow: std::marker::PhantomData<&'a mut TargetPage>,
}

impl TargetCell<'static> {
    /// A fresh private anonymous mapping of one page (`page_len` bytes, the system page size).
    pub(crate) fn in_anonymous_mapping(page_len: usize) -> io::Result<Self> {
        let len = page_len.max(layout::PAGE_LEN);
        let ptr = map_anonymous(len, 0)?;
        Ok(TargetCell {
            page: ptr.cast(),
            cover_start: ptr,
            extent: layout::PAGE_LEN,
            owner: Owner::Mapping { base: ptr, len },
            _borrow: std::marker::PhantomData,
        })
    }

    /// A page [`PAGES_INTO_HUGE_PAGE`] base pages (`page_len` bytes) into a block of
    /// `huge_len` bytes (the THP size: 2 MiB with 4 KiB pages, 512 MiB with 64 KiB), aligned
    /// to its size, of a private anonymous mapping twice that size, advised `MADV_HUGEPAGE`
    /// and touched page by page, so that the kernel backs it with a transparent huge page
    /// where it can. Whether it did is for the caller to check (kpageflags): THP may be
    /// disabled, or memory too fragmented.
    pub(crate) fn in_transparent_huge_page(huge_len: usize, page_len: usize) -> io::Result<Self> {
        let len = 2 * huge_len;
        let base = map_anonymous(len, 0)?;
        let block = (base as usize).next_multiple_of(huge_len) as *mut libc::c_void;
        // SAFETY: advice on the aligned block, which lies inside the mapping just made. An
        // error (EINVAL without CONFIG_TRANSPARENT_HUGEPAGE) only means no huge page, which
        // the caller finds out.
        unsafe { libc::madvise(block, huge_len, libc::MADV_HUGEPAGE) };
        for offset in (0..huge_len).step_by(page_len.max(layout::PAGE_LEN)) {
            // SAFETY: inside the block, which is ours and writable; the first touch of the
            // block is where the kernel allocates the huge page.
            unsafe { block.cast::<u8>().add(offset).write_volatile(1) };
        }
        Ok(Self::in_huge_block(block, base, len, huge_len, page_len))
    }

    /// A page [`PAGES_INTO_HUGE_PAGE`] base pages into a private hugetlbfs page of
    /// `huge_len` bytes (`MAP_HUGETLB` with log2 of the size in the `MAP_HUGE_SHIFT` bits:
    /// `MAP_HUGE_2MB` for 2 MiB). ENOMEM when no huge page is reserved (`vm.nr_hugepages`
    /// is 0, or all are in use).
    pub(crate) fn in_hugetlb_page(huge_len: usize, page_len: usize) -> io::Result<Self> {
        let size_flag = (huge_len.trailing_zeros() as libc::c_int) << libc::MAP_HUGE_SHIFT;
        let base = map_anonymous(huge_len, libc::MAP_HUGETLB | size_flag)?;
        Ok(Self::in_huge_block(
            base, base, huge_len, huge_len, page_len,
        ))
    }

    /// The cell of the page inside the `huge_len` bytes `block` of the mapping from `base`,
    /// `len` bytes long: locking covers the whole block (mlock of one base page would split a
    /// THP's mapping, and hugetlbfs mappings cannot be split at all).
    fn in_huge_block(
        block: *mut libc::c_void,
        base: *mut libc::c_void,
        len: usize,
        huge_len: usize,
        page_len: usize,
    ) -> Self {
        let into = PAGES_INTO_HUGE_PAGE * page_len.max(layout::PAGE_LEN);
        TargetCell {
            // The block is aligned to its size, so the page is aligned to a base page.
            page: block.cast::<u8>().wrapping_add(into).cast(),
            cover_start: block,
            extent: huge_len,
            owner: Owner::Mapping { base, len },
            _borrow: std::marker::PhantomData,
        }
    }

    /// A page-aligned heap allocation (glibc serves it from `[heap]`).
    pub(crate) fn on_heap() -> Self {
        let page = Box::into_raw(Box::new(TargetPage::INITIAL));
        TargetCell {
            page,
            cover_start: page.cast(),
            extent: layout::PAGE_LEN,
            owner: Owner::Heap,
            _borrow: std::marker::PhantomData,
        }
    }

    /// The page in the binary's writable data (`.data`); available once per process.
    pub(crate) fn in_static_data() -> Option<Self> {
        if STATIC_TAKEN.swap(true, Ordering::SeqCst) {
            return None;
        }
        Some(TargetCell {
            page: STATIC_PAGE.0.get(),
            cover_start: STATIC_PAGE.0.get().cast(),
            extent: layout::PAGE_LEN,
            owner: Owner::Borrowed,
            _borrow: std::marker::PhantomData,
        })
    }
}

impl<'a> TargetCell<'a> {
    /// A page in the caller's stack frame, which must outlive the cell.
    pub(crate) fn on_stack(page: &'a mut TargetPage) -> Self {
        let page: *mut TargetPage = page;
        TargetCell {
            page,
            cover_start: page.cast(),
            extent: layout::PAGE_LEN,
            owner: Owner::Borrowed,
            _borrow: std::marker::PhantomData,
        }
    }

    /// Makes locking and advice cover everything from the page up to `end` (exclusive).
    ///
    /// mlock and madvise split a mapping at the range they cover, and /proc/<pid>/maps
    /// labels only the part holding the initial stack pointer `[stack]`; covering up to
    /// the stack's top keeps the page inside the part that is labelled.
    pub(crate) fn cover_up_to(&mut self, end: u64) {
        if end > self.page_addr() {
            self.extent = (end - self.page_addr()) as usize;
        }
    }

    /// The virtual address of the watched variable.
    pub(crate) fn value_addr(&self) -> u64 {
        // SAFETY: computing a field address of a live page, no access.
        unsafe { addr_of!((*self.page).value) as u64 }
    }

    /// The start of the page.
    pub(crate) fn page_addr(&self) -> u64 {
        self.page as u64
    }

    /// Writes the header and the initial value, which also makes the page resident.
    pub(crate) fn initialise(&self, pid: u32, initial: u64) {
        let value_addr = self.value_addr();
        // SAFETY: `page` is valid for writes for the cell's lifetime; volatile because the
        // memory is shared with writers outside this program's view.
        unsafe {
            addr_of_mut!((*self.page).magic).write_volatile(TARGET_MAGIC);
            addr_of_mut!((*self.page).pid).write_volatile(u64::from(pid));
            addr_of_mut!((*self.page).value_addr).write_volatile(value_addr);
            addr_of_mut!((*self.page).seen_value).write_volatile(initial);
            addr_of_mut!((*self.page).seen_at_ns).write_volatile(0);
            addr_of_mut!((*self.page).seen_count).write_volatile(0);
            addr_of_mut!((*self.page).value).write_volatile(initial);
        }
    }

    /// Reads the watched variable (one volatile 64-bit load).
    pub(crate) fn read(&self) -> u64 {
        // SAFETY: valid, aligned, and read volatile as it may change under us.
        unsafe { addr_of!((*self.page).value).read_volatile() }
    }

    /// Writes the watched variable (one volatile 64-bit store), as a poke would.
    #[cfg(test)]
    pub(crate) fn write(&self, value: u64) {
        // SAFETY: valid and aligned for writes.
        unsafe { addr_of_mut!((*self.page).value).write_volatile(value) }
    }

    /// Records in the header that the watcher saw `value` at `at_ns`, for poke to read.
    pub(crate) fn publish_seen(&self, value: u64, at_ns: u64) {
        // SAFETY: valid and aligned for reads and writes.
        unsafe {
            let count = addr_of!((*self.page).seen_count).read_volatile();
            addr_of_mut!((*self.page).seen_value).write_volatile(value);
            addr_of_mut!((*self.page).seen_at_ns).write_volatile(at_ns);
            addr_of_mut!((*self.page).seen_count).write_volatile(count + 1);
        }
    }

    /// Keeps the page ordinary: no transparent huge page, not merged by KSM. Best effort.
    pub(crate) fn keep_ordinary(&self) {
        let (addr, len) = (self.cover_start, self.extent);
        // SAFETY: neither advice changes any memory's contents (only whether the kernel may
        // back the range with a huge page or merge its pages), and the range is mapped (the
        // page, the stack above it, or a huge block of ours); errors (e.g. EINVAL without
        // KSM) are harmless.
        unsafe {
            libc::madvise(addr, len, libc::MADV_NOHUGEPAGE);
            libc::madvise(addr, len, libc::MADV_UNMERGEABLE);
        }
    }

    /// Holds the variable's page in place: registers it as an io_uring fixed buffer, a
    /// long-term pin, until the returned ring is dropped (see [`crate::sys::io_uring`]). The
    /// ring borrows the cell: the page cannot be freed or unmapped before it is released.
    pub(crate) fn hold_still(&self) -> io::Result<FixedBuffer<'_>> {
        register_fixed_buffer(self, self.page_addr(), layout::PAGE_LEN)
    }

    /// Locks the page in RAM so it is never swapped out.
    pub(crate) fn lock(&self) -> io::Result<()> {
        // SAFETY: mlock only makes the kernel keep the range's pages resident; it reads and
        // writes no memory (the range, which may run up the stack past our frame, must be
        // mapped, else ENOMEM).
        let rc = unsafe { libc::mlock(self.cover_start, self.extent) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

/// A new private anonymous read-write mapping of `len` bytes, with `flags` added.
fn map_anonymous(len: usize, flags: libc::c_int) -> io::Result<*mut libc::c_void> {
    // SAFETY: a new anonymous mapping; no existing memory is affected.
    let ptr = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | flags,
            -1,
            0,
        )
    };
    if ptr == libc::MAP_FAILED {
        Err(io::Error::last_os_error())
    } else {
        Ok(ptr)
    }
}

impl Drop for TargetCell<'_> {
    fn drop(&mut self) {
        match self.owner {
            // SAFETY: we mapped exactly this range; the cell is its only user, and the io_uring
            // registration that pins the page borrows the cell, so it is released by now.
            Owner::Mapping { base, len } => unsafe {
                libc::munmap(base, len);
            },
            // SAFETY: allocated by Box::into_raw in on_heap and not freed since.
            Owner::Heap => unsafe { drop(Box::from_raw(self.page)) },
            Owner::Borrowed => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_target_page_reads_back_what_was_written_and_records_what_it_saw() {
        let cell = TargetCell::in_anonymous_mapping(4096).unwrap();
        cell.initialise(42, 0x1122_3344_5566_7788);
        assert_eq!(cell.read(), 0x1122_3344_5566_7788);
        assert_eq!(cell.value_addr() - cell.page_addr(), layout::VALUE as u64);
        cell.write(7);
        assert_eq!(cell.read(), 7);
        cell.publish_seen(7, 99);
        // SAFETY: the page is live and 4096-byte aligned; its first 8 words are the header
        // just written, and nothing writes them while the slice is read.
        let header = unsafe { std::slice::from_raw_parts(cell.page as *const u64, 8) };
        assert_eq!(header[..6], [TARGET_MAGIC, 42, cell.value_addr(), 7, 99, 1]);
    }

    #[test]
    fn heap_and_stack_pages_are_page_aligned() {
        let heap = TargetCell::on_heap();
        assert_eq!(heap.page_addr() % 4096, 0);
        let mut frame = TargetPage::INITIAL;
        let stack = TargetCell::on_stack(&mut frame);
        assert_eq!(stack.page_addr() % 4096, 0);
        assert_eq!(stack.read(), 0x1122_3344_5566_7788);
    }

    #[test]
    fn a_huge_page_cell_lies_some_pages_into_a_block_aligned_to_its_size() {
        let cell = TargetCell::in_transparent_huge_page(2 << 20, 4096).unwrap();
        assert_eq!(cell.page_addr() % (2 << 20), 0x5000);
        let cell = TargetCell::in_transparent_huge_page(8 << 20, 16384).unwrap();
        assert_eq!(cell.page_addr() % (8 << 20), 5 * 16384);
        cell.initialise(1, 0x55);
        assert_eq!(cell.read(), 0x55);
        cell.lock().unwrap();
    }
}
