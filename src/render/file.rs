// SPDX-License-Identifier: MIT OR Apache-2.0
//! Picture files (`--svg FILE`) and dumps (`dump --output FILE`) written whole or not at all.
//!
//! [`OutputFile::create`] checks the destination and creates a temporary file next to it
//! (`.NAME.PID.tmp`, in the same directory so the rename cannot cross file systems) before
//! the command does any work, so a bad path fails at once with one line; [`OutputFile::commit`]
//! writes the bytes, flushes them to disk and renames the temporary file over the
//! destination (or the bytes are streamed in through [`Write`] and [`OutputFile::finish`]
//! does the rest). Dropped before that (an error, a bad pid found later), it removes the
//! temporary file: no partial file is ever left behind. An existing destination that is not
//! a regular file (a directory, `/dev/null`, a symbolic link, looked at without following
//! it) is refused rather than replaced, and a name ending in `/` must be an existing
//! directory's. The temporary name is cut to fit `NAME_MAX` (255 bytes), so that any legal
//! FILE works.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::error::{not_found, permission, usage, ExitKind, UserError};

/// A destination file and the temporary file that becomes it.
#[derive(Debug)]
pub(crate) struct OutputFile {
    path: PathBuf,
    temp: PathBuf,
    file: File,
    /// The option that named it, for messages: `--svg`, `--output`.
    flag: &'static str,
}

impl OutputFile {
    /// Checks `path` (given with `--svg`) and creates the temporary file beside it.
    pub(crate) fn create(path: &Path) -> Result<Self> {
        Self::create_for(path, "--svg")
    }

    /// Checks `path`, given with the option `flag`, and creates the temporary file beside it.
    pub(crate) fn create_for(path: &Path, flag: &'static str) -> Result<Self> {
        let shown = path.display();
        let Some(name) = path.file_name() else {
            return Err(usage(format!("{flag} {shown} names no file"))
                .hint(format!("give a file name, e.g. {flag} {}", example(flag)))
                .into());
        };
        check_destination(path, flag)?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let temp = dir.join(temp_name(name.as_bytes(), std::process::id()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temp)
            .map_err(|err| cannot_create(path, &dir, &err, flag))?;
        Ok(OutputFile {
            path: path.to_path_buf(),
            temp,
            file,
            flag,
        })
    }

    /// Writes `bytes` and puts the file in place.
    pub(crate) fn commit(mut self, bytes: &[u8]) -> Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => self.finish(),
            Err(err) => Err(self.failed(&err)),
        }
    }

    /// Flushes what was written to disk and puts the file in place.
    pub(crate) fn finish(self) -> Result<()> {
        self.file
            .sync_all()
            .and_then(|()| std::fs::rename(&self.temp, &self.path))
            .map_err(|err| self.failed(&err))
    }

    fn failed(&self, err: &std::io::Error) -> anyhow::Error {
        let (shown, flag) = (self.path.display(), self.flag);
        let full = matches!(
            err.raw_os_error(),
            Some(libc::ENOSPC | libc::EDQUOT | libc::EFBIG)
        );
        UserError::new(ExitKind::Failure, format!("could not write {shown}: {err}"))
            .hint(if full {
                format!("free some space, or give {flag} another place")
            } else {
                format!("give {flag} another place, e.g. /tmp/{}", example(flag))
            })
            .into()
    }

    /// Where the picture goes.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

/// Bytes streamed into the temporary file; [`OutputFile::finish`] puts it in place.
impl Write for OutputFile {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.file.write(bytes)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for OutputFile {
    fn drop(&mut self) {
        // After a successful commit the temporary name is gone already.
        let _ = std::fs::remove_file(&self.temp);
    }
}

/// A file name to show in hints about `flag`.
fn example(flag: &str) -> &'static str {
    match flag {
        "--svg" => "picture.svg",
        "--dir" => "physdemo.1",
        _ => "dump.txt",
    }
}

/// The longest file name Linux file systems take (`NAME_MAX`).
const NAME_MAX: usize = 255;

/// The temporary file's name for the destination `name`: `.NAME.PID.tmp`, with NAME cut
/// (at a byte boundary: the name is bytes to the kernel) so that the whole fits
/// [`NAME_MAX`] whatever the destination's legal length.
fn temp_name(name: &[u8], pid: u32) -> OsString {
    let suffix = format!(".{pid}.tmp");
    let room = NAME_MAX - 1 - suffix.len();
    let mut bytes = vec![b'.'];
    bytes.extend_from_slice(&name[..name.len().min(room)]);
    bytes.extend_from_slice(suffix.as_bytes());
    OsString::from_vec(bytes)
}

/// Refuses a destination (named with the option `flag`) that exists and is not a regular
/// file (looked at without following a symbolic link: the rename would replace the link
/// itself, and a link to /proc/self/fd/1 would get the bytes), and a name ending in `/`
/// that is no directory.
fn check_destination(path: &Path, flag: &str) -> Result<(), UserError> {
    let shown = path.display();
    let dir_form = path.as_os_str().as_bytes().ends_with(b"/");
    let example = example(flag);
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => Err(usage(format!("{flag} {shown} is a directory")).hint(
            format!("give a file name inside it, e.g. {flag} DIR/{example}"),
        )),
        Ok(meta) if meta.file_type().is_symlink() => Err(usage(format!(
            "{flag} {shown} is a symbolic link; it is not followed, and not replaced"
        ))
        .hint(
            "give the name of a new or a regular file (the link's target itself, if you mean it)",
        )),
        Ok(meta) if !meta.is_file() => Err(usage(format!(
            "{flag} {shown} exists and is not a regular file; it is not replaced"
        ))
        .hint("give the name of a new or a regular file")),
        _ if dir_form => Err(not_found(format!(
            "{flag} {shown} ends in / and so names a directory, and there is no directory {shown}"
        ))
        .hint(format!(
            "create it first and give a file name inside it, e.g. {flag} DIR/{example}"
        ))),
        _ => Ok(()),
    }
}

