//! x86 I/O ports: `ioperm(2)` and the `in`/`out` instructions, one instruction per access.
//!
//! A process may execute `in`/`out` on a port only once `ioperm` has set the port's bits in
//! its I/O permission bitmap (else the CPU raises #GP: SIGSEGV). [`PortGrant`] is that
//! permission for a range of ports: it is requested with `ioperm(first, count, 1)`, dropped
//! with `ioperm(first, count, 0)`, and its accesses are checked against the range, so an
//! `in` or `out` never runs on a port the process may not use. The kernel refuses `ioperm`
//! with `ENOSYS` when built without `CONFIG_X86_IOPL_IOPERM`, and with `EPERM` without
//! `CAP_SYS_RAWIO` or under lockdown (`arch/x86/kernel/ioport.c`, `ksys_ioperm`).

use std::io;

/// Permission to use the ports `first..first + count` (at most 0x10000 in all).
pub(crate) struct PortGrant {
    first: u16,
    count: u32,
}

impl PortGrant {
    /// `ioperm(first, count, 1)`.
    pub(crate) fn request(first: u16, count: u32) -> io::Result<PortGrant> {
        if count == 0 || u32::from(first) + count > 0x1_0000 {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        ioperm(first, count, true)?;
        Ok(PortGrant { first, count })
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
        Ok(port_in(port, bytes))
    }

    /// One `outb`, `outw` or `outl` (`bytes` 1, 2 or 4) of the low bytes of `value` to `port`.
    pub(crate) fn write(&self, port: u16, bytes: usize, value: u64) -> io::Result<()> {
        self.check(port, bytes)?;
        port_out(port, bytes, value);
        Ok(())
    }
}

impl Drop for PortGrant {
    fn drop(&mut self) {
        // Giving permission back cannot fail for a range that was granted.
        let _ = ioperm(self.first, self.count, false);
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
fn port_in(port: u16, bytes: usize) -> u64 {
    use std::arch::asm;
    // SAFETY: the port is in a range ioperm granted (PortGrant::check), so the instruction
    // does not fault; it reads the port into a register and touches no memory.
    unsafe {
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
    }
}

/// One `out` of the low `bytes` (1, 2 or 4) of `value` to `port`, which a [`PortGrant`] holds.
#[cfg(target_arch = "x86_64")]
fn port_out(port: u16, bytes: usize, value: u64) {
    use std::arch::asm;
    // SAFETY: the port is in a range ioperm granted (PortGrant::check), so the instruction
    // does not fault; it writes a register to the port and touches no memory of ours (what
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
}

#[cfg(not(target_arch = "x86_64"))]
fn port_in(_port: u16, _bytes: usize) -> u64 {
    unreachable!("no PortGrant exists off x86-64")
}

#[cfg(not(target_arch = "x86_64"))]
fn port_out(_port: u16, _bytes: usize, _value: u64) {
    unreachable!("no PortGrant exists off x86-64")
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
}
