// SPDX-License-Identifier: MIT OR Apache-2.0
//! Probes of what a memory device allows, made on a page of physdemo's own.
//!
//! [`OwnPage`] is a page of this process filled with a pattern no other page holds, and
//! its physical address from `/proc/self/pagemap` (which needs CAP_SYS_ADMIN to show it).
//! Reading it through a device is harmless (RAM has no read side effects, and the page is
//! ours), and says exactly what the device does with RAM above 1 MiB (Linux 6.1 never hands
//! out the first megabyte, `arch/x86/kernel/setup.c` reserves it): the page's own bytes
//! (open), an errno (EPERM: `CONFIG_STRICT_DEVMEM`; EINVAL on a mapping: x86 PAT), or other
//! bytes (the page moved while it was read; [`OwnPage::still_there`] tells).
//!
//! Nothing here writes through a device: the kernel checks a write() and a writable
//! mapping exactly as it checks a read() and a read-only one (`drivers/char/mem.c`:
//! `page_is_allowed()`, `range_is_allowed()`; x86 `phys_mem_access_prot_allowed()`), so a
//! read probe answers for writes too, and nothing is ever written that no one asked for.
//! The one difference, a write() to RAM below 1 MiB that STRICT_DEVMEM drops, shows as the
//! zeros its read() returns there ([`read_page`] against [`map_page`]).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::kernel::addr::{PageSize, Pfn, PhysAddr, VirtAddr};
use crate::proc::pagemap::PagemapFile;
use crate::sys::clock::monotonic_ns;
use crate::sys::phys_window::PhysWindow;

/// The bytes of one page of the system's size (4 KiB, 16 KiB, 64 KiB), page-aligned so
/// that it is exactly one frame: the aligned page inside an allocation of two.
struct Frame {
    buffer: Vec<u8>,
    start: usize,
    len: usize,
}

impl Frame {
    fn new(page: PageSize) -> Frame {
        let len = page.bytes() as usize;
        let buffer = vec![0u8; 2 * len];
        let start = (len - buffer.as_ptr() as usize % len) % len;
        Frame { buffer, start, len }
    }

    fn bytes(&self) -> &[u8] {
        &self.buffer[self.start..self.start + self.len]
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.buffer[self.start..self.start + self.len]
    }
}

/// A page of physdemo's own with a pattern only it holds, and its physical address.
pub(crate) struct OwnPage {
    frame: Frame,
    pfn: Pfn,
    pub(crate) paddr: PhysAddr,
}

/// What reading a page through a device gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The page's own bytes.
    Exact,
    /// Only zeros: what /dev/mem's read() shows of RAM it hides.
    Zeros,
    /// Other bytes.
    Other,
    /// The kernel refused with this errno.
    Refused(i32),
}

impl OwnPage {
    /// Fills a new page with the pattern and finds its frame; `Err` says why the frame is
    /// not known (pagemap hides PFNs without CAP_SYS_ADMIN).
    pub(crate) fn new() -> Result<OwnPage, String> {
        let page = PageSize::of_system();
        let mut frame = Frame::new(page);
        let seed = monotonic_ns() ^ u64::from(std::process::id()).rotate_left(32);
        for (i, byte) in frame.bytes_mut().iter_mut().enumerate() {
            let b = (seed.rotate_left((i % 64) as u32) as u8) ^ (i / 64) as u8;
            *byte = if b == 0 { 0xa5 } else { b };
        }
        let mut own = OwnPage {
            frame,
            pfn: Pfn(0),
            paddr: PhysAddr(0),
        };
        own.pfn = own.frame_now()?;
        own.paddr = PhysAddr(own.pfn.0 * page.bytes());
        Ok(own)
    }

    fn vaddr(&self) -> VirtAddr {
        VirtAddr(self.frame.bytes().as_ptr() as u64)
    }

    /// The page's frame as pagemap shows it now.
    fn frame_now(&self) -> Result<Pfn, String> {
        let page = PageSize::of_system();
        let pid = std::process::id() as i32;
        let entry = PagemapFile::open(pid)
            .and_then(|pagemap| pagemap.entry(page.page_index(self.vaddr())))
            .map_err(|err| format!("{err:#}"))?;
        match entry.pfn() {
            Some(pfn) => Ok(pfn),
            None if entry.pfn_hidden() => Err(
                "/proc/self/pagemap hides frame numbers from this process (it lacks CAP_SYS_ADMIN)"
                    .to_string(),
            ),
            None => Err("physdemo's own page is not in RAM".to_string()),
        }
    }

    /// Whether the page is still in the frame it was found in.
    pub(crate) fn still_there(&self) -> bool {
        self.frame_now().is_ok_and(|pfn| pfn == self.pfn)
    }

