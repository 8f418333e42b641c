// SPDX-License-Identifier: MIT OR Apache-2.0
//! x86 I/O ports: `ioperm(2)` and the `in`/`out` instructions, one instruction per access.
//!
//! A process may execute `in`/`out` on a port only once `ioperm` has set the port's bits in
//! its I/O permission bitmap (else the CPU raises #GP: SIGSEGV). [`PortGrant`] is that
//! permission for a range of ports: it is requested with `ioperm(first, count, 1)`, dropped
//! with `ioperm(first, count, 0)`, and its accesses are checked against the range, so an
//! `in` or `out` never runs on a port the process may not use. The bitmap is the calling
//! thread's, so a grant is neither `Send` nor `Sync` (checked at compile time below), and
//! grants that overlap count their holders per port: dropping one gives back only the
//! ports no other live grant of the thread still covers. The kernel refuses `ioperm`
//! with `ENOSYS` when built without `CONFIG_X86_IOPL_IOPERM`, and with `EPERM` without
//! `CAP_SYS_RAWIO` or under lockdown (`arch/x86/kernel/ioport.c`, `ksys_ioperm`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::marker::PhantomData;

/// Permission to use the ports `first..first + count` (at most 0x10000 in all), for the
/// thread that asked: neither `Send` nor `Sync`.
pub(crate) struct PortGrant {
    first: u16,
    count: u32,
    /// A raw pointer's auto traits: the grant stays on the thread whose bitmap holds it.
    _this_thread: PhantomData<*const ()>,
}

/// Fails to compile if `$t` implements `$trait` (two blanket impls of a helper trait would
/// make the call ambiguous): a negative check, as the `static_assertions` crate makes it.
macro_rules! assert_not_impl {
    ($t:ty, $trait:path) => {
        const _: fn() = || {
            trait AmbiguousIfImpl<A> {
                fn some_item() {}
            }
            impl<T: ?Sized> AmbiguousIfImpl<()> for T {}
            #[allow(dead_code)]
            struct Invalid;
            impl<T: ?Sized + $trait> AmbiguousIfImpl<Invalid> for T {}
            let _ = <$t as AmbiguousIfImpl<_>>::some_item;
        };
    };
}
assert_not_impl!(PortGrant, Send);
assert_not_impl!(PortGrant, Sync);

thread_local! {
    /// How many live grants of this thread cover each port (absent: none).
    static HOLDERS: RefCell<BTreeMap<u16, u32>> = const { RefCell::new(BTreeMap::new()) };
}

/// Counts one more holder of each port of `first..first + count`.
fn hold(holders: &mut BTreeMap<u16, u32>, first: u16, count: u32) {
    for port in u32::from(first)..u32::from(first) + count {
        *holders.entry(port as u16).or_insert(0) += 1;
    }
}

/// Counts one holder less of each port of `first..first + count`; returns the runs of
/// ports no grant holds any more, `(first, count)`, to give back.
fn release(holders: &mut BTreeMap<u16, u32>, first: u16, count: u32) -> Vec<(u16, u32)> {
    let mut free: Vec<(u16, u32)> = Vec::new();
    for port in u32::from(first)..u32::from(first) + count {
        let port = port as u16;
        let left = match holders.get_mut(&port) {
            Some(n) => {
                *n -= 1;
                *n
            }
            None => 0,
        };
        if left > 0 {
            continue;
        }
        holders.remove(&port);
        match free.last_mut() {
            Some((start, n)) if u32::from(*start) + *n == u32::from(port) => *n += 1,
            _ => free.push((port, 1)),
        }
    }
    free
}

impl PortGrant {
    /// `ioperm(first, count, 1)`, counted as one more holder of each port.
    pub(crate) fn request(first: u16, count: u32) -> io::Result<PortGrant> {
        if count == 0 || u32::from(first) + count > 0x1_0000 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        ioperm(first, count, true)?;
        HOLDERS.with(|holders| hold(&mut holders.borrow_mut(), first, count));
        Ok(PortGrant {
            first,
            count,
            _this_thread: PhantomData,
        })
    }

    /// Checks that `bytes` (1, 2 or 4) ports from `port` on are granted.
    fn check(&self, port: u16, bytes: usize) -> io::Result<()> {
        let start = u32::from(port);
        let end = start + bytes as u32;
        let granted = matches!(bytes, 1 | 2 | 4)
            && start >= u32::from(self.first)
            && end <= u32::from(self.first) + self.count;
        if granted {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "an access of {bytes} bytes at port {port:#x} is outside the ports granted, {:#x} and {} more",
                    self.first,
                    self.count - 1
                ),
            ))
        }
    }

    /// One `inb`, `inw` or `inl` (`bytes` 1, 2 or 4) of `port`.
    pub(crate) fn read(&self, port: u16, bytes: usize) -> io::Result<u64> {
        self.check(port, bytes)?;
        port_in(port, bytes)
    }

    /// One `outb`, `outw` or `outl` (`bytes` 1, 2 or 4) of the low bytes of `value` to `port`.
    pub(crate) fn write(&self, port: u16, bytes: usize, value: u64) -> io::Result<()> {
        self.check(port, bytes)?;
        port_out(port, bytes, value)
    }
}

impl Drop for PortGrant {
    /// Gives back the ports no other live grant of this thread holds.
    fn drop(&mut self) {
        let free =
            HOLDERS.with(|holders| release(&mut holders.borrow_mut(), self.first, self.count));
        for (first, count) in free {
            // Giving permission back cannot fail for a range that was granted.
            let _ = ioperm(first, count, false);
        }
    }
}

