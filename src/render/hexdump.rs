// SPDX-License-Identifier: MIT OR Apache-2.0
//! `hexdump -C`'s layout: the address (at least 8 hex digits), sixteen bytes in two groups of
//! eight, and the printable ASCII between bars; a run of identical lines shown once and then
//! `*`, and a last line giving the end address. Pure formatting: each line is written with
//! table lookups into one reused output buffer (no allocation per line or byte), handed to
//! the writer in large pieces; at most one partial line and the previous line are held.

use std::io::Write;

const PER_LINE: usize = 16;
/// A full line with an 8-digit address: `AAAAAAAA  hh .. hh  hh .. hh  |................|\n`.
const FULL_LINE: usize = 79;
/// The output buffer is handed to the writer once it holds this much.
const FLUSH_AT: usize = 256 * 1024;

/// Two lowercase hex digits of every byte.
static HEX_PAIRS: [[u8; 2]; 256] = {
    let digits = *b"0123456789abcdef";
    let mut table = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [digits[i >> 4], digits[i & 15]];
        i += 1;
    }
    table
};

/// Every byte as `hexdump -C`'s right-hand column shows it: printable ASCII as itself,
/// anything else as `.`.
static SHOWN: [u8; 256] = {
    let mut table = [b'.'; 256];
    let mut i = 0x20;
    while i < 0x7f {
        table[i] = i as u8;
        i += 1;
    }
    table
};

/// Where byte `i`'s two hex digits start in a line, after the 8-digit address.
const fn hex_column(i: usize) -> usize {
    8 + 2 + 3 * i + if i >= 8 { 1 } else { 0 }
}

/// Appends the address as `hexdump -C` prints it: lowercase hex, at least 8 digits.
fn put_address(out: &mut Vec<u8>, addr: u64) {
    let digits = (64 - addr.leading_zeros() as usize).div_ceil(4).max(8);
    for k in (0..digits).rev() {
        out.push(b"0123456789abcdef"[(addr >> (4 * k)) as usize & 15]);
    }
}

/// Appends one `hexdump -C` line (with its newline) for up to sixteen bytes at `addr`.
fn put_line(out: &mut Vec<u8>, addr: u64, bytes: &[u8]) {
    debug_assert!(bytes.len() <= PER_LINE);
    put_address(out, addr);
    // The rest after the address is fixed in layout: fill a template and copy it once.
    let mut rest = [b' '; FULL_LINE - 8];
    for (i, &b) in bytes.iter().enumerate() {
        let at = hex_column(i) - 8;
        rest[at..at + 2].copy_from_slice(&HEX_PAIRS[b as usize]);
    }
    let bar = hex_column(PER_LINE) - 8 + 1;
    rest[bar] = b'|';
    for (i, &b) in bytes.iter().enumerate() {
        rest[bar + 1 + i] = SHOWN[b as usize];
    }
    let end = bar + 1 + bytes.len();
    rest[end] = b'|';
    rest[end + 1] = b'\n';
    out.extend_from_slice(&rest[..end + 2]);
}

/// One `hexdump -C` line for up to sixteen bytes at `addr`, without its newline.
pub(crate) fn format_line(addr: u64, bytes: &[u8]) -> String {
    let mut out = Vec::new();
    put_line(&mut out, addr, bytes);
    out.pop();
    // Only ASCII is put in a line, so nothing is replaced.
    String::from_utf8_lossy(&out).into_owned()
}

/// The line `watch` prints under [`format_line`]`(addr, ..)` to mark its changed bytes:
/// blanks, with `^^` under the two hex digits and `^` under the character of each byte
/// `changed` flags (at most sixteen), trailing blanks cut. It starts with a blank, which no
/// `hexdump -C` line does, so `grep -v '^ '` leaves exactly hexdump's lines.
pub(crate) fn mark_line(addr: u64, changed: &[bool]) -> String {
    debug_assert!(changed.len() <= PER_LINE);
    let mut line = format_line(addr, &vec![0u8; changed.len()]).into_bytes();
    let extra_digits = line.iter().position(|&b| b == b' ').unwrap_or(8) - 8;
    let bar = hex_column(PER_LINE) + extra_digits + 1;
    line.iter_mut().for_each(|b| *b = b' ');
    for (i, _) in changed.iter().enumerate().filter(|(_, &c)| c) {
        let at = hex_column(i) + extra_digits;
        line[at..at + 2].copy_from_slice(b"^^");
        line[bar + 1 + i] = b'^';
    }
    String::from_utf8_lossy(&line).trim_end().to_string()
}

/// The bytes as `hexdump -C`'s right-hand column shows them: printable ASCII as itself,
/// anything else as `.`.
pub(crate) fn ascii(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| SHOWN[b as usize] as char).collect()
}

/// Streams bytes into `hexdump -C` lines, folding repeats into `*`.
pub(crate) struct HexDumper {
    start: u64,
    next_addr: u64,
    /// The bytes of a line not yet complete.
    pending: [u8; PER_LINE],
    pending_len: usize,
    /// The last line shown or folded, and its length (0: none yet).
    previous: [u8; PER_LINE],
    previous_len: usize,
    in_repeat: bool,
    squeeze: bool,
    /// Formatted lines not yet handed to the writer.
    text: Vec<u8>,
}

