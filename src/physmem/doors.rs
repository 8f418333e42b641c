// SPDX-License-Identifier: MIT OR Apache-2.0
//! Which door reads one physical address on this machine and which writes it, or why none
//! does: `doctor`'s verdicts applied to one address, for `physdemo explain`.
//!
//! Each door is asked by the kernel itself, without an access: it is opened (read-only,
//! then read-write, O_SYNC as peek and poke open it) and the address's page is mapped and
//! unmapped untouched ([`probe`]). That runs every check the kernel makes before an access:
//! lockdown and CAP_SYS_RAWIO at open; for /dev/mem `devmem_is_allowed()` (STRICT_DEVMEM's
//! RAM rule and its exception for the first MiB, IO_STRICT_DEVMEM's refusal of ranges a
//! driver claimed busy) and PAT's cache-type check; for physdemo_mem's /dev/physmem its
//! classification (all RAM, or inside one device range; never firmware's; never an
//! exclusive claim, `demos/kmod/physdemo_mem.c`). Nothing is read or written. Then
//! [`judge`], pure and tested on literals, turns the errnos into verdicts and adds what the
//! kernel does not check: physdemo's own write policy ([`crate::physmem::policy`]), /dev/mem's
//! read() hiding the first MiB, physdemo_mem's refusal of writes into the kernel's text, and
//! the way peek and poke choose a door by themselves ([`default_route`], as
//! [`crate::physmem::access::PhysMem`] does).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;

use serde::Serialize;

use crate::kernel::addr::{PageSize, PhysAddr};
use crate::kernel::iomem::{Placement, RegionKind};
use crate::physmem::device::{DEV_MEM, DEV_PHYSMEM};
use crate::physmem::explain::{driver_claimed, errno_name};
use crate::physmem::kcore::PROC_KCORE;
use crate::sys::phys_window::PhysWindow;

/// The end of the first MiB, below which STRICT_DEVMEM lets RAM be mapped.
const LOW_MIB: u64 = 0x10_0000;

/// A door to physical memory that explain judges. (/proc/kcore, a read-only door for RAM,
/// is added by the kcore branch: see [`doors`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Door {
    DevMem,
    PhysMem,
}

impl Door {
    pub(crate) fn path(self) -> &'static str {
        match self {
            Door::DevMem => DEV_MEM,
            Door::PhysMem => DEV_PHYSMEM,
        }
    }
}

/// What the kernel answered for the address's page: each step `Ok` or its errno; a
/// mapping is `None` when the open before it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Probed {
    pub(crate) open_read: Result<(), i32>,
    pub(crate) map_read: Option<Result<(), i32>>,
    pub(crate) open_write: Result<(), i32>,
    pub(crate) map_write: Option<Result<(), i32>>,
}

/// The address as the rules see it.
#[derive(Debug, Clone)]
pub(crate) struct Spot<'a> {
    pub(crate) paddr: PhysAddr,
    /// System RAM (or the kernel's image in it), by /proc/iomem and the frame.
    pub(crate) ram: bool,
    pub(crate) placement: &'a Placement,
    /// physdemo's write policy without `--force`: `Err` holds its refusal.
    pub(crate) policy: Result<(), String>,
    pub(crate) page: PageSize,
}

impl Spot<'_> {
    /// A device range that does not fill the address's page (the IOAPIC's 1 KiB), which
    /// physdemo_mem does not map: peek and poke reach it by one pread/pwrite.
    fn small_device(&self) -> bool {
        let Placement::In { region, .. } = self.placement else {
            return false;
        };
        let base = self.page.page_base(self.paddr.0);
        region.kind() == RegionKind::Device
            && !(region.start <= base && base + (self.page.bytes() - 1) <= region.end)
    }

    /// Whether physdemo_mem's rules take the address as a device when it cannot be asked
    /// by a mapping (a range smaller than its page): one device range of /proc/iomem, inside
    /// nothing but bus windows and other devices (never a reserved or firmware range).
    fn device_by_rules(&self) -> bool {
        let Placement::In { region, outer } = self.placement else {
            return false;
        };
        region.kind() == RegionKind::Device
            && outer
                .iter()
                .all(|r| matches!(r.kind(), RegionKind::Device | RegionKind::BusWindow))
    }

    /// physdemo_mem and a device range smaller than its page, judged by its rules.
    fn small_device_verdict(&self, access: &str) -> Verdict {
        if self.device_by_rules() {
            yes(format!(
                "by one {access} of 1, 2, 4 or 8 aligned bytes: physdemo_mem maps only whole pages of a device, and by its rules it takes this one ({}; judged from /proc/iomem, as no mapping can ask for less than a page)",
                self.innermost()
            ))
        } else {
            no(format!(
                "physdemo_mem takes only one device range, never inside a reserved or firmware range: {}",
                self.innermost()
            ))
        }
    }

    fn innermost(&self) -> String {
        self.placement.describe()
    }

    /// The kernel image's text or read-only data, which physdemo_mem never writes (EIO).
    fn kernel_read_only(&self) -> bool {
        matches!(self.placement, Placement::In { region, .. }
            if matches!(region.name.as_str(), "Kernel code" | "Kernel rodata"))
    }
}

