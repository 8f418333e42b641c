// SPDX-License-Identifier: MIT OR Apache-2.0
//! An open physical-memory device and its accesses: one volatile load or store of a width
//! (mmap), or one `pread`/`pwrite` (rw), or a byte range; each failure explained.
//!
//! physdemo uses whichever door is open. Without `--device` it opens /dev/mem; where the
//! kernel refuses there (EPERM of an access to RAM: CONFIG_STRICT_DEVMEM; EINVAL mapping
//! RAM: x86 PAT; no /dev/mem, or EPERM at open) and physdemo_mem's /dev/physmem exists,
//! it goes through /dev/physmem instead. A device range refused for IO_STRICT_DEVMEM is
//! not gone around: a driver owns it, and only the user decides to bypass the driver
//! (`--device /dev/physmem`); the error says so. Nor is any range a driver claims reached
//! through a /dev/physmem physdemo came to by itself, whatever made it come (/dev/mem
//! absent, refusing to open, refusing RAM): [`PhysMem::check_not_around_a_driver`]
//! refuses it before the access (exit 6). A refused access did
//! nothing, so it is made again there, and from then on every access of this [`PhysMem`]
//! goes through /dev/physmem. [`PhysMem::describe`] and [`PhysMem::detour`] say which device
//! was used and why, for the reports. Under lockdown /dev/physmem refuses too, and the
//! error names lockdown.
//!
//! Where /dev/physmem is absent, a read-only [`PhysMem`] (peek, dump, devmem without a
//! value) goes through /proc/kcore instead, for RAM only ([`crate::physmem::kcore`]): it
//! reads by `pread` at the offset kcore's program headers give the address, and an address
//! no segment holds (a device, a hole) is refused, naming what /proc/iomem says is there.
//! A [`PhysMem`] opened to write never goes there: /proc/kcore cannot be written.
//!
//! No lie from the kernel is passed on: under STRICT_DEVMEM a read() of /dev/mem shows RAM
//! below 1 MiB as zeros and a write() there is dropped while reporting success. Before such
//! an access physdemo finds out whether STRICT_DEVMEM is on (a read() of a page of its own,
//! [`crate::physmem::probe`]), and when it is, goes through /dev/physmem or refuses, naming
//! the cause and the way around it ([`crate::physmem::explain::hidden_low_ram`]).

use std::cell::{Cell, OnceCell, RefCell};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::error::{not_found, usage, UserError};
use crate::kernel::addr::{PageSize, PhysAddr};
use crate::kernel::capabilities::Capability;
use crate::kernel::iomem::{IomemMap, Placement, RegionKind};
use crate::kernel::kcore::KcoreLayout;
use crate::physmem::device::{
    identify, AccessMethod, DeviceKind, DeviceOptions, FileKind, DEV_MEM, DEV_PHYSMEM,
};
use crate::physmem::explain::{
    around_a_driver_refused, driver_claimed, errno_name, explain, hidden_low_ram, sigbus_message,
    FailureContext, PhysmemWay, Step, SIGBUS_EXIT,
};
use crate::physmem::kcore::{is_elf_core, not_mappable, read_layout, read_only, PROC_KCORE};
use crate::physmem::probe::{OwnPage, Seen};
use crate::physmem::reach::{check_addressable, cpu_physical_address_bits};
use crate::physmem::width::{
    check_alignment, check_value_fits, decode_native, encode_native, Width,
};
use crate::proc::capabilities::{is_root, own_capabilities};
use crate::proc::iomem::read_system_map;
use crate::proc::lockdown::{lockdown, Lockdown};
use crate::proc::module::{installed_module_file, physmem_dev_number};
use crate::sys::clock::monotonic_ns;
use crate::sys::phys_window::PhysWindow;
use crate::sys::sigbus::SigbusGuard;

/// A read that stopped partway: how many bytes arrived before the first address that
/// failed, and why it failed.
#[derive(Debug)]
pub(crate) struct PartialRead {
    pub(crate) read: usize,
    pub(crate) error: anyhow::Error,
}

/// The end of the first megabyte: below it, STRICT_DEVMEM shows RAM to read() as zeros
/// (`devmem_is_allowed()` in arch/x86/mm/init.c answers 2 for those frames).
const LOW_MEMORY_END: u64 = 0x10_0000;

/// An open memory device: the file, what it is, and its path; for an ELF core file
/// (/proc/kcore), its segments.
struct Door {
    file: File,
    kind: DeviceKind,
    path: PathBuf,
    kcore: Option<KcoreLayout>,
}

impl Door {
    /// One `pread` of the bytes at physical `addr`: at the same offset, or for /proc/kcore
    /// at the offset of the segment holding `addr`, no further than its end (ENXIO: no
    /// segment holds it, which [`explain`] words).
    fn read_at(&self, buf: &mut [u8], addr: PhysAddr) -> io::Result<usize> {
        let Some(layout) = &self.kcore else {
            return self.file.read_at(buf, addr.0);
        };
        let segment = layout
            .segment_at(addr)
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENXIO))?;
        let len = (segment.end() - addr.0).min(buf.len() as u64) as usize;
        self.file
            .read_at(&mut buf[..len], segment.offset + (addr.0 - segment.paddr.0))
    }
}

