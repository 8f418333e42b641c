// SPDX-License-Identifier: MIT OR Apache-2.0
//! A guard that turns a bus error (SIGBUS) of a physical access into one line on stderr and
//! a chosen exit code, instead of a core dump; any other SIGBUS keeps its default action.
//!
//! The handler is installed with `SA_SIGINFO` and looks at `si_addr`: only a fault the
//! kernel raised (`si_code > 0`) at an address inside the live window the guard borrows is
//! the guarded access's. The message then names the physical address that faulted (the
//! window's file offset plus the fault's offset in it), formatted in the handler without
//! allocating. Anything else (a SIGBUS elsewhere, or one sent with kill) restores the
//! default disposition and raises the signal again, so it ends the process as it would have
//! without physdemo.

use std::cell::UnsafeCell;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};

use crate::sys::phys_window::PhysWindow;

/// The message the SIGBUS handler writes, preformatted because a handler may not allocate:
/// the text before the address, then the text after it.
struct BusMessage(UnsafeCell<[u8; BUS_MESSAGE_CAP]>);
const BUS_MESSAGE_CAP: usize = 1024;
// SAFETY: written only while no handler of ours is installed (SigbusGuard::install, before
// sigaction, with GUARD_ACTIVE held), read only by the handler while one is.
unsafe impl Sync for BusMessage {}
static BUS_MESSAGE: BusMessage = BusMessage(UnsafeCell::new([0; BUS_MESSAGE_CAP]));
/// Where the address goes in the message, and the message's length.
static BUS_SPLIT: AtomicUsize = AtomicUsize::new(0);
static BUS_MESSAGE_LEN: AtomicUsize = AtomicUsize::new(0);
static BUS_EXIT_CODE: AtomicI32 = AtomicI32::new(1);
/// The guarded window: its first virtual address, its length, its physical address.
static WINDOW_START: AtomicUsize = AtomicUsize::new(0);
static WINDOW_LEN: AtomicUsize = AtomicUsize::new(0);
static WINDOW_PHYS: AtomicU64 = AtomicU64::new(0);
static GUARD_ACTIVE: AtomicBool = AtomicBool::new(false);

/// `0x` and the lowercase hex digits of `value` into `out`; returns how many bytes.
fn hex_into(value: u64, out: &mut [u8; 18]) -> usize {
    let digits = (64 - value.leading_zeros() as usize).div_ceil(4).max(1);
    out[0] = b'0';
    out[1] = b'x';
    for k in 0..digits {
        out[2 + k] = b"0123456789abcdef"[(value >> (4 * (digits - 1 - k))) as usize & 15];
    }
    2 + digits
}

extern "C" fn on_sigbus(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo_t to an SA_SIGINFO handler; si_addr is
    // the faulting address for the kernel's own SIGBUS codes (si_code > 0), which is the
    // only case in which it is used.
    let (code, fault) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    let start = WINDOW_START.load(Ordering::SeqCst);
    let len = WINDOW_LEN.load(Ordering::SeqCst);
    if code <= 0 || fault < start || fault - start >= len {
        // Not the guarded access's: the default action, as if no guard were installed.
        // SAFETY: sigaction with a zeroed struct (SIG_DFL, no flags, empty mask) and raise
        // are async-signal-safe. The raised signal is blocked inside this handler and
        // taken with the default action once it returns (a fault re-faults likewise).
        unsafe {
            let mut default: libc::sigaction = std::mem::zeroed();
            default.sa_sigaction = libc::SIG_DFL;
            libc::sigaction(signal, &default, std::ptr::null_mut());
            libc::raise(signal);
        }
        return;
    }
    let phys = WINDOW_PHYS
        .load(Ordering::SeqCst)
        .wrapping_add((fault - start) as u64);
    let mut hex = [0u8; 18];
    let hex_len = hex_into(phys, &mut hex);
    let split = BUS_SPLIT.load(Ordering::SeqCst);
    let total = BUS_MESSAGE_LEN.load(Ordering::SeqCst);
    let exit_code = BUS_EXIT_CODE.load(Ordering::SeqCst);
    let message = BUS_MESSAGE.0.get().cast::<u8>();
    // SAFETY: write(2) and _exit(2) are async-signal-safe; split <= total <= the buffer's
    // length, and the buffer is not being written (it is filled before the handler is
    // installed, and GUARD_ACTIVE keeps a second install out while this one lives).
    unsafe {
        libc::write(2, message.cast(), split);
        libc::write(2, hex.as_ptr().cast(), hex_len);
        libc::write(2, message.add(split).cast(), total - split);
        libc::_exit(exit_code);
    }
}

/// While alive, a bus error of an access inside `window` (a physical access nothing
/// answers, or a file mapping past its end) prints a preformatted line naming the physical
/// address that faulted on stderr, and exits with a chosen code instead of dumping core.
/// It borrows the window, so the window outlives it. The previous disposition is restored
/// on drop. One at a time.
pub(crate) struct SigbusGuard<'w> {
    previous: libc::sigaction,
    _window: std::marker::PhantomData<&'w PhysWindow>,
}