/// What else of the machine the verdicts name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Machine {
    /// The lockdown mode when it is not `none`.
    pub(crate) lockdown: Option<&'static str>,
    pub(crate) root: bool,
    /// Whether /dev/mem's read() hides RAM (measured on a page of physdemo's own); asked
    /// only for RAM below 1 MiB.
    pub(crate) strict_devmem: Option<bool>,
}

/// Whether a door does it: `ok` is `null` when it cannot be told without an access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Verdict {
    pub(crate) ok: Option<bool>,
    pub(crate) why: String,
}

fn yes(why: impl Into<String>) -> Verdict {
    Verdict {
        ok: Some(true),
        why: why.into(),
    }
}

fn no(why: impl Into<String>) -> Verdict {
    Verdict {
        ok: Some(false),
        why: why.into(),
    }
}

/// One door's verdicts for the address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DoorVerdict {
    pub(crate) door: &'static str,
    pub(crate) read: Verdict,
    pub(crate) write: Verdict,
}

/// The doors explain asks by a mapping, in the order peek tries them (/proc/kcore, read
/// by pread and never mapped, is judged by [`kcore_verdict`]).
pub(crate) fn doors() -> [Door; 2] {
    [Door::DevMem, Door::PhysMem]
}

/// /proc/kcore's verdicts: a read where one of its segments holds the address and the
/// kernel lets it be opened (asked by reading its headers, never its memory); never a write.
pub(crate) fn kcore_verdict(paddr: PhysAddr) -> DoorVerdict {
    DoorVerdict {
        door: PROC_KCORE,
        read: match crate::physmem::kcore::reads(paddr, 1) {
            Ok(offset) => yes(format!(
                "by pread at file offset {offset:#x}: a segment of the kernel's ELF core file holds this RAM (its headers read, nothing else)"
            )),
            Err(err) => no(err.message),
        },
        write: no("/proc/kcore is read-only: the kernel offers its memory there to be read, never written"),
    }
}

/// Opens a door read-only or read-write, O_SYNC, as peek and poke open it.
fn open(door: Door, write: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(libc::O_SYNC)
        .open(door.path())
}

fn errno(err: &std::io::Error) -> i32 {
    err.raw_os_error().unwrap_or(libc::EIO)
}

/// Asks the kernel: the door opened read-only and read-write, the address's page mapped
/// each way and unmapped untouched. Nothing is read or written.
pub(crate) fn probe(door: Door, paddr: PhysAddr, page: PageSize) -> Probed {
    let base = page.page_base(paddr.0);
    let try_map = |file: &File, writable: bool| {
        PhysWindow::map(file, base, page.bytes() as usize, writable)
            .map(drop)
            .map_err(|e| errno(&e))
    };
    let (open_read, map_read) = match open(door, false) {
        Ok(file) => (Ok(()), Some(try_map(&file, false))),
        Err(err) => (Err(errno(&err)), None),
    };
    let (open_write, map_write) = match open(door, true) {
        Ok(file) => (Ok(()), Some(try_map(&file, true))),
        Err(err) => (Err(errno(&err)), None),
    };
    Probed {
        open_read,
        map_read,
        open_write,
        map_write,
    }
}

/// Whether /dev/physmem is physdemo_mem's, as peek checks before it goes there.
pub(crate) fn physmem_present() -> bool {
    crate::physmem::access::physmem_present()
}