/// Why the temporary file could not be created, as one line with a fix.
fn cannot_create(path: &Path, dir: &Path, err: &std::io::Error, flag: &str) -> anyhow::Error {
    let (shown, dir_shown) = (path.display(), dir.display());
    let user = match err.kind() {
        ErrorKind::NotFound if !dir.exists() => not_found(format!(
            "cannot write {shown}: directory {dir_shown} does not exist"
        ))
        .hint(format!("create it first, or give {flag} another place")),
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => permission(format!(
            "cannot write {shown}: {dir_shown} does not let us create a file ({err})"
        ))
        .hint(format!(
            "give {flag} a place you may write, e.g. /tmp/{}",
            example(flag)
        )),
        _ => UserError::new(
            ExitKind::Failure,
            format!("cannot write {shown}: cannot create a file in {dir_shown} ({err})"),
        )
        .hint(format!(
            "give {flag} a place on an ordinary file system, e.g. /tmp/{}",
            example(flag)
        )),
    };
    user.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_committed_file_appears_whole_and_a_dropped_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.svg");
        let out = OutputFile::create(&path).unwrap();
        assert_eq!(entries(dir.path()).len(), 1, "only the temporary file");
        assert!(!path.exists());
        out.commit(b"<svg/>").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"<svg/>");
        assert_eq!(entries(dir.path()), ["a.svg"]);

        let other = dir.path().join("b.svg");
        drop(OutputFile::create(&other).unwrap());
        assert_eq!(entries(dir.path()), ["a.svg"]);

        // An existing file is replaced only on commit.
        let again = OutputFile::create(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"<svg/>");
        drop(again);
        assert_eq!(std::fs::read(&path).unwrap(), b"<svg/>");
    }

    #[test]
    fn bad_destinations_are_one_error_each() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (dir.path().to_path_buf(), ExitKind::Usage, "is a directory"),
            (
                PathBuf::from("/dev/null"),
                ExitKind::Usage,
                "not a regular file",
            ),
            (
                dir.path().join("no/such/x.svg"),
                ExitKind::NotFound,
                "does not exist",
            ),
        ];
        for (path, kind, words) in cases {
            let err = OutputFile::create(&path).unwrap_err();
            assert_eq!(crate::error::exit_kind_of(&err), kind, "{err:#}");
            assert!(format!("{err:#}").contains(words), "{err:#}");
        }
        assert_eq!(entries(dir.path()).len(), 0);
    }

    #[test]
    fn a_symbolic_link_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.svg");
        std::fs::write(&target, b"mine").unwrap();
        let link = dir.path().join("link.svg");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let stdout = dir.path().join("stdout.svg");
        std::os::unix::fs::symlink("/proc/self/fd/1", &stdout).unwrap();
        let dangling = dir.path().join("dangling.svg");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        for path in [&link, &stdout, &dangling] {
            let err = OutputFile::create(path).unwrap_err();
            assert_eq!(crate::error::exit_kind_of(&err), ExitKind::Usage, "{err:#}");
            assert!(format!("{err:#}").contains("is a symbolic link"), "{err:#}");
            assert!(std::fs::symlink_metadata(path)
                .unwrap()
                .file_type()
                .is_symlink());
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"mine");
        assert_eq!(
            entries(dir.path()),
            ["dangling.svg", "link.svg", "stdout.svg", "target.svg"]
        );
    }

    #[test]
    fn a_name_ending_in_a_slash_must_be_an_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        let new = PathBuf::from(format!("{}/newdir/", dir.path().display()));
        let err = OutputFile::create(&new).unwrap_err();
        assert_eq!(crate::error::exit_kind_of(&err), ExitKind::NotFound);
        assert!(
            format!("{err:#}").contains("ends in / and so names a directory"),
            "{err:#}"
        );
        assert_eq!(entries(dir.path()).len(), 0, "no temporary file left");
    }

    #[test]
    fn the_longest_legal_name_works_and_its_temporary_name_fits() {
        let dir = tempfile::tempdir().unwrap();
        let name = format!("{}.svg", "p".repeat(NAME_MAX - 4));
        assert_eq!(name.len(), NAME_MAX);
        let path = dir.path().join(&name);
        let out = OutputFile::create(&path).unwrap();
        out.commit(b"<svg/>").unwrap();
        assert_eq!(entries(dir.path()), [name]);
        let temp = temp_name(&[b'q'; NAME_MAX], u32::MAX);
        assert_eq!(temp.len(), NAME_MAX);
        assert!(temp.as_bytes().ends_with(b".4294967295.tmp"));
        assert_eq!(temp_name(b"a.svg", 7), ".a.svg.7.tmp");
    }
}
