// SPDX-License-Identifier: MIT OR Apache-2.0
//! QEMU's device trace as a test oracle: the accesses a device saw, parsed from the `log`
//! trace backend's `memory_region_ops_read|write` lines (QEMU's `system/trace-events`), cut
//! into steps at the guest's marks, and compared with what a command asked for.
//!
//! A line reads `memory_region_ops_write cpu 0 mr 0x... addr 0xff000000 value 0x12345678
//! size 4 name 'pc-testdev-iomem'`: `addr` is the physical address (or the port number),
//! `size` the bytes of the one access the device got. QEMU logs what a device's read
//! callback returned, which can be wider than the access (edu's and the HPET's registers
//! return 64-bit values to 4-byte reads): the CPU got the low `size` bytes, so
//! [`check_exactly`] compares values cut to the size, and the size itself exactly.
//!
//! Marks: a guest script brackets step N with `trace_mark begin N` and `trace_mark end N`
//! (demos/lib.sh): one 4-byte busybox devmem write of `0xb0000000 + N` and `0xe0000000 + N`
//! to [`MARK_ADDR`], the last word of pc-testdev's scratch memory, which nothing else uses.
//! [`step`] returns what the devices saw between the two.

/// One device access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Access {
    pub(crate) write: bool,
    pub(crate) addr: u64,
    pub(crate) value: u64,
    pub(crate) size: u32,
}

impl Access {
    pub(crate) fn read(addr: u64, value: u64, size: u32) -> Self {
        Access {
            write: false,
            addr,
            value,
            size,
        }
    }

    pub(crate) fn write(addr: u64, value: u64, size: u32) -> Self {
        Access {
            write: true,
            addr,
            value,
            size,
        }
    }

    /// The value the CPU moved: the low `size` bytes of what QEMU logged.
    fn moved(&self) -> u64 {
        self.value & (u64::MAX >> (64 - 8 * self.size.min(8)))
    }

    fn end(&self) -> u64 {
        self.addr + u64::from(self.size)
    }

    fn describe(&self) -> String {
        format!(
            "{} of {} bytes at {:#x} ({:#x})",
            if self.write { "write" } else { "read" },
            self.size,
            self.addr,
            self.moved()
        )
    }
}

/// One traced access and the name of the memory region (device) that got it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Traced {
    pub(crate) region: String,
    pub(crate) access: Access,
}

/// The `memory_region_ops_read|write` line parsed, or `None` for any other line.
pub(crate) fn parse_line(line: &str) -> Option<Traced> {
    let write = if line.starts_with("memory_region_ops_write ") {
        true
    } else if line.starts_with("memory_region_ops_read ") {
        false
    } else {
        return None;
    };
    let field = |key: &str| -> u64 {
        let mut words = line.split_whitespace();
        words.find(|w| *w == key);
        let word = words.next().unwrap_or_else(|| panic!("no {key} in {line}"));
        let parsed = match word.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => word.parse(),
        };
        parsed.unwrap_or_else(|_| panic!("bad {key} '{word}' in {line}"))
    };
    let region = line
        .split_once(" name '")
        .and_then(|(_, rest)| rest.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no name in {line}"));
    Some(Traced {
        region: region.to_string(),
        access: Access {
            write,
            addr: field("addr"),
            value: field("value"),
            size: u32::try_from(field("size")).expect("a small size"),
        },
    })
}

/// Every device access of a trace log, in order.
pub(crate) fn parse_trace(trace: &str) -> Vec<Traced> {
    trace.lines().filter_map(parse_line).collect()
}

/// The accesses to the memory region called `region`, in order, from a trace log.
pub(crate) fn accesses_to(trace: &str, region: &str) -> Vec<Access> {
    parse_trace(trace)
        .into_iter()
        .filter(|t| t.region == region)
        .map(|t| t.access)
        .collect()
}

/// The COM1 transmit register, where the guest's console (ttyS0) writes each byte.
const SERIAL_THR: u64 = 0x3f8;

