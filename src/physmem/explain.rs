// SPDX-License-Identifier: MIT OR Apache-2.0
//! Kernel errors from a memory device turned into one sentence a user can act on: what
//! refused (CONFIG_STRICT_DEVMEM, CONFIG_IO_STRICT_DEVMEM and the driver that claimed the
//! range, x86 PAT, lockdown and its mode, a missing capability, or physdemo_mem's own
//! rules), and the way around it.
//!
//! [`explain`] is pure: the caller gathers what it needs (the region from /proc/iomem, the
//! lockdown mode, the capabilities, whether /dev/physmem is there) into a
//! [`FailureContext`]. What each errno means comes from the kernel: `drivers/char/mem.c`
//! and `arch/x86/mm/init.c` `devmem_is_allowed()` for /dev/mem (6.1), the header comment
//! of `demos/kmod/physdemo_mem.c` for /dev/physmem, `fs/proc/kcore.c` `open_kcore()` for
//! /proc/kcore (EPERM without CAP_SYS_RAWIO or under lockdown=confidentiality).

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{not_found, permission, unsupported, usage, ExitKind, UserError};
use crate::kernel::addr::PhysAddr;
use crate::kernel::iomem::{Placement, RegionKind};
use crate::kernel::lockdown::LockdownMode;
use crate::physmem::device::{DeviceKind, DEV_MEM};
use crate::physmem::kcore::{not_covered, not_mappable, read_only};

/// What went wrong, in the terms [`explain`] needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Open { writable: bool },
    Map,
    Read,
    Write,
}

/// How a user gets /dev/physmem, for the hints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PhysmemWay {
    /// /dev/physmem is there (the user chose /dev/mem with --device).
    Loaded,
    /// The module file is installed here; insmod it.
    Installed(PathBuf),
    /// Neither: build it first.
    Build,
    /// This kernel loads no modules (no /proc/modules): physdemo_mem cannot help.
    NoModules,
}

impl PhysmemWay {
    /// The phrase a hint uses: how to get physdemo through /dev/physmem.
    pub(crate) fn phrase(&self) -> String {
        match self {
            PhysmemWay::Loaded => {
                "without --device (and PHYSDEMO_DEVICE) physdemo goes through /dev/physmem, which is loaded".to_string()
            }
            PhysmemWay::Installed(path) => format!(
                "load physdemo_mem (insmod {}) and physdemo goes through /dev/physmem",
                path.display()
            ),
            PhysmemWay::Build => "build and load physdemo_mem (demos/kmod/build --host, then insmod the physdemo_mem.ko it prints) and physdemo goes through /dev/physmem".to_string(),
            PhysmemWay::NoModules => "this kernel loads no modules (no /proc/modules), so physdemo_mem's /dev/physmem cannot help here".to_string(),
        }
    }

    /// The phrase for a range a driver claimed: /dev/physmem reaches it, but only when the
    /// user names it with `--device`.
    pub(crate) fn around_a_driver(&self) -> String {
        match self {
            PhysmemWay::Loaded => "add --device /dev/physmem".to_string(),
            PhysmemWay::Installed(path) => format!(
                "load physdemo_mem (insmod {}) and add --device /dev/physmem",
                path.display()
            ),
            PhysmemWay::Build => "build and load physdemo_mem (demos/kmod/build --host, then insmod the physdemo_mem.ko it prints) and add --device /dev/physmem".to_string(),
            PhysmemWay::NoModules => "/dev/physmem would, but this kernel loads no modules (no /proc/modules)".to_string(),
        }
    }
}

/// The circumstances of a failure, for [`explain`].
#[derive(Debug, Clone)]
pub(crate) struct FailureContext<'a> {
    pub(crate) device: &'a Path,
    pub(crate) kind: DeviceKind,
    pub(crate) addr: PhysAddr,
    /// Where the address falls in /proc/iomem.
    pub(crate) placement: &'a Placement,
    pub(crate) is_root: bool,
    /// Whether this process has CAP_SYS_RAWIO.
    pub(crate) rawio: bool,
    /// The lockdown mode, when /sys/kernel/security/lockdown could be read.
    pub(crate) lockdown: Option<LockdownMode>,
    pub(crate) physmem: PhysmemWay,
}

impl FailureContext<'_> {
    fn region(&self) -> Option<RegionKind> {
        self.placement.kind()
    }

    fn is_ram(&self) -> bool {
        matches!(
            self.region(),
            Some(RegionKind::SystemRam | RegionKind::KernelImage)
        )
    }
}

/// The kernel's name of an errno, for reports.
pub(crate) fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::ENODEV => "ENODEV",
        libc::EINVAL => "EINVAL",
        libc::ENOMEM => "ENOMEM",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ENOTTY => "ENOTTY",
        _ => "an error",
    }
}