/// Why `door` did not open.
fn open_refusal(door: Door, errno: i32, machine: &Machine) -> String {
    let path = door.path();
    match errno {
        libc::ENOENT => match door {
            Door::DevMem => format!("there is no {path} (a kernel without CONFIG_DEVMEM)"),
            Door::PhysMem => format!(
                "there is no {path}: physdemo_mem is not loaded (insmod physdemo_mem.ko; `physdemo doctor` says where it is)"
            ),
        },
        libc::EPERM | libc::EACCES => match (machine.lockdown, machine.root) {
            (Some(mode), _) => format!("lockdown ({mode}) closes {path} to root too"),
            (None, false) => format!("{path} opens for root only (CAP_SYS_RAWIO): run as root"),
            (None, true) => format!("open of {path}: {}", errno_name(errno)),
        },
        _ => format!("open of {path}: {}", errno_name(errno)),
    }
}

/// Why the kernel refused to map the address's page through `door`.
fn map_refusal(door: Door, errno: i32, spot: &Spot, machine: &Machine) -> String {
    let name = errno_name(errno);
    match (door, errno) {
        (_, libc::EPERM) if machine.lockdown.is_some() => format!(
            "lockdown ({}) closes {} (mmap: {name})",
            machine.lockdown.unwrap_or_default(),
            door.path()
        ),
        (Door::DevMem, libc::EPERM) if spot.ram => format!(
            "STRICT_DEVMEM: /dev/mem refuses System RAM above 1 MiB (mmap: {name})"
        ),
        (Door::DevMem, libc::EPERM) => format!(
            "IO_STRICT_DEVMEM: a driver claims {} (busy), and /dev/mem leaves it to the driver (mmap: {name})",
            spot.innermost()
        ),
        (Door::DevMem, libc::EINVAL) if spot.ram => format!(
            "x86 PAT: an uncached (O_SYNC) mapping of RAM conflicts with its write-back type (mmap: {name})"
        ),
        (Door::PhysMem, libc::ENXIO) => format!(
            "physdemo_mem takes only System RAM or one device range, never firmware's or a hole: {} (mmap: {name})",
            spot.innermost()
        ),
        (Door::PhysMem, libc::EPERM) => {
            format!("physdemo_mem: a driver marked the range exclusive (mmap: {name})")
        }
        (Door::PhysMem, libc::EIO) => {
            format!("physdemo_mem: the kernel does not map this RAM page (mmap: {name})")
        }
        _ => format!("mmap of the page: {name}"),
    }
}

/// The read verdict of `door`.
fn read_verdict(door: Door, probed: &Probed, spot: &Spot, machine: &Machine) -> Verdict {
    if let Err(errno) = probed.open_read {
        return no(open_refusal(door, errno, machine));
    }
    match (door, probed.map_read) {
        (Door::PhysMem, Some(Err(libc::ENXIO))) if !spot.ram && spot.small_device() => {
            spot.small_device_verdict("pread")
        }
        (_, Some(Err(errno))) => no(map_refusal(door, errno, spot, machine)),
        (_, None) => no("not tried: the open failed"),
        (Door::DevMem, Some(Ok(()))) if spot.ram && spot.paddr.0 < LOW_MIB => yes(
            match machine.strict_devmem {
                Some(true) => "by mmap: STRICT_DEVMEM lets /dev/mem map RAM below 1 MiB (its read() shows zeros here; peek maps)",
                _ => "by mmap (the kernel allowed the mapping; nothing was read)",
            },
        ),
        (Door::DevMem, Some(Ok(()))) if spot.ram => {
            yes("by mmap: /dev/mem maps this RAM (no STRICT_DEVMEM refusal; nothing was read)")
        }
        (Door::DevMem, Some(Ok(()))) => yes(
            "by mmap, uncached: /dev/mem maps this range (no driver's busy claim stops it; nothing was read)",
        ),
        (Door::PhysMem, Some(Ok(()))) if spot.ram => {
            yes("by mmap: physdemo_mem takes every page of System RAM (nothing was read)")
        }
        (Door::PhysMem, Some(Ok(()))) => yes(
            "by mmap, uncached: physdemo_mem takes this device range (one access of 1, 2, 4 or 8 aligned bytes; nothing was read)",
        ),
    }
}