/// An open physical-memory device: /dev/mem, /dev/physmem or a stand-in file, and what
/// this process learned about it.
pub(crate) struct PhysMem {
    options: DeviceOptions,
    page: PageSize,
    writable: bool,
    door: RefCell<Door>,
    /// Why the accesses went through /dev/physmem instead of /dev/mem, once they did.
    detour: RefCell<Option<String>>,
    /// /proc/iomem, read once when a failure or a low-memory access needs it.
    map: OnceCell<Option<IomemMap>>,
    /// Whether /dev/mem's read() hides RAM (CONFIG_STRICT_DEVMEM), probed once when
    /// needed; `None` inside: the probe could not tell.
    strict_devmem: OnceCell<Option<bool>>,
    /// Set once an access went by pread/pwrite instead of the default mmap, because
    /// /dev/physmem maps only whole pages of a device and the range is smaller.
    small_device: Cell<bool>,
}

/// Why a device did not open.
enum OpenFailure {
    /// It is not a memory device (a directory, /dev/port, ...): said before opening.
    NotMemory(UserError),
    /// The kernel's error from open(2).
    Os(DeviceKind, io::Error),
}

/// Opens `path` as a memory device, after saying what it is: a directory, /dev/port or
/// /dev/zero would otherwise fail obscurely (ENODEV on mmap) or answer wrongly (read()).
fn open_door(path: &Path, writable: bool, cached: bool) -> Result<Door, OpenFailure> {
    let kind = match std::fs::metadata(path) {
        Ok(meta) => {
            let file_kind = FileKind::of(&meta);
            let physmem = match file_kind {
                FileKind::Char { major: 1, minor: 1 } => None,
                FileKind::Char { .. } => physmem_dev_number(),
                _ => None,
            };
            identify(path, file_kind, physmem).map_err(OpenFailure::NotMemory)?
        }
        Err(_) if path == Path::new(DEV_PHYSMEM) => DeviceKind::PhysMem,
        Err(_) if path == Path::new(DEV_MEM) => DeviceKind::DevMem,
        Err(_) if path == Path::new(PROC_KCORE) => DeviceKind::Kcore,
        Err(_) => DeviceKind::StandIn,
    };
    let kind = match kind {
        DeviceKind::StandIn if path == Path::new(PROC_KCORE) || is_elf_core(path) => {
            DeviceKind::Kcore
        }
        kind => kind,
    };
    if kind == DeviceKind::Kcore && writable {
        return Err(OpenFailure::NotMemory(read_only(path, &physmem_way())));
    }
    let mut open = OpenOptions::new();
    open.read(true).write(writable);
    if !cached && !matches!(kind, DeviceKind::PhysMem | DeviceKind::Kcore) {
        open.custom_flags(libc::O_SYNC);
    }
    let file = open.open(path).map_err(|err| OpenFailure::Os(kind, err))?;
    let kcore = match kind {
        DeviceKind::Kcore => Some(read_layout(&file, path).map_err(OpenFailure::NotMemory)?),
        _ => None,
    };
    Ok(Door {
        file,
        kind,
        path: path.to_path_buf(),
        kcore,
    })
}

/// Whether /proc/kcore is there to read RAM through when /dev/mem refuses and /dev/physmem
/// is absent: never to write, nor when `--method mmap` was asked for (kcore has no mmap).
fn kcore_may_serve(options: &DeviceOptions, writable: bool) -> bool {
    let mmap_asked = options.method_chosen && options.method == AccessMethod::Mmap;
    !writable && !mmap_asked && Path::new(PROC_KCORE).exists()
}

/// Whether /dev/physmem is there and is physdemo_mem's device.
pub(crate) fn physmem_present() -> bool {
    std::fs::metadata(DEV_PHYSMEM).is_ok_and(|meta| {
        matches!(
            identify(
                Path::new(DEV_PHYSMEM),
                FileKind::of(&meta),
                physmem_dev_number()
            ),
            Ok(DeviceKind::PhysMem)
        )
    })
}

/// How a user gets /dev/physmem, for hints.
pub(crate) fn physmem_way() -> PhysmemWay {
    if !Path::new("/proc/modules").exists() {
        PhysmemWay::NoModules
    } else if physmem_present() {
        PhysmemWay::Loaded
    } else if let Some(path) = installed_module_file() {
        PhysmemWay::Installed(path)
    } else {
        PhysmemWay::Build
    }
}

