// SPDX-License-Identifier: MIT OR Apache-2.0
//! The CLOCK_MONOTONIC clock, read with `clock_gettime` (std's `Instant` hides its value).

/// The CLOCK_MONOTONIC time in nanoseconds: the clock target and poke both print, so the
/// reaction latency is the difference of the two.
pub(crate) fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monotonic_clock_moves_forward() {
        let first = monotonic_ns();
        assert!(monotonic_ns() >= first && first > 0);
    }
}
