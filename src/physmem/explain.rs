//! Kernel errors from /dev/mem turned into one sentence a user can act on, with the fix.

use std::io;
use std::path::Path;

use crate::error::{not_found, permission, unsupported, usage, ExitKind, UserError};
use crate::kernel::addr::PhysAddr;
use crate::kernel::iomem::RegionKind;
use crate::physmem::device::DEV_MEM;

/// What went wrong, in the terms [`explain`] needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Open { writable: bool },
    Map,
    Read,
    Write,
}

/// The circumstances of a failure, for [`explain`].
#[derive(Debug, Clone)]
pub(crate) struct FailureContext<'a> {
    pub(crate) device: &'a Path,
    pub(crate) addr: PhysAddr,
    pub(crate) region: Option<RegionKind>,
    pub(crate) is_root: bool,
}

/// Turns an OS error from /dev/mem into one sentence and a fix.
pub(crate) fn explain(step: Step, err: &io::Error, ctx: &FailureContext<'_>) -> UserError {
    let device = ctx.device.display();
    let addr = ctx.addr;
    let errno = err.raw_os_error();
    match (step, errno) {
        (Step::Open { .. }, Some(libc::ENOENT)) => unsupported(format!(
            "{device} does not exist: this kernel was built without CONFIG_DEVMEM{}",
            if ctx.device == Path::new(DEV_MEM) {
                ""
            } else {
                " (or --device / PHYSDEMO_DEVICE names a missing file)"
            }
        ))
        .hint("boot a kernel with CONFIG_DEVMEM=y, e.g. the demo VM: demos/vm/run SCRIPT"),
        (Step::Open { .. }, Some(libc::EPERM | libc::EACCES)) if !ctx.is_root => {
            permission(format!("cannot open {device}: permission denied"))
                .hint("run as root (sudo): /dev/mem needs CAP_SYS_RAWIO")
        }
        (Step::Open { .. }, Some(libc::EPERM)) => permission(format!(
            "the kernel refused to open {device} (EPERM) even for root"
        ))
        .hint("kernel lockdown forbids /dev/mem (see /sys/kernel/security/lockdown), or CAP_SYS_RAWIO was dropped"),
        (Step::Open { writable }, Some(libc::EACCES)) => permission(format!(
            "cannot open {device} for {}: permission denied",
            if writable { "writing" } else { "reading" }
        ))
        .hint("check the file's permissions, or run as root"),
        (Step::Map | Step::Read | Step::Write, Some(libc::EPERM)) => strict_devmem(ctx),
        // With PAT on (and no STRICT_DEVMEM), x86's phys_mem_access_prot_allowed() refuses
        // any mmap of System RAM above 1 MiB, whatever caching is asked for
        // (arch/x86/mm/pat/memtype.c range_is_allowed(), drivers/char/mem.c mmap_mem()).
        (Step::Map, Some(libc::EINVAL))
            if matches!(ctx.region, Some(RegionKind::SystemRam | RegionKind::KernelImage)) =>
        {
            unsupported(format!(
                "mapping {addr} of {device} failed with EINVAL: with x86 PAT on, the kernel refuses to mmap System RAM above 1 MiB through /dev/mem, cached (--cached) or not"
            ))
            .hint("use --method rw, whose pread/pwrite reach RAM, or boot with `nopat`")
        }
        (Step::Map, Some(libc::EINVAL)) => unsupported(format!(
            "mapping {addr} of {device} failed with EINVAL: on x86 this is a PAT memory-type conflict with another mapping of that range"
        ))
        .hint("if another mapping holds it write-back, --cached asks for write-back too; RAM is reached only with --method rw; or boot with `nopat`"),
        (Step::Read | Step::Write, Some(libc::EFAULT)) => not_found(format!(
            "read/write on {device} cannot reach {addr} (EFAULT): the kernel copies only up to the end of the RAM it maps directly, and only pages it can map whole (not one shared by RAM and a reserved or device range)"
        ))
        .hint("use --method mmap (the default), and check the address against /proc/iomem"),
        (Step::Map, Some(libc::ENODEV)) => usage(format!(
            "{device} cannot be mapped (ENODEV): it is not a memory device"
        ))
        .hint("use /dev/mem, or --method rw for a device that can only be read"),
        (_, Some(libc::ENXIO | libc::EOVERFLOW)) => not_found(format!(
            "{addr} is beyond what {device} can address"
        ))
        .hint("check the address against /proc/iomem"),
        _ => UserError::new(
            ExitKind::Failure,
            format!(
                "{} {addr} through {device} failed: {err}",
                match step {
                    Step::Open { .. } => "opening the device for",
                    Step::Map => "mapping",
                    Step::Read => "reading",
                    Step::Write => "writing",
                }
            ),
        ),
    }
}