/// Explains an OS error of `step` at `addr` through the device at `path`.
fn explain_at(
    step: Step,
    err: &io::Error,
    path: &Path,
    kind: DeviceKind,
    addr: PhysAddr,
    placement: &Placement,
) -> UserError {
    let lockdown = match lockdown() {
        Lockdown::Mode(mode) => Some(mode),
        Lockdown::Unknown(_) => None,
    };
    explain(
        step,
        err,
        &FailureContext {
            device: path,
            kind,
            addr,
            placement,
            is_root: is_root(),
            rawio: own_capabilities().has(Capability::SysRawio),
            lockdown,
            physmem: physmem_way(),
        },
    )
}

impl PhysMem {
    /// Opens the device, read-write only when `writable`: the chosen one, or /dev/mem (and
    /// /dev/physmem when /dev/mem is missing or refuses to open). `addr` only sharpens
    /// error messages and is checked against the CPU's address bits.
    pub(crate) fn open(options: &DeviceOptions, writable: bool, addr: PhysAddr) -> Result<PhysMem> {
        let first = options.first_path();
        let (door, detour) = match open_door(first, writable, options.cached) {
            Ok(door) => (door, None),
            Err(OpenFailure::NotMemory(problem)) => return Err(problem.into()),
            Err(OpenFailure::Os(kind, err)) => {
                let step = Step::Open { writable };
                let refused = matches!(err.raw_os_error(), Some(libc::ENOENT | libc::EPERM));
                let second = if physmem_present() {
                    Some((Path::new(DEV_PHYSMEM), ""))
                } else if kcore_may_serve(options, writable) {
                    Some((Path::new(PROC_KCORE), ", and there is no /dev/physmem"))
                } else {
                    None
                };
                let Some((second, and)) = second.filter(|_| options.may_detour() && refused) else {
                    let placement = Placement::Unreadable(String::new());
                    return Err(explain_at(step, &err, first, kind, addr, &placement).into());
                };
                let reason = match err.raw_os_error() {
                    Some(libc::ENOENT) => format!(
                        "{} does not exist (a kernel without CONFIG_DEVMEM){and}",
                        first.display()
                    ),
                    _ => format!("{} could not be opened (EPERM){and}", first.display()),
                };
                match open_door(second, writable, options.cached) {
                    Ok(door) => (door, Some(reason)),
                    Err(OpenFailure::NotMemory(problem)) => return Err(problem.into()),
                    Err(OpenFailure::Os(kind, err)) => {
                        let placement = Placement::Unreadable(String::new());
                        return Err(anyhow::Error::new(explain_at(
                            step, &err, second, kind, addr, &placement,
                        ))
                        .context(reason));
                    }
                }
            }
        };
        if door.kind == DeviceKind::Kcore
            && options.method_chosen
            && options.method == AccessMethod::Mmap
        {
            return Err(not_mappable(&door.path).into());
        }
        let mem = PhysMem {
            options: options.clone(),
            page: PageSize::of_system(),
            writable,
            door: RefCell::new(door),
            detour: RefCell::new(detour),
            map: OnceCell::new(),
            strict_devmem: OnceCell::new(),
            small_device: Cell::new(false),
        };
        mem.check_reachable(addr, 1)?;
        Ok(mem)
    }

    /// The device the accesses went through, as reports name it: `/dev/mem mmap, O_SYNC`,
    /// `/dev/physmem (physdemo_mem) mmap`.
    pub(crate) fn describe(&self) -> String {
        let door = self.door.borrow();
        if self.small_device.get() {
            let rw = door
                .kind
                .describe(&door.path, AccessMethod::Rw, self.options.cached);
            return format!(
                "{rw} (a device range smaller than its page, which /dev/physmem does not map)"
            );
        }
        door.kind
            .describe(&door.path, self.options.method, self.options.cached)
    }

    /// How to reach `[addr, addr + len)`: `--method`, or by default mmap, except through
    /// /dev/physmem into a device range that does not fill the pages of the access (the
    /// IOAPIC's 1 KiB): physdemo_mem maps only whole pages of a device (ENXIO), while its
    /// pread/pwrite reach any register of the range.
    fn method_for(&self, addr: PhysAddr, len: u64) -> AccessMethod {
        if self.kind() == DeviceKind::Kcore {
            return AccessMethod::Rw;
        }
        if self.options.method_chosen
            || self.options.method != AccessMethod::Mmap
            || self.kind() != DeviceKind::PhysMem
        {
            return self.options.method;
        }
        let Placement::In { region, .. } = self.placement(addr) else {
            return self.options.method;
        };
        let first = self.page.page_base(addr.0);
        let last = self
            .page
            .page_base(addr.0.saturating_add(len.max(1) - 1))
            .saturating_add(self.page.bytes() - 1);
        if region.kind() == RegionKind::Device && !(region.start <= first && last <= region.end) {
            self.small_device.set(true);
            return AccessMethod::Rw;
        }
        self.options.method
    }

    /// Why the accesses went through /dev/physmem instead of /dev/mem, when they did.
    pub(crate) fn detour(&self) -> Option<String> {
        self.detour.borrow().clone()
    }