    /// What `bytes` (read from the page's physical address) are.
    pub(crate) fn judge(&self, bytes: &[u8]) -> Seen {
        let own = std::hint::black_box(self.frame.bytes());
        if bytes == own {
            Seen::Exact
        } else if bytes.iter().all(|&b| b == 0) {
            Seen::Zeros
        } else {
            Seen::Other
        }
    }

    /// Reads the page through `file` with one pread.
    pub(crate) fn read_through(&self, file: &File) -> Seen {
        match read_page(file, self.paddr) {
            Ok(bytes) => self.judge(&bytes),
            Err(err) => Seen::Refused(err.raw_os_error().unwrap_or(libc::EIO)),
        }
    }

    /// Reads the page through `file` at the file offset `offset` (where /proc/kcore holds
    /// its physical address).
    pub(crate) fn read_at_offset(&self, file: &File, offset: u64) -> Seen {
        match read_page_at(file, offset) {
            Ok(bytes) => self.judge(&bytes),
            Err(err) => Seen::Refused(err.raw_os_error().unwrap_or(libc::EIO)),
        }
    }

    /// Maps the page through `file` (read-only, MAP_SHARED) and reads it.
    pub(crate) fn map_through(&self, file: &File) -> Seen {
        match map_page(file, self.paddr) {
            Ok(bytes) => self.judge(&bytes),
            Err(err) => Seen::Refused(err.raw_os_error().unwrap_or(libc::EIO)),
        }
    }
}

/// One page at `addr` (page-aligned) by pread. Only for RAM: a device may act on a read.
pub(crate) fn read_page(file: &File, addr: PhysAddr) -> io::Result<Vec<u8>> {
    read_page_at(file, addr.0)
}

/// One page's worth of bytes at the file offset `offset` by pread.
fn read_page_at(file: &File, offset: u64) -> io::Result<Vec<u8>> {
    let mut bytes = vec![0u8; PageSize::of_system().bytes() as usize];
    let mut done = 0;
    while done < bytes.len() {
        match file.read_at(&mut bytes[done..], offset + done as u64)? {
            0 => return Err(io::Error::from_raw_os_error(libc::ENXIO)),
            n => done += n,
        }
    }
    Ok(bytes)
}

/// One page at `addr` (page-aligned) through a read-only shared mapping. Only for RAM.
pub(crate) fn map_page(file: &File, addr: PhysAddr) -> io::Result<Vec<u8>> {
    let len = PageSize::of_system().bytes() as usize;
    let window = PhysWindow::map(file, addr.0, len, false)?;
    let mut bytes = vec![0u8; len];
    window.read_bytes(0, &mut bytes)?;
    Ok(bytes)
}

/// Maps the page at `addr` (page-aligned) and unmaps it without touching it: the kernel's
/// checks run (STRICT_DEVMEM, IO_STRICT_DEVMEM, PAT), no access is made, so this is
/// harmless for a device too.
pub(crate) fn map_untouched(file: &File, addr: PhysAddr) -> io::Result<()> {
    PhysWindow::map(file, addr.0, PageSize::of_system().bytes() as usize, false).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_own_page_is_judged_by_its_pattern() {
        // Without CAP_SYS_ADMIN pagemap hides the frame: that is the one error.
        let own = match OwnPage::new() {
            Ok(own) => own,
            Err(why) => {
                assert!(why.contains("CAP_SYS_ADMIN"), "{why}");
                return;
            }
        };
        assert!(own.paddr.0 >= 0x10_0000, "{}", own.paddr);
        assert!(own.still_there());
        let copy = std::hint::black_box(own.frame.bytes().to_vec());
        assert_eq!(copy.len() as u64, PageSize::of_system().bytes());
        assert_eq!(
            own.frame.bytes().as_ptr() as u64 % PageSize::of_system().bytes(),
            0
        );
        assert_eq!(own.judge(&copy), Seen::Exact);
        assert!(copy.iter().all(|&b| b != 0));
        assert_eq!(own.judge(&vec![0; copy.len()]), Seen::Zeros);
        let mut other = copy.clone();
        other[100] ^= 1;
        assert_eq!(own.judge(&other), Seen::Other);
        // A file standing in for /dev/mem, holding the page at its physical address.
        let file = tempfile::tempfile().unwrap();
        file.write_all_at(&copy, own.paddr.0).unwrap();
        assert_eq!(own.read_through(&file), Seen::Exact);
        assert_eq!(own.map_through(&file), Seen::Exact);
        file.write_all_at(&vec![0; copy.len()], own.paddr.0)
            .unwrap();
        assert_eq!(own.read_through(&file), Seen::Zeros);
        assert!(map_untouched(&file, own.paddr).is_ok());
        let short = tempfile::tempfile().unwrap();
        assert_eq!(own.read_through(&short), Seen::Refused(libc::ENXIO));
    }
}
