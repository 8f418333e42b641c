// SPDX-License-Identifier: MIT OR Apache-2.0
//! Errors a user can act on, and the exit code each one maps to.
//!
//! Every failure that is the user's to fix (a bad pid, an address in no mapping, a missing
//! privilege, a kernel without `/dev/mem`) is raised as a [`UserError`]: one sentence saying
//! what is wrong plus a hint saying how to fix it. `main` finds it anywhere in an `anyhow`
//! chain and exits with its [`ExitKind`], so scripts can tell the cases apart. The codes are
//! documented in docs/physical-memory.md ("Exit codes") and are stable.

use std::fmt;

/// Stable process exit codes (documented in docs/physical-memory.md, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitKind {
    /// Something failed that is not one of the cases below (an I/O error, say).
    Failure = 1,
    /// The command line was malformed: unknown flag, bad number, bad width.
    Usage = 2,
    /// The process, mapping, page or device named does not exist (or is not present).
    NotFound = 3,
    /// The caller lacks a privilege (root, CAP_SYS_ADMIN, CAP_SYS_RAWIO) or lockdown forbids it.
    Permission = 4,
    /// The kernel cannot do it: no /dev/mem, STRICT_DEVMEM, a PAT conflict.
    Unsupported = 5,
    /// physdemo refused to write, for safety: kernel image, unknown region, frame moved.
    /// Nothing was written.
    Refused = 6,
    /// The value was written, but the process whose page it was exited right after the
    /// store, before it could be seen to hold it: the write is done, not to be repeated.
    WrittenProcessGone = 7,
}

impl ExitKind {
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// An error with a message for the user, a hint for the fix, and an exit code.
#[derive(Debug, Clone)]
pub struct UserError {
    pub(crate) kind: ExitKind,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

impl UserError {
    pub(crate) fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        UserError {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for UserError {}

/// Shorthand constructors, so call sites read as sentences.
pub(crate) fn usage(message: impl Into<String>) -> UserError {
    UserError::new(ExitKind::Usage, message)
}
pub(crate) fn not_found(message: impl Into<String>) -> UserError {
    UserError::new(ExitKind::NotFound, message)
}
pub(crate) fn permission(message: impl Into<String>) -> UserError {
    UserError::new(ExitKind::Permission, message)
}
pub(crate) fn unsupported(message: impl Into<String>) -> UserError {
    UserError::new(ExitKind::Unsupported, message)
}
pub(crate) fn refused(message: impl Into<String>) -> UserError {
    UserError::new(ExitKind::Refused, message)
}

/// The exit kind of the first [`UserError`] in an error chain, or `Failure`.
pub fn exit_kind_of(err: &anyhow::Error) -> ExitKind {
    err.chain()
        .find_map(|cause| cause.downcast_ref::<UserError>())
        .map_or(ExitKind::Failure, |user| user.kind)
}

/// Whether the chain ends in a broken pipe (`physdemo … | head`), which is not an error.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error to show when the output could not be written because where it goes is full
/// (`physdemo maps PID --pages > /dev/full`: ENOSPC, EDQUOT or EFBIG), or `None` for any
/// other error. physdemo writes files only through stdout (/dev/mem failures are
/// explained as [`UserError`]s), so such an error in the chain is the output's.
pub fn output_failure(err: &anyhow::Error) -> Option<UserError> {
    if err.chain().any(|cause| cause.is::<UserError>()) {
        return None;
    }
    let io = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<std::io::Error>())?;
    matches!(
        io.raw_os_error(),
        Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG)
    )
    .then(|| {
        UserError::new(ExitKind::Failure, format!("could not write the output: {io}")).hint(
            "the file or disk standard output goes to is full; free some space or send the output elsewhere",
        )
    })
}

/// The fix to suggest when the kernel says "permission denied": sudo, unless we are root
/// already, in which case the process is protected in a way root alone does not override.
pub(crate) fn privilege_hint() -> &'static str {
    use std::os::unix::fs::MetadataExt;
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
    if root {
        "even root may not read it: it runs in another namespace or holds capabilities we lack"
    } else {
        "run with sudo"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_output_is_named_as_such_and_nothing_else_is() {
        let full = anyhow::Error::new(std::io::Error::from_raw_os_error(libc::ENOSPC));
        let user = output_failure(&full).expect("ENOSPC is an output failure");
        assert_eq!(user.kind, ExitKind::Failure);
        assert!(user
            .to_string()
            .starts_with("could not write the output: No space left on device"));
        let denied = anyhow::Error::new(std::io::Error::from_raw_os_error(libc::EACCES));
        assert!(output_failure(&denied).is_none());
        let explained = anyhow::Error::new(not_found("something else")).context("reading");
        assert!(output_failure(&explained).is_none());
    }
}
