//! The only module with `unsafe` code: raw memory mappings and volatile accesses.
//!
//! Two kinds of memory are touched here. The *target page* ([`TargetCell`]) is the page of a
//! `physdemo target` process that holds the watched 64-bit variable; it is read and written
//! only with volatile accesses, since another agent (a write through /dev/mem) changes it
//! behind the compiler's back. The *physical window* ([`PhysWindow`]) maps the page(s) of a
//! device file such as /dev/mem for one volatile access, under a [`SigbusGuard`] that turns a
//! bus error into a message. Besides those, the raw system calls without a safe wrapper in
//! std: `clock_gettime` and the PAGEMAP_SCAN ioctl. Everything else in the crate is safe code
//! built on the small API below; `lib.rs` denies `unsafe_code` everywhere but here.

#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::io;
use std::mem::offset_of;
use std::ptr::{addr_of, addr_of_mut};
use std::sync::atomic::{AtomicBool, Ordering};

/// Marks a target page: the ASCII bytes "PHYSDEMO" as a little-endian word.
pub const TARGET_MAGIC: u64 = u64::from_le_bytes(*b"PHYSDEMO");

/// The layout of a target's page. The header lets another process (inspect, poke) verify
/// through `/proc/<pid>/mem` that a page really is a live target's, and see its reaction.
#[repr(C, align(4096))]
pub struct TargetPage {
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
pub mod layout {
    use super::*;
    pub const MAGIC: usize = offset_of!(TargetPage, magic);
    pub const PID: usize = offset_of!(TargetPage, pid);
    pub const VALUE_ADDR: usize = offset_of!(TargetPage, value_addr);
    pub const SEEN_VALUE: usize = offset_of!(TargetPage, seen_value);
    pub const SEEN_AT_NS: usize = offset_of!(TargetPage, seen_at_ns);
    pub const SEEN_COUNT: usize = offset_of!(TargetPage, seen_count);
    pub const VALUE: usize = offset_of!(TargetPage, value);
    pub const HEADER_LEN: usize = VALUE + 8;
    pub const PAGE_LEN: usize = std::mem::size_of::<TargetPage>();
}

const _: () = assert!(layout::PAGE_LEN == 4096);

impl TargetPage {
    /// A page with a non-zero word, so a `static` of it lands in `.data`, not `.bss`.
    pub const INITIAL: TargetPage = TargetPage {
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
    /// An anonymous mapping of `len` bytes that we unmap on drop.
    Mapping { len: usize },
    /// A heap allocation that we free on drop.
    Heap,
    /// The binary's writable data, or the caller's stack frame: nothing to free.
    Borrowed,
}

/// A target page, accessed only through volatile reads and writes.
pub struct TargetCell<'a> {
    page: *mut TargetPage,
    /// Bytes from `page` that locking and advice cover (see [`TargetCell::cover_up_to`]).
    extent: usize,
    owner: Owner,
    _borrow: std::marker::PhantomData<&'a mut TargetPage>,
}

impl TargetCell<'static> {
    /// A fresh private anonymous mapping of one page (`page_len` bytes, the system page size).
    pub fn in_anonymous_mapping(page_len: usize) -> io::Result<Self> {
        let len = page_len.max(layout::PAGE_LEN);
        // SAFETY: a new anonymous mapping; no existing memory is affected.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(TargetCell {
            page: ptr.cast(),
            extent: layout::PAGE_LEN,
            owner: Owner::Mapping { len },
            _borrow: std::marker::PhantomData,
        })
    }

    /// A page-aligned heap allocation (glibc serves it from `[heap]`).
    pub fn on_heap() -> Self {
        let page = Box::into_raw(Box::new(TargetPage::INITIAL));
        TargetCell {
            page,
            extent: layout::PAGE_LEN,
            owner: Owner::Heap,
            _borrow: std::marker::PhantomData,
        }
    }

    /// The page in the binary's writable data (`.data`); available once per process.
    pub fn in_static_data() -> Option<Self> {
        if STATIC_TAKEN.swap(true, Ordering::SeqCst) {
            return None;
        }
        Some(TargetCell {
            page: STATIC_PAGE.0.get(),
            extent: layout::PAGE_LEN,
            owner: Owner::Borrowed,
            _borrow: std::marker::PhantomData,
        })
    }
}

