//! The ioctls of `/dev/physmem` (the project's module physdemo_mem.ko): identify the module,
//! pin a process's page and say which frame it is, release the pin. The structures mirror
//! `demos/kmod/physdemo_mem.h` byte for byte (fixed-width fields, no padding, the same for
//! 32- and 64-bit callers), and the ioctl numbers are those its comment lists for x86-64.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

/// `PHYSMEM_MAGIC`: "phys".
pub(crate) const PHYSMEM_MAGIC: u32 = 0x7068_7973;
/// The ABI this code speaks; a module with another must not be used.
pub(crate) const PHYSMEM_ABI_VERSION: u32 = 1;

/// `_IOR(0xB8, 0x00, struct physmem_info)`.
const PHYSMEM_IOC_INFO: libc::c_ulong = 0x8018_b800;
/// `_IOWR(0xB8, 0x01, struct physmem_pin)`.
const PHYSMEM_IOC_PIN: libc::c_ulong = 0xc020_b801;
/// `_IOW(0xB8, 0x02, struct physmem_unpin)`.
const PHYSMEM_IOC_UNPIN: libc::c_ulong = 0x4008_b802;

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
    pid: i32,
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
    let rc = unsafe { libc::ioctl(device.as_raw_fd(), PHYSMEM_IOC_INFO, &mut info) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info)
}

/// `PHYSMEM_IOC_PIN`: pins the page of `vaddr` in process `pid` (numbered in our PID
/// namespace) for writing, until [`unpin`] or until `device` is closed.
pub(crate) fn pin(device: &File, pid: i32, vaddr: u64) -> io::Result<PinnedPage> {
    let mut request = PhysmemPin {
        pid,
        vaddr,
        ..PhysmemPin::default()
    };
    // SAFETY: PHYSMEM_IOC_PIN reads and writes exactly size_of::<PhysmemPin>() bytes at the
    // pointer, which points at a live, writable PhysmemPin.
    let rc = unsafe { libc::ioctl(device.as_raw_fd(), PHYSMEM_IOC_PIN, &mut request) };
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
    let rc = unsafe { libc::ioctl(device.as_raw_fd(), PHYSMEM_IOC_UNPIN, &request) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
