// SPDX-License-Identifier: MIT OR Apache-2.0
//! Fuzz target: pagemap entries and kpageflags words, any 64-bit value. Decoding and
//! rendering (names, JSON) never panic, and the decoded fields agree with one another.
#![no_main]

use libfuzzer_sys::fuzz_target;
use physdemo::kernel::addr::{PageSize, VirtAddr};
use physdemo::kernel::kpageflags::KpageFlags;
use physdemo::kernel::pagemap::{PagemapEntry, PagemapJson};

fuzz_target!(|data: &[u8]| {
    let mut word = [0u8; 8];
    let n = data.len().min(8);
    word[..n].copy_from_slice(&data[..n]);
    let raw = u64::from_le_bytes(word);
    let entry = PagemapEntry(raw);
    if entry.pfn().is_some() {
        assert!(entry.present() && !entry.swapped());
    }
    if entry.swapped() {
        assert!(entry.pfn().is_none());
    }
    assert_eq!(entry.present(), raw >> 63 == 1);
    let names = entry.flag_names();
    assert_eq!(names.contains(&"present"), entry.present());
    let json = serde_json::to_string(&PagemapJson::from(entry)).expect("serializes");
    assert!(json.starts_with('{'));
    let flags = KpageFlags(raw);
    let _ = flags.names();
    let _ = flags.huge_kind();
    let page = PageSize::of_system();
    if let Some(pfn) = entry.pfn() {
        if let Some(paddr) = page.phys_addr(pfn, page.offset_in_page(raw)) {
            assert_eq!(page.pfn_of(paddr), pfn);
        }
    }
    let _ = page.page_index(VirtAddr(raw));
});