impl HexDumper {
    pub(crate) fn new(start: u64, squeeze: bool) -> Self {
        HexDumper {
            start,
            next_addr: start,
            pending: [0; PER_LINE],
            pending_len: 0,
            previous: [0; PER_LINE],
            previous_len: 0,
            in_repeat: false,
            squeeze,
            text: Vec::with_capacity(FLUSH_AT + 2 * FULL_LINE),
        }
    }

    /// Adds bytes that follow the ones already pushed. Every complete line is formatted;
    /// all of them have reached `out` when this returns.
    pub(crate) fn push(
        &mut self,
        mut bytes: &[u8],
        out: &mut (impl Write + ?Sized),
    ) -> std::io::Result<()> {
        if self.pending_len > 0 {
            let take = (PER_LINE - self.pending_len).min(bytes.len());
            self.pending[self.pending_len..self.pending_len + take].copy_from_slice(&bytes[..take]);
            self.pending_len += take;
            bytes = &bytes[take..];
            if self.pending_len == PER_LINE {
                let line = self.pending;
                self.pending_len = 0;
                self.emit(&line);
            }
        }
        let mut lines = bytes.chunks_exact(PER_LINE);
        for line in &mut lines {
            self.emit(line);
            if self.text.len() >= FLUSH_AT {
                self.drain(out)?;
            }
        }
        let tail = lines.remainder();
        self.pending[self.pending_len..self.pending_len + tail.len()].copy_from_slice(tail);
        self.pending_len += tail.len();
        self.drain(out)
    }

    fn drain(&mut self, out: &mut (impl Write + ?Sized)) -> std::io::Result<()> {
        if !self.text.is_empty() {
            out.write_all(&self.text)?;
            self.text.clear();
        }
        Ok(())
    }

    fn emit(&mut self, line: &[u8]) {
        let repeat = self.squeeze
            && line.len() == PER_LINE
            && self.previous_len == PER_LINE
            && self.previous == line;
        if repeat {
            if !self.in_repeat {
                self.text.extend_from_slice(b"*\n");
                self.in_repeat = true;
            }
        } else {
            put_line(&mut self.text, self.next_addr, line);
            self.in_repeat = false;
        }
        self.next_addr += line.len() as u64;
        self.previous[..line.len()].copy_from_slice(line);
        self.previous_len = line.len();
    }

    /// Prints the last partial line and the end address; nothing at all when no byte came,
    /// as `hexdump -C -n 0`.
    pub(crate) fn finish(mut self, out: &mut (impl Write + ?Sized)) -> std::io::Result<()> {
        if self.pending_len > 0 {
            let line = self.pending;
            let len = self.pending_len;
            self.pending_len = 0;
            self.emit(&line[..len]);
        }
        if self.next_addr != self.start {
            put_address(&mut self.text, self.next_addr);
            self.text.push(b'\n');
        }
        self.drain(out)
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

    /// The lines as the formatter of `format!` calls made them, kept as the reference.
    fn reference_line(addr: u64, bytes: &[u8]) -> String {
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
        let shown: String = bytes
            .iter()
            .map(|&b| {
                if (0x20..0x7f).contains(&b) {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        format!("{line} |{shown}|")
    }

    #[test]
    fn every_byte_value_and_every_line_length_match_the_reference() {
        let all: Vec<u8> = (0..=255).collect();
        for (i, line) in all.chunks(PER_LINE).enumerate() {
            for len in 0..=line.len() {
                let addr = 0xfff0_0000_0000u64.wrapping_mul(i as u64) + 16 * i as u64;
                assert_eq!(
                    format_line(addr, &line[..len]),
                    reference_line(addr, &line[..len])
                );
            }
        }
    }

    #[test]
    fn marks_stand_under_the_changed_bytes_hex_and_character() {
        let bytes = b"Hello world.\n";
        let mut changed = [false; 13];
        changed[0] = true;
        changed[8] = true;
        changed[12] = true;
        assert_eq!(
            format!(
                "{}\n{}",
                format_line(0x1000, bytes),
                mark_line(0x1000, &changed)
            ),
            "00001000  48 65 6c 6c 6f 20 77 6f  72 6c 64 2e 0a           |Hello world..|\n\
             \x20         ^^                       ^^          ^^            ^       ^   ^"
        );
        // a ninth address digit shifts everything by one: the marks stand under the last
        // byte's digits and character all the same
        let mut last = [false; 16];
        last[15] = true;
        let mut bytes = [0x41; 16];
        bytes[15] = 0x5a;
        let line = format_line(0x1_0000_0000, &bytes);
        let marked: String = mark_line(0x1_0000_0000, &last)
            .char_indices()
            .filter(|&(_, c)| c == '^')
            .map(|(i, _)| line.as_bytes()[i] as char)
            .collect();
        assert_eq!(marked, "5aZ");
        assert_eq!(mark_line(0x20, &[false; 4]), "");
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
