// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: classifying kpageflags words into cells. Any words, any first frame and cell
//! size: counting them in two pieces never panics, every frame lands in exactly one class of
//! one cell, no cell holds more than its size, a cell has a dominant class exactly when it
//! holds a frame, and a frame that is no compound page gets the class of its own flags.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::kernel::frame_class::{classify, Classifier, RamGrid};

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let first = u64::from(u16::from_le_bytes([data[0], data[1]])) * 3;
    let cell = u64::from(data[2] % 64) + 1;
    let split = usize::from(data[3]);
    let words: Vec<u64> = data[4..]
        .chunks(8)
        .map(|c| {
            let mut word = [0u8; 8];
            word[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(word)
        })
        .collect();
    if words.is_empty() {
        return;
    }
    let end = first + words.len() as u64;
    let mut grid = RamGrid::new(first, end, cell);
    let mut classifier = Classifier::default();
    let split = split.min(words.len());
    grid.add_words(first, &words[..split], cell, &mut classifier);
    grid.add_words(first + split as u64, &words[split..], cell, &mut classifier);
    assert_eq!(grid.totals().total(), words.len() as u64);
    for counts in &grid.cells {
        assert!(counts.total() <= cell);
        assert_eq!(counts.dominant().is_some(), counts.total() > 0);
    }
    let mut again = Classifier::default();
    for &word in &words {
        let class = again.next(word);
        if word & (3 << 15) == 0 {
            assert_eq!(class, classify(word), "{word:#x}");
        }
    }
    for pfn in [first, end - 1, end] {
        assert_eq!(grid.mark(pfn, cell), pfn < end);
    }
});
