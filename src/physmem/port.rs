// SPDX-License-Identifier: MIT OR Apache-2.0
//! x86 I/O port accesses, one instruction each, and what the kernel's refusals mean.
//!
//! A byte goes through `/dev/port` (`drivers/char/mem.c`: the file offset is the port
//! number, and each byte read or written is one `inb` or `outb`), so an 8-bit access is one
//! `pread`/`pwrite` of one byte. `/dev/port` has no wider access (two bytes are `inb` of two
//! ports), so 16- and 32-bit accesses use `ioperm` and one `inw`/`inl`/`outw`/`outl`
//! ([`crate::sys::port_io`]). In tests a regular file stands in for `/dev/port`
//! (`PHYSDEMO_PORT_DEVICE`): every width is then one `pread`/`pwrite` of that many bytes at
//! the port's offset, and nothing real is touched. Opening is everything an access asks of
//! the kernel short of the access (opening /dev/port, or `ioperm`), so a dry run that opens
//! ends with the same verdict. The kernel's refusals become one sentence with the fix
//! ([`explain_port`]): no `/dev/port` (`CONFIG_DEVPORT`), `ioperm` missing (`ENOSYS`, no
//! `CONFIG_X86_IOPL_IOPERM`), no privilege, or lockdown (read by the caller and handed in, as
//! this layer reads no /sys files).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::error::{permission, unsupported, usage, ExitKind, UserError};
use crate::kernel::ioports::Port;
use crate::kernel::lockdown::LockdownMode;
use crate::physmem::width::{decode_native, encode_native, Width};
use crate::sys::port_io::PortGrant;

/// The real device.
pub(crate) const DEV_PORT: &str = "/dev/port";

/// How a port is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortMethod {
    /// `pread`/`pwrite` of one byte on /dev/port: one `inb`/`outb`.
    DevPort,
    /// `ioperm`, then one `in`/`out` instruction of the width.
    Ioperm,
    /// A regular file standing in for /dev/port (tests): `pread`/`pwrite` of the width.
    StandIn,
}

/// Where the ports are: /dev/port, or a regular file standing in for it.
#[derive(Debug, Clone)]
pub(crate) struct PortDevice {
    pub(crate) path: PathBuf,
}

impl PortDevice {
    /// How an access of `width` is made: a regular file stands in for every width; else
    /// bytes go through /dev/port and wider accesses through ioperm.
    pub(crate) fn method(&self, width: Width) -> PortMethod {
        let regular = std::fs::metadata(&self.path).is_ok_and(|m| m.file_type().is_file());
        if regular {
            PortMethod::StandIn
        } else if width == Width::W8 {
            PortMethod::DevPort
        } else {
            PortMethod::Ioperm
        }
    }

    /// How an access is made, for reports: `/dev/port pread (inb)`, `ioperm + inw`, ...
    pub(crate) fn describe(&self, width: Width, write: bool) -> String {
        let insn = match (width, write) {
            (Width::W8, false) => "inb",
            (Width::W8, true) => "outb",
            (Width::W16, false) => "inw",
            (Width::W16, true) => "outw",
            (_, false) => "inl",
            (_, true) => "outl",
        };
        let call = if write { "pwrite" } else { "pread" };
        match self.method(width) {
            PortMethod::DevPort => format!("{} {call} ({insn})", self.path.display()),
            PortMethod::Ioperm => format!("ioperm + {insn}"),
            PortMethod::StandIn => format!(
                "{} {call} (a file standing in for /dev/port)",
                self.path.display()
            ),
        }
    }
}

