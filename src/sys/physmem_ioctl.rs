// SPDX-License-Identifier: MIT OR Apache-2.0
//! The ioctls of `/dev/physmem` (the project's module physdemo_mem.ko): identify the module,
//! pin a process's page (named by a pidfd, ABI 2) and say which frame it is, release the pin.
//! The structures mirror `demos/kmod/physdemo_mem.h` byte for byte (fixed-width fields, no
//! padding, the same for 32- and 64-bit callers), and the ioctl numbers are computed from
//! their sizes as the kernel's `_IOR`/`_IOWR`/`_IOW` do (their values are the ones the
//! header's comment lists for x86-64). Also `pidfd_open(2)`, which the pin needs.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

/// `PHYSMEM_MAGIC`: "phys".
pub(crate) const PHYSMEM_MAGIC: u32 = 0x7068_7973;
/// The ABI this code speaks (2: the pin names its process by a pidfd); a module with
/// another must not be used.
pub(crate) const PHYSMEM_ABI_VERSION: u32 = 2;

/// `PHYSMEM_IOC_TYPE`, the ioctl type byte of all three.
const PHYSMEM_IOC_TYPE: u64 = 0xB8;
/// The kernel's `_IOC_WRITE` and `_IOC_READ` direction bits (asm-generic/ioctl.h).
const IOC_WRITE: u64 = 1;
const IOC_READ: u64 = 2;

/// `_IOC(dir, PHYSMEM_IOC_TYPE, nr, size)`: direction in bits 30-31, size in 16-29.
const fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
    dir << 30 | (size as u64) << 16 | PHYSMEM_IOC_TYPE << 8 | nr
}

/// `_IOR(0xB8, 0x00, struct physmem_info)`.
const PHYSMEM_IOC_INFO: u64 = ioc(IOC_READ, 0x00, std::mem::size_of::<PhysmemInfo>());
/// `_IOWR(0xB8, 0x03, struct physmem_pin)` (ABI 1's pin, by pid, was number 0x01).
const PHYSMEM_IOC_PIN: u64 = ioc(
    IOC_READ | IOC_WRITE,
    0x03,
    std::mem::size_of::<PhysmemPin>(),
);
/// `_IOW(0xB8, 0x02, struct physmem_unpin)`.
const PHYSMEM_IOC_UNPIN: u64 = ioc(IOC_WRITE, 0x02, std::mem::size_of::<PhysmemUnpin>());

/// `struct physmem_info`: what the module says about itself.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PhysmemInfo {
    pub(crate) magic: u32,
    pub(crate) abi_version: u32,
    pub(crate) max_pins: u32,
    pub(crate) pins: u32,
    pub(crate) page_size: u32,
    pub(crate) reserved: u32,
}

/// `struct physmem_pin`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct PhysmemPin {
    pidfd: i32,
    flags: u32,
    vaddr: u64,
    pfn: u64,
    handle: u64,
}

/// `struct physmem_unpin`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct PhysmemUnpin {
    handle: u64,
}

// The sizes the ioctl numbers encode.
const _: () = assert!(std::mem::size_of::<PhysmemInfo>() == 24);
const _: () = assert!(std::mem::size_of::<PhysmemPin>() == 32);
const _: () = assert!(std::mem::size_of::<PhysmemUnpin>() == 8);

/// A page pinned by the module: its frame, and the handle that releases it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PinnedPage {
    pub(crate) pfn: u64,
    pub(crate) handle: u64,
}

/// `PHYSMEM_IOC_INFO` on an open `/dev/physmem`.
pub(crate) fn info(device: &File) -> io::Result<PhysmemInfo> {
    let mut info = PhysmemInfo::default();
    // SAFETY: PHYSMEM_IOC_INFO writes exactly size_of::<PhysmemInfo>() bytes (the size its
    // number encodes) to the pointer, which points at a live, writable PhysmemInfo.
    let rc = unsafe { libc::ioctl(device.as_raw_fd(), PHYSMEM_IOC_INFO as _, &mut info) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info)
}

/// `pidfd_open(pid, 0)`: a file that names process `pid` (numbered in our PID namespace)
/// for as long as it is open, whatever pid number is reused meanwhile.
pub(crate) fn pidfd_open(pid: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new file descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just returned this descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `PHYSMEM_IOC_PIN`: pins the page of `vaddr` in the process `pidfd` names for writing,
/// until [`unpin`] or until `device` is closed. `device` must be open for writing (EBADF).
pub(crate) fn pin(device: &File, pidfd: BorrowedFd<'_>, vaddr: u64) -> io::Result<PinnedPage> {
    let mut request = PhysmemPin {
        pidfd: pidfd.as_fd().as_raw_fd(),
        vaddr,
        ..PhysmemPin::default()
    };
    // SAFETY: PHYSMEM_IOC_PIN reads and writes exactly size_of::<PhysmemPin>() bytes at the
    // pointer, which points at a live, writable PhysmemPin.
    let rc = unsafe { libc::ioctl(device.as_raw_fd(), PHYSMEM_IOC_PIN as _, &mut request) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(PinnedPage {
        pfn: request.pfn,
        handle: request.handle,
    })
}

/// `PHYSMEM_IOC_UNPIN`: releases the pin `handle` names.
pub(crate) fn unpin(device: &File, handle: u64) -> io::Result<()> {
    let request = PhysmemUnpin { handle };
    // SAFETY: PHYSMEM_IOC_UNPIN only reads size_of::<PhysmemUnpin>() bytes at the pointer,
    // which points at a live PhysmemUnpin.
    let rc = unsafe { libc::ioctl(device.as_raw_fd(), PHYSMEM_IOC_UNPIN as _, &request) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers the header's comment lists, from the sizes (a field added to a structure
    /// changes its number, as it does in C).
    #[test]
    fn ioctl_numbers_are_the_headers() {
        assert_eq!(PHYSMEM_IOC_INFO, 0x8018_b800);
        assert_eq!(PHYSMEM_IOC_PIN, 0xc020_b803);
        assert_eq!(PHYSMEM_IOC_UNPIN, 0x4008_b802);
    }

    /// A pidfd of this very process can be opened (the kernel has pidfd_open, 5.3+).
    #[test]
    fn pidfd_open_names_this_process() {
        let fd = pidfd_open(std::process::id() as i32).expect("pidfd_open of ourselves");
        let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap();
        assert_eq!(link.to_string_lossy(), "anon_inode:[pidfd]");
        let missing = pidfd_open(i32::MAX).unwrap_err();
        assert_eq!(missing.raw_os_error(), Some(libc::ESRCH));
    }
}
