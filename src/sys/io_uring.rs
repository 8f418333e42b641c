// SPDX-License-Identifier: MIT OR Apache-2.0
//! A process's own page held still: registered as an io_uring fixed buffer
//! (`IORING_REGISTER_BUFFERS`), which the kernel pins long-term (`FOLL_LONGTERM`): until the
//! ring is closed the page cannot migrate (compaction, NUMA moves, `move_pages(2)`), be
//! swapped out or be merged by KSM. mlock alone does none of this: it keeps a page in RAM,
//! not in place (`vm.compact_unevictable_allowed`). Used by `physdemo target`; measured by
//! demos/stress/holdstill.sh.
//!
//! Only the two system calls are made, through `libc::syscall` (the ring itself is never
//! mapped or used): `io_uring_setup(2)` with one entry and zeroed parameters, then
//! `io_uring_register(2)` with one iovec. The kernel refuses file-backed memory
//! (EOPNOTSUPP) and may lack io_uring or forbid it (ENOSYS, EPERM with
//! `kernel.io_uring_disabled`).

use std::io;
use std::marker::PhantomData;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// `IORING_REGISTER_BUFFERS` (include/uapi/linux/io_uring.h).
const IORING_REGISTER_BUFFERS: libc::c_uint = 0;

/// `struct io_uring_params` is 120 bytes: ten 32-bit words, then the SQ and CQ ring
/// offsets (40 bytes each). Zeroed, with only `sq_entries` set by the call's argument.
type IoUringParams = [u64; 15];

/// The ring that holds the registration; dropping it closes the ring and releases the pin.
/// It borrows the memory it pins (`'a`), so that memory cannot be freed or unmapped while
/// the registration still holds it: the registration is released first.
#[derive(Debug)]
pub(crate) struct FixedBuffer<'a> {
    _ring: OwnedFd,
    _pinned: PhantomData<&'a [u8]>,
}

/// Registers `[addr, addr + len)`, memory that `owner` holds (a target page: no reference
/// to the bytes themselves is made, they change behind the compiler's back), as an io_uring
/// fixed buffer for as long as `owner` is borrowed. The kernel only pins the pages; it never
/// reads or writes them here.
pub(crate) fn register_fixed_buffer<T: ?Sized>(
    _owner: &T,
    addr: u64,
    len: usize,
) -> io::Result<FixedBuffer<'_>> {
    let mut params: IoUringParams = [0; 15];
    // SAFETY: io_uring_setup reads and writes a struct io_uring_params (120 bytes) at the
    // pointer, which points at 120 writable zeroed bytes; it returns a new fd or -1.
    let fd = unsafe { libc::syscall(libc::SYS_io_uring_setup, 1u32, params.as_mut_ptr()) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a file descriptor the kernel just returned to us, owned by nobody else.
    let ring = unsafe { OwnedFd::from_raw_fd(fd as RawFd) };
    let iov = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: len,
    };
    // SAFETY: io_uring_register(IORING_REGISTER_BUFFERS) reads one struct iovec at the
    // pointer; the memory it names is only pinned by the kernel, never accessed by it here.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_io_uring_register,
            fd,
            IORING_REGISTER_BUFFERS,
            &iov as *const libc::iovec,
            1u32,
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(FixedBuffer {
        _ring: ring,
        _pinned: PhantomData,
    })
}