    /// Which kind of device the accesses go through now.
    pub(crate) fn kind(&self) -> DeviceKind {
        self.door.borrow().kind
    }

    /// Refuses a range the CPU cannot address (beyond its physical address bits), before
    /// anything is read. A stand-in file is not checked.
    pub(crate) fn check_reachable(&self, addr: PhysAddr, len: u64) -> Result<(), UserError> {
        if self.kind() == DeviceKind::StandIn {
            return Ok(());
        }
        check_addressable(addr, len, cpu_physical_address_bits())
    }

    /// /proc/iomem, read once when needed.
    fn system_map(&self) -> Option<&IomemMap> {
        self.map
            .get_or_init(|| read_system_map().ok().filter(|map| !map.is_hidden()))
            .as_ref()
    }

    fn placement(&self, addr: PhysAddr) -> Placement {
        match self.system_map() {
            Some(map) => map.place(addr),
            None => Placement::Unreadable("/proc/iomem could not be read".to_string()),
        }
    }

    /// Whether the page at `base` holds any System RAM (what `devmem_is_allowed()` asks:
    /// `region_intersects(..., IORESOURCE_SYSTEM_RAM)`); true when the map is unknown.
    fn page_touches_ram(&self, base: u64) -> bool {
        let Some(map) = self.system_map() else {
            return true;
        };
        let last = base + self.page.bytes() - 1;
        map.regions
            .iter()
            .any(|r| r.kind() == RegionKind::SystemRam && r.start <= last && base <= r.end)
    }

    fn fail(&self, step: Step, addr: PhysAddr, err: &io::Error) -> anyhow::Error {
        let door = self.door.borrow();
        explain_at(
            step,
            err,
            &door.path,
            door.kind,
            addr,
            &self.placement(addr),
        )
        .into()
    }

    /// Why /dev/mem's `err` for `step` at `addr` is a refusal /dev/physmem may get past,
    /// or `None`: EPERM of an access to RAM (STRICT_DEVMEM), EINVAL mapping RAM (PAT).
    /// Only for /dev/mem opened without `--device`. EPERM of a device range
    /// (IO_STRICT_DEVMEM: a driver claimed it) is `None`: going around a driver is the
    /// user's call, made with `--device /dev/physmem`, never physdemo's.
    fn refusal(&self, step: Step, addr: PhysAddr, err: &io::Error) -> Option<String> {
        if self.kind() != DeviceKind::DevMem || !self.options.may_detour() {
            return None;
        }
        let ram = self.page_touches_ram(self.page.page_base(addr.0));
        let cause = match (step, err.raw_os_error()?) {
            (Step::Map | Step::Read | Step::Write, libc::EPERM) if ram => {
                let _ = self.strict_devmem.set(Some(true));
                "CONFIG_STRICT_DEVMEM keeps System RAM above 1 MiB out of /dev/mem"
            }
            (Step::Map, libc::EINVAL) if ram => {
                "x86 PAT keeps System RAM above 1 MiB out of /dev/mem's mappings"
            }
            _ => return None,
        };
        Some(format!(
            "/dev/mem refused {addr} ({}): {cause}",
            errno_name(err.raw_os_error().unwrap_or(0))
        ))
    }

    /// Goes through /dev/physmem from now on, for `reason`, or, to read when it is absent,
    /// through /proc/kcore; false when neither is there.
    fn take_detour(&self, reason: String) -> Result<bool> {
        let (path, reason) = if physmem_present() {
            (Path::new(DEV_PHYSMEM), reason)
        } else if kcore_may_serve(&self.options, self.writable) {
            (
                Path::new(PROC_KCORE),
                format!("{reason}, and there is no /dev/physmem"),
            )
        } else {
            return Ok(false);
        };
        let door = match open_door(path, self.writable, self.options.cached) {
            Ok(door) => door,
            Err(OpenFailure::NotMemory(problem)) => return Err(problem.into()),
            Err(OpenFailure::Os(kind, err)) => {
                let step = Step::Open {
                    writable: self.writable,
                };
                let placement = Placement::Unreadable(String::new());
                return Err(anyhow::Error::new(explain_at(
                    step,
                    &err,
                    path,
                    kind,
                    PhysAddr(0),
                    &placement,
                ))
                .context(reason));
            }
        };
        *self.door.borrow_mut() = door;
        *self.detour.borrow_mut() = Some(reason);
        Ok(true)
    }

    /// Refuses an access to a range a driver claims through a /dev/physmem the user did
    /// not name (physdemo went there because /dev/mem was missing, would not open, or
    /// refused RAM): going around a driver is the user's call, `--device /dev/physmem`.
    fn check_not_around_a_driver(&self, addr: PhysAddr) -> Result<()> {
        if self.kind() != DeviceKind::PhysMem || !self.options.may_detour() {
            return Ok(());
        }
        let placement = self.placement(addr);
        if !driver_claimed(&placement) {
            return Ok(());
        }
        let why = self
            .detour()
            .unwrap_or_else(|| "/dev/mem could not be used".to_string());
        Err(around_a_driver_refused(addr, &placement, &why).into())
    }