impl<'a> TargetCell<'a> {
    /// A page in the caller's stack frame, which must outlive the cell.
    pub fn on_stack(page: &'a mut TargetPage) -> Self {
        TargetCell {
            page,
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
    pub fn cover_up_to(&mut self, end: u64) {
        if end > self.page_addr() {
            self.extent = (end - self.page_addr()) as usize;
        }
    }

    /// The virtual address of the watched variable.
    pub fn value_addr(&self) -> u64 {
        // SAFETY: computing a field address of a live page, no access.
        unsafe { addr_of!((*self.page).value) as u64 }
    }

    /// The start of the page.
    pub fn page_addr(&self) -> u64 {
        self.page as u64
    }

    /// Writes the header and the initial value, which also makes the page resident.
    pub fn initialise(&self, pid: u32, initial: u64) {
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
    pub fn read(&self) -> u64 {
        // SAFETY: valid, aligned, and read volatile as it may change under us.
        unsafe { addr_of!((*self.page).value).read_volatile() }
    }

    /// Writes the watched variable (one volatile 64-bit store).
    pub fn write(&self, value: u64) {
        // SAFETY: valid and aligned for writes.
        unsafe { addr_of_mut!((*self.page).value).write_volatile(value) }
    }

    /// Records in the header that the watcher saw `value` at `at_ns`, for poke to read.
    pub fn publish_seen(&self, value: u64, at_ns: u64) {
        // SAFETY: valid and aligned for reads and writes.
        unsafe {
            let count = addr_of!((*self.page).seen_count).read_volatile();
            addr_of_mut!((*self.page).seen_value).write_volatile(value);
            addr_of_mut!((*self.page).seen_at_ns).write_volatile(at_ns);
            addr_of_mut!((*self.page).seen_count).write_volatile(count + 1);
        }
    }

    /// Keeps the page ordinary: no transparent huge page, not merged by KSM. Best effort.
    pub fn keep_ordinary(&self) {
        let (addr, len) = (self.page.cast::<libc::c_void>(), self.extent);
        // SAFETY: advice on a range we own; errors (e.g. EINVAL without KSM) are harmless.
        unsafe {
            libc::madvise(addr, len, libc::MADV_NOHUGEPAGE);
            libc::madvise(addr, len, libc::MADV_UNMERGEABLE);
        }
    }

    /// Locks the page in RAM so it is never swapped out.
    pub fn lock(&self) -> io::Result<()> {
        // SAFETY: mlock of a range we own.
        let rc = unsafe { libc::mlock(self.page.cast(), self.extent) };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
}

impl Drop for TargetCell<'_> {
    fn drop(&mut self) {
        match self.owner {
            // SAFETY: we mapped exactly this range and nothing else refers to it now.
            Owner::Mapping { len } => unsafe {
                libc::munmap(self.page.cast(), len);
            },
            // SAFETY: allocated by Box::into_raw in on_heap and not freed since.
            Owner::Heap => unsafe { drop(Box::from_raw(self.page)) },
            Owner::Borrowed => {}
        }
    }
}

/// The CLOCK_MONOTONIC time in nanoseconds: the clock target and poke both print, so the
/// reaction latency is the difference of the two.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

/// One `struct page_region` filled by the PAGEMAP_SCAN ioctl (`include/uapi/linux/fs.h`):
/// the virtual range `[start, end)` whose pages all share `categories` (`PAGE_IS_*` bits).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageRegion {
    pub start: u64,
    pub end: u64,
    pub categories: u64,
}

/// `struct pm_scan_arg` of the PAGEMAP_SCAN ioctl (Linux 6.7+).
#[repr(C)]
struct PmScanArg {
    size: u64,
    flags: u64,
    start: u64,
    end: u64,
    walk_end: u64,
    vec: u64,
    vec_len: u64,
    max_pages: u64,
    category_inverted: u64,
    category_mask: u64,
    category_anyof_mask: u64,
    return_mask: u64,
}

/// `_IOWR('f', 16, struct pm_scan_arg)`: direction 3, size 96, type 'f', number 16.
const PAGEMAP_SCAN: u64 =
    3 << 30 | (std::mem::size_of::<PmScanArg>() as u64) << 16 | 0x66 << 8 | 16;

/// Runs the read-only PAGEMAP_SCAN ioctl on an open `/proc/<pid>/pagemap` over the virtual
/// range `[start, end)`: fills `out` with the regions whose pages have any of the `anyof`
/// categories, each labelled with its `report` categories. Returns how many regions were
/// filled and where the walk stopped (`end` unless `out` filled up first). Kernels before
/// 6.7 fail with ENOTTY (or EINVAL); callers fall back to reading pagemap.
pub fn pagemap_scan(
    pagemap: &std::fs::File,
    start: u64,
    end: u64,
    anyof: u64,
    report: u64,
    out: &mut [PageRegion],
) -> io::Result<(usize, u64)> {
    use std::os::fd::AsRawFd;
    let mut arg = PmScanArg {
        size: std::mem::size_of::<PmScanArg>() as u64,
        flags: 0,
        start,
        end,
        walk_end: 0,
        vec: out.as_mut_ptr() as u64,
        vec_len: out.len() as u64,
        max_pages: 0,
        category_inverted: 0,
        category_mask: 0,
        category_anyof_mask: anyof,
        return_mask: report,
    };
    // SAFETY: `arg` is a correctly laid out pm_scan_arg that lives across the call; `vec`
    // points at `out.len()` writable PageRegions (repr(C), three u64s like page_region),
    // and flags 0 asks for no write-protection, so the kernel only writes `arg` and `out`.
    let rc = unsafe { libc::ioctl(pagemap.as_raw_fd(), PAGEMAP_SCAN as _, &mut arg) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(((rc as usize).min(out.len()), arg.walk_end))
}

// ---------------------------------------------------------------------------------------
// The physical window: a shared mapping of part of a device file such as /dev/mem.
// ---------------------------------------------------------------------------------------

/// A `MAP_SHARED` mapping of `len` bytes of a device file (such as /dev/mem) at a
/// page-aligned file offset. Accesses are volatile and bounds- and alignment-checked, so
/// each [`PhysWindow::read`] or [`PhysWindow::write`] is exactly one load or store of the
/// requested width. The mapping is removed on drop.
pub struct PhysWindow {
    base: *mut u8,
    len: usize,
}

impl PhysWindow {
    /// Maps `len` bytes of `file` at `offset` (which must be page-aligned), read-only or
    /// read-write.
    pub fn map(file: &std::fs::File, offset: u64, len: usize, writable: bool) -> io::Result<Self> {
        use std::os::fd::AsRawFd;
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a new shared mapping of a file we hold open; it aliases no Rust object,
        // and all access goes through the checked volatile methods below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(PhysWindow {
            base: ptr.cast(),
            len,
        })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Checks that `width` bytes at `at` are inside the window and naturally aligned.
    fn check(&self, at: usize, width: usize) -> io::Result<()> {
        let fits = matches!(width, 1 | 2 | 4 | 8)
            && at.checked_add(width).is_some_and(|end| end <= self.len)
            && at % width == 0;
        if fits {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "access of {width} bytes at offset {at} of a {}-byte window",
                    self.len
                ),
            ))
        }
    }

    /// One volatile load of `width` bytes (1, 2, 4 or 8) at byte `at` of the window.
    pub fn read(&self, at: usize, width: usize) -> io::Result<u64> {
        self.check(at, width)?;
        // SAFETY: in bounds and aligned (checked above); the mapping lives as long as self.
        let value = unsafe {
            let ptr = self.base.add(at);
            match width {
                1 => u64::from(ptr.read_volatile()),
                2 => u64::from(ptr.cast::<u16>().read_volatile()),
                4 => u64::from(ptr.cast::<u32>().read_volatile()),
                _ => ptr.cast::<u64>().read_volatile(),
            }
        };
        Ok(value)
    }

    /// One volatile store of the low `width` bytes of `value` at byte `at` of the window.
    /// The window must have been mapped writable.
    pub fn write(&self, at: usize, width: usize, value: u64) -> io::Result<()> {
        self.check(at, width)?;
        // SAFETY: in bounds and aligned (checked above); a read-only mapping would fault,
        // which callers prevent by mapping writable for writes.
        unsafe {
            let ptr = self.base.add(at);
            match width {
                1 => ptr.write_volatile(value as u8),
                2 => ptr.cast::<u16>().write_volatile(value as u16),
                4 => ptr.cast::<u32>().write_volatile(value as u32),
                _ => ptr.cast::<u64>().write_volatile(value),
            }
        }
        Ok(())
    }

    /// Copies `out.len()` bytes starting at `at` with volatile byte loads.
    pub fn read_bytes(&self, at: usize, out: &mut [u8]) -> io::Result<()> {
        if at.checked_add(out.len()).map_or(true, |end| end > self.len) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "byte range outside the window",
            ));
        }
        for (i, byte) in out.iter_mut().enumerate() {
            // SAFETY: at + i < len (checked above).
            *byte = unsafe { self.base.add(at + i).read_volatile() };
        }
        Ok(())
    }
}

