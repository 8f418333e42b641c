// SPDX-License-Identifier: MIT OR Apache-2.0
//! Which file stands for physical memory, and how it is opened: the kernel's `/dev/mem`
//! (char 1:1, `drivers/char/mem.c`), physdemo's own `/dev/physmem` (the misc device of
//! `physdemo_mem.ko`, `demos/kmod/physdemo_mem.c`), or a regular file standing in for
//! /dev/mem in tests (`--device`, `PHYSDEMO_DEVICE`). Anything else is named before it is
//! opened, so a user sees what it is.
//!
//! Without `--device`, physdemo opens /dev/mem and goes through /dev/physmem where /dev/mem
//! refuses (see [`crate::physmem::access`]); with it, that device and no other.

use std::path::{Path, PathBuf};

use crate::error::{usage, UserError};

/// The kernel's memory device.
pub(crate) const DEV_MEM: &str = "/dev/mem";

/// physdemo_mem's memory device.
pub(crate) const DEV_PHYSMEM: &str = "/dev/physmem";

/// How `poke`, `peek`, `dump` and `devmem` reach physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessMethod {
    /// mmap the page MAP_SHARED and do one volatile load/store of the exact width
    Mmap,
    /// pread/pwrite on the device (the kernel copies bytes; /dev/mem reaches RAM only)
    Rw,
}

impl AccessMethod {
    fn name(self) -> &'static str {
        match self {
            AccessMethod::Mmap => "mmap",
            AccessMethod::Rw => "pread/pwrite",
        }
    }
}

/// Where and how to reach physical memory.
#[derive(Debug, Clone)]
pub(crate) struct DeviceOptions {
    /// The device `--device` (or `PHYSDEMO_DEVICE`) chose, used alone; `None`: /dev/mem,
    /// and /dev/physmem where /dev/mem refuses.
    pub(crate) chosen: Option<PathBuf>,
    /// Open without O_SYNC (a cached mapping of /dev/mem).
    pub(crate) cached: bool,
    pub(crate) method: AccessMethod,
    /// Whether `--method` was given: without it, a device range smaller than its page is
    /// reached through /dev/physmem by pread/pwrite (it maps only whole pages of a device).
    pub(crate) method_chosen: bool,
}

impl DeviceOptions {
    /// The device opened first: the chosen one, or /dev/mem.
    pub(crate) fn first_path(&self) -> &Path {
        self.chosen.as_deref().unwrap_or(Path::new(DEV_MEM))
    }

    /// Whether physdemo may go through /dev/physmem where /dev/mem refuses.
    pub(crate) fn may_detour(&self) -> bool {
        self.chosen.is_none()
    }
}

/// Which memory device a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeviceKind {
    /// The kernel's /dev/mem: the offset is the physical address; STRICT_DEVMEM, PAT and
    /// lockdown decide what it allows.
    DevMem,
    /// physdemo_mem's /dev/physmem: the offset is the physical address; RAM and device
    /// ranges only, a device register in one aligned access; lockdown closes it too.
    PhysMem,
    /// The kernel's /proc/kcore, or another ELF core file: read-only, by `pread` at the
    /// file offset its program headers give a physical address; RAM and the kernel image
    /// only; lockdown=confidentiality closes it.
    Kcore,
    /// A regular file or block device standing in for /dev/mem (tests).
    StandIn,
}

impl DeviceKind {
    /// How reports name an access through this device: `/dev/mem mmap, O_SYNC`,
    /// `/dev/physmem (physdemo_mem) pread/pwrite`. /dev/physmem maps RAM write-back and
    /// devices uncached whatever the open flags, so O_SYNC is not named for it.
    pub(crate) fn describe(self, path: &Path, method: AccessMethod, cached: bool) -> String {
        let sync = if cached { "cached" } else { "O_SYNC" };
        match self {
            DeviceKind::PhysMem => format!("{} (physdemo_mem) {}", path.display(), method.name()),
            DeviceKind::Kcore => format!("{} pread", path.display()),
            DeviceKind::DevMem | DeviceKind::StandIn => {
                format!("{} {}, {sync}", path.display(), method.name())
            }
        }
    }
}

/// What a device path is on the file system, for [`identify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
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

impl FileKind {
    pub(crate) fn of(meta: &std::fs::Metadata) -> FileKind {
        use std::os::unix::fs::{FileTypeExt, MetadataExt};
        let file_type = meta.file_type();
        if file_type.is_file() {
            FileKind::Regular
        } else if file_type.is_dir() {
            FileKind::Directory
        } else if file_type.is_block_device() {
            FileKind::Block
        } else if file_type.is_char_device() {
            FileKind::Char {
                major: libc::major(meta.rdev()),
                minor: libc::minor(meta.rdev()),
            }
        } else {
            FileKind::Other
        }
    }
}

