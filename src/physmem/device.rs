//! Which file stands for physical memory, and how it is opened: `/dev/mem` (char 1:1,
//! `drivers/char/mem.c`), or a regular file standing in for it in tests (`--device`,
//! `PHYSDEMO_DEVICE`). Anything else is named before it is opened, so a user sees what it is.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{usage, UserError};

/// The real device.
pub(crate) const DEV_MEM: &str = "/dev/mem";

/// How `poke`, `peek`, `dump` and `devmem` reach physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccessMethod {
    /// mmap the page MAP_SHARED and do one volatile load/store of the exact width
    Mmap,
    /// pread/pwrite on the device (the kernel copies bytes; reaches RAM only)
    Rw,
}

/// Where and how to reach physical memory.
#[derive(Debug, Clone)]
pub(crate) struct DeviceOptions {
    pub(crate) path: PathBuf,
    /// Open without O_SYNC (a cached mapping).
    pub(crate) cached: bool,
    pub(crate) method: AccessMethod,
}

impl DeviceOptions {
    pub(crate) fn describe(&self) -> String {
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
pub(crate) enum DeviceKind {
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
    pub(crate) fn of(meta: &std::fs::Metadata) -> DeviceKind {
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
pub(crate) fn device_problem(device: &Path, kind: DeviceKind) -> Option<UserError> {
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitKind;

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
}