/// The write verdict of `door`: the kernel's checks, then physdemo's write policy.
fn write_verdict(door: Door, probed: &Probed, spot: &Spot, machine: &Machine) -> Verdict {
    if let Err(errno) = probed.open_write {
        return no(open_refusal(door, errno, machine));
    }
    let kernel = match (door, probed.map_write) {
        (Door::PhysMem, Some(Err(libc::ENXIO))) if !spot.ram && spot.small_device() => {
            let by_rules = spot.small_device_verdict("pwrite");
            if by_rules.ok != Some(true) {
                return by_rules;
            }
            None
        }
        (_, Some(Err(errno))) => return no(map_refusal(door, errno, spot, machine)),
        (_, None) => return no("not tried: the open failed"),
        (_, Some(Ok(()))) => Some(()),
    };
    if let Err(refusal) = &spot.policy {
        let also = if door == Door::PhysMem && spot.kernel_read_only() {
            "; with --force, physdemo_mem still refuses the kernel's text and rodata (EIO)"
        } else {
            ""
        };
        return no(format!(
            "{} but physdemo refuses without --force: {refusal}{also}",
            if kernel.is_some() {
                "the kernel would allow it,"
            } else {
                "whatever the kernel says,"
            }
        ));
    }
    match kernel {
        None => spot.small_device_verdict("pwrite"),
        Some(()) if spot.ram => yes(
            "by mmap, one store (the kernel allowed a writable mapping; physdemo's write policy allows System RAM; nothing was written)",
        ),
        Some(()) => yes(
            "by mmap, one store (the kernel allowed a writable mapping; physdemo's write policy allows a device; nothing was written)",
        ),
    }
}

/// Both verdicts of one door.
pub(crate) fn judge(door: Door, probed: &Probed, spot: &Spot, machine: &Machine) -> DoorVerdict {
    DoorVerdict {
        door: door.path(),
        read: read_verdict(door, probed, spot, machine),
        write: write_verdict(door, probed, spot, machine),
    }
}

/// Which door peek (`read`) or poke (the write) takes without `--device`, or why none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Route {
    pub(crate) door: Option<&'static str>,
    pub(crate) why: String,
}

/// The door peek and poke choose by themselves, as `PhysMem` chooses: /dev/mem; where it
/// is missing or refuses to open, or refuses RAM (STRICT_DEVMEM, PAT), /dev/physmem when
/// it is there; never /dev/physmem around a driver's claim unless named with `--device`.
pub(crate) fn default_route(
    write: bool,
    dev_mem: (&Probed, &DoorVerdict),
    physmem: Option<&DoorVerdict>,
    kcore: Option<&DoorVerdict>,
    spot: &Spot,
) -> Route {
    let pick = |v: &DoorVerdict| {
        if write {
            v.write.clone()
        } else {
            v.read.clone()
        }
    };
    let (probed, verdict) = dev_mem;
    let (open, map) = if write {
        (probed.open_write, probed.map_write)
    } else {
        (probed.open_read, probed.map_read)
    };
    let detour = match (open, map) {
        (Err(libc::ENOENT | libc::EPERM), _) => Some(format!(
            "/dev/mem {}",
            if open == Err(libc::ENOENT) {
                "does not exist"
            } else {
                "does not open"
            }
        )),
        (Ok(()), Some(Err(libc::EPERM | libc::EINVAL))) if spot.ram => {
            Some("/dev/mem refuses this RAM".to_string())
        }
        _ => None,
    };
    let Some(reason) = detour else {
        let mine = pick(verdict);
        return Route {
            door: (mine.ok == Some(true)).then_some(DEV_MEM),
            why: mine.why,
        };
    };
    let Some(physmem) = physmem else {
        if let Some(kcore) = kcore.filter(|_| !write) {
            return Route {
                door: (kcore.read.ok == Some(true)).then_some(PROC_KCORE),
                why: format!(
                    "{reason}, and there is no /dev/physmem: through /proc/kcore: {}",
                    kcore.read.why
                ),
            };
        }
        return Route {
            door: None,
            why: format!("{reason}, and there is no /dev/physmem to go through instead"),
        };
    };
    if driver_claimed(spot.placement) {
        return Route {
            door: None,
            why: format!("{reason}, and physdemo never goes around a driver's claim through /dev/physmem by itself (--device /dev/physmem does)"),
        };
    }
    let theirs = pick(physmem);
    Route {
        door: (theirs.ok == Some(true)).then_some(DEV_PHYSMEM),
        why: format!("{reason}: through /dev/physmem: {}", theirs.why),
    }
}

