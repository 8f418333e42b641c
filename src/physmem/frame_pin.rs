// SPDX-License-Identifier: MIT OR Apache-2.0
//! A process's page pinned for the duration of one write, through `/dev/physmem`
//! (physdemo_mem.ko, `PHYSMEM_IOC_PIN`: a kernel page reference taken on the process's mm).
//! The process is named by a pidfd opened first, so the pin can only ever reach the process
//! whose pid was given at that moment, never one that reused its number later.
//!
//! While pinned, the page cannot migrate, be swapped out or be freed, so a store into the
//! frame the pin names lands in the process's page: the stale-frame outcome becomes
//! impossible. The module pins for writing, so a copy-on-write, KSM or zero page is first
//! replaced by a private page of the process, exactly as the process's own write would do:
//! a shared frame must therefore never be pinned when the user means to write the shared
//! frame itself (`poke --force`). The frame to write is always the one the pin returns. The
//! pin is released when the [`FramePin`] is dropped (and by the kernel when the file closes).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::FileTypeExt;

use crate::error::{not_found, permission, ExitKind, UserError};
use crate::kernel::addr::{Pfn, VirtAddr};
use crate::sys::physmem_ioctl::{self, PHYSMEM_ABI_VERSION, PHYSMEM_MAGIC};

/// The module's device (one name for it in the crate: [`crate::physmem::device`]'s).
pub(crate) const PHYSMEM_PATH: &str = crate::physmem::device::DEV_PHYSMEM;

/// A page held in place by the module until dropped.
#[derive(Debug)]
pub(crate) struct FramePin {
    device: File,
    handle: u64,
    /// The frame the page is pinned in: where the value must go.
    pub(crate) pfn: Pfn,
}

/// Whether the module's device is there to pin with (a character device at /dev/physmem).
pub(crate) fn pinning_available() -> bool {
    std::fs::metadata(PHYSMEM_PATH).is_ok_and(|m| m.file_type().is_char_device())
}

/// What the module at an open `/dev/physmem` says of itself (`PHYSMEM_IOC_INFO`), when it
/// is physdemo_mem speaking the ABI this code speaks; else what is wrong, as words that
/// follow the device's name ("does not answer …", "speaks ABI 2 …").
pub(crate) fn module_info(device: &File) -> Result<physmem_ioctl::PhysmemInfo, String> {
    let info = physmem_ioctl::info(device)
        .map_err(|err| format!("does not answer physdemo_mem's INFO ioctl ({err})"))?;
    if info.magic != PHYSMEM_MAGIC || info.abi_version != PHYSMEM_ABI_VERSION {
        return Err(format!(
            "speaks ABI {} (magic {:#x}), not physdemo_mem's ABI {PHYSMEM_ABI_VERSION}",
            info.abi_version, info.magic
        ));
    }
    Ok(info)
}

impl FramePin {
    /// Pins the page holding `vaddr` in `pid`. Nothing is written; an error says why the
    /// page could not be pinned (and that nothing was written).
    pub(crate) fn pin(pid: i32, vaddr: VirtAddr) -> Result<FramePin, UserError> {
        let device = OpenOptions::new()
            .read(true)
            .write(true)
            .open(PHYSMEM_PATH)
            .map_err(|err| open_error(&err))?;
        module_info(&device).map_err(|problem| {
            UserError::new(
                ExitKind::Failure,
                format!("{PHYSMEM_PATH} {problem}; nothing was written"),
            )
            .hint("load the physdemo_mem.ko built from this physdemo's sources (demos/kmod/build)")
        })?;
        let pidfd = physmem_ioctl::pidfd_open(pid).map_err(|err| pin_error(&err, pid, vaddr))?;
        let pinned = physmem_ioctl::pin(&device, pidfd.as_fd(), vaddr.0)
            .map_err(|err| pin_error(&err, pid, vaddr))?;
        Ok(FramePin {
            device,
            handle: pinned.handle,
            pfn: Pfn(pinned.pfn),
        })
    }
}

impl Drop for FramePin {
    fn drop(&mut self) {
        // Closing the file releases the pin anyway; an explicit unpin keeps it short.
        let _ = physmem_ioctl::unpin(&self.device, self.handle);
    }
}

fn open_error(err: &io::Error) -> UserError {
    match err.kind() {
        io::ErrorKind::PermissionDenied => permission(format!(
            "cannot open {PHYSMEM_PATH} to pin the page: {err}; nothing was written"
        ))
        .hint("run as root: physdemo_mem needs CAP_SYS_RAWIO, and refuses under kernel lockdown"),
        _ => UserError::new(
            ExitKind::Failure,
            format!("cannot open {PHYSMEM_PATH} to pin the page: {err}; nothing was written"),
        )
        .hint("unload physdemo_mem (rmmod physdemo_mem) to write without pinning"),
    }
}

fn pin_error(err: &io::Error, pid: i32, vaddr: VirtAddr) -> UserError {
    let what = format!("physdemo_mem could not pin the page of {vaddr} in pid {pid}");
    match err.raw_os_error() {
        Some(libc::ESRCH) => not_found(format!("{what}: the process exited; nothing was written"))
            .hint("run the command again"),
        Some(libc::EFAULT) => not_found(format!(
            "{what}: it is no longer mapped there; nothing was written"
        ))
        .hint(format!("see /proc/{pid}/maps")),
        Some(libc::EINVAL) => UserError::new(
            ExitKind::Failure,
            format!(
                "{what}: it is a page of a shared file or shared memory, which stays the \
                 file's page (physdemo_mem pins a process's own pages only); nothing was written"
            ),
        )
        .hint(format!("see /proc/{pid}/maps")),
        Some(libc::ENOTTY) => UserError::new(
            ExitKind::Failure,
            format!(
                "{what}: the module does not know ABI {PHYSMEM_ABI_VERSION}'s pin ioctl; nothing was written"
            ),
        )
        .hint("load the physdemo_mem.ko built from this physdemo's sources (demos/kmod/build)"),
        Some(libc::EPERM | libc::EACCES) => permission(format!(
            "{what}: {err} (pinning needs the right to ptrace it); nothing was written"
        ))
        .hint("run as root"),
        _ => UserError::new(
            ExitKind::Failure,
            format!("{what}: {err}; nothing was written"),
        )
        .hint("unload physdemo_mem (rmmod physdemo_mem) to write without pinning"),
    }
}