/// The port number `number` checked for an access of `width`: a port (0 to 0xffff) whose
/// every byte of the access is a port too, naturally aligned (a 16-bit port even, a 32-bit
/// one a multiple of 4, as the devices decode them). Widths are 8, 16 and 32 bits.
pub(crate) fn check_port(number: u64, width: Width) -> Result<Port, UserError> {
    if width == Width::W64 {
        return Err(usage("bad width '64' for an I/O port")
            .hint("x86 I/O port accesses are 8, 16 or 32 bits"));
    }
    let bytes = width.bytes() as u64;
    let Some(port) = u16::try_from(number).ok() else {
        return Err(usage(format!(
            "port {number:#x} is out of range: x86 I/O ports are 0 to 0xffff"
        ))
        .hint("see /proc/ioports for the ports this machine has"));
    };
    if number + bytes - 1 > 0xffff {
        return Err(usage(format!(
            "a {width} access at port {number:#x} runs past the last port, 0xffff"
        ))
        .hint("use a smaller --width or a lower port"));
    }
    if number % bytes != 0 {
        let below = number - number % bytes;
        return Err(usage(format!(
            "port {number:#x} is not aligned for a {width} access (it must be a multiple of {bytes})"
        ))
        .hint(format!(
            "use port {below:#x} or {:#x}, or a smaller --width",
            below + bytes
        )));
    }
    Ok(Port(port))
}

/// What was being done when the kernel refused, for [`explain_port`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortStep {
    Open { writable: bool },
    Ioperm,
    Read,
    Write,
}

/// The circumstances of a refusal, for [`explain_port`].
#[derive(Debug, Clone)]
pub(crate) struct PortFailure<'a> {
    pub(crate) device: &'a Path,
    pub(crate) port: Port,
    pub(crate) width: Width,
    pub(crate) is_root: bool,
    /// The lockdown mode, when it could be read.
    pub(crate) lockdown: Option<LockdownMode>,
    /// Whether the kernel has the other way to the ports (`ioperm` when /dev/port failed,
    /// /dev/port when `ioperm` did).
    pub(crate) other_way: bool,
}

/// Turns an OS error of a port access into one sentence and a fix.
pub(crate) fn explain_port(step: PortStep, err: &io::Error, ctx: &PortFailure<'_>) -> UserError {
    let device = ctx.device.display();
    let (port, width) = (ctx.port, ctx.width);
    let what = match step {
        PortStep::Open { .. } => format!("opening {device}"),
        PortStep::Ioperm => format!("ioperm for port {port}"),
        PortStep::Read => format!("reading port {port}"),
        PortStep::Write => format!("writing port {port}"),
    };
    match (step, err.raw_os_error()) {
        (PortStep::Open { .. } | PortStep::Ioperm, Some(libc::ENOENT | libc::ENOSYS))
            if !ctx.other_way =>
        {
            unsupported(
                "this kernel has neither /dev/port (CONFIG_DEVPORT) nor ioperm() (CONFIG_X86_IOPL_IOPERM): user space cannot reach I/O ports at all",
            )
            .hint("boot a kernel with CONFIG_DEVPORT=y and CONFIG_X86_IOPL_IOPERM=y, e.g. the demo VM: demos/vm/run SCRIPT")
        }
        (PortStep::Open { .. }, Some(libc::ENOENT)) => unsupported(format!(
            "{device} does not exist: this kernel was built without CONFIG_DEVPORT, and 8-bit port accesses go through it"
        ))
        .hint("use --width 16 or 32 where the device allows (ioperm), or boot a kernel with CONFIG_DEVPORT=y, e.g. the demo VM"),
        (PortStep::Ioperm, Some(libc::ENOSYS)) => unsupported(format!(
            "ioperm() is not implemented by this kernel (ENOSYS): it was built without CONFIG_X86_IOPL_IOPERM, and {width} port accesses need it"
        ))
        .hint("use --width 8 (one byte at a time through /dev/port), or boot a kernel with CONFIG_X86_IOPL_IOPERM=y, e.g. the demo VM"),
        (PortStep::Open { .. } | PortStep::Ioperm, Some(libc::EPERM | libc::EACCES)) => {
            refused_access(&what, ctx)
        }
        _ => UserError::new(ExitKind::Failure, format!("{what} failed: {err}")),
    }
}