/// Turns an OS error from a memory device into one sentence and a fix.
pub(crate) fn explain(step: Step, err: &io::Error, ctx: &FailureContext<'_>) -> UserError {
    let errno = err.raw_os_error();
    if let Step::Open { writable } = step {
        if let Some(explained) = explain_open(writable, errno, ctx) {
            return explained;
        }
    }
    let explained = match ctx.kind {
        DeviceKind::PhysMem => explain_physmem(step, errno, ctx),
        DeviceKind::Kcore => explain_kcore(step, errno, ctx),
        DeviceKind::DevMem | DeviceKind::StandIn => explain_dev_mem(step, errno, ctx),
    };
    explained.unwrap_or_else(|| {
        UserError::new(
            ExitKind::Failure,
            format!(
                "{} {} through {} failed: {err}",
                match step {
                    Step::Open { .. } => "opening the device for",
                    Step::Map => "mapping",
                    Step::Read => "reading",
                    Step::Write => "writing",
                },
                ctx.addr,
                ctx.device.display()
            ),
        )
    })
}

/// Why a device did not open.
fn explain_open(writable: bool, errno: Option<i32>, ctx: &FailureContext<'_>) -> Option<UserError> {
    let device = ctx.device.display();
    Some(match errno? {
        libc::ENOENT => match ctx.kind {
            DeviceKind::PhysMem => unsupported(format!(
                "{device} does not exist: the physdemo_mem module is not loaded"
            ))
            .hint(ctx.physmem.phrase()),
            DeviceKind::Kcore => unsupported(format!(
                "{device} does not exist: this kernel was built without CONFIG_PROC_KCORE"
            ))
            .hint(match ctx.physmem {
                PhysmemWay::NoModules => "boot a kernel with CONFIG_PROC_KCORE=y (distributions have it) or without CONFIG_STRICT_DEVMEM; or use the project's VM: demos/vm/run SCRIPT".to_string(),
                _ => format!("to read RAM, {}", ctx.physmem.phrase()),
            }),
            _ if ctx.device == Path::new(DEV_MEM) => unsupported(format!(
                "{device} does not exist: this kernel was built without CONFIG_DEVMEM"
            ))
            .hint(format!(
                "{}; or use the project's VM: demos/vm/run SCRIPT",
                ctx.physmem.phrase()
            )),
            _ => unsupported(format!(
                "{device} does not exist: this kernel was built without CONFIG_DEVMEM (or --device / PHYSDEMO_DEVICE names a missing file)"
            ))
            .hint("boot a kernel with CONFIG_DEVMEM=y, e.g. the demo VM: demos/vm/run SCRIPT"),
        },
        libc::EPERM | libc::EACCES if !ctx.is_root => {
            permission(format!("cannot open {device}: permission denied"))
                .hint("run as root (sudo): physical memory needs CAP_SYS_RAWIO")
        }
        libc::EPERM => match ctx.lockdown {
            Some(LockdownMode::Confidentiality) if ctx.kind == DeviceKind::Kcore => permission(format!(
                "the kernel refused to open {device} (EPERM): lockdown=confidentiality is in force (/sys/kernel/security/lockdown), and it closes /proc/kcore to everyone, root included, as it closes /dev/mem and /dev/physmem"
            ))
            .hint("confidentiality comes with lockdown=confidentiality on the kernel command line (or a distribution's policy); only a boot without it opens /proc/kcore (lockdown=integrity leaves it open), or use the project's VM: demos/vm/run"),
            Some(mode) if mode.refuses_raw_io() && ctx.kind != DeviceKind::Kcore => permission(format!(
                "the kernel refused to open {device} (EPERM): kernel lockdown is in force ({mode}, /sys/kernel/security/lockdown), and it closes /dev/mem, /dev/port{} to everyone, root included",
                if mode == LockdownMode::Confidentiality { ", /dev/physmem and /proc/kcore" } else { " and /dev/physmem" }
            ))
            .hint("lockdown comes with Secure Boot or lockdown= on the kernel command line; only a boot without it opens them (Secure Boot off, or no lockdown=), or use the project's VM: demos/vm/run"),
            _ if !ctx.rawio => permission(format!(
                "the kernel refused to open {device} (EPERM): this process lacks CAP_SYS_RAWIO, though it runs as root"
            ))
            .hint("run where root keeps CAP_SYS_RAWIO (not in a container or under a capability bounding set that drops it)"),
            _ => permission(format!(
                "the kernel refused to open {device} (EPERM) even for root"
            ))
            .hint("kernel lockdown forbids /dev/mem (see /sys/kernel/security/lockdown), or CAP_SYS_RAWIO was dropped"),
        },
        libc::EACCES => permission(format!(
            "cannot open {device} for {}: permission denied",
            if writable { "writing" } else { "reading" }
        ))
        .hint("check the file's permissions, or run as root"),
        _ => return None,
    })
}