    /// Runs `op` on the open device; where /dev/mem refuses it (see [`PhysMem::refusal`])
    /// and /dev/physmem is there, runs it again through /dev/physmem. Never through a
    /// /dev/physmem the user did not name into a range a driver claims.
    /// A mapping refused by /dev/mem that sent physdemo to /proc/kcore is not made again
    /// there (kcore has no mmap): the error says so, and [`PhysMem::again_through_kcore`]
    /// runs the read again, by pread.
    fn attempt<T>(
        &self,
        step: Step,
        addr: PhysAddr,
        mut op: impl FnMut(&Door) -> io::Result<T>,
    ) -> Result<T> {
        self.check_not_around_a_driver(addr)?;
        let err = match op(&self.door.borrow()) {
            Ok(value) => return Ok(value),
            Err(err) => err,
        };
        match self.refusal(step, addr, &err) {
            Some(reason) if self.take_detour(reason.clone())? => {
                if step == Step::Map && self.kind() == DeviceKind::Kcore {
                    anyhow::bail!("internal: the mapping is read again through /proc/kcore");
                }
                self.check_not_around_a_driver(addr)?;
                op(&self.door.borrow()).map_err(|err| self.fail(step, addr, &err))
            }
            _ => Err(self.fail(step, addr, &err)),
        }
    }

    /// Runs a read `op`; when /dev/mem refused its mapping and physdemo went to /proc/kcore
    /// meanwhile, runs it again there.
    fn again_through_kcore<T, E>(&self, op: impl Fn() -> Result<T, E>) -> Result<T, E> {
        let before = self.kind();
        match op() {
            Err(_) if before != DeviceKind::Kcore && self.kind() == DeviceKind::Kcore => op(),
            done => done,
        }
    }

    /// Whether /dev/mem's read() hides RAM (CONFIG_STRICT_DEVMEM), found once by reading a
    /// page of physdemo's own through it: EPERM says yes, its own bytes say no. `None` when
    /// the probe could not tell (pagemap hides the frame, the page moved).
    fn strict_devmem(&self) -> Option<bool> {
        *self.strict_devmem.get_or_init(|| {
            let own = OwnPage::new().ok()?;
            for _ in 0..3 {
                let seen = own.read_through(&self.door.borrow().file);
                match seen {
                    Seen::Refused(libc::EPERM) | Seen::Zeros => return Some(true),
                    Seen::Exact => return Some(false),
                    Seen::Other if !own.still_there() => continue,
                    Seen::Other | Seen::Refused(_) => return None,
                }
            }
            None
        })
    }

    /// Before a read() or write() of `[addr, addr + len)` through /dev/mem: refuses (or goes
    /// through /dev/physmem) when a page below 1 MiB holds RAM and STRICT_DEVMEM is on, or
    /// may be (the kernel would show zeros, or drop the write).
    fn check_low_memory(&self, write: bool, addr: PhysAddr, len: u64) -> Result<()> {
        if self.kind() != DeviceKind::DevMem || addr.0 >= LOW_MEMORY_END {
            return Ok(());
        }
        let end = addr.0.saturating_add(len.max(1)).min(LOW_MEMORY_END);
        let mut base = self.page.page_base(addr.0);
        let mut hidden = None;
        while base < end {
            if self.page_touches_ram(base) {
                hidden = Some(PhysAddr(base.max(addr.0)));
                break;
            }
            base += self.page.bytes();
        }
        let Some(at) = hidden else {
            return Ok(());
        };
        if self.strict_devmem() == Some(false) {
            return Ok(());
        }
        // A poke reads before it writes: its refusal is the write's, whichever comes first.
        let write = write || self.writable;
        let reason = format!(
            "/dev/mem's {} RAM below 1 MiB under CONFIG_STRICT_DEVMEM",
            if write {
                "write() drops writes to"
            } else {
                "read() shows zeros for"
            }
        );
        if self.options.may_detour() && self.take_detour(reason)? {
            return Ok(());
        }
        let door = self.door.borrow();
        let placement = self.placement(at);
        Err(hidden_low_ram(
            write,
            &FailureContext {
                device: &door.path,
                kind: door.kind,
                addr: at,
                placement: &placement,
                is_root: is_root(),
                rawio: true,
                lockdown: None,
                physmem: physmem_way(),
            },
        )
        .into())
    }