impl Drop for PhysWindow {
    fn drop(&mut self) {
        // SAFETY: we mapped exactly this range and hand out no references into it.
        unsafe {
            libc::munmap(self.base.cast(), self.len);
        }
    }
}

/// The message the SIGBUS handler writes, preformatted because a handler may not allocate.
struct BusMessage(UnsafeCell<[u8; BUS_MESSAGE_CAP]>);
const BUS_MESSAGE_CAP: usize = 1024;
// SAFETY: written only while no handler is installed (SigbusGuard::install, before
// sigaction), read only by the handler.
unsafe impl Sync for BusMessage {}
static BUS_MESSAGE: BusMessage = BusMessage(UnsafeCell::new([0; BUS_MESSAGE_CAP]));
static BUS_MESSAGE_LEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static BUS_EXIT_CODE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1);
static GUARD_ACTIVE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigbus(_signal: libc::c_int) {
    let len = BUS_MESSAGE_LEN.load(Ordering::SeqCst);
    let code = BUS_EXIT_CODE.load(Ordering::SeqCst);
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is not being written
    // (it is filled before the handler is installed).
    unsafe {
        libc::write(2, BUS_MESSAGE.0.get().cast(), len);
        libc::_exit(code);
    }
}

/// While alive, a bus error (SIGBUS: a physical access nothing answers, or a file mapping
/// past its end) prints a preformatted line on stderr and exits with a chosen code instead
/// of dumping core. The previous disposition is restored on drop. One at a time.
pub struct SigbusGuard {
    previous: libc::sigaction,
}