/// Which memory device `device` is, or why it cannot stand for physical memory: /dev/mem
/// (char 1:1), /dev/physmem (the character device whose number physdemo_mem registered,
/// `physmem_number`, from sysfs), or a regular file or block device standing in for
/// /dev/mem in tests. Everything else is named, so the user sees what it is.
pub(crate) fn identify(
    device: &Path,
    kind: FileKind,
    physmem_number: Option<(u32, u32)>,
) -> Result<DeviceKind, UserError> {
    let shown = device.display();
    let message = match kind {
        FileKind::Regular | FileKind::Block => return Ok(DeviceKind::StandIn),
        FileKind::Char { major: 1, minor: 1 } => return Ok(DeviceKind::DevMem),
        FileKind::Char { major, minor } if physmem_number == Some((major, minor)) => {
            return Ok(DeviceKind::PhysMem)
        }
        FileKind::Directory => format!("{shown} is a directory, not a memory device"),
        FileKind::Other => format!("{shown} is a FIFO or socket, not a memory device"),
        // The other minors of the memory devices, as drivers/char/mem.c numbers them.
        FileKind::Char { major: 1, minor } => {
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
            format!("{shown} (char 1:{minor}) is {name}, not physical memory: {why}")
        }
        FileKind::Char { major, minor } if device == Path::new(DEV_PHYSMEM) => format!(
            "{shown} (char {major}:{minor}) is not the device of the loaded physdemo_mem module ({})",
            match physmem_number {
                Some((ma, mi)) => format!("which is char {ma}:{mi}"),
                None => "it is not loaded: no /sys/class/misc/physmem".to_string(),
            }
        ),
        FileKind::Char { major, minor } => format!(
            "{shown} (char {major}:{minor}) is a character device, not /dev/mem: physdemo knows only /dev/mem's and /dev/physmem's layout"
        ),
    };
    Err(usage(message).hint(
        "physdemo needs /dev/mem (char 1:1) or physdemo_mem's /dev/physmem, where the offset is the physical address; unset PHYSDEMO_DEVICE and --device, or name a regular file that stands in for /dev/mem",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitKind;

    #[test]
    fn tells_the_memory_devices_apart_and_names_the_rest() {
        let path = |p: &str| PathBuf::from(p);
        let physmem = Some((10, 123));
        for (kind, want) in [
            (FileKind::Regular, DeviceKind::StandIn),
            (FileKind::Block, DeviceKind::StandIn),
            (FileKind::Char { major: 1, minor: 1 }, DeviceKind::DevMem),
            (
                FileKind::Char {
                    major: 10,
                    minor: 123,
                },
                DeviceKind::PhysMem,
            ),
        ] {
            assert_eq!(identify(&path("/dev/x"), kind, physmem).unwrap(), want);
        }
        for (device, kind, number, words) in [
            ("/tmp", FileKind::Directory, physmem, "/tmp is a directory, not a memory device"),
            (
                "/dev/port",
                FileKind::Char { major: 1, minor: 4 },
                physmem,
                "/dev/port (char 1:4) is the I/O port device, not physical memory: its offsets are x86 I/O port numbers",
            ),
            (
                "/dev/zero",
                FileKind::Char { major: 1, minor: 5 },
                physmem,
                "/dev/zero (char 1:5) is the zero device",
            ),
            (
                "/dev/null",
                FileKind::Char { major: 1, minor: 3 },
                physmem,
                "is the null device, not physical memory: it reads as empty",
            ),
            (
                "/dev/tty",
                FileKind::Char { major: 5, minor: 0 },
                physmem,
                "/dev/tty (char 5:0) is a character device, not /dev/mem",
            ),
            (
                "/dev/physmem",
                FileKind::Char { major: 10, minor: 60 },
                None,
                "/dev/physmem (char 10:60) is not the device of the loaded physdemo_mem module (it is not loaded",
            ),
            (
                "/dev/physmem",
                FileKind::Char { major: 10, minor: 60 },
                physmem,
                "(which is char 10:123)",
            ),
            ("/run/fifo", FileKind::Other, physmem, "a FIFO or socket"),
        ] {
            let err = identify(&path(device), kind, number).expect_err(device);
            assert_eq!(err.kind, ExitKind::Usage);
            assert!(err.to_string().contains(words), "{err}");
            assert!(err.to_string().contains("/dev/mem (char 1:1)"), "{err}");
        }
        let meta = std::fs::metadata("/dev/null").unwrap();
        assert_eq!(FileKind::of(&meta), FileKind::Char { major: 1, minor: 3 });
        let meta = std::fs::metadata("/").unwrap();
        assert_eq!(FileKind::of(&meta), FileKind::Directory);
    }

    #[test]
    fn names_the_device_as_reports_show_it() {
        let mem = DeviceKind::DevMem.describe(Path::new(DEV_MEM), AccessMethod::Mmap, false);
        assert_eq!(mem, "/dev/mem mmap, O_SYNC");
        let cached = DeviceKind::DevMem.describe(Path::new(DEV_MEM), AccessMethod::Rw, true);
        assert_eq!(cached, "/dev/mem pread/pwrite, cached");
        let physmem =
            DeviceKind::PhysMem.describe(Path::new(DEV_PHYSMEM), AccessMethod::Mmap, false);
        assert_eq!(physmem, "/dev/physmem (physdemo_mem) mmap");
        let kcore = DeviceKind::Kcore.describe(Path::new("/proc/kcore"), AccessMethod::Mmap, false);
        assert_eq!(kcore, "/proc/kcore pread");
        let options = DeviceOptions {
            method_chosen: false,
            chosen: None,
            cached: false,
            method: AccessMethod::Mmap,
        };
        assert_eq!(options.first_path(), Path::new(DEV_MEM));
        assert!(options.may_detour());
    }
}