/// /dev/mem's refusals (and a stand-in file's errors).
fn explain_dev_mem(step: Step, errno: Option<i32>, ctx: &FailureContext<'_>) -> Option<UserError> {
    let device = ctx.device.display();
    let addr = ctx.addr;
    Some(match (step, errno?) {
        (Step::Map | Step::Read | Step::Write, libc::EPERM) => strict_devmem(ctx),
        // With PAT on (and no STRICT_DEVMEM), x86's phys_mem_access_prot_allowed() refuses
        // any mmap of System RAM above 1 MiB, whatever caching is asked for
        // (arch/x86/mm/pat/memtype.c range_is_allowed(), drivers/char/mem.c mmap_mem()).
        (Step::Map, libc::EINVAL) if ctx.is_ram() => unsupported(format!(
            "mapping {addr} of {device} failed with EINVAL: with x86 PAT on, the kernel refuses to mmap System RAM above 1 MiB through /dev/mem, cached (--cached) or not"
        ))
        .hint(format!(
            "use --method rw, whose pread/pwrite reach RAM, or boot with `nopat`; or {}",
            ctx.physmem.phrase()
        )),
        (Step::Map, libc::EINVAL) => unsupported(format!(
            "mapping {addr} of {device} failed with EINVAL: on x86 this is a PAT memory-type conflict with another mapping of that range"
        ))
        .hint("if another mapping holds it write-back, --cached asks for write-back too; RAM is reached only with --method rw; or boot with `nopat`"),
        (Step::Read | Step::Write, libc::EFAULT) => not_found(format!(
            "read/write on {device} cannot reach {addr} (EFAULT): the kernel copies only up to the end of the RAM it maps directly, and only pages it can map whole (not one shared by RAM and a reserved or device range)"
        ))
        .hint("use --method mmap (the default), and check the address against /proc/iomem"),
        (Step::Map, libc::ENODEV) => usage(format!(
            "{device} cannot be mapped (ENODEV): it is not a memory device"
        ))
        .hint("use /dev/mem, or --method rw for a device that can only be read"),
        (_, libc::ENXIO | libc::EOVERFLOW) => {
            not_found(format!("{addr} is beyond what {device} can address"))
                .hint("check the address against /proc/iomem")
        }
        _ => return None,
    })
}

/// /proc/kcore's refusals: no segment for the address (the access layer's ENXIO), and the
/// mapping and writing it does not have.
fn explain_kcore(step: Step, errno: Option<i32>, ctx: &FailureContext<'_>) -> Option<UserError> {
    Some(match (step, errno?) {
        (Step::Read, libc::ENXIO) => not_covered(ctx.device, ctx.addr, ctx.placement),
        (Step::Map, _) => not_mappable(ctx.device),
        (Step::Write, _) => read_only(ctx.device, &ctx.physmem),
        _ => return None,
    })
}

/// /dev/physmem's refusals, by the module's errno table (demos/kmod/physdemo_mem.c).
fn explain_physmem(step: Step, errno: Option<i32>, ctx: &FailureContext<'_>) -> Option<UserError> {
    let device = ctx.device.display();
    let addr = ctx.addr;
    Some(match (step, errno?) {
        (Step::Map, libc::ENXIO) if partial_device_page(ctx) => not_found(format!(
            "{device} refuses to map {addr} (ENXIO): {} does not fill its page, and physdemo_mem maps only whole pages of a device",
            ctx.placement.describe()
        ))
        .hint("use --method rw (or leave --method out, and physdemo chooses it): /dev/physmem's pread/pwrite reach any register of the range"),
        (_, libc::ENXIO) => not_found(format!(
            "{device} refuses {addr} (ENXIO): physdemo_mem reaches only whole pages of System RAM and the inside of one device range of /proc/iomem, {}",
            physmem_miss(ctx)
        ))
        .hint("check the address against /proc/iomem"),
        (Step::Map, libc::EINVAL) => unsupported(format!(
            "mapping {addr} of {device} failed with EINVAL: a PAT memory-type conflict with another mapping of that range"
        ))
        .hint("use --method rw: /dev/physmem's pread/pwrite reach RAM and registers alike"),
        (Step::Read | Step::Write, libc::EINVAL) => usage(format!(
            "{device} refuses {addr} (EINVAL): physdemo_mem reaches a device register only as one aligned access of 1, 2, 4 or 8 bytes"
        ))
        .hint("use one aligned --width access; dump reads a device as 32-bit words when its start and length are multiples of 4"),
        (_, libc::EPERM) => unsupported(format!(
            "{device} refuses {addr} (EPERM): a driver marked its range exclusive (IORESOURCE_EXCLUSIVE{}), and physdemo_mem leaves such ranges alone",
            claimant(ctx.placement).map_or_else(String::new, |who| format!(": {who}"))
        ))
        .hint("unload or unbind that driver first"),
        (Step::Write, libc::EIO) => unsupported(format!(
            "{device} cannot write {addr} (EIO): the kernel maps that RAM page read-only or not at all (its own text or read-only data, secret memory); nothing was written"
        ))
        .hint("write elsewhere: physdemo_mem does not change the kernel's read-only memory"),
        (Step::Read, libc::EIO) => unsupported(format!(
            "{device} cannot read {addr} (EIO): the kernel does not map that RAM page (secret memory, or a page taken out of its direct map)"
        ))
        .hint("check the address against /proc/iomem"),
        (Step::Map, libc::EIO) => unsupported(format!(
            "{device} refuses to map {addr} (EIO): the kernel keeps that RAM page read-only (its own text or read-only data) or does not map it (secret memory), and physdemo_mem never maps such a page writable; nothing was written"
        ))
        .hint("write elsewhere: physdemo_mem does not change the kernel's read-only memory"),
        _ => return None,
    })
}