impl<'w> SigbusGuard<'w> {
    /// Installs the handler for `window` with the message `before` + the physical address
    /// that faulted + `after` (a newline is added; cut to 1 KiB) and `exit_code`.
    pub(crate) fn install(
        window: &'w PhysWindow,
        before: &str,
        after: &str,
        exit_code: u8,
    ) -> io::Result<Self> {
        if GUARD_ACTIVE.swap(true, Ordering::SeqCst) {
            return Err(io::Error::other("a SIGBUS guard is already installed"));
        }
        let mut text = before.as_bytes().to_vec();
        text.truncate(BUS_MESSAGE_CAP / 2);
        let split = text.len();
        text.extend_from_slice(after.as_bytes());
        text.truncate(BUS_MESSAGE_CAP - 1);
        text.push(b'\n');
        // SAFETY: no handler of ours is installed (GUARD_ACTIVE was false), so nothing reads
        // the buffer concurrently; text fits in it (cut above).
        unsafe {
            std::ptr::copy_nonoverlapping(
                text.as_ptr(),
                BUS_MESSAGE.0.get().cast::<u8>(),
                text.len(),
            );
        }
        BUS_SPLIT.store(split, Ordering::SeqCst);
        BUS_MESSAGE_LEN.store(text.len(), Ordering::SeqCst);
        BUS_EXIT_CODE.store(i32::from(exit_code), Ordering::SeqCst);
        let (start, len, phys) = window.span();
        WINDOW_START.store(start, Ordering::SeqCst);
        WINDOW_LEN.store(len, Ordering::SeqCst);
        WINDOW_PHYS.store(phys, Ordering::SeqCst);
        // SAFETY: all-zero bytes are a valid sigaction (no handler, empty flags); the
        // handler, flags and mask are filled in below.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: as above; sigaction overwrites it with the previous disposition.
        let mut previous: libc::sigaction = unsafe { std::mem::zeroed() };
        let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            on_sigbus;
        action.sa_sigaction = handler as libc::sighandler_t;
        action.sa_flags = libc::SA_SIGINFO;
        // SAFETY: sigemptyset on a struct we own; sigaction with valid pointers, and a
        // handler of the three-argument type SA_SIGINFO calls.
        let rc = unsafe {
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGBUS, &action, &mut previous)
        };
        if rc != 0 {
            GUARD_ACTIVE.store(false, Ordering::SeqCst);
            return Err(io::Error::last_os_error());
        }
        Ok(SigbusGuard {
            previous,
            _window: std::marker::PhantomData,
        })
    }
}

impl Drop for SigbusGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: restores the disposition saved at install, a valid sigaction.
        unsafe {
            libc::sigaction(libc::SIGBUS, &self.previous, std::ptr::null_mut());
        }
        WINDOW_LEN.store(0, Ordering::SeqCst);
        GUARD_ACTIVE.store(false, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sigbus_guard_installs_once_and_restores() {
        let file = tempfile::tempfile().unwrap();
        file.set_len(4096).unwrap();
        let window = PhysWindow::map(&file, 0, 4096, false).unwrap();
        let guard = SigbusGuard::install(&window, "bus error at ", "", 3).unwrap();
        assert!(SigbusGuard::install(&window, "again", "", 3).is_err());
        drop(guard);
        drop(SigbusGuard::install(&window, "after", "", 3).unwrap());
    }

    #[test]
    fn addresses_are_written_as_hex_without_allocating() {
        let mut out = [0u8; 18];
        let len = hex_into(0x8000, &mut out);
        assert_eq!(&out[..len], b"0x8000");
        let len = hex_into(0, &mut out);
        assert_eq!(&out[..len], b"0x0");
        let len = hex_into(u64::MAX, &mut out);
        assert_eq!(&out[..len], b"0xffffffffffffffff");
    }

    /// The variable that makes the test below, run again in a child process, play one case
    /// (a test-internal handshake, not a knob: no `PHYSDEMO_` name).
    const CASE: &str = "SIGBUS_GUARD_TEST_CASE";

    /// In the child: a guard on a one-page window of a file one page long, then one SIGBUS.
    fn play(case: &str) -> ! {
        let file = tempfile::tempfile().unwrap();
        file.set_len(4096).unwrap();
        // two pages mapped, one backed: the second page's access raises SIGBUS
        let guarded = PhysWindow::map(&file, 0, 8192, false).unwrap();
        let other = PhysWindow::map(&file, 0, 8192, false).unwrap();
        let _guard = SigbusGuard::install(&guarded, "guarded fault at ", " (test)", 3).unwrap();
        match case {
            "inside" => drop(guarded.read(0x1008, 8)),
            "outside" => drop(other.read(0x1008, 8)),
            // SAFETY: raise only sends this thread a signal.
            _ => drop(unsafe { libc::raise(libc::SIGBUS) }),
        }
        eprintln!("no SIGBUS");
        std::process::exit(0)
    }

    #[test]
    fn only_a_fault_inside_the_live_window_is_the_guards_any_other_sigbus_kills() {
        use std::os::unix::process::ExitStatusExt;
        if let Ok(case) = std::env::var(CASE) {
            play(&case);
        }
        let name = "sys::sigbus::tests::only_a_fault_inside_the_live_window_is_the_guards_any_other_sigbus_kills";
        let child = |case: &str| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([name, "--exact", "--test-threads=1", "--nocapture"])
                .env(CASE, case)
                .output()
                .unwrap()
        };
        // the guarded access: one line naming the physical address that faulted, exit 3
        let inside = child("inside");
        let stderr = String::from_utf8_lossy(&inside.stderr);
        assert_eq!(inside.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("guarded fault at 0x1008 (test)\n"),
            "{stderr}"
        );
        // a fault in another mapping, and a SIGBUS sent by raise: the default action
        for case in ["outside", "raised"] {
            let out = child(case);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.signal(), Some(libc::SIGBUS), "{case}: {stderr}");
            assert!(!stderr.contains("guarded fault"), "{case}: {stderr}");
        }
    }
}