/// The bytes the guest wrote to its serial console, from the trace: a positive control
/// for "no access happened" checks (the guest's own output was traced at the same time).
pub(crate) fn serial_output(trace: &str) -> String {
    let bytes: Vec<u8> = accesses_to(trace, "serial")
        .into_iter()
        .filter(|a| a.write && a.addr == SERIAL_THR && a.size == 1)
        .map(|a| a.moved() as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Where `trace_mark` writes (demos/lib.sh).
pub(crate) const MARK_ADDR: u64 = 0xff00_fffc;
const MARK_BEGIN: u64 = 0xb000_0000;
const MARK_END: u64 = 0xe000_0000;

fn is_mark(t: &Traced, value: u64) -> bool {
    t.region == "pc-testdev-iomem" && t.access == Access::write(MARK_ADDR, value, 4)
}

/// What the devices saw between `trace_mark begin n` and `trace_mark end n`, or `None` when
/// the trace lacks either mark (or has it twice).
pub(crate) fn step(all: &[Traced], n: u64) -> Option<&[Traced]> {
    let only = |value: u64| {
        let mut at = all.iter().enumerate().filter(|(_, t)| is_mark(t, value));
        let first = at.next()?.0;
        at.next().is_none().then_some(first)
    };
    let (begin, end) = (only(MARK_BEGIN + n)?, only(MARK_END + n)?);
    (begin < end).then(|| &all[begin + 1..end])
}

/// Checks that, of the accesses to the devices named in `watched`, `seen` holds exactly
/// `want` (region, access), in order, comparing the value the CPU moved: one access each,
/// at its address, of its size, with its value, and nothing else. The error names what
/// went wrong with each wanted access (missing, split, widened, repeated, another value)
/// and every access no one asked for.
pub(crate) fn check_exactly(
    seen: &[Traced],
    watched: &[&str],
    want: &[(&str, Access)],
) -> Result<(), String> {
    let seen: Vec<&Traced> = seen
        .iter()
        .filter(|t| watched.contains(&t.region.as_str()))
        .collect();
    let exact = seen.len() == want.len()
        && seen.iter().zip(want).all(|(t, (region, w))| {
            t.region == *region
                && t.access.write == w.write
                && t.access.addr == w.addr
                && t.access.size == w.size
                && t.access.moved() == w.moved()
        });
    if exact {
        return Ok(());
    }
    let mut problems = Vec::new();
    let mut explained = vec![false; seen.len()];
    for (region, w) in want {
        let touching: Vec<usize> = (0..seen.len())
            .filter(|&i| {
                let a = &seen[i].access;
                seen[i].region == *region
                    && a.write == w.write
                    && a.addr < w.end()
                    && w.addr < a.end()
            })
            .collect();
        let what = format!("the {} in {region}", w.describe());
        let same = touching
            .iter()
            .filter(|&&i| seen[i].access.addr == w.addr && seen[i].access.size == w.size)
            .count();
        let problem = match touching.as_slice() {
            [] => Some(format!("{what} is missing")),
            [i] if seen[*i].access.size > w.size => Some(format!(
                "{what} was widened to a {}",
                seen[*i].access.describe()
            )),
            [i] if seen[*i].access.size < w.size => Some(format!(
                "{what} was narrowed to a {}",
                seen[*i].access.describe()
            )),
            [i] if seen[*i].access.moved() != w.moved() => Some(format!(
                "{what} moved another value: {}",
                seen[*i].access.describe()
            )),
            [_] => None,
            several if same == several.len() => {
                Some(format!("{what} was repeated {} times", several.len()))
            }
            several => Some(format!(
                "{what} was split into {}",
                several
                    .iter()
                    .map(|&i| seen[i].access.describe())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        problems.extend(problem);
        for i in touching {
            explained[i] = true;
        }
    }
    for (i, t) in seen.iter().enumerate() {
        if !explained[i] {
            problems.push(format!(
                "a {} in {} that was not asked for",
                t.access.describe(),
                t.region
            ));
        }
    }
    if problems.is_empty() {
        problems.push(format!(
            "the accesses came in another order: {:?}",
            seen.iter()
                .map(|t| format!("{} in {}", t.access.describe(), t.region))
                .collect::<Vec<_>>()
        ));
    }
    Err(problems.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &str = "\
memory_region_ops_write cpu 0 mr 0x5581e7d1c0a0 addr 0xff000000 value 0x12345678 size 4 name 'pc-testdev-iomem'
memory_region_ops_read cpu 1 mr 0x5581e7d1c0a0 addr 0xe2 value 0xcafe size 2 name 'pc-testdev-ioport'
memory_region_ops_read cpu 1 mr 0x5581e7d1c0b0 addr 0x3fd value 0x60 size 1 name 'serial'
memory_region_ops_read cpu 0 mr 0x5643e2e20ec0 addr 0xfed00000 value 0x9896808086a201 size 4 name 'hpet'
";

    #[test]
    fn accesses_are_parsed_from_the_trace_format_of_qemu() {
        assert_eq!(
            accesses_to(LINES, "pc-testdev-iomem"),
            [Access::write(0xff000000, 0x12345678, 4)]
        );
        assert_eq!(
            accesses_to(LINES, "pc-testdev-ioport"),
            [Access::read(0xe2, 0xcafe, 2)]
        );
        // A widened or split access is a different list, so the tests below would fail.
        assert_ne!(
            accesses_to(LINES, "pc-testdev-ioport"),
            [Access::read(0xe0, 0xcafe0000, 4)]
        );
        let all = parse_trace(LINES);
        assert_eq!(all.len(), 4);
        assert_eq!(all[2].region, "serial");
        // the HPET's 4-byte read logs its 64-bit register: the CPU got the low 4 bytes
        assert_eq!(all[3].access.moved(), 0x8086a201);
        assert_eq!(parse_line("pc-testdev: some other trace event"), None);
    }

    fn traced(line: &str) -> Traced {
        parse_line(line).expect("a memory_region_ops line")
    }

    #[test]
    fn the_helper_fails_when_an_access_is_split_widened_or_repeated() {
        let watched = ["pc-testdev-iomem", "pc-testdev-ioport"];
        let byte = "memory_region_ops_write cpu 0 mr 0x1 addr 0xff000023 value 0x5a size 1 name 'pc-testdev-iomem'";
        // what a byte poke of 0xff000023 looks like: exactly right
        let poked = [traced(byte)];
        let one = ("pc-testdev-iomem", Access::write(0xff00_0023, 0x5a, 1));
        assert_eq!(check_exactly(&poked, &watched, &[one]), Ok(()));
        // the same trace checked against a deliberately wrong width: 16 bits were asked for
        // at 0xff000022, a byte came: neither the helper nor the test can pass
        let wrong_width = ("pc-testdev-iomem", Access::write(0xff00_0022, 0x5a00, 2));
        let err = check_exactly(&poked, &watched, &[wrong_width]).unwrap_err();
        assert_eq!(
            err,
            "the write of 2 bytes at 0xff000022 (0x5a00) in pc-testdev-iomem was narrowed to a write of 1 bytes at 0xff000023 (0x5a)"
        );
        // widened: one byte asked for, a 4-byte store came (what a read-modify-write does)
        let wide = [traced("memory_region_ops_write cpu 0 mr 0x1 addr 0xff000020 value 0x5a000000 size 4 name 'pc-testdev-iomem'")];
        let err = check_exactly(&wide, &watched, &[one]).unwrap_err();
        assert!(
            err.contains("was widened to a write of 4 bytes at 0xff000020"),
            "{err}"
        );
        // split: a 4-byte read that came as two 2-byte reads
        let split = [
            traced("memory_region_ops_read cpu 0 mr 0x1 addr 0xe0 value 0x1234 size 2 name 'pc-testdev-ioport'"),
            traced("memory_region_ops_read cpu 0 mr 0x1 addr 0xe2 value 0xcafe size 2 name 'pc-testdev-ioport'"),
        ];
        let word = ("pc-testdev-ioport", Access::read(0xe0, 0xcafe1234, 4));
        let err = check_exactly(&split, &watched, &[word]).unwrap_err();
        assert!(
            err.contains(
                "was split into read of 2 bytes at 0xe0 (0x1234), read of 2 bytes at 0xe2 (0xcafe)"
            ),
            "{err}"
        );
        // repeated, and an access nobody asked for
        let twice = [traced(byte), traced(byte)];
        let err = check_exactly(&twice, &watched, &[one]).unwrap_err();
        assert!(err.contains("was repeated 2 times"), "{err}");
        let extra = [
            traced(byte),
            traced("memory_region_ops_read cpu 0 mr 0x1 addr 0xff000000 value 0x0 size 4 name 'pc-testdev-iomem'"),
        ];
        let err = check_exactly(&extra, &watched, &[one]).unwrap_err();
        assert!(
            err.contains(
                "a read of 4 bytes at 0xff000000 (0x0) in pc-testdev-iomem that was not asked for"
            ),
            "{err}"
        );
        // a missing access, another value, and devices not watched are ignored
        assert!(check_exactly(&[], &watched, &[one])
            .unwrap_err()
            .contains("is missing"));
        let other = [traced(&byte.replace("0x5a", "0x5b"))];
        assert!(check_exactly(&other, &watched, &[one])
            .unwrap_err()
            .contains("moved another value"));
        let serial = parse_trace(LINES);
        assert!(check_exactly(&serial[2..3], &watched, &[]).is_ok());
    }

    #[test]
    fn the_serial_output_is_the_bytes_written_to_the_transmit_register() {
        let line = |addr: u64, value: u8| {
            format!("memory_region_ops_write cpu 0 mr 0x1 addr {addr:#x} value {value:#x} size 1 name 'serial'\n")
        };
        let text = format!(
            "{}{}{}{LINES}{}",
            line(0x3f8, b'o'),
            line(0x3f9, b'x'), // the interrupt enable register: no output
            line(0x3f8, b'k'),
            line(0x3f8, b'\n')
        );
        assert_eq!(serial_output(&text), "ok\n");
        assert_eq!(serial_output(LINES), "");
    }

    #[test]
    fn marks_cut_the_trace_into_steps() {
        let mark = |value: u64| {
            format!("memory_region_ops_write cpu 0 mr 0x1 addr 0xff00fffc value {value:#x} size 4 name 'pc-testdev-iomem'\n")
        };
        let text = format!(
            "{}{}{}{}{}",
            mark(MARK_BEGIN + 1),
            LINES,
            mark(MARK_END + 1),
            mark(MARK_BEGIN + 2),
            mark(MARK_END + 2)
        );
        let all = parse_trace(&text);
        assert_eq!(step(&all, 1).unwrap().len(), 4);
        assert_eq!(step(&all, 2).unwrap(), []);
        assert_eq!(step(&all, 3), None);
        let twice = format!("{text}{}", mark(MARK_BEGIN + 2));
        assert_eq!(step(&parse_trace(&twice), 2), None);
    }
}
