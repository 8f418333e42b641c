//! An open physical-memory device and its accesses: one volatile load or store of a width
//! (mmap), or one `pread`/`pwrite` (rw), or a byte range; each failure explained.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

use anyhow::{Context, Result};

use crate::error::{not_found, usage, UserError};
use crate::kernel::addr::{PageSize, PhysAddr};
use crate::kernel::iomem::RegionKind;
use crate::physmem::device::{device_problem, AccessMethod, DeviceKind, DeviceOptions, DEV_MEM};
use crate::physmem::explain::{explain, sigbus_message, FailureContext, Step, SIGBUS_EXIT};
use crate::physmem::reach::{check_addressable, cpu_physical_address_bits};
use crate::physmem::width::{
    check_alignment, check_value_fits, decode_native, encode_native, Width,
};
use crate::sys::clock::monotonic_ns;
use crate::sys::phys_window::PhysWindow;
use crate::sys::sigbus::SigbusGuard;

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// A read that stopped partway: how many bytes arrived before the first address that
/// failed, and why it failed.
#[derive(Debug)]
pub(crate) struct PartialRead {
    pub(crate) read: usize,
    pub(crate) error: anyhow::Error,
}

/// An open physical-memory device.
pub(crate) struct PhysMem {
    file: File,
    options: DeviceOptions,
    page: PageSize,
    writable: bool,
    region: Option<RegionKind>,
}

impl PhysMem {
    /// Opens the device, read-write only when `writable`. `region` (what /proc/iomem says
    /// the address is) only sharpens error messages.
    pub(crate) fn open(
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
    pub(crate) fn check_reachable(&self, addr: PhysAddr, len: u64) -> Result<(), UserError> {
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
    pub(crate) fn read(&self, addr: PhysAddr, width: Width) -> Result<u64> {
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
    pub(crate) fn write(&self, addr: PhysAddr, width: Width, value: u64) -> Result<u64> {
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
    pub(crate) fn probe_write(&self, addr: PhysAddr, width: Width) -> Result<()> {
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

    /// Fills `out` from `addr` on (any start, any length), mapping every page touched. On
    /// failure, says how many bytes arrived before the first address that failed (with
    /// mmap none do: one mapping covers them all).
    pub(crate) fn read_into(&self, addr: PhysAddr, out: &mut [u8]) -> Result<(), PartialRead> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitKind;
    use std::path::PathBuf;

    /// A file of `len` zero bytes standing in for /dev/mem (removed when the first value
    /// is dropped), and the options that open it.
    fn scratch_device(len: usize) -> (tempfile::NamedTempFile, DeviceOptions) {
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(len as u64).unwrap();
        let options = DeviceOptions {
            path: file.path().to_path_buf(),
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
            let mut abcd = [0u8; 4];
            mem.read_into(PhysAddr(0x2000), &mut abcd).unwrap();
            assert_eq!(&abcd, b"ABCD");
            assert_eq!(mem.read(PhysAddr(0x2002), Width::W8).unwrap(), 0x43);
            // misaligned and too-big are refused before any access
            assert!(mem.read(PhysAddr(0x1001), Width::W16).is_err());
            assert!(mem.write(PhysAddr(0x1000), Width::W8, 0x100).is_err());
        }
    }

    #[test]
    fn a_byte_range_may_cross_pages() {
        let (_file, options) = scratch_device(3 * 4096);
        let mem = PhysMem::open(&options, true, PhysAddr(0), None).unwrap();
        mem.write(PhysAddr(0x1ff8), Width::W64, 0x0807_0605_0403_0201)
            .unwrap();
        mem.write(PhysAddr(0x2000), Width::W64, 0x100f_0e0d_0c0b_0a09)
            .unwrap();
        let mut bytes = [0u8; 10];
        mem.read_into(PhysAddr(0x1ffb), &mut bytes).unwrap();
        assert_eq!(bytes, [4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
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
