//! A guard that turns a bus error (SIGBUS) during a physical access into one line on stderr
//! and a chosen exit code, instead of a core dump.

use std::cell::UnsafeCell;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// The message the SIGBUS handler writes, preformatted because a handler may not allocate.
struct BusMessage(UnsafeCell<[u8; BUS_MESSAGE_CAP]>);
const BUS_MESSAGE_CAP: usize = 1024;
// SAFETY: written only while no handler is installed (SigbusGuard::install, before
// sigaction), read only by the handler.
unsafe impl Sync for BusMessage {}
static BUS_MESSAGE: BusMessage = BusMessage(UnsafeCell::new([0; BUS_MESSAGE_CAP]));
static BUS_MESSAGE_LEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static BUS_EXIT_CODE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1);
static GUARD_ACTIVE: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigbus(_signal: libc::c_int) {
    let len = BUS_MESSAGE_LEN.load(Ordering::SeqCst);
    let code = BUS_EXIT_CODE.load(Ordering::SeqCst);
    // SAFETY: write(2) and _exit(2) are async-signal-safe; the buffer is not being written
    // (it is filled before the handler is installed).
    unsafe {
        libc::write(2, BUS_MESSAGE.0.get().cast(), len);
        libc::_exit(code);
    }
}

/// While alive, a bus error (SIGBUS: a physical access nothing answers, or a file mapping
/// past its end) prints a preformatted line on stderr and exits with a chosen code instead
/// of dumping core. The previous disposition is restored on drop. One at a time.
pub(crate) struct SigbusGuard {
    previous: libc::sigaction,
}

impl SigbusGuard {
    /// Installs the handler with `message` (a newline is added; cut to 1 KiB) and `exit_code`.
    pub(crate) fn install(message: &str, exit_code: u8) -> io::Result<Self> {
        if GUARD_ACTIVE.swap(true, Ordering::SeqCst) {
            return Err(io::Error::other("a SIGBUS guard is already installed"));
        }
        let mut text = message.as_bytes().to_vec();
        text.truncate(BUS_MESSAGE_CAP - 1);
        text.push(b'\n');
        // SAFETY: no handler of ours is installed (GUARD_ACTIVE was false), so nothing reads
        // the buffer concurrently.
        unsafe {
            std::ptr::copy_nonoverlapping(
                text.as_ptr(),
                BUS_MESSAGE.0.get().cast::<u8>(),
                text.len(),
            );
        }
        BUS_MESSAGE_LEN.store(text.len(), Ordering::SeqCst);
        BUS_EXIT_CODE.store(i32::from(exit_code), Ordering::SeqCst);
        // SAFETY: all-zero bytes are a valid sigaction (no handler, empty flags); the
        // handler and mask are filled in below.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: as above; sigaction overwrites it with the previous disposition.
        let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_sigbus as *const () as libc::sighandler_t;
        // SAFETY: sigemptyset on a struct we own; sigaction with valid pointers.
        let rc = unsafe {
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, &mut previous)
        };
        if rc != 0 {
            GUARD_ACTIVE.store(false, Ordering::SeqCst);
            return Err(io::Error::last_os_error());
        }
        Ok(SigbusGuard { previous })
    }
}

impl Drop for SigbusGuard {
    fn drop(&mut self) {
        // SAFETY: restores the disposition saved at install.
        unsafe {
            libc::sigaction(libc::SIGBUS, &self.previous, std::ptr::null_mut());
        }
        GUARD_ACTIVE.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sigbus_guard_installs_once_and_restores() {
        let guard = SigbusGuard::install("bus error", 3).unwrap();
        assert!(SigbusGuard::install("again", 3).is_err());
        drop(guard);
        drop(SigbusGuard::install("after", 3).unwrap());
    }
}