/// EPERM on an access: which STRICT_DEVMEM flavour said no, by what the address is.
fn strict_devmem(ctx: &FailureContext<'_>) -> UserError {
    let addr = ctx.addr;
    match ctx.region {
        Some(RegionKind::Device) => unsupported(format!(
            "the kernel refused access to {addr}: a driver claims this MMIO range and CONFIG_IO_STRICT_DEVMEM is on"
        ))
        .hint("boot with `iomem=relaxed`, or unbind the driver"),
        Some(_) => unsupported(format!(
            "the kernel refused access to {addr}: CONFIG_STRICT_DEVMEM allows /dev/mem only for device memory (and reads RAM as zeros)"
        ))
        .hint("boot a kernel with CONFIG_STRICT_DEVMEM=n, e.g. the demo VM: demos/vm/run SCRIPT"),
        None => unsupported(format!(
            "the kernel refused access to {addr}: CONFIG_STRICT_DEVMEM (RAM) or CONFIG_IO_STRICT_DEVMEM (a driver's MMIO)"
        ))
        .hint("boot with `iomem=relaxed` or a kernel with CONFIG_STRICT_DEVMEM=n (the demo VM)"),
    }
}

/// The message and exit code of a bus error during an access.
pub(crate) fn sigbus_message(addr: PhysAddr, device: &Path) -> String {
    format!(
        "physdemo: error: bus error (SIGBUS) accessing {addr} through {}: nothing answered there (beyond the end of the device file, or beyond physical memory) (check the address against /proc/iomem)",
        device.display()
    )
}

/// The exit code after a SIGBUS: nothing backs the address.
pub(crate) const SIGBUS_EXIT: ExitKind = ExitKind::NotFound;
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_kernel_errors_with_their_fix() {
        let ctx = |region| FailureContext {
            device: Path::new(DEV_MEM),
            addr: PhysAddr(0x1000),
            region,
            is_root: true,
        };
        let errno = io::Error::from_raw_os_error;
        let missing = explain(
            Step::Open { writable: true },
            &errno(libc::ENOENT),
            &ctx(None),
        );
        assert_eq!(missing.kind, ExitKind::Unsupported);
        assert!(missing.to_string().contains("CONFIG_DEVMEM"));
        let mut user = ctx(None);
        user.is_root = false;
        let denied = explain(Step::Open { writable: false }, &errno(libc::EPERM), &user);
        assert_eq!(denied.kind, ExitKind::Permission);
        assert!(denied.to_string().contains("CAP_SYS_RAWIO"));
        let locked = explain(
            Step::Open { writable: true },
            &errno(libc::EPERM),
            &ctx(None),
        );
        assert!(locked.to_string().contains("lockdown"));
        let strict = explain(
            Step::Map,
            &errno(libc::EPERM),
            &ctx(Some(RegionKind::SystemRam)),
        );
        assert!(strict.to_string().contains("CONFIG_STRICT_DEVMEM"));
        let io_strict = explain(
            Step::Map,
            &errno(libc::EPERM),
            &ctx(Some(RegionKind::Device)),
        );
        assert!(io_strict.to_string().contains("iomem=relaxed"));
        // PAT: for RAM only --method rw helps (no mapping of RAM is allowed, cached or not)
        let pat = explain(
            Step::Map,
            &errno(libc::EINVAL),
            &ctx(Some(RegionKind::SystemRam)),
        );
        assert_eq!(pat.kind, ExitKind::Unsupported);
        let hint = pat.hint.clone().unwrap();
        assert!(
            hint.contains("--method rw") && hint.contains("nopat"),
            "{pat}"
        );
        assert!(!hint.contains("--cached"), "{pat}");
        let conflict = explain(
            Step::Map,
            &errno(libc::EINVAL),
            &ctx(Some(RegionKind::Device)),
        );
        assert!(
            conflict.to_string().contains("memory-type conflict"),
            "{conflict}"
        );
        assert!(conflict.to_string().contains("--cached"), "{conflict}");
        let far = explain(Step::Read, &errno(libc::EFAULT), &ctx(None));
        assert_eq!(far.kind, ExitKind::NotFound);
    }
}