/// EPERM (or EACCES) on /dev/port or ioperm: no privilege, or lockdown.
fn refused_access(what: &str, ctx: &PortFailure<'_>) -> UserError {
    match ctx.lockdown {
        Some(mode) if mode.refuses_raw_io() => permission(format!(
            "{what} was refused (EPERM): the kernel is locked down ({mode}, /sys/kernel/security/lockdown), and lockdown forbids I/O port access from user space, /dev/port and ioperm alike, even to root"
        ))
        .hint("boot without `lockdown=` on the kernel command line; Secure Boot can turn lockdown on, and nothing in user space lifts it"),
        _ if !ctx.is_root => permission(format!("{what} was refused: permission denied"))
            .hint("run as root (sudo): I/O ports need CAP_SYS_RAWIO"),
        _ => permission(format!("{what} was refused (EPERM) even for root"))
            .hint("CAP_SYS_RAWIO was dropped (a container?), or a security module forbids it; see /sys/kernel/security/lockdown"),
    }
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Refuses a device path that is neither /dev/port (char 1:4) nor a regular file standing in
/// for it.
fn check_device(path: &Path) -> Result<(), UserError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(()); // opening it says why
    };
    let char_dev_port = meta.file_type().is_char_device()
        && libc::major(meta.rdev()) == 1
        && libc::minor(meta.rdev()) == 4;
    if meta.file_type().is_file() || char_dev_port {
        return Ok(());
    }
    Err(
        usage(format!("{} is not /dev/port (char 1:4)", path.display())).hint(
            "unset PHYSDEMO_PORT_DEVICE, or name a regular file that stands in for /dev/port",
        ),
    )
}

/// Access to one port, with everything the kernel checks already done: /dev/port open, or
/// the port granted by ioperm (given back on drop).
pub(crate) struct PortIo {
    port: Port,
    width: Width,
    method: PortMethod,
    door: Door,
    device: PathBuf,
    lockdown: fn() -> Option<LockdownMode>,
}

/// How the accesses are made once everything is open.
enum Door {
    /// Not open yet: only while [`PortIo::open`] runs, so its failures can be explained.
    Closed,
    /// /dev/port or a stand-in for it: `pread`/`pwrite` at the port's offset.
    File(File),
    /// The port granted by ioperm: one `in`/`out` instruction.
    Grant(PortGrant),
}

impl PortIo {
    /// Opens what an access of `width` at `port` needs, for writing when `writable`.
    /// `lockdown` reads the lockdown mode, asked only to explain a refusal.
    pub(crate) fn open(
        options: &PortDevice,
        port: Port,
        width: Width,
        writable: bool,
        lockdown: fn() -> Option<LockdownMode>,
    ) -> Result<PortIo> {
        check_device(&options.path)?;
        let method = options.method(width);
        let mut io = PortIo {
            port,
            width,
            method,
            door: Door::Closed,
            device: options.path.clone(),
            lockdown,
        };
        match method {
            PortMethod::DevPort | PortMethod::StandIn => {
                let file = OpenOptions::new()
                    .read(!writable)
                    .write(writable)
                    .open(&options.path)
                    .map_err(|err| io.fail(PortStep::Open { writable }, &err))?;
                io.door = Door::File(file);
            }
            PortMethod::Ioperm => {
                let grant = PortGrant::request(port.0, width.bytes() as u32)
                    .map_err(|err| io.fail(PortStep::Ioperm, &err))?;
                io.door = Door::Grant(grant);
            }
        }
        Ok(io)
    }

    fn fail(&self, step: PortStep, err: &io::Error) -> anyhow::Error {
        let device = match self.method {
            PortMethod::Ioperm => Path::new("ioperm"),
            _ => self.device.as_path(),
        };
        // Only when a way is missing: is the other one there? (Asking ioperm for the port
        // touches no port; the grant is given back at once.)
        let other_way = match (step, err.raw_os_error()) {
            (PortStep::Open { .. }, Some(libc::ENOENT)) => {
                PortGrant::request(self.port.0, 1).is_ok()
            }
            (PortStep::Ioperm, Some(libc::ENOSYS)) => Path::new(DEV_PORT).exists(),
            _ => true,
        };
        explain_port(
            step,
            err,
            &PortFailure {
                device,
                port: self.port,
                width: self.width,
                is_root: is_root(),
                lockdown: (self.lockdown)(),
                other_way,
            },
        )
        .into()
    }

