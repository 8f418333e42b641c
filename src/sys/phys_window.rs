//! The physical window: a shared mapping of part of a device file such as /dev/mem, accessed
//! with exactly one volatile load or store of the requested width.

use std::io;

/// A `MAP_SHARED` mapping of `len` bytes of a device file (such as /dev/mem) at a
/// page-aligned file offset. Accesses are volatile and bounds- and alignment-checked, so
/// each [`PhysWindow::read`] or [`PhysWindow::write`] is exactly one load or store of the
/// requested width. The mapping is removed on drop.
pub(crate) struct PhysWindow {
    base: *mut u8,
    len: usize,
}

impl PhysWindow {
    /// Maps `len` bytes of `file` at `offset` (which must be page-aligned), read-only or
    /// read-write.
    pub(crate) fn map(
        file: &std::fs::File,
        offset: u64,
        len: usize,
        writable: bool,
    ) -> io::Result<Self> {
        use std::os::fd::AsRawFd;
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a new shared mapping of a file we hold open; it aliases no Rust object,
        // and all access goes through the checked volatile methods below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(PhysWindow {
            base: ptr.cast(),
            len,
        })
    }

    /// Checks that `width` bytes at `at` are inside the window and naturally aligned.
    fn check(&self, at: usize, width: usize) -> io::Result<()> {
        let fits = matches!(width, 1 | 2 | 4 | 8)
            && at.checked_add(width).is_some_and(|end| end <= self.len)
            && at % width == 0;
        if fits {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "access of {width} bytes at offset {at} of a {}-byte window",
                    self.len
                ),
            ))
        }
    }

    /// One volatile load of `width` bytes (1, 2, 4 or 8) at byte `at` of the window.
    pub(crate) fn read(&self, at: usize, width: usize) -> io::Result<u64> {
        self.check(at, width)?;
        // SAFETY: in bounds and aligned (checked above); the mapping lives as long as self.
        let value = unsafe {
            let ptr = self.base.add(at);
            match width {
                1 => u64::from(ptr.read_volatile()),
                2 => u64::from(ptr.cast::<u16>().read_volatile()),
                4 => u64::from(ptr.cast::<u32>().read_volatile()),
                _ => ptr.cast::<u64>().read_volatile(),
            }
        };
        Ok(value)
    }

    /// One volatile store of the low `width` bytes of `value` at byte `at` of the window.
    /// The window must have been mapped writable.
    pub(crate) fn write(&self, at: usize, width: usize, value: u64) -> io::Result<()> {
        self.check(at, width)?;
        // SAFETY: in bounds and aligned (checked above); a read-only mapping would fault,
        // which callers prevent by mapping writable for writes.
        unsafe {
            let ptr = self.base.add(at);
            match width {
                1 => ptr.write_volatile(value as u8),
                2 => ptr.cast::<u16>().write_volatile(value as u16),
                4 => ptr.cast::<u32>().write_volatile(value as u32),
                _ => ptr.cast::<u64>().write_volatile(value),
            }
        }
        Ok(())
    }

    /// Copies `out.len()` bytes starting at `at` with volatile byte loads.
    pub(crate) fn read_bytes(&self, at: usize, out: &mut [u8]) -> io::Result<()> {
        if at.checked_add(out.len()).map_or(true, |end| end > self.len) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "byte range outside the window",
            ));
        }
        for (i, byte) in out.iter_mut().enumerate() {
            // SAFETY: at + i < len (checked above).
            *byte = unsafe { self.base.add(at + i).read_volatile() };
        }
        Ok(())
    }
}

impl Drop for PhysWindow {
    fn drop(&mut self) {
        // SAFETY: we mapped exactly this range and hand out no references into it.
        unsafe {
            libc::munmap(self.base.cast(), self.len);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_physical_window_reads_and_writes_every_width_of_a_file() {
        use std::io::Write;
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&[0u8; 8192]).unwrap();
        let window = PhysWindow::map(&file, 4096, 4096, true).unwrap();
        window.write(8, 8, 0x1122_3344_5566_7788).unwrap();
        assert_eq!(window.read(8, 8).unwrap(), 0x1122_3344_5566_7788);
        assert_eq!(window.read(8, 1).unwrap(), 0x88);
        assert_eq!(window.read(10, 2).unwrap(), 0x5566);
        assert_eq!(window.read(12, 4).unwrap(), 0x1122_3344);
        window.write(9, 1, 0xab).unwrap();
        let mut bytes = [0u8; 3];
        window.read_bytes(8, &mut bytes).unwrap();
        assert_eq!(bytes, [0x88, 0xab, 0x66]);
        // misaligned, out of bounds and odd widths are refused, not performed
        assert!(window.read(9, 2).is_err());
        assert!(window.read(4092, 8).is_err());
        assert!(window.read(4096, 1).is_err());
        assert!(window.write(0, 3, 0).is_err());
        assert!(window.read_bytes(4095, &mut bytes).is_err());
        drop(window);
        let mut on_disk = [0u8; 3];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut on_disk, 4096 + 8).unwrap();
        assert_eq!(on_disk, [0x88, 0xab, 0x66]);
    }
}
