//! Reading and writing physical memory through `/dev/mem`, one checked access at a time.
//!
//! Each access opens nothing new: a [`PhysMem`] holds the open device (read-only for
//! reads, read-write for writes; `O_SYNC` unless `--cached`), and every [`PhysMem::read`]
//! or [`PhysMem::write`] maps the page holding the address `MAP_SHARED` at its page-aligned
//! offset, performs exactly one volatile load or store of the requested width (see
//! [`rawmem::PhysWindow`]) under a SIGBUS guard, and unmaps. With `--method rw` it uses one
//! `pread`/`pwrite` of the width instead. Accesses must be naturally aligned, so they never
//! cross a page; byte ranges (for `dump`) map every page they touch.
//!
//! The pure checks (width parsing, alignment, value fits) and the translation of kernel
//! errors into sentences a user can act on ([`explain`]) are separate functions with no
//! I/O. The device path is injectable (`--device`, `PHYSDEMO_DEVICE`) so tests run against
//! a regular file standing in for /dev/mem.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::addr::{PageSize, PhysAddr, VirtAddr};
use crate::cli::AccessMethod;
use crate::error::{not_found, permission, unsupported, usage, ExitKind, UserError};
use crate::iomem::RegionKind;
use crate::rawmem::{monotonic_ns, PhysWindow, SigbusGuard};

/// The real device.
pub const DEV_MEM: &str = "/dev/mem";

/// The width of one access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Width {
    W8,
    W16,
    W32,
    W64,
}

impl Width {
    pub const ALL: [Width; 4] = [Width::W8, Width::W16, Width::W32, Width::W64];

    pub fn from_bits(bits: u64) -> Option<Width> {
        match bits {
            8 => Some(Width::W8),
            16 => Some(Width::W16),
            32 => Some(Width::W32),
            64 => Some(Width::W64),
            _ => None,
        }
    }

    pub fn bits(self) -> u32 {
        match self {
            Width::W8 => 8,
            Width::W16 => 16,
            Width::W32 => 32,
            Width::W64 => 64,
        }
    }

    pub fn bytes(self) -> usize {
        self.bits() as usize / 8
    }

    /// The largest value of this width.
    pub fn max_value(self) -> u64 {
        u64::MAX >> (64 - self.bits())
    }

    /// A value formatted with as many hex digits as the width has nibbles: `0x00ab`.
    pub fn hex(self, value: u64) -> String {
        format!("{value:#0digits$x}", digits = self.bits() as usize / 4 + 2)
    }

    /// Parses `8|16|32|64`, or busybox's letters `b|h|w|l` (byte, half, word, long).
    pub fn parse(text: &str) -> Result<Width, UserError> {
        let by_letter = match text.to_ascii_lowercase().as_str() {
            "b" => Some(Width::W8),
            "h" => Some(Width::W16),
            "w" => Some(Width::W32),
            "l" => Some(Width::W64),
            _ => None,
        };
        by_letter
            .or_else(|| text.parse::<u64>().ok().and_then(Width::from_bits))
            .ok_or_else(|| {
                usage(format!("bad width '{text}'"))
                    .hint("use 8, 16, 32 or 64 bits (or b, h, w, l)")
            })
    }
}

impl fmt::Display for Width {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-bit", self.bits())
    }
}

/// Refuses an access that is not naturally aligned (it could cross a page, and devices
/// reject it); the error says the nearest aligned addresses.
pub fn check_alignment(addr: PhysAddr, width: Width) -> Result<(), UserError> {
    let bytes = width.bytes() as u64;
    if addr.0 % bytes == 0 {
        return Ok(());
    }
    let below = addr.0 - addr.0 % bytes;
    Err(usage(format!(
        "{addr} is not aligned for a {width} access (it must be a multiple of {bytes})"
    ))
    .hint(format!(
        "use {:#x} or {:#x}, or a smaller --width",
        below,
        below + bytes
    )))
}

/// As [`check_alignment`], for a process's virtual address, before it is resolved: it
/// shares its offset in the page with the physical address it maps to, so one is aligned
/// exactly when the other is.
pub fn check_virtual_alignment(addr: VirtAddr, width: Width) -> Result<(), UserError> {
    check_alignment(PhysAddr(addr.0), width)
}