    /// One read of the port.
    pub(crate) fn read(&self) -> Result<u64> {
        let bytes = self.width.bytes();
        let file = match &self.door {
            Door::Grant(grant) => {
                return grant
                    .read(self.port.0, bytes)
                    .map_err(|err| self.fail(PortStep::Read, &err))
            }
            Door::File(file) => file,
            Door::Closed => return Err(self.not_open()),
        };
        let mut buf = [0u8; 4];
        let got = file
            .read_at(&mut buf[..bytes], u64::from(self.port.0))
            .map_err(|err| self.fail(PortStep::Read, &err))?;
        if got != bytes {
            return Err(self.short(got, "read"));
        }
        Ok(decode_native(&buf[..bytes]))
    }

    /// One write of `value` (which fits the width) to the port.
    pub(crate) fn write(&self, value: u64) -> Result<()> {
        let bytes = self.width.bytes();
        let file = match &self.door {
            Door::Grant(grant) => {
                return grant
                    .write(self.port.0, bytes, value)
                    .map_err(|err| self.fail(PortStep::Write, &err))
            }
            Door::File(file) => file,
            Door::Closed => return Err(self.not_open()),
        };
        let done = file
            .write_at(&encode_native(value, self.width), u64::from(self.port.0))
            .map_err(|err| self.fail(PortStep::Write, &err))?;
        if done != bytes {
            return Err(self.short(done, "written"));
        }
        Ok(())
    }

    /// An access on a [`PortIo`] whose open failed: `open` never hands one out, so this
    /// is an error of physdemo's own, said as one.
    fn not_open(&self) -> anyhow::Error {
        anyhow::anyhow!(
            "internal error: port {} accessed before {} was opened",
            self.port,
            self.device.display()
        )
    }