/// Whether the address is in a device range that does not fill its page (the IOAPIC's
/// 1 KiB): physdemo_mem maps no such page.
fn partial_device_page(ctx: &FailureContext<'_>) -> bool {
    let page = ctx.addr.0 & !0xfff;
    matches!(ctx.placement, Placement::In { region, .. }
        if region.kind() == RegionKind::Device
            && !(region.start <= page && page + 0xfff <= region.end))
}

/// Why /dev/physmem found no RAM or device at an address (its ENXIO).
fn physmem_miss(ctx: &FailureContext<'_>) -> String {
    let page = ctx.addr.0 & !0xfff;
    match ctx.placement {
        Placement::In { region, .. }
            if region.kind() == RegionKind::SystemRam
                && !(region.start <= page && page + 0xfff <= region.end) =>
        {
            format!(
                "and the page {page:#x}-{:#x} is only partly System RAM ({region})",
                page + 0xfff
            )
        }
        Placement::In { .. } => format!(
            "and this is {} (or the access crosses from one range into another)",
            ctx.placement.describe()
        ),
        _ => "and this is neither".to_string(),
    }
}

/// Who claimed a device range, from /proc/iomem's nesting: the innermost range (a driver's
/// request_mem_region() nests its name inside the device's resource, `IOAPIC 0` and the
/// like are claimed by the kernel at the top level).
fn claimant(placement: &Placement) -> Option<String> {
    let Placement::In { region, outer } = placement else {
        return None;
    };
    (region.kind() == RegionKind::Device).then(|| match outer.last() {
        Some(parent) if parent.kind() != RegionKind::BusWindow => {
            format!(
                "'{}' [{:#x}-{:#x}], inside {}",
                region.name, region.start, region.end, parent.name
            )
        }
        _ => format!("'{}' [{:#x}-{:#x}]", region.name, region.start, region.end),
    })
}

/// Whether a driver (or the kernel) claims the device range holding an address, as far as
/// /proc/iomem shows it: the innermost range is a device's and it is not a bare PCI BAR
/// (a device range right inside a bus window, with no driver's claim nested in it). A
/// driver's `request_mem_region()` nests inside the BAR; `IOAPIC 0`, `Local APIC`, a
/// platform device and the like sit at the top level, claimed by the kernel. Without
/// /dev/mem to ask (IO_STRICT_DEVMEM's EPERM), this is what physdemo goes by.
pub(crate) fn driver_claimed(placement: &Placement) -> bool {
    let Placement::In { region, outer } = placement else {
        return false;
    };
    region.kind() == RegionKind::Device
        && !outer
            .last()
            .is_some_and(|parent| parent.kind() == RegionKind::BusWindow)
}

/// The refusal to reach a range a driver claims through /dev/physmem when the user did
/// not name /dev/physmem: physdemo came there because `why` (/dev/mem absent, refused to
/// open, or refused an access), and going around a driver is the user's call alone.
pub(crate) fn around_a_driver_refused(
    addr: PhysAddr,
    placement: &Placement,
    why: &str,
) -> UserError {
    crate::error::refused(format!(
        "refusing to go around a driver: {addr} is claimed by {}, and physdemo came to /dev/physmem only because {why}; nothing was accessed",
        claimant(placement).unwrap_or_else(|| "a driver".to_string())
    ))
    .hint("to go around the driver on purpose, add --device /dev/physmem (physdemo never does that by itself); or unload or unbind that driver")
}

