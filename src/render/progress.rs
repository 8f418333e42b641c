// SPDX-License-Identifier: MIT OR Apache-2.0
//! A hand-drawn progress bar on stderr for long scans, shown only when stderr is a terminal.
//!
//! [`render`] is a pure function of the counts; [`Progress`] redraws at most ten times a
//! second and erases the line when done, so piped or redirected output never sees it.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Width of the bar itself, in cells.
const BAR_CELLS: usize = 30;
/// Scans shorter than this never show a bar.
const SHOW_AFTER: Duration = Duration::from_millis(300);
const REDRAW_EVERY: Duration = Duration::from_millis(100);

/// One line of progress: `label [#####.....]  42% 123/456 unit`.
pub(crate) fn render(label: &str, done: u64, total: u64, unit: &str) -> String {
    let fraction = if total == 0 {
        1.0
    } else {
        (done.min(total) as f64) / (total as f64)
    };
    let filled = ((fraction * BAR_CELLS as f64).round() as usize).min(BAR_CELLS);
    format!(
        "{label} [{}{}] {:3.0}% {done}/{total} {unit}",
        "#".repeat(filled),
        ".".repeat(BAR_CELLS - filled),
        fraction * 100.0
    )
}

/// A progress bar that is a no-op unless stderr is a terminal.
pub(crate) struct Progress {
    label: String,
    unit: &'static str,
    total: u64,
    done: u64,
    enabled: bool,
    started: Instant,
    last_draw: Option<Instant>,
}

impl Progress {
    pub(crate) fn new(label: impl Into<String>, total: u64, unit: &'static str) -> Self {
        Progress {
            label: label.into(),
            unit,
            total,
            done: 0,
            enabled: std::io::stderr().is_terminal(),
            started: Instant::now(),
            last_draw: None,
        }
    }

    /// Records `n` more units done and redraws if it is time.
    pub(crate) fn advance(&mut self, n: u64) {
        self.done = self.done.saturating_add(n);
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.started) < SHOW_AFTER {
            return;
        }
        if self
            .last_draw
            .is_some_and(|last| now.duration_since(last) < REDRAW_EVERY)
        {
            return;
        }
        self.last_draw = Some(now);
        let line = render(&self.label, self.done, self.total, self.unit);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        let _ = err.flush();
    }

    /// Erases the bar (if one was drawn).
    pub(crate) fn finish(&mut self) {
        if self.last_draw.take().is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_bar_proportional_to_the_work_done() {
        assert_eq!(
            render("scan", 50, 100, "pages"),
            format!(
                "scan [{}{}]  50% 50/100 pages",
                "#".repeat(15),
                ".".repeat(15)
            )
        );
        assert!(render("scan", 0, 0, "x").contains("100%"));
        assert!(render("scan", 7, 5, "x").contains(&"#".repeat(30)));
    }
}