    fn short(&self, done: usize, what: &str) -> anyhow::Error {
        UserError::new(
            ExitKind::NotFound,
            format!(
                "{} {what} {done} of {} bytes at port {}",
                self.device.display(),
                self.width.bytes(),
                self.port
            ),
        )
        .hint("a file standing in for /dev/port must reach past the port's offset")
        .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_checked_for_range_width_and_alignment() {
        assert_eq!(check_port(0x510, Width::W16).unwrap(), Port(0x510));
        assert_eq!(check_port(0x511, Width::W8).unwrap(), Port(0x511));
        assert_eq!(check_port(0xfffc, Width::W32).unwrap(), Port(0xfffc));
        assert_eq!(check_port(0xffff, Width::W8).unwrap(), Port(0xffff));
        let message = |number, width| {
            let err = check_port(number, width).unwrap_err();
            assert_eq!(err.kind, ExitKind::Usage, "{err}");
            err.to_string()
        };
        assert!(message(0x10000, Width::W8)
            .contains("port 0x10000 is out of range: x86 I/O ports are 0 to 0xffff"));
        assert!(message(u64::MAX, Width::W8).contains("out of range"));
        assert!(message(0xfffe, Width::W32)
            .contains("a 32-bit access at port 0xfffe runs past the last port, 0xffff"));
        assert!(message(0x511, Width::W16).contains("port 0x511 is not aligned for a 16-bit access (it must be a multiple of 2) (use port 0x510 or 0x512, or a smaller --width)"));
        assert!(message(0xe2, Width::W32).contains("multiple of 4"));
        assert!(message(0xe0, Width::W64).contains("bad width '64'"));
    }

    #[test]
    fn refusals_name_lockdown_privilege_and_missing_kernel_features() {
        let ctx = |is_root, lockdown| PortFailure {
            device: Path::new(DEV_PORT),
            port: Port(0x510),
            width: Width::W16,
            is_root,
            lockdown,
            other_way: true,
        };
        let errno = io::Error::from_raw_os_error;
        let locked = explain_port(
            PortStep::Ioperm,
            &errno(libc::EPERM),
            &ctx(true, Some(LockdownMode::Integrity)),
        );
        assert_eq!(locked.kind, ExitKind::Permission);
        assert!(
            locked.to_string().contains("ioperm for port 0x510 was refused (EPERM): the kernel is locked down (integrity, /sys/kernel/security/lockdown)"),
            "{locked}"
        );
        let locked_open = explain_port(
            PortStep::Open { writable: true },
            &errno(libc::EPERM),
            &ctx(true, Some(LockdownMode::Confidentiality)),
        );
        assert!(locked_open.to_string().contains(
            "opening /dev/port was refused (EPERM): the kernel is locked down (confidentiality"
        ));
        let user = explain_port(PortStep::Ioperm, &errno(libc::EPERM), &ctx(false, None));
        assert!(user.to_string().contains("run as root"), "{user}");
        let root = explain_port(
            PortStep::Ioperm,
            &errno(libc::EPERM),
            &ctx(true, Some(LockdownMode::None)),
        );
        assert!(root.to_string().contains("even for root"), "{root}");
        let nosys = explain_port(PortStep::Ioperm, &errno(libc::ENOSYS), &ctx(true, None));
        assert_eq!(nosys.kind, ExitKind::Unsupported);
        assert!(
            nosys.to_string().contains("CONFIG_X86_IOPL_IOPERM"),
            "{nosys}"
        );
        assert!(nosys.to_string().contains("--width 8"), "{nosys}");
        let missing = explain_port(
            PortStep::Open { writable: false },
            &errno(libc::ENOENT),
            &ctx(true, None),
        );
        assert_eq!(missing.kind, ExitKind::Unsupported);
        assert!(missing.to_string().contains("CONFIG_DEVPORT"), "{missing}");
        // a kernel with neither way, as this project's host is
        let neither = PortFailure {
            other_way: false,
            ..ctx(true, None)
        };
        for (step, errno_) in [
            (PortStep::Ioperm, libc::ENOSYS),
            (PortStep::Open { writable: false }, libc::ENOENT),
        ] {
            let err = explain_port(step, &errno(errno_), &neither);
            assert_eq!(err.kind, ExitKind::Unsupported);
            assert!(err.to_string().starts_with("this kernel has neither /dev/port (CONFIG_DEVPORT) nor ioperm() (CONFIG_X86_IOPL_IOPERM)"), "{err}");
        }
    }

    #[test]
    fn a_regular_file_stands_in_for_dev_port_at_every_width() {
        use std::io::Write;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(&[0u8; 0x600]).unwrap();
        let options = PortDevice {
            path: file.path().to_path_buf(),
        };
        assert_eq!(options.method(Width::W32), PortMethod::StandIn);
        let none = || None;
        let io = PortIo::open(&options, Port(0x510), Width::W16, true, none).unwrap();
        io.write(0xbeef).unwrap();
        let io = PortIo::open(&options, Port(0x510), Width::W32, false, none).unwrap();
        assert_eq!(io.read().unwrap(), 0xbeef);
        let io = PortIo::open(&options, Port(0x511), Width::W8, false, none).unwrap();
        assert_eq!(io.read().unwrap(), 0xbe);
        // past the end of the stand-in: said, not a wrong value
        let io = PortIo::open(&options, Port(0x600), Width::W8, false, none).unwrap();
        assert!(io
            .read()
            .unwrap_err()
            .to_string()
            .contains("read 0 of 1 bytes at port 0x600"));
        let real = PortDevice {
            path: PathBuf::from("/nonexistent/port"),
        };
        assert_eq!(real.method(Width::W8), PortMethod::DevPort);
        assert_eq!(real.method(Width::W16), PortMethod::Ioperm);
        assert_eq!(real.describe(Width::W16, true), "ioperm + outw");
        assert_eq!(
            real.describe(Width::W8, false),
            "/nonexistent/port pread (inb)"
        );
        let err = check_device(Path::new("/dev/null")).unwrap_err();
        assert!(
            err.to_string().contains("is not /dev/port (char 1:4)"),
            "{err}"
        );
    }
}