/// EPERM on an access through /dev/mem: which STRICT_DEVMEM flavour said no, by what the
/// address is.
fn strict_devmem(ctx: &FailureContext<'_>) -> UserError {
    let addr = ctx.addr;
    match ctx.region() {
        Some(RegionKind::Device) => unsupported(format!(
            "the kernel refused {addr} through /dev/mem (EPERM): CONFIG_IO_STRICT_DEVMEM closes device ranges a driver has claimed, and {addr} is claimed by {}",
            claimant(ctx.placement).unwrap_or_else(|| "a driver".to_string())
        ))
        .hint(format!(
            "unload or unbind that driver, or boot with `iomem=relaxed`; to go around the driver on purpose, {} (physdemo never does that by itself)",
            ctx.physmem.around_a_driver()
        )),
        Some(RegionKind::SystemRam | RegionKind::KernelImage) => unsupported(format!(
            "the kernel refused {addr} through /dev/mem (EPERM): it is System RAM above 1 MiB, and CONFIG_STRICT_DEVMEM keeps RAM out of /dev/mem"
        ))
        .hint(format!(
            "{}; or run in the project's VM (demos/vm/run), or boot a kernel built without CONFIG_STRICT_DEVMEM",
            ctx.physmem.phrase()
        )),
        _ => unsupported(format!(
            "the kernel refused {addr} through /dev/mem (EPERM): CONFIG_STRICT_DEVMEM (RAM) or CONFIG_IO_STRICT_DEVMEM (a driver's MMIO)"
        ))
        .hint(format!(
            "boot with `iomem=relaxed` or a kernel with CONFIG_STRICT_DEVMEM=n (the demo VM); or {}",
            ctx.physmem.phrase()
        )),
    }
}

/// A read() or write() of RAM below 1 MiB through /dev/mem under CONFIG_STRICT_DEVMEM:
/// `devmem_is_allowed()` answers 2 there, and `read_mem()` then copies zeros while
/// `write_mem()` skips the copy and reports success. Never passed off as an access.
pub(crate) fn hidden_low_ram(write: bool, ctx: &FailureContext<'_>) -> UserError {
    let addr = ctx.addr;
    let way = format!(
        "use --method mmap, whose mapping reaches the real page, or {}",
        ctx.physmem.phrase()
    );
    if write {
        unsupported(format!(
            "not writing {addr} with write() on /dev/mem: under CONFIG_STRICT_DEVMEM the kernel drops a write() to RAM below 1 MiB and still reports success, so nothing would land; nothing was written"
        ))
        .hint(way)
    } else {
        unsupported(format!(
            "not reading {addr} with read() on /dev/mem: under CONFIG_STRICT_DEVMEM the kernel shows RAM below 1 MiB to read() as zeros, whatever it holds"
        ))
        .hint(way)
    }
}

/// The message of a bus error during an access, as the text before and after the physical
/// address that faulted (the SIGBUS handler puts it in between).
pub(crate) fn sigbus_message(device: &Path) -> (String, String) {
    (
        "physdemo: error: bus error (SIGBUS) accessing ".to_string(),
        format!(
            " through {}: nothing answered there (beyond the end of the device file, or beyond physical memory) (check the address against /proc/iomem)",
            device.display()
        ),
    )
}

