// SPDX-License-Identifier: MIT OR Apache-2.0
//! The physical window: a shared mapping of part of a device file such as /dev/mem, accessed
//! with exactly one volatile load or store of the requested width, or a byte range copied in
//! the widest aligned loads it allows. A window knows whether it was mapped writable, and a
//! store to a read-only one is an error, not a fault.

use std::io;

/// A `MAP_SHARED` mapping of `len` bytes of a device file (such as /dev/mem) at a
/// page-aligned file offset. Accesses are volatile and bounds- and alignment-checked, so
/// each [`PhysWindow::read`] or [`PhysWindow::write`] is exactly one load or store of the
/// requested width. A store is refused unless the window was mapped writable. The mapping
/// is removed on drop.
pub(crate) struct PhysWindow {
    base: *mut u8,
    len: usize,
    /// The file offset mapped at `base`: for a memory device, the physical address.
    offset: u64,
    writable: bool,
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
        let file_offset = offset;
        let offset = libc::off_t::try_from(offset)
            .map_err(|_| io::Error::from_raw_os_error(libc::EOVERFLOW))?;
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a new shared mapping of a file we hold open, at an address the kernel
        // picks, so no Rust reference points into it. The memory behind it may be anything
        // (through /dev/mem even a frame of this process, as /proc/self/mem could reach),
        // which is why every access below is a checked volatile copy and no reference into
        // the window is ever handed out.
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
            offset: file_offset,
            writable,
        })
    }

    /// The window's first virtual address, its length, and the file offset (physical
    /// address) mapped there: what the SIGBUS guard compares a fault's address with.
    pub(crate) fn span(&self) -> (usize, usize, u64) {
        (self.base as usize, self.len, self.offset)
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

    /// One volatile store of the low `width` bytes of `value` at byte `at` of the window;
    /// refused (`PermissionDenied`, nothing stored) when the window was mapped read-only.
    pub(crate) fn write(&self, at: usize, width: usize, value: u64) -> io::Result<()> {
        if !self.writable {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                "a store to a physical window mapped read-only",
            ));
        }
        self.check(at, width)?;
        // SAFETY: in bounds and aligned (checked above), and the mapping is PROT_WRITE
        // (self.writable, checked above), so the store cannot fault on protection. The
        // mapping lives as long as self and aliases no Rust object.
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

    /// Copies `out.len()` bytes starting at `at`: volatile byte loads up to the first
    /// 8-byte boundary, then aligned volatile 64-bit loads, then bytes again for the tail.
    /// Every byte is loaded exactly once. For RAM (and a stand-in file); device registers
    /// that answer only one width are read with [`PhysWindow::read`] instead.
    pub(crate) fn read_bytes(&self, at: usize, out: &mut [u8]) -> io::Result<()> {
        if at.checked_add(out.len()).is_none_or(|end| end > self.len) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "byte range outside the window",
            ));
        }
        // base is page-aligned (mmap), so the offset's alignment is the address's.
        let head = ((8 - at % 8) % 8).min(out.len());
        let words = (out.len() - head) / 8;
        let (first, rest) = out.split_at_mut(head);
        let (middle, tail) = rest.split_at_mut(words * 8);
        for (i, byte) in first.iter_mut().enumerate() {
            // SAFETY: at + i < at + out.len() <= len (checked above).
            *byte = unsafe { self.base.add(at + i).read_volatile() };
        }
        for (i, word) in middle.chunks_exact_mut(8).enumerate() {
            // SAFETY: at + head is 8-aligned (head reaches the boundary) and the 8 bytes at
            // at + head + 8i end within at + out.len() <= len (checked above).
            let value = unsafe {
                self.base
                    .add(at + head + 8 * i)
                    .cast::<u64>()
                    .read_volatile()
            };
            word.copy_from_slice(&value.to_ne_bytes());
        }
        let tail_at = at + head + words * 8;
        for (i, byte) in tail.iter_mut().enumerate() {
            // SAFETY: tail_at + i < at + out.len() <= len (checked above).
            *byte = unsafe { self.base.add(tail_at + i).read_volatile() };
        }
        Ok(())
    }
}

impl Drop for PhysWindow {
    fn drop(&mut self) {
        // SAFETY: base and len are exactly the mapping made in `map`; no reference into it
        // is handed out (every access copies), so nothing uses it after this.
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
        // every head and tail around the 8-byte loads copies the same bytes as pread
        let mut span = [0u8; 40];
        for start in 0..12 {
            for len in 0..28 {
                window.read_bytes(start, &mut span[..len]).unwrap();
                let mut expected = [0u8; 40];
                std::os::unix::fs::FileExt::read_exact_at(
                    &file,
                    &mut expected[..len],
                    4096 + start as u64,
                )
                .unwrap();
                assert_eq!(span[..len], expected[..len], "{start} {len}");
            }
        }
        drop(window);
        let mut on_disk = [0u8; 3];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut on_disk, 4096 + 8).unwrap();
        assert_eq!(on_disk, [0x88, 0xab, 0x66]);
    }

    #[test]
    fn a_store_to_a_read_only_window_is_an_error_not_a_fault() {
        use std::io::Write;
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&[0x5au8; 4096]).unwrap();
        let window = PhysWindow::map(&file, 0, 4096, false).unwrap();
        for width in [1, 2, 4, 8] {
            let err = window.write(0, width, 0).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        }
        assert_eq!(window.read(0, 8).unwrap(), 0x5a5a_5a5a_5a5a_5a5a);
    }
}