/// Refuses a value wider than the access.
pub fn check_value_fits(value: u64, width: Width) -> Result<(), UserError> {
    if value <= width.max_value() {
        return Ok(());
    }
    let needed = Width::ALL
        .into_iter()
        .find(|w| value <= w.max_value())
        .unwrap_or(Width::W64);
    Err(usage(format!(
        "value {value:#x} does not fit in {} bits (at most {:#x})",
        width.bits(),
        width.max_value()
    ))
    .hint(format!("use --width {} or a smaller value", needed.bits())))
}

/// Where and how to reach physical memory.
#[derive(Debug, Clone)]
pub struct DeviceOptions {
    pub path: PathBuf,
    /// Open without O_SYNC (a cached mapping).
    pub cached: bool,
    pub method: AccessMethod,
}

impl DeviceOptions {
    pub fn describe(&self) -> String {
        let method = match self.method {
            AccessMethod::Mmap => "mmap",
            AccessMethod::Rw => "pread/pwrite",
        };
        let sync = if self.cached { "cached" } else { "O_SYNC" };
        format!("{} {method}, {sync}", self.path.display())
    }
}

/// What the device path turned out to be, for [`device_problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Regular,
    Directory,
    Block,
    Char {
        major: u32,
        minor: u32,
    },
    /// A FIFO or a socket.
    Other,
}

impl DeviceKind {
    pub fn of(meta: &std::fs::Metadata) -> DeviceKind {
        use std::os::unix::fs::FileTypeExt;
        let file_type = meta.file_type();
        if file_type.is_file() {
            DeviceKind::Regular
        } else if file_type.is_dir() {
            DeviceKind::Directory
        } else if file_type.is_block_device() {
            DeviceKind::Block
        } else if file_type.is_char_device() {
            DeviceKind::Char {
                major: libc::major(meta.rdev()),
                minor: libc::minor(meta.rdev()),
            }
        } else {
            DeviceKind::Other
        }
    }
}

/// Why a device of this kind cannot stand for physical memory, or `None` when it can:
/// /dev/mem itself (char 1:1, `drivers/char/mem.c`), or a regular file or block device
/// standing in for it in tests. Everything else is named, so the user sees what it is.
pub fn device_problem(device: &Path, kind: DeviceKind) -> Option<UserError> {
    let device = device.display();
    let message = match kind {
        DeviceKind::Regular | DeviceKind::Block | DeviceKind::Char { major: 1, minor: 1 } => {
            return None
        }
        DeviceKind::Directory => format!("{device} is a directory, not a memory device"),
        DeviceKind::Other => format!("{device} is a FIFO or socket, not a memory device"),
        // The other minors of the memory devices, as drivers/char/mem.c numbers them.
        DeviceKind::Char { major: 1, minor } => {
            let (name, why) = match minor {
                2 => ("/dev/kmem", "it was kernel virtual memory"),
                3 => ("the null device", "it reads as empty"),
                4 => (
                    "the I/O port device",
                    "its offsets are x86 I/O port numbers, not physical addresses, and it cannot be mapped",
                ),
                5 => ("the zero device", "it reads zeros at every offset"),
                7 => ("the full device", "it reads zeros and refuses writes"),
                8 | 9 => ("a random number device", "it reads random bytes"),
                11 => ("the kernel log", "it reads log records"),
                _ => ("a memory-class device", "it is not /dev/mem"),
            };
            format!("{device} (char 1:{minor}) is {name}, not physical memory: {why}")
        }
        DeviceKind::Char { major, minor } => format!(
            "{device} (char {major}:{minor}) is a character device, not /dev/mem: physdemo knows only /dev/mem's layout"
        ),
    };
    Some(usage(message).hint(
        "physdemo needs /dev/mem (char 1:1), where the offset is the physical address; unset PHYSDEMO_DEVICE and --device, or name a regular file that stands in for it",
    ))
}

/// What went wrong, in the terms [`explain`] needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Open { writable: bool },
    Map,
    Read,
    Write,
}

/// The circumstances of a failure, for [`explain`].
#[derive(Debug, Clone)]
pub struct FailureContext<'a> {
    pub device: &'a Path,
    pub addr: PhysAddr,
    pub region: Option<RegionKind>,
    pub is_root: bool,
}