#[cfg(target_arch = "x86_64")]
fn ioperm(first: u16, count: u32, on: bool) -> io::Result<()> {
    // SAFETY: ioperm only changes this thread's I/O permission bitmap in the kernel; it
    // reads and writes no memory of ours.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_ioperm,
            libc::c_ulong::from(first),
            libc::c_ulong::from(count),
            libc::c_int::from(on),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn ioperm(_first: u16, _count: u32, _on: bool) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

/// One `in` of `bytes` (1, 2 or 4) from `port`, which a [`PortGrant`] holds.
#[cfg(target_arch = "x86_64")]
fn port_in(port: u16, bytes: usize) -> io::Result<u64> {
    use std::arch::asm;
    // SAFETY: the port is in a range ioperm granted to this thread (PortGrant::check; a
    // grant cannot leave its thread, and dropping an overlapping one keeps its ports), so
    // the instruction does not fault; it reads the port into a register and touches no
    // memory of ours (what reading the port does to the device is not Rust's concern).
    let value = unsafe {
        match bytes {
            1 => {
                let value: u8;
                asm!("in al, dx", out("al") value, in("dx") port, options(nomem, nostack, preserves_flags));
                u64::from(value)
            }
            2 => {
                let value: u16;
                asm!("in ax, dx", out("ax") value, in("dx") port, options(nomem, nostack, preserves_flags));
                u64::from(value)
            }
            _ => {
                let value: u32;
                asm!("in eax, dx", out("eax") value, in("dx") port, options(nomem, nostack, preserves_flags));
                u64::from(value)
            }
        }
    };
    Ok(value)
}

/// One `out` of the low `bytes` (1, 2 or 4) of `value` to `port`, which a [`PortGrant`] holds.
#[cfg(target_arch = "x86_64")]
fn port_out(port: u16, bytes: usize, value: u64) -> io::Result<()> {
    use std::arch::asm;
    // SAFETY: the port is in a range ioperm granted to this thread (PortGrant::check; a
    // grant cannot leave its thread, and dropping an overlapping one keeps its ports), so
    // the instruction does not fault; it writes a register to the port and touches no
    // memory of ours (what
    // the device then does is the write policy's concern, checked before a grant is asked).
    unsafe {
        match bytes {
            1 => {
                asm!("out dx, al", in("dx") port, in("al") value as u8, options(nomem, nostack, preserves_flags))
            }
            2 => {
                asm!("out dx, ax", in("dx") port, in("ax") value as u16, options(nomem, nostack, preserves_flags))
            }
            _ => {
                asm!("out dx, eax", in("dx") port, in("eax") value as u32, options(nomem, nostack, preserves_flags))
            }
        }
    }
    Ok(())
}

/// Off x86-64 there are no I/O port instructions (and no [`PortGrant`]: `ioperm` fails).
#[cfg(not(target_arch = "x86_64"))]
fn port_in(_port: u16, _bytes: usize) -> io::Result<u64> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

#[cfg(not(target_arch = "x86_64"))]
fn port_out(_port: u16, _bytes: usize, _value: u64) -> io::Result<()> {
    Err(io::Error::from_raw_os_error(libc::ENOSYS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_covers_only_its_ports_and_a_bad_range_is_never_asked_for() {
        // No ioperm here: the checks alone (the grant is built by hand and never dropped
        // into ioperm, so this runs without privileges on any machine).
        let grant = std::mem::ManuallyDrop::new(PortGrant {
            first: 0x510,
            count: 2,
            _this_thread: PhantomData,
        });
        assert!(grant.check(0x510, 2).is_ok());
        assert!(grant.check(0x511, 1).is_ok());
        assert!(grant.check(0x511, 2).is_err());
        assert!(grant.check(0x50f, 1).is_err());
        assert!(grant.check(0x510, 4).is_err());
        assert!(grant.check(0x510, 3).is_err());
        let err = grant.read(0x512, 1).unwrap_err();
        assert!(err
            .to_string()
            .contains("outside the ports granted, 0x510 and 1 more"));
        assert_eq!(
            PortGrant::request(0xfffe, 4)
                .err()
                .and_then(|e| e.raw_os_error()),
            Some(libc::EINVAL)
        );
        assert_eq!(
            PortGrant::request(0x80, 0)
                .err()
                .and_then(|e| e.raw_os_error()),
            Some(libc::EINVAL)
        );
    }

    #[test]
    fn overlapping_grants_give_back_only_the_ports_no_other_grant_holds() {
        let mut holders = BTreeMap::new();
        // physmem/port.rs's throwaway grant of one port, inside a grant of four
        hold(&mut holders, 0x80, 4);
        hold(&mut holders, 0x81, 1);
        assert_eq!(release(&mut holders, 0x81, 1), []);
        hold(&mut holders, 0x81, 1);
        assert_eq!(release(&mut holders, 0x80, 4), [(0x80, 1), (0x82, 2)]);
        assert_eq!(release(&mut holders, 0x81, 1), [(0x81, 1)]);
        assert!(holders.is_empty());
        // the last port of the space, and two identical grants
        hold(&mut holders, 0xffff, 1);
        hold(&mut holders, 0xfff0, 16);
        assert_eq!(release(&mut holders, 0xffff, 1), []);
        assert_eq!(release(&mut holders, 0xfff0, 16), [(0xfff0, 16)]);
    }
}