impl SigbusGuard {
    /// Installs the handler with `message` (a newline is added; cut to 1 KiB) and `exit_code`.
    pub fn install(message: &str, exit_code: u8) -> io::Result<Self> {
        if GUARD_ACTIVE.swap(true, Ordering::SeqCst) {
            return Err(io::Error::other("a SIGBUS guard is already installed"));
        }
        let mut text = message.as_bytes().to_vec();
        text.truncate(BUS_MESSAGE_CAP - 1);
        text.push(b'\n');
        // SAFETY: no handler of ours is installed (GUARD_ACTIVE was false), so nothing reads
        // the buffer concurrently.
        unsafe {
            std::ptr::copy_nonoverlapping(
                text.as_ptr(),
                BUS_MESSAGE.0.get().cast::<u8>(),
                text.len(),
            );
        }
        BUS_MESSAGE_LEN.store(text.len(), Ordering::SeqCst);
        BUS_EXIT_CODE.store(i32::from(exit_code), Ordering::SeqCst);
        // SAFETY: zeroed sigaction structs are valid; we fill the handler and mask.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
        // SAFETY: sigemptyset on a struct we own; sigaction with valid pointers.
        let rc = unsafe {
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, &mut previous)
        };
        if rc != 0 {
            GUARD_ACTIVE.store(false, Ordering::SeqCst);
            return Err(io::Error::last_os_error());
        }
        Ok(SigbusGuard { previous })
    }
}

impl Drop for SigbusGuard {
    fn drop(&mut self) {
        // SAFETY: restores the disposition saved at install.
        unsafe {
            libc::sigaction(libc::SIGBUS, &self.previous, std::ptr::null_mut());
        }
        GUARD_ACTIVE.store(false, Ordering::SeqCst);
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
        // SAFETY (test): reading the header we just wrote.
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
    fn a_physical_window_reads_and_writes_every_width_of_a_file() {
        use std::io::Write;
        let path = std::env::temp_dir().join(format!("physdemo-window-{}", std::process::id()));
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        file.write_all(&[0u8; 8192]).unwrap();
        let window = PhysWindow::map(&file, 4096, 4096, true).unwrap();
        window.write(8, 8, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(window.read(8, 8).unwrap(), 0x1122_3344_5566_7788);
        assert_eq!(window.read(8, 1).unwrap(), 0x88);
        assert_eq!(window.read(10, 2).unwrap(), 0x5566);
        assert_eq!(window.read(12, 4).unwrap(), 0x1122_3344);
        window.write(9, 1, 0xab).unwrap();
        let mut bytes = [0u8; 3];
        window.read_bytes(8, &mut bytes).unwrap();
        assert_eq!(bytes, [0x88, 0xab, 0x66]);
        // misaligned, out of bounds and odd widths are refused, not performed
        assert!(window.read(9, 2).is_err());
        assert!(window.read(4092, 8).is_err());
        assert!(window.read(4096, 1).is_err());
        assert!(window.write(0, 3, 0).is_err());
        assert!(window.read_bytes(4095, &mut bytes).is_err());
        drop(window);
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(on_disk[4096 + 8..4096 + 11], [0x88, 0xab, 0x66]);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_sigbus_guard_installs_once_and_restores() {
        let guard = SigbusGuard::install("bus error", 3).unwrap();
        assert!(SigbusGuard::install("again", 3).is_err());
        drop(guard);
        drop(SigbusGuard::install("after", 3).unwrap());
    }

    #[test]
    fn the_monotonic_clock_moves_forward() {
        let first = monotonic_ns();
        assert!(monotonic_ns() >= first && first > 0);
    }
}