/// Turns an OS error from /dev/mem into one sentence and a fix.
pub fn explain(step: Step, err: &io::Error, ctx: &FailureContext<'_>) -> UserError {
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
pub fn sigbus_message(addr: PhysAddr, device: &Path) -> String {
    format!(
        "physdemo: error: bus error (SIGBUS) accessing {addr} through {}: nothing answered there (beyond the end of the device file, or beyond physical memory) (check the address against /proc/iomem)",
        device.display()
    )
}

/// The exit code after a SIGBUS: nothing backs the address.
pub const SIGBUS_EXIT: ExitKind = ExitKind::NotFound;

/// Parses the CPU's physical address width from /proc/cpuinfo text ("address sizes : 46
/// bits physical, 48 bits virtual").
pub fn physical_address_bits(cpuinfo: &str) -> Option<u32> {
    cpuinfo
        .lines()
        .find(|line| line.starts_with("address sizes"))?
        .split(':')
        .nth(1)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Refuses an address the CPU cannot even express (beyond its physical address bits).
pub fn check_addressable(addr: PhysAddr, len: u64, bits: Option<u32>) -> Result<(), UserError> {
    let Some(bits) = bits.filter(|&b| b < 64) else {
        return Ok(());
    };
    let limit = 1u64 << bits;
    if addr.0.checked_add(len).is_some_and(|end| end <= limit) {
        return Ok(());
    }
    let cpu = format!(
        "this CPU has {bits} physical address bits (up to {:#x})",
        limit - 1
    );
    if addr.0 < limit {
        // The start is fine, the end is not: say how much would fit.
        return Err(not_found(format!(
            "{addr} + {len:#x} bytes runs beyond physical memory at {limit:#x}: {cpu}"
        ))
        .hint(format!(
            "at most {:#x} bytes fit from {addr}; take addresses from /proc/iomem",
            limit - addr.0
        )));
    }
    Err(
        not_found(format!("{addr} is beyond physical memory: {cpu}"))
            .hint("take addresses from `physdemo inspect` or /proc/iomem"),
    )
}

/// The CPU's physical address width from /proc/cpuinfo, if it says.
fn cpu_physical_address_bits() -> Option<u32> {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| physical_address_bits(&text))
}

/// The bytes a store of `value` with `width` puts in memory (this machine's byte order).
pub fn encode_native(value: u64, width: Width) -> Vec<u8> {
    match width {
        Width::W8 => vec![value as u8],
        Width::W16 => (value as u16).to_ne_bytes().to_vec(),
        Width::W32 => (value as u32).to_ne_bytes().to_vec(),
        Width::W64 => value.to_ne_bytes().to_vec(),
    }
}

/// The value a load of `bytes.len()` bytes (1, 2, 4 or 8) reads (this machine's byte order).
pub fn decode_native(bytes: &[u8]) -> u64 {
    match bytes.len() {
        1 => u64::from(bytes[0]),
        2 => u64::from(u16::from_ne_bytes([bytes[0], bytes[1]])),
        4 => u64::from(u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])),
        _ => {
            let mut word = [0u8; 8];
            let n = bytes.len().min(8);
            word[..n].copy_from_slice(&bytes[..n]);
            u64::from_ne_bytes(word)
        }
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A read that stopped partway: how many bytes arrived before the first address that
/// failed, and why it failed.
#[derive(Debug)]
pub struct PartialRead {
    pub read: usize,
    pub error: anyhow::Error,
}

/// An open physical-memory device.
pub struct PhysMem {
    file: File,
    options: DeviceOptions,
    page: PageSize,
    writable: bool,
    region: Option<RegionKind>,
}

impl PhysMem {
    /// Opens the device, read-write only when `writable`. `region` (what /proc/iomem says
    /// the address is) only sharpens error messages.
    pub fn open(
        options: &DeviceOptions,
        writable: bool,
        addr: PhysAddr,
        region: Option<RegionKind>,
    ) -> Result<PhysMem> {
        // Say what the device is before opening it: a directory, /dev/port or /dev/zero
        // would otherwise fail obscurely (ENODEV on mmap) or answer wrongly (read()).
        if let Ok(meta) = std::fs::metadata(&options.path) {
            if let Some(problem) = device_problem(&options.path, DeviceKind::of(&meta)) {
                return Err(problem.into());
            }
        }
        let mut open = OpenOptions::new();
        open.read(true).write(writable);
        if !options.cached {
            open.custom_flags(libc::O_SYNC);
        }
        let file = open.open(&options.path).map_err(|err| {
            explain(
                Step::Open { writable },
                &err,
                &FailureContext {
                    device: &options.path,
                    addr,
                    region,
                    is_root: is_root(),
                },
            )
        })?;
        let mem = PhysMem {
            file,
            options: options.clone(),
            page: PageSize::of_system(),
            writable,
            region,
        };
        mem.check_reachable(addr, 1)?;
        Ok(mem)
    }

    /// Refuses a range of /dev/mem the CPU cannot address (beyond its physical address
    /// bits), before anything is read. A stand-in file is not checked.
    pub fn check_reachable(&self, addr: PhysAddr, len: u64) -> Result<(), UserError> {
        if self.options.path != Path::new(DEV_MEM) {
            return Ok(());
        }
        check_addressable(addr, len, cpu_physical_address_bits())
    }

    fn fail(&self, step: Step, addr: PhysAddr, err: &io::Error) -> anyhow::Error {
        explain(
            step,
            err,
            &FailureContext {
                device: &self.options.path,
                addr,
                region: self.region,
                is_root: is_root(),
            },
        )
        .into()
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
        let window = PhysWindow::map(&self.file, base, span, self.writable)
            .map_err(|err| self.fail(Step::Map, addr, &err))?;
        Ok((window, (addr.0 - base) as usize))
    }

    fn guard(&self, addr: PhysAddr) -> Result<SigbusGuard> {
        SigbusGuard::install(
            &sigbus_message(addr, &self.options.path),
            SIGBUS_EXIT.code(),
        )
        .context("installing the SIGBUS handler")
    }

    /// One read of `width` at `addr` (which must be aligned).
    pub fn read(&self, addr: PhysAddr, width: Width) -> Result<u64> {
        check_alignment(addr, width)?;
        match self.options.method {
            AccessMethod::Mmap => {
                let (window, at) = self.map(addr, width.bytes() as u64)?;
                let _guard = self.guard(addr)?;
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
    pub fn write(&self, addr: PhysAddr, width: Width, value: u64) -> Result<u64> {
        check_alignment(addr, width)?;
        check_value_fits(value, width)?;
        if !self.writable {
            anyhow::bail!("internal: the device was opened read-only");
        }
        match self.options.method {
            AccessMethod::Mmap => {
                let (window, at) = self.map(addr, width.bytes() as u64)?;
                let _guard = self.guard(addr)?;
                let at_ns = monotonic_ns();
                window.write(at, width.bytes(), value)?;
                Ok(at_ns)
            }
            AccessMethod::Rw => {
                let bytes = encode_native(value, width);
                let at_ns = monotonic_ns();
                let written = self
                    .file
                    .write_at(&bytes, addr.0)
                    .map_err(|err| self.fail(Step::Write, addr, &err))?;
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
    /// transferred). What `--dry-run` does instead of the write.
    pub fn probe_write(&self, addr: PhysAddr, width: Width) -> Result<()> {
        check_alignment(addr, width)?;
        match self.options.method {
            AccessMethod::Mmap => self.map(addr, width.bytes() as u64).map(|_| ()),
            AccessMethod::Rw => self
                .file
                .write_at(&[], addr.0)
                .map(|_| ())
                .map_err(|err| self.fail(Step::Write, addr, &err)),
        }
    }

    /// `len` bytes from `addr` on (any start, any length), mapping every page touched.
    pub fn read_bytes(&self, addr: PhysAddr, len: usize) -> Result<Vec<u8>> {
        let mut bytes = vec![0u8; len];
        self.read_into(addr, &mut bytes)
            .map_err(|stop| stop.error)?;
        Ok(bytes)
    }

    /// Fills `out` from `addr` on (any start, any length), mapping every page touched. On
    /// failure, says how many bytes arrived before the first address that failed (with
    /// mmap none do: one mapping covers them all).
    pub fn read_into(&self, addr: PhysAddr, out: &mut [u8]) -> Result<(), PartialRead> {
        if out.is_empty() {
            return Ok(());
        }
        let nothing = |error: anyhow::Error| PartialRead { read: 0, error };
        match self.options.method {
            AccessMethod::Mmap => {
                let (window, at) = self.map(addr, out.len() as u64).map_err(nothing)?;
                let _guard = self.guard(addr).map_err(nothing)?;
                window
                    .read_bytes(at, out)
                    .map_err(|err| nothing(err.into()))
            }
            AccessMethod::Rw => self.pread_prefix(addr, out),
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
            let error = match self.file.read_at(&mut out[done..], at.0) {
                Ok(0) => self.beyond_end(at),
                Ok(n) => {
                    done += n;
                    continue;
                }
                Err(err) => self.fail(Step::Read, at, &err),
            };
            return Err(PartialRead { read: done, error });
        }
        Ok(())
    }

    fn beyond_end(&self, addr: PhysAddr) -> anyhow::Error {
        not_found(format!(
            "{addr} is beyond the end of {}",
            self.options.path.display()
        ))
        .hint("check the address against /proc/iomem")
        .into()
    }

    pub fn options(&self) -> &DeviceOptions {
        &self.options
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_widths_as_numbers_and_busybox_letters() {
        assert_eq!(Width::parse("8").unwrap(), Width::W8);
        assert_eq!(Width::parse("16").unwrap(), Width::W16);
        assert_eq!(Width::parse("32").unwrap(), Width::W32);
        assert_eq!(Width::parse("64").unwrap(), Width::W64);
        assert_eq!(Width::parse("b").unwrap(), Width::W8);
        assert_eq!(Width::parse("H").unwrap(), Width::W16);
        assert_eq!(Width::parse("w").unwrap(), Width::W32);
        assert_eq!(Width::parse("l").unwrap(), Width::W64);
        for bad in ["", "7", "12", "128", "x", "0x20"] {
            let err = Width::parse(bad).unwrap_err();
            assert_eq!(err.kind, ExitKind::Usage);
            assert!(err.to_string().contains("bad width"), "{err}");
        }
        assert_eq!(Width::W16.hex(0xab), "0x00ab");
        assert_eq!(Width::W64.max_value(), u64::MAX);
        assert_eq!(Width::W8.max_value(), 0xff);
    }

    #[test]
    fn refuses_misaligned_accesses_and_oversized_values() {
        assert!(check_alignment(PhysAddr(0x1001), Width::W8).is_ok());
        assert!(check_alignment(PhysAddr(0x1002), Width::W16).is_ok());
        assert!(check_alignment(PhysAddr(0x1004), Width::W32).is_ok());
        assert!(check_alignment(PhysAddr(0x1008), Width::W64).is_ok());
        let err = check_alignment(PhysAddr(0x1004), Width::W64).unwrap_err();
        assert_eq!(err.kind, ExitKind::Usage);
        assert!(err.to_string().contains("use 0x1000 or 0x1008"), "{err}");
        assert!(check_alignment(PhysAddr(0xfff), Width::W16).is_err());

        assert!(check_value_fits(0xff, Width::W8).is_ok());
        assert!(check_value_fits(u64::MAX, Width::W64).is_ok());
        let err = check_value_fits(0x100, Width::W8).unwrap_err();
        assert!(err.to_string().contains("--width 16"), "{err}");
        assert!(check_value_fits(0x1_0000_0000, Width::W32)
            .unwrap_err()
            .to_string()
            .contains("--width 64"));
    }

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

    #[test]
    fn names_devices_that_are_not_physical_memory() {
        let path = |p: &str| PathBuf::from(p);
        for ok in [
            DeviceKind::Regular,
            DeviceKind::Block,
            DeviceKind::Char { major: 1, minor: 1 },
        ] {
            assert!(device_problem(&path("/dev/mem"), ok).is_none(), "{ok:?}");
        }
        for (device, kind, words) in [
            ("/tmp", DeviceKind::Directory, "/tmp is a directory, not a memory device"),
            (
                "/dev/port",
                DeviceKind::Char { major: 1, minor: 4 },
                "/dev/port (char 1:4) is the I/O port device, not physical memory: its offsets are x86 I/O port numbers",
            ),
            (
                "/dev/zero",
                DeviceKind::Char { major: 1, minor: 5 },
                "/dev/zero (char 1:5) is the zero device",
            ),
            (
                "/dev/null",
                DeviceKind::Char { major: 1, minor: 3 },
                "is the null device, not physical memory: it reads as empty",
            ),
            (
                "/dev/tty",
                DeviceKind::Char { major: 5, minor: 0 },
                "/dev/tty (char 5:0) is a character device, not /dev/mem",
            ),
            ("/run/fifo", DeviceKind::Other, "a FIFO or socket"),
        ] {
            let err = device_problem(&path(device), kind).expect(device);
            assert_eq!(err.kind, ExitKind::Usage);
            assert!(err.to_string().contains(words), "{err}");
            assert!(err.to_string().contains("/dev/mem (char 1:1)"), "{err}");
        }
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert_eq!(
            DeviceKind::of(&meta),
            DeviceKind::Char { major: 1, minor: 3 }
        );
        let meta = std::fs::metadata("/").unwrap();
        assert_eq!(DeviceKind::of(&meta), DeviceKind::Directory);
    }

    #[test]
    fn knows_how_far_the_cpu_can_address() {
        let cpuinfo = "processor\t: 0\naddress sizes\t: 39 bits physical, 48 bits virtual\n";
        assert_eq!(physical_address_bits(cpuinfo), Some(39));
        assert_eq!(physical_address_bits("nothing"), None);
        assert!(check_addressable(PhysAddr(0x1000), 8, Some(39)).is_ok());
        let err = check_addressable(PhysAddr(1 << 39), 1, Some(39)).unwrap_err();
        assert_eq!(err.kind, ExitKind::NotFound);
        assert!(err.to_string().contains("39 physical address bits"));
        assert!(check_addressable(PhysAddr(u64::MAX), 8, None).is_ok());
        // a range that starts inside and ends outside is refused whole, saying how much fits
        let across = check_addressable(PhysAddr(0xff_ffff_fff0), 0x20, Some(40)).unwrap_err();
        assert_eq!(across.kind, ExitKind::NotFound);
        assert!(
            across
                .to_string()
                .contains("runs beyond physical memory at 0x10000000000"),
            "{across}"
        );
        assert!(
            across.to_string().contains("at most 0x10 bytes"),
            "{across}"
        );
        assert!(check_addressable(PhysAddr(0xff_ffff_fff0), 0x10, Some(40)).is_ok());
    }

    fn scratch_device(name: &str, len: usize) -> DeviceOptions {
        let path = std::env::temp_dir().join(format!("physdemo-{name}-{}", std::process::id()));
        std::fs::write(&path, vec![0u8; len]).unwrap();
        DeviceOptions {
            path,
            cached: false,
            method: AccessMethod::Mmap,
        }
    }

    #[test]
    fn reads_back_every_width_through_both_methods() {
        for method in [AccessMethod::Mmap, AccessMethod::Rw] {
            let mut options = scratch_device(&format!("widths-{method:?}"), 3 * 4096);
            options.method = method;
            let mem = PhysMem::open(&options, true, PhysAddr(0), None).unwrap();
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
            assert_eq!(mem.read_bytes(PhysAddr(0x2000), 4).unwrap(), b"ABCD");
            assert_eq!(mem.read(PhysAddr(0x2002), Width::W8).unwrap(), 0x43);
            // misaligned and too-big are refused before any access
            assert!(mem.read(PhysAddr(0x1001), Width::W16).is_err());
            assert!(mem.write(PhysAddr(0x1000), Width::W8, 0x100).is_err());
            std::fs::remove_file(&options.path).unwrap();
        }
    }

    #[test]
    fn a_byte_range_may_cross_pages() {
        let options = scratch_device("crossing", 3 * 4096);
        let mem = PhysMem::open(&options, true, PhysAddr(0), None).unwrap();
        mem.write(PhysAddr(0x1ff8), Width::W64, 0x0807_0605_0403_0201)
            .unwrap();
        mem.write(PhysAddr(0x2000), Width::W64, 0x100f_0e0d_0c0b_0a09)
            .unwrap();
        let bytes = mem.read_bytes(PhysAddr(0x1ffb), 10).unwrap();
        assert_eq!(bytes, [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
        std::fs::remove_file(&options.path).unwrap();
    }

    #[test]
    fn a_missing_device_is_the_config_devmem_error() {
        let options = DeviceOptions {
            path: PathBuf::from("/nonexistent/physdemo-mem"),
            cached: false,
            method: AccessMethod::Mmap,
        };
        let err = PhysMem::open(&options, false, PhysAddr(0), None)
            .err()
            .unwrap();
        assert_eq!(crate::error::exit_kind_of(&err), ExitKind::Unsupported);
        assert!(err.to_string().contains("CONFIG_DEVMEM"));
    }
}
