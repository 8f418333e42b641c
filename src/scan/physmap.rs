// SPDX-License-Identifier: MIT OR Apache-2.0
//! The engine of `physdemo physmap`: every frame of every System RAM range, its
//! `/proc/kpageflags` word read in large batches and classified into cells
//! ([`crate::kernel::frame_class::RamGrid`]), and the frames a process maps.
//!
//! The kernel computes each frame's flags as it is read, which is the cost of the whole
//! command; so one thread reads the next batch while this one classifies the last (two
//! buffers going back and forth), and the classification never waits on the kernel nor the
//! kernel on it.

use std::sync::mpsc::sync_channel;

use anyhow::Result;

use crate::kernel::addr::{PageSize, Pfn};
use crate::kernel::frame_class::{Classifier, RamGrid};
use crate::proc::kpage::KpageflagsFile;
use crate::proc::pagemap::PagemapFile;
use crate::proc::process::UserProcess;
use crate::scan::{populated_pages, scan_range, FrameWants};

/// Frames per read of kpageflags: 256 Ki words, 2 MiB.
const READ_FRAMES: usize = 256 * 1024;

/// Reads the flags of every frame in `ranges` (`[first, end)` frame numbers, in increasing
/// order) and counts them into one grid per range, `cell_frames` frames a cell.
pub(crate) fn read_grids(
    file: &KpageflagsFile,
    ranges: &[(u64, u64)],
    cell_frames: u64,
) -> Result<Vec<RamGrid>> {
    let mut grids: Vec<RamGrid> = ranges
        .iter()
        .map(|&(first, end)| RamGrid::new(first, end, cell_frames))
        .collect();
    // The batches to read, in order: (grid, first frame, frames).
    let batches: Vec<(usize, u64, usize)> = ranges
        .iter()
        .enumerate()
        .flat_map(|(grid, &(first, end))| {
            (first..end)
                .step_by(READ_FRAMES)
                .map(move |at| (grid, at, (end - at).min(READ_FRAMES as u64) as usize))
        })
        .collect();
    std::thread::scope(|scope| -> Result<()> {
        let (full_tx, full_rx) = sync_channel::<Result<(usize, u64, Vec<u64>)>>(1);
        let (empty_tx, empty_rx) = sync_channel::<Vec<u64>>(2);
        empty_tx.send(vec![0; READ_FRAMES])?;
        empty_tx.send(vec![0; READ_FRAMES])?;
        scope.spawn(move || {
            for &(grid, first, len) in &batches {
                let Ok(mut buffer) = empty_rx.recv() else {
                    return;
                };
                let read = file.read(Pfn(first), &mut buffer[..len]).map(|_| ());
                let failed = read.is_err();
                if full_tx.send(read.map(|()| (grid, first, buffer))).is_err() || failed {
                    return;
                }
            }
        });
        let mut classifier = (usize::MAX, Classifier::default());
        for batch in full_rx {
            let (grid, first, buffer) = batch?;
            if classifier.0 != grid {
                classifier = (grid, Classifier::default());
            }
            let target = &mut grids[grid];
            let len = (target.end_pfn - first).min(READ_FRAMES as u64) as usize;
            target.add_words(first, &buffer[..len], cell_frames, &mut classifier.1);
            // The reader may have finished already: a closed channel is no error.
            let _ = empty_tx.send(buffer);
        }
        Ok(())
    })?;
    Ok(grids)
}

/// Every frame `process` maps (its present pages with a visible frame), sorted, each once.
pub(crate) fn process_frames(process: &UserProcess, page: PageSize) -> Result<Vec<u64>> {
    let pagemap = PagemapFile::open(process.pid)?;
    let wants = FrameWants {
        flags: false,
        counts: false,
    };
    let mut frames = Vec::new();
    for map in &process.maps {
        if pagemap
            .entry_if_covered(map.address.0 >> page.shift())?
            .is_none()
        {
            continue; // the vsyscall page: above what pagemap covers
        }
        let populated = populated_pages(&pagemap, page, map.address.0, map.address.1, true)?;
        for (first, end) in populated.ranges {
            scan_range(&pagemap, None, wants, first, end, |batch| {
                frames.extend(batch.entries.iter().filter_map(|e| e.pfn()).map(|p| p.0));
                Ok(true)
            })?;
        }
    }
    frames.sort_unstable();
    frames.dedup();
    Ok(frames)
}