    /// Maps the pages holding `[addr, addr + len)`; returns the window and `addr`'s offset in it.
    fn map(&self, addr: PhysAddr, len: u64) -> Result<(PhysWindow, usize)> {
        let base = self.page.page_base(addr.0);
        let end = addr
            .0
            .checked_add(len)
            .and_then(|end| end.checked_add(self.page.bytes() - 1))
            .map(|end| self.page.page_base(end))
            .ok_or_else(|| usage(format!("{addr} + {len} bytes overflows 64 bits")))?;
        let span = usize::try_from(end - base).context("range too large to map")?;
        let window = self.attempt(Step::Map, addr, |door| {
            PhysWindow::map(&door.file, base, span, self.writable)
        })?;
        Ok((window, (addr.0 - base) as usize))
    }

    /// The SIGBUS guard of an access inside `window`: it names the physical address that
    /// faulted.
    fn guard<'w>(&self, window: &'w PhysWindow) -> Result<SigbusGuard<'w>> {
        let (before, after) = sigbus_message(&self.door.borrow().path);
        SigbusGuard::install(window, &before, &after, SIGBUS_EXIT.code())
            .context("installing the SIGBUS handler")
    }

    /// One read of `width` at `addr` (which must be aligned).
    pub(crate) fn read(&self, addr: PhysAddr, width: Width) -> Result<u64> {
        check_alignment(addr, width)?;
        self.again_through_kcore(|| self.read_once(addr, width))
    }

    fn read_once(&self, addr: PhysAddr, width: Width) -> Result<u64> {
        match self.method_for(addr, width.bytes() as u64) {
            AccessMethod::Mmap => {
                let (window, at) = self.map(addr, width.bytes() as u64)?;
                let _guard = self.guard(&window)?;
                Ok(window.read(at, width.bytes())?)
            }
            AccessMethod::Rw => {
                let mut bytes = [0u8; 8];
                self.pread_exact(addr, &mut bytes[..width.bytes()])?;
                Ok(decode_native(&bytes[..width.bytes()]))
            }
        }
    }

    /// One write of `value` (which must fit) with `width` at `addr` (which must be
    /// aligned). Returns the CLOCK_MONOTONIC time taken just before the store.
    pub(crate) fn write(&self, addr: PhysAddr, width: Width, value: u64) -> Result<u64> {
        check_alignment(addr, width)?;
        check_value_fits(value, width)?;
        if !self.writable {
            anyhow::bail!("internal: the device was opened read-only");
        }
        match self.method_for(addr, width.bytes() as u64) {
            AccessMethod::Mmap => {
                let (window, at) = self.map(addr, width.bytes() as u64)?;
                let _guard = self.guard(&window)?;
                let at_ns = monotonic_ns();
                window.write(at, width.bytes(), value)?;
                Ok(at_ns)
            }
            AccessMethod::Rw => {
                self.check_low_memory(true, addr, width.bytes() as u64)?;
                let bytes = encode_native(value, width);
                let mut at_ns = 0;
                let written = self.attempt(Step::Write, addr, |door| {
                    at_ns = monotonic_ns();
                    door.file.write_at(&bytes, addr.0)
                });
                let written = written?;
                if written != width.bytes() {
                    return Err(self.beyond_end(addr));
                }
                Ok(at_ns)
            }
        }
    }

    /// Everything a write of `width` at `addr` asks of the kernel short of the store: with
    /// mmap, the page is mapped (the kernel's STRICT_DEVMEM and PAT checks run) and unmapped
    /// untouched; with pread/pwrite, a zero-byte `pwrite` (its range check runs, nothing is
    /// transferred), and the low-memory refusal a write would meet. What `--dry-run` does
    /// instead of the write.
    pub(crate) fn probe_write(&self, addr: PhysAddr, width: Width) -> Result<()> {
        check_alignment(addr, width)?;
        match self.method_for(addr, width.bytes() as u64) {
            AccessMethod::Mmap => self.map(addr, width.bytes() as u64).map(|_| ()),
            AccessMethod::Rw => {
                self.check_low_memory(true, addr, width.bytes() as u64)?;
                self.attempt(Step::Write, addr, |door| door.file.write_at(&[], addr.0))
                    .map(|_| ())
            }
        }
    }

    /// Fills `out` from `addr` on (any start, any length), mapping every page touched. On
    /// failure, says how many bytes arrived before the first address that failed (with
    /// mmap none do: one mapping covers them all).
    pub(crate) fn read_into(&self, addr: PhysAddr, out: &mut [u8]) -> Result<(), PartialRead> {
        if out.is_empty() {
            return Ok(());
        }
        let out = RefCell::new(out);
        self.again_through_kcore(|| self.read_into_once(addr, &mut out.borrow_mut()))
    }

    fn read_into_once(&self, addr: PhysAddr, out: &mut [u8]) -> Result<(), PartialRead> {
        let nothing = |error: anyhow::Error| PartialRead { read: 0, error };
        match self.method_for(addr, out.len() as u64) {
            AccessMethod::Mmap => {
                let (window, at) = self.map(addr, out.len() as u64).map_err(nothing)?;
                let _guard = self.guard(&window).map_err(nothing)?;
                window
                    .read_bytes(at, out)
                    .map_err(|err| nothing(err.into()))
            }
            AccessMethod::Rw => self.pread_prefix(addr, out),
        }
    }

    /// Fills `out` (a multiple of `width`'s size) from `addr` (aligned to it) with loads of
    /// `width`, one per word, none repeated, in address order: with mmap, all from one
    /// mapping of the range; with pread, one `pread` per word. On failure, says how many
    /// bytes arrived before the word that failed.
    pub(crate) fn read_words_into(
        &self,
        addr: PhysAddr,
        width: Width,
        out: &mut [u8],
    ) -> Result<(), PartialRead> {
        if out.is_empty() {
            return Ok(());
        }
        let out = RefCell::new(out);
        self.again_through_kcore(|| self.read_words_once(addr, width, &mut out.borrow_mut()))
    }

    fn read_words_once(
        &self,
        addr: PhysAddr,
        width: Width,
        out: &mut [u8],
    ) -> Result<(), PartialRead> {
        let size = width.bytes();
        let nothing = |error: anyhow::Error| PartialRead { read: 0, error };
        check_alignment(addr, width).map_err(|err| nothing(err.into()))?;
        let method = match self.kind() {
            DeviceKind::Kcore => AccessMethod::Rw,
            _ => self.options.method,
        };
        match method {
            AccessMethod::Mmap => {
                let (window, at) = self.map(addr, out.len() as u64).map_err(nothing)?;
                let _guard = self.guard(&window).map_err(nothing)?;
                for (i, word) in out.chunks_mut(size).enumerate() {
                    let value = window
                        .read(at + size * i, size)
                        .map_err(|err| PartialRead {
                            read: size * i,
                            error: err.into(),
                        })?;
                    word.copy_from_slice(&encode_native(value, width)[..word.len()]);
                }
                Ok(())
            }
            AccessMethod::Rw => {
                for (i, word) in out.chunks_mut(size).enumerate() {
                    let at = PhysAddr(addr.0 + (size * i) as u64);
                    let value = self.read(at, width).map_err(|error| PartialRead {
                        read: size * i,
                        error,
                    })?;
                    word.copy_from_slice(&encode_native(value, width)[..word.len()]);
                }
                Ok(())
            }
        }
    }

    fn pread_exact(&self, addr: PhysAddr, out: &mut [u8]) -> Result<()> {
        self.pread_prefix(addr, out).map_err(|stop| stop.error)
    }

    fn pread_prefix(&self, addr: PhysAddr, out: &mut [u8]) -> Result<(), PartialRead> {
        let mut done = 0;
        while done < out.len() {
            // A failure names the first byte not read, not the start of the request.
            let at = PhysAddr(addr.0 + done as u64);
            let rest = &mut out[done..];
            let len = rest.len() as u64;
            let read = self
                .check_low_memory(false, at, len)
                .and_then(|()| self.attempt(Step::Read, at, |door| door.read_at(rest, at)));
            let error = match read {
                Ok(0) => self.beyond_end(at),
                Ok(n) => {
                    done += n;
                    continue;
                }
                Err(error) => error,
            };
            return Err(PartialRead { read: done, error });
        }
        Ok(())
    }

    fn beyond_end(&self, addr: PhysAddr) -> anyhow::Error {
        not_found(format!(
            "{addr} is beyond the end of {}",
            self.door.borrow().path.display()
        ))
        .hint("check the address against /proc/iomem")
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitKind;

    /// A file of `len` zero bytes standing in for /dev/mem (removed when the first value
    /// is dropped), and the options that open it.
    fn scratch_device(len: usize) -> (tempfile::NamedTempFile, DeviceOptions) {
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(len as u64).unwrap();
        let options = DeviceOptions {
            method_chosen: false,
            chosen: Some(file.path().to_path_buf()),
            cached: false,
            method: AccessMethod::Mmap,
        };
        (file, options)
    }

    #[test]
    fn reads_back_every_width_through_both_methods() {
        for method in [AccessMethod::Mmap, AccessMethod::Rw] {
            let (_file, mut options) = scratch_device(3 * 4096);
            options.method = method;
            let mem = PhysMem::open(&options, true, PhysAddr(0)).unwrap();
            for (i, width) in Width::ALL.into_iter().enumerate() {
                let addr = PhysAddr(0x1000 + 16 * i as u64);
                let value = width.max_value() - 1;
                let at_ns = mem.write(addr, width, value).unwrap();
                assert!(at_ns > 0);
                assert_eq!(mem.read(addr, width).unwrap(), value, "{method:?} {width}");
            }
            // little-endian layout, as a byte range
            mem.write(PhysAddr(0x2000), Width::W32, 0x4443_4241)
                .unwrap();
            let mut abcd = [0u8; 4];
            mem.read_into(PhysAddr(0x2000), &mut abcd).unwrap();
            assert_eq!(&abcd, b"ABCD");
            assert_eq!(mem.read(PhysAddr(0x2002), Width::W8).unwrap(), 0x43);
            // misaligned and too-big are refused before any access
            assert!(mem.read(PhysAddr(0x1001), Width::W16).is_err());
            assert!(mem.write(PhysAddr(0x1000), Width::W8, 0x100).is_err());
            // a stand-in is neither /dev/mem nor /dev/physmem: no detour, no probe
            assert_eq!(mem.kind(), DeviceKind::StandIn);
            assert_eq!(mem.detour(), None);
            assert!(mem.describe().ends_with(match method {
                AccessMethod::Mmap => " mmap, O_SYNC",
                AccessMethod::Rw => " pread/pwrite, O_SYNC",
            }));
        }
    }

    #[test]
    fn a_byte_range_may_cross_pages() {
        let (_file, options) = scratch_device(3 * 4096);
        let mem = PhysMem::open(&options, true, PhysAddr(0)).unwrap();
        mem.write(PhysAddr(0x1ff8), Width::W64, 0x0807_0605_0403_0201)
            .unwrap();
        mem.write(PhysAddr(0x2000), Width::W64, 0x100f_0e0d_0c0b_0a09)
            .unwrap();
        let mut bytes = [0u8; 10];
        mem.read_into(PhysAddr(0x1ffb), &mut bytes).unwrap();
        assert_eq!(bytes, [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    }

    #[test]
    fn an_elf_core_file_is_read_by_its_segments_and_never_written() {
        use crate::kernel::kcore::encode;
        // Two segments of "RAM": 0x10000-0x10fff at file offset 0x1000, 0x20000-0x21fff at
        // 0x3000, and one without a physical address (vmalloc).
        let mut bytes = encode(
            62,
            &[
                (0xffff_8880_0001_0000, Some(0x1_0000), 0x1000, 0x1000),
                (0xffff_c900_0000_0000, None, 0x9000, 0x1000),
                (0xffff_8880_0002_0000, Some(0x2_0000), 0x3000, 0x2000),
            ],
        );
        bytes.resize(0x5000, 0);
        for (i, byte) in bytes[0x1000..0x5000].iter_mut().enumerate() {
            *byte = (i % 251) as u8;
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &bytes).unwrap();
        let mut options = DeviceOptions {
            method_chosen: false,
            chosen: Some(file.path().to_path_buf()),
            cached: false,
            method: AccessMethod::Mmap,
        };
        let mem = PhysMem::open(&options, false, PhysAddr(0x1_0000)).unwrap();
        assert_eq!(mem.kind(), DeviceKind::Kcore);
        assert_eq!(mem.describe(), format!("{} pread", file.path().display()));
        // one word, at the segment's offset plus the distance in
        let word = mem.read(PhysAddr(0x2_0008), Width::W32).unwrap();
        assert_eq!(
            word,
            u64::from(u32::from_ne_bytes(
                bytes[0x3008..0x300c].try_into().unwrap()
            ))
        );
        // a range across two segments that touch
        let mut range = vec![0u8; 0x40];
        mem.read_into(PhysAddr(0x2_0fe0), &mut range).unwrap();
        assert_eq!(range, bytes[0x3fe0..0x4020]);
        mem.read_words_into(PhysAddr(0x1_0010), Width::W64, &mut range)
            .unwrap();
        assert_eq!(range, bytes[0x1010..0x1050]);
        // past the end of a segment with nothing after it: the bytes before, then why
        let mut past = vec![0u8; 0x20];
        let stop = mem.read_into(PhysAddr(0x1_0ff0), &mut past).unwrap_err();
        assert_eq!(stop.read, 0x10);
        let why = stop.error.to_string();
        assert!(why.contains("holds no memory at 0x11000"), "{why}");
        // never written, never mapped
        let err = PhysMem::open(&options, true, PhysAddr(0x1_0000))
            .err()
            .unwrap();
        assert_eq!(crate::error::exit_kind_of(&err), ExitKind::Unsupported);
        assert!(err.to_string().contains("is read-only: the kernel offers its memory there to be read (an ELF core file), never written; nothing was written"), "{err}");
        options.method_chosen = true;
        let err = PhysMem::open(&options, false, PhysAddr(0x1_0000))
            .err()
            .unwrap();
        assert_eq!(crate::error::exit_kind_of(&err), ExitKind::Usage);
        assert!(err.to_string().contains("cannot be mapped"), "{err}");
    }

    #[test]
    fn a_missing_device_is_the_config_devmem_error() {
        let options = DeviceOptions {
            method_chosen: false,
            chosen: Some(PathBuf::from("/nonexistent/physdemo-mem")),
            cached: false,
            method: AccessMethod::Mmap,
        };
        let err = PhysMem::open(&options, false, PhysAddr(0)).err().unwrap();
        assert_eq!(crate::error::exit_kind_of(&err), ExitKind::Unsupported);
        assert!(err.to_string().contains("CONFIG_DEVMEM"));
    }
}