/// Whether /dev/mem's read() hides RAM: a read of a page of physdemo's own (RAM, so the
/// read is harmless). `None` when it cannot be told.
pub(crate) fn strict_devmem_measured() -> Option<bool> {
    use crate::physmem::probe::{OwnPage, Seen};
    let file = open(Door::DevMem, false).ok()?;
    let own = OwnPage::new().ok()?;
    match own.read_through(&file) {
        Seen::Refused(libc::EPERM) | Seen::Zeros => Some(true),
        Seen::Exact => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::iomem::IomemMap;

    const IOMEM: &str = "\
00000000-00000fff : Reserved
00001000-0009fbff : System RAM
00100000-3ffdffff : System RAM
  01000000-01c0116f : Kernel code
  01e00000-0226cfff : Kernel rodata
b0000000-bfffffff : PCI MMCONFIG 0000 [bus 00-ff]
  b0000000-bfffffff : Reserved
c0000000-febfffff : PCI Bus 0000:00
  fea00000-feafffff : 0000:00:01.0
fec00000-fec003ff : IOAPIC 0
fed00000-fed003ff : HPET 0
  fed00000-fed003ff : PNP0103:00
fed1c000-fed1ffff : Reserved
  fed1c000-fed1c3ff : pnp 00:05
";

    fn page() -> PageSize {
        PageSize::new(4096).unwrap()
    }

    fn ok_all() -> Probed {
        Probed {
            open_read: Ok(()),
            map_read: Some(Ok(())),
            open_write: Ok(()),
            map_write: Some(Ok(())),
        }
    }

    fn refused_map(errno: i32) -> Probed {
        Probed {
            map_read: Some(Err(errno)),
            map_write: Some(Err(errno)),
            ..ok_all()
        }
    }

    const ROOT: Machine = Machine {
        lockdown: None,
        root: true,
        strict_devmem: Some(true),
    };

    fn with_spot<T>(addr: u64, ram: bool, f: impl FnOnce(&Spot) -> T) -> T {
        let map = IomemMap::parse(IOMEM.as_bytes()).unwrap();
        let placement = map.place(PhysAddr(addr));
        let policy =
            crate::physmem::policy::check_region_write(PhysAddr(addr), 1, &placement, false)
                .map_err(|e| e.message);
        f(&Spot {
            paddr: PhysAddr(addr),
            ram,
            placement: &placement,
            policy,
            page: page(),
        })
    }

    #[test]
    fn strict_devmem_refuses_ram_above_one_mib_and_maps_the_first() {
        with_spot(0x0300_0000, true, |spot| {
            let v = judge(Door::DevMem, &refused_map(libc::EPERM), spot, &ROOT);
            assert_eq!(v.read.ok, Some(false));
            assert!(v.read.why.starts_with("STRICT_DEVMEM"), "{v:?}");
            assert_eq!(v.write.ok, Some(false));
            let phys = judge(Door::PhysMem, &ok_all(), spot, &ROOT);
            assert_eq!(phys.read.ok, Some(true));
            assert_eq!(phys.write.ok, Some(true), "{phys:?}");
            let route = default_route(
                false,
                (&refused_map(libc::EPERM), &v),
                Some(&phys),
                None,
                spot,
            );
            assert_eq!(route.door, Some(DEV_PHYSMEM), "{route:?}");
            assert!(route.why.starts_with("/dev/mem refuses this RAM"));
            let alone = default_route(false, (&refused_map(libc::EPERM), &v), None, None, spot);
            assert_eq!(alone.door, None);
            assert!(alone.why.contains("no /dev/physmem"), "{alone:?}");
        });
        with_spot(0x2000, true, |spot| {
            let v = judge(Door::DevMem, &ok_all(), spot, &ROOT);
            assert_eq!(v.read.ok, Some(true));
            assert!(v.read.why.contains("below 1 MiB"), "{v:?}");
            assert!(v.read.why.contains("read() shows zeros"), "{v:?}");
        });
    }

    #[test]
    fn a_busy_device_is_the_drivers_and_the_write_policy_has_the_last_word() {
        with_spot(0xfed0_0000, false, |spot| {
            let v = judge(Door::DevMem, &refused_map(libc::EPERM), spot, &ROOT);
            assert!(v.read.why.starts_with("IO_STRICT_DEVMEM"), "{v:?}");
            assert!(v.read.why.contains("PNP0103:00"), "{v:?}");
            let phys = judge(Door::PhysMem, &ok_all(), spot, &ROOT);
            // The device is a device: poke may write it; but never around the driver by itself.
            assert_eq!(phys.write.ok, Some(true), "{phys:?}");
            let route = default_route(
                true,
                (&refused_map(libc::EPERM), &v),
                Some(&phys),
                None,
                spot,
            );
            assert_eq!(route.door, None);
        });
        with_spot(0x0100_0040, true, |spot| {
            let phys = judge(Door::PhysMem, &ok_all(), spot, &ROOT);
            assert_eq!(phys.read.ok, Some(true));
            assert_eq!(phys.write.ok, Some(false));
            assert!(phys.write.why.contains("physdemo refuses without --force"));
            assert!(phys.write.why.contains("Kernel code"), "{phys:?}");
            assert!(phys.write.why.contains("(EIO)"), "{phys:?}");
        });
        with_spot(0xb000_803c, false, |spot| {
            let v = judge(Door::DevMem, &ok_all(), spot, &ROOT);
            assert_eq!(v.read.ok, Some(true));
            assert_eq!(v.write.ok, Some(false), "{v:?}");
        });
    }

    #[test]
    fn doors_that_do_not_open_say_why() {
        let absent = Probed {
            open_read: Err(libc::ENOENT),
            map_read: None,
            open_write: Err(libc::ENOENT),
            map_write: None,
        };
        let locked = Probed {
            open_read: Err(libc::EPERM),
            open_write: Err(libc::EPERM),
            ..absent
        };
        with_spot(0x0300_0000, true, |spot| {
            let v = judge(Door::DevMem, &absent, spot, &ROOT);
            assert!(v.read.why.contains("CONFIG_DEVMEM"), "{v:?}");
            let p = judge(Door::PhysMem, &absent, spot, &ROOT);
            assert!(p.read.why.contains("physdemo_mem is not loaded"), "{p:?}");
            let machine = Machine {
                lockdown: Some("integrity"),
                ..ROOT
            };
            let v = judge(Door::DevMem, &locked, spot, &machine);
            assert_eq!(
                v.read.why,
                "lockdown (integrity) closes /dev/mem to root too"
            );
            let user = Machine {
                root: false,
                ..ROOT
            };
            let v = judge(Door::DevMem, &locked, spot, &user);
            assert!(v.write.why.contains("root only"), "{v:?}");
        });
        with_spot(0xfec0_0000, false, |spot| {
            // The IOAPIC's 1 KiB does not fill its page: physdemo_mem would not map it.
            let p = judge(Door::PhysMem, &refused_map(libc::ENXIO), spot, &ROOT);
            assert_eq!(p.read.ok, Some(true), "{p:?}");
            assert!(p.read.why.contains("by one pread"), "{p:?}");
            assert_eq!(p.write.ok, Some(true), "{p:?}");
            assert!(p.write.why.contains("by one pwrite"), "{p:?}");
        });
        with_spot(0xfed1_c000, false, |spot| {
            // A small device inside Reserved: never physdemo_mem's.
            let p = judge(Door::PhysMem, &refused_map(libc::ENXIO), spot, &ROOT);
            assert_eq!((p.read.ok, p.write.ok), (Some(false), Some(false)), "{p:?}");
            assert!(p.read.why.contains("pnp 00:05"), "{p:?}");
        });
        with_spot(0xc000_0000, false, |spot| {
            let p = judge(Door::PhysMem, &refused_map(libc::ENXIO), spot, &ROOT);
            assert_eq!(p.read.ok, Some(false));
            assert!(p.read.why.contains("never firmware's or a hole"), "{p:?}");
        });
    }
}