/// The exit code after a SIGBUS: nothing backs the address.
pub(crate) const SIGBUS_EXIT: ExitKind = ExitKind::NotFound;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::iomem::IomemMap;
    use crate::physmem::device::DEV_PHYSMEM;

    /// The distro VM's map, cut down: RAM, the kernel, a claimed testdev, the IOAPIC, edu.
    const MAP: &[u8] = b"00001000-0009fbff : System RAM\n\
00100000-3ffdffff : System RAM\n  01000000-01c0210f : Kernel code\n\
c0000000-febfffff : PCI Bus 0000:00\n  fe000000-fe0fffff : 0000:00:03.0\n\
fec00000-fec003ff : IOAPIC 0\n\
ff000000-ff00ffff : physdemo-testdev\n  ff000000-ff00ffff : physdemo-testdev\n";

    fn place(addr: u64) -> Placement {
        IomemMap::parse(MAP).unwrap().place(PhysAddr(addr))
    }

    fn ctx<'a>(kind: DeviceKind, addr: u64, placement: &'a Placement) -> FailureContext<'a> {
        FailureContext {
            device: Path::new(if kind == DeviceKind::PhysMem {
                DEV_PHYSMEM
            } else {
                DEV_MEM
            }),
            kind,
            addr: PhysAddr(addr),
            placement,
            is_root: true,
            rawio: true,
            lockdown: Some(LockdownMode::None),
            physmem: PhysmemWay::Installed(PathBuf::from(
                "/lib/modules/6.1.0-physdemo-distro/extra/physdemo_mem.ko",
            )),
        }
    }

    fn errno(n: i32) -> io::Error {
        io::Error::from_raw_os_error(n)
    }

    #[test]
    fn names_the_reason_dev_mem_refused_and_the_way_around() {
        let (ram, testdev, ioapic, nowhere) = (
            place(0x0123_4000),
            place(0xff00_0004),
            place(0xfec0_0000),
            Placement::Nowhere,
        );
        let strict = explain(
            Step::Map,
            &errno(libc::EPERM),
            &ctx(DeviceKind::DevMem, 0x0123_4000, &ram),
        );
        assert_eq!(strict.kind, ExitKind::Unsupported);
        assert!(
            strict.to_string().contains(
                "it is System RAM above 1 MiB, and CONFIG_STRICT_DEVMEM keeps RAM out of /dev/mem"
            ),
            "{strict}"
        );
        assert!(
            strict
                .to_string()
                .contains("insmod /lib/modules/6.1.0-physdemo-distro/extra/physdemo_mem.ko"),
            "{strict}"
        );
        let io_strict = explain(
            Step::Read,
            &errno(libc::EPERM),
            &ctx(DeviceKind::DevMem, 0xff00_0004, &testdev),
        );
        assert!(io_strict.to_string().contains("CONFIG_IO_STRICT_DEVMEM closes device ranges a driver has claimed, and 0xff000004 is claimed by 'physdemo-testdev' [0xff000000-0xff00ffff], inside physdemo-testdev"), "{io_strict}");
        assert!(
            io_strict.to_string().contains("`iomem=relaxed`; to go around the driver on purpose, load physdemo_mem (insmod /lib/modules/6.1.0-physdemo-distro/extra/physdemo_mem.ko) and add --device /dev/physmem (physdemo never does that by itself)"),
            "{io_strict}"
        );
        let kernel = explain(
            Step::Map,
            &errno(libc::EPERM),
            &ctx(DeviceKind::DevMem, 0xfec0_0000, &ioapic),
        );
        assert!(
            kernel
                .to_string()
                .contains("claimed by 'IOAPIC 0' [0xfec00000-0xfec003ff] ("),
            "{kernel}"
        );
        let unknown = explain(
            Step::Map,
            &errno(libc::EPERM),
            &ctx(DeviceKind::DevMem, 0x10, &nowhere),
        );
        assert!(
            unknown
                .to_string()
                .contains("CONFIG_STRICT_DEVMEM (RAM) or CONFIG_IO_STRICT_DEVMEM"),
            "{unknown}"
        );
        // PAT: for RAM only --method rw or /dev/physmem helps (no mapping of RAM, cached or not)
        let pat = explain(
            Step::Map,
            &errno(libc::EINVAL),
            &ctx(DeviceKind::DevMem, 0x0123_4000, &ram),
        );
        assert_eq!(pat.kind, ExitKind::Unsupported);
        let hint = pat.hint.clone().unwrap();
        assert!(
            hint.contains("--method rw") && hint.contains("nopat") && hint.contains("physdemo_mem"),
            "{pat}"
        );
        assert!(!hint.contains("--cached"), "{pat}");
        let conflict = explain(
            Step::Map,
            &errno(libc::EINVAL),
            &ctx(DeviceKind::DevMem, 0xfe00_0000, &place(0xfe00_0000)),
        );
        assert!(
            conflict.to_string().contains("memory-type conflict")
                && conflict.to_string().contains("--cached"),
            "{conflict}"
        );
        let far = explain(
            Step::Read,
            &errno(libc::EFAULT),
            &ctx(DeviceKind::DevMem, 0x10, &nowhere),
        );
        assert_eq!(far.kind, ExitKind::NotFound);
    }

    #[test]
    fn a_driver_claim_is_told_from_a_bare_bar() {
        // testdev: the driver's claim nested in the platform device's range
        assert!(driver_claimed(&place(0xff00_0004)));
        // IOAPIC 0: a top-level range the kernel claims
        assert!(driver_claimed(&place(0xfec0_0000)));
        let map = IomemMap::parse(
            b"00000000-00000fff : Reserved\nc0000000-febfffff : PCI Bus 0000:00\n  \
fea00000-feafffff : 0000:00:01.0\n  feb00000-feb00fff : 0000:00:02.0\n    \
feb00000-feb00fff : e1000\n",
        )
        .unwrap();
        // a BAR no driver claims, one a driver does, a bus window, RAM
        assert!(!driver_claimed(&map.place(PhysAddr(0xfea0_0004))));
        assert!(driver_claimed(&map.place(PhysAddr(0xfeb0_0004))));
        assert!(!driver_claimed(&map.place(PhysAddr(0xc000_0000))));
        assert!(!driver_claimed(&place(0x19b_0040)));
        let err = around_a_driver_refused(
            PhysAddr(0xff00_0004),
            &place(0xff00_0004),
            "/dev/mem does not exist (a kernel without CONFIG_DEVMEM)",
        );
        assert_eq!(err.kind, ExitKind::Refused);
        assert!(err.to_string().contains("refusing to go around a driver: 0xff000004 is claimed by 'physdemo-testdev' [0xff000000-0xff00ffff], inside physdemo-testdev, and physdemo came to /dev/physmem only because /dev/mem does not exist"), "{err}");
        assert!(
            err.to_string().contains("add --device /dev/physmem"),
            "{err}"
        );
    }

    #[test]
    fn names_why_a_device_did_not_open() {
        let nowhere = Placement::Nowhere;
        let mut c = ctx(DeviceKind::DevMem, 0x1000, &nowhere);
        let missing = explain(Step::Open { writable: true }, &errno(libc::ENOENT), &c);
        assert_eq!(missing.kind, ExitKind::Unsupported);
        assert!(
            missing.to_string().contains("CONFIG_DEVMEM")
                && missing.to_string().contains("demos/vm/run"),
            "{missing}"
        );
        c.lockdown = Some(LockdownMode::Integrity);
        let locked = explain(Step::Open { writable: false }, &errno(libc::EPERM), &c);
        assert_eq!(locked.kind, ExitKind::Permission);
        assert!(locked.to_string().contains("kernel lockdown is in force (integrity, /sys/kernel/security/lockdown), and it closes /dev/mem, /dev/port and /dev/physmem"), "{locked}");
        c.lockdown = Some(LockdownMode::None);
        c.rawio = false;
        let no_rawio = explain(Step::Open { writable: false }, &errno(libc::EPERM), &c);
        assert!(
            no_rawio.to_string().contains("lacks CAP_SYS_RAWIO"),
            "{no_rawio}"
        );
        c.is_root = false;
        let user = explain(Step::Open { writable: false }, &errno(libc::EACCES), &c);
        assert!(user.to_string().contains("run as root"), "{user}");
        let mut p = ctx(DeviceKind::PhysMem, 0x1000, &nowhere);
        p.physmem = PhysmemWay::Build;
        let mut host = ctx(DeviceKind::DevMem, 0x1000, &nowhere);
        host.physmem = PhysmemWay::NoModules;
        let no_devmem = explain(Step::Open { writable: false }, &errno(libc::ENOENT), &host);
        assert_eq!(
            no_devmem.to_string(),
            "/dev/mem does not exist: this kernel was built without CONFIG_DEVMEM (this kernel loads no modules (no /proc/modules), so physdemo_mem's /dev/physmem cannot help here; or use the project's VM: demos/vm/run SCRIPT)"
        );
        let gone = explain(Step::Open { writable: true }, &errno(libc::ENOENT), &p);
        assert!(gone.to_string().contains("/dev/physmem does not exist: the physdemo_mem module is not loaded (build and load physdemo_mem (demos/kmod/build --host"), "{gone}");
    }

    #[test]
    fn names_why_proc_kcore_did_not_open_or_read() {
        let (nowhere, ioapic) = (Placement::Nowhere, place(0xfec0_0000));
        let mut c = ctx(DeviceKind::Kcore, 0x1000, &nowhere);
        c.device = Path::new("/proc/kcore");
        let absent = explain(Step::Open { writable: false }, &errno(libc::ENOENT), &c);
        assert_eq!(absent.kind, ExitKind::Unsupported);
        assert!(absent.to_string().starts_with("/proc/kcore does not exist: this kernel was built without CONFIG_PROC_KCORE (to read RAM, load physdemo_mem"), "{absent}");
        c.lockdown = Some(LockdownMode::Confidentiality);
        let closed = explain(Step::Open { writable: false }, &errno(libc::EPERM), &c);
        assert_eq!(closed.kind, ExitKind::Permission);
        assert!(closed.to_string().starts_with("the kernel refused to open /proc/kcore (EPERM): lockdown=confidentiality is in force"), "{closed}");
        // integrity leaves /proc/kcore open: its EPERM is not lockdown's
        c.lockdown = Some(LockdownMode::Integrity);
        let other = explain(Step::Open { writable: false }, &errno(libc::EPERM), &c);
        assert!(
            !other.to_string().contains("lockdown is in force"),
            "{other}"
        );
        // /dev/mem under confidentiality names /proc/kcore among what it closes
        let mut m = ctx(DeviceKind::DevMem, 0x1000, &nowhere);
        m.lockdown = Some(LockdownMode::Confidentiality);
        let mem = explain(Step::Open { writable: false }, &errno(libc::EPERM), &m);
        assert!(
            mem.to_string().contains(
                "it closes /dev/mem, /dev/port, /dev/physmem and /proc/kcore to everyone"
            ),
            "{mem}"
        );
        let mut r = ctx(DeviceKind::Kcore, 0xfec0_0000, &ioapic);
        r.device = Path::new("/proc/kcore");
        let device = explain(Step::Read, &errno(libc::ENXIO), &r);
        assert_eq!(device.kind, ExitKind::NotFound);
        assert!(
            device.to_string().starts_with(
                "/proc/kcore holds no memory at 0xfec00000 (IOAPIC 0 [0xfec00000-0xfec003ff]"
            ),
            "{device}"
        );
        assert_eq!(
            explain(Step::Map, &errno(libc::ENODEV), &r).kind,
            ExitKind::Usage
        );
        assert_eq!(
            explain(Step::Write, &errno(libc::EIO), &r).kind,
            ExitKind::Unsupported
        );
    }

    #[test]
    fn names_what_physdemo_mem_refuses() {
        let (reserved, edu, kernel) = (Placement::Nowhere, place(0xfe00_0002), place(0x0100_0000));
        let hole = explain(
            Step::Read,
            &errno(libc::ENXIO),
            &ctx(DeviceKind::PhysMem, 0xc000_0000, &reserved),
        );
        assert_eq!(hole.kind, ExitKind::NotFound);
        assert!(hole.to_string().contains("/dev/physmem refuses 0xc0000000 (ENXIO): physdemo_mem reaches only whole pages of System RAM"), "{hole}");
        let low = place(0x9f000);
        let partial = explain(
            Step::Read,
            &errno(libc::ENXIO),
            &ctx(DeviceKind::PhysMem, 0x9f000, &low),
        );
        assert!(
            partial.to_string().contains(
                "the page 0x9f000-0x9ffff is only partly System RAM (System RAM [0x1000-0x9fbff])"
            ),
            "{partial}"
        );
        // The IOAPIC's 1 KiB does not fill its page: mmap says ENXIO, pread reaches it.
        let ioapic = place(0xfec0_0000);
        let small = explain(
            Step::Map,
            &errno(libc::ENXIO),
            &ctx(DeviceKind::PhysMem, 0xfec0_0000, &ioapic),
        );
        assert_eq!(small.kind, ExitKind::NotFound);
        assert!(small.to_string().contains("/dev/physmem refuses to map 0xfec00000 (ENXIO): IOAPIC 0 [0xfec00000-0xfec003ff] does not fill its page"), "{small}");
        assert!(small.to_string().contains("(use --method rw"), "{small}");
        let misaligned = explain(
            Step::Read,
            &errno(libc::EINVAL),
            &ctx(DeviceKind::PhysMem, 0xfe00_0002, &edu),
        );
        assert_eq!(misaligned.kind, ExitKind::Usage);
        assert!(
            misaligned
                .to_string()
                .contains("one aligned access of 1, 2, 4 or 8 bytes"),
            "{misaligned}"
        );
        let text = explain(
            Step::Write,
            &errno(libc::EIO),
            &ctx(DeviceKind::PhysMem, 0x0100_0000, &kernel),
        );
        assert!(
            text.to_string().contains("read-only or not at all")
                && text.to_string().contains("nothing was written"),
            "{text}"
        );
        let mapped = explain(
            Step::Map,
            &errno(libc::EIO),
            &ctx(DeviceKind::PhysMem, 0x0100_0000, &kernel),
        );
        assert_eq!(mapped.kind, ExitKind::Unsupported);
        assert!(
            mapped
                .to_string()
                .starts_with("/dev/physmem refuses to map 0x1000000 (EIO): the kernel keeps that RAM page read-only")
                && !mapped.to_string().contains('\n'),
            "{mapped}"
        );
        assert_eq!(errno_name(libc::EPERM), "EPERM");
        assert_eq!(errno_name(libc::EINVAL), "EINVAL");
    }

    #[test]
    fn never_passes_off_hidden_low_ram() {
        let low = place(0x9f000);
        let c = ctx(DeviceKind::DevMem, 0x9f000, &low);
        let read = hidden_low_ram(false, &c);
        assert_eq!(read.kind, ExitKind::Unsupported);
        assert!(
            read.to_string()
                .contains("shows RAM below 1 MiB to read() as zeros")
                && read.to_string().contains("--method mmap"),
            "{read}"
        );
        let write = hidden_low_ram(true, &c);
        assert!(
            write
                .to_string()
                .contains("drops a write() to RAM below 1 MiB and still reports success")
                && write.to_string().contains("nothing was written"),
            "{write}"
        );
    }
}
