//! `hexdump -C`'s layout: the address (at least 8 hex digits), sixteen bytes in two groups of
//! eight, and the printable ASCII between bars; a run of identical lines shown once and then
//! `*`, and a last line giving the end address. Pure formatting, holding at most two lines.

use std::io::Write;

const PER_LINE: usize = 16;

/// One `hexdump -C` line for up to sixteen bytes at `addr`.
pub(crate) fn format_line(addr: u64, bytes: &[u8]) -> String {
    let mut line = format!("{addr:08x} ");
    for i in 0..PER_LINE {
        if i % 8 == 0 {
            line.push(' ');
        }
        match bytes.get(i) {
            Some(b) => line.push_str(&format!("{b:02x} ")),
            None => line.push_str("   "),
        }
    }
    line.push_str(" |");
    line.push_str(&ascii(bytes));
    line.push('|');
    line
}

/// The bytes as `hexdump -C`'s right-hand column shows them: printable ASCII as itself,
/// anything else as `.`.
pub(crate) fn ascii(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| {
            if (0x20..0x7f).contains(&b) {
                b as char
            } else {
                '.'
            }
        })
        .collect()
}

/// Streams bytes into `hexdump -C` lines, folding repeats into `*`.
pub(crate) struct HexDumper {
    start: u64,
    next_addr: u64,
    pending: Vec<u8>,
    previous: Option<Vec<u8>>,
    in_repeat: bool,
    squeeze: bool,
}

impl HexDumper {
    pub(crate) fn new(start: u64, squeeze: bool) -> Self {
        HexDumper {
            start,
            next_addr: start,
            pending: Vec::with_capacity(PER_LINE),
            previous: None,
            in_repeat: false,
            squeeze,
        }
    }

    /// Adds bytes that follow the ones already pushed.
    pub(crate) fn push(&mut self, mut bytes: &[u8], out: &mut impl Write) -> std::io::Result<()> {
        while !bytes.is_empty() {
            let take = (PER_LINE - self.pending.len()).min(bytes.len());
            self.pending.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.pending.len() == PER_LINE {
                self.emit(out)?;
            }
        }
        Ok(())
    }

    fn emit(&mut self, out: &mut impl Write) -> std::io::Result<()> {
        let line = std::mem::take(&mut self.pending);
        let repeat = self.squeeze
            && line.len() == PER_LINE
            && self.previous.as_deref() == Some(line.as_slice());
        if repeat {
            if !self.in_repeat {
                writeln!(out, "*")?;
                self.in_repeat = true;
            }
        } else {
            writeln!(out, "{}", format_line(self.next_addr, &line))?;
            self.in_repeat = false;
        }
        self.next_addr += line.len() as u64;
        self.previous = Some(line);
        Ok(())
    }

    /// Prints the last partial line and the end address; nothing at all when no byte came,
    /// as `hexdump -C -n 0`.
    pub(crate) fn finish(mut self, out: &mut impl Write) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            self.emit(out)?;
        }
        if self.next_addr == self.start {
            return Ok(());
        }
        writeln!(out, "{:08x}", self.next_addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dump(start: u64, bytes: &[u8], squeeze: bool) -> String {
        let mut out = Vec::new();
        let mut dumper = HexDumper::new(start, squeeze);
        // push in awkward pieces: the output must not depend on them
        for piece in bytes.chunks(7) {
            dumper.push(piece, &mut out).unwrap();
        }
        dumper.finish(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lays_out_lines_like_hexdump_c() {
        // `printf 'Hello world.\n' | hexdump -C`
        assert_eq!(
            dump(0, b"Hello world.\n", true),
            "00000000  48 65 6c 6c 6f 20 77 6f  72 6c 64 2e 0a           |Hello world..|\n0000000d\n"
        );
        let full: Vec<u8> = (0x41..0x51).collect();
        assert_eq!(
            format_line(0x1ff8, &full),
            "00001ff8  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  |ABCDEFGHIJKLMNOP|"
        );
        assert_eq!(
            format_line(0x1_0000_0000, &[0x00, 0x7f, 0x20]),
            "100000000  00 7f 20                                          |.. |"
        );
    }

    #[test]
    fn folds_repeated_lines_unless_asked_not_to() {
        let mut bytes = vec![0u8; 64];
        bytes.extend_from_slice(b"x");
        assert_eq!(
            dump(0x1000, &bytes, true),
            "00001000  00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|\n*\n\
             00001040  78                                                |x|\n00001041\n"
        );
        assert_eq!(dump(0x1000, &bytes, false).lines().count(), 6);
    }

    #[test]
    fn an_empty_range_prints_nothing_like_hexdump_n_0() {
        assert_eq!(dump(0x20, &[], true), "");
        assert_eq!(dump(0x20, &[], false), "");
        assert_eq!(
            dump(0x20, b"A", true),
            "00000020  41                                                |A|\n00000021\n"
        );
    }
}
