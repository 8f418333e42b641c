// SPDX-License-Identifier: MIT OR Apache-2.0
//! The transparent huge page mode: `/sys/kernel/mm/transparent_hugepage/enabled`, whose one
//! line lists the modes with the selected one in brackets, e.g. `always [madvise] never`
//! (Documentation/admin-guide/mm/transhuge.rst, "Global THP controls").

/// The mode in brackets (`always`, `madvise`, `never`; `inherit` in a per-size file), or
/// `None` when no word is bracketed.
pub fn selected_thp_mode(text: &str) -> Option<&str> {
    text.split_whitespace()
        .find_map(|word| word.strip_prefix('[')?.strip_suffix(']'))
        .filter(|mode| !mode.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_bracketed_mode() {
        assert_eq!(
            selected_thp_mode("always [madvise] never\n"),
            Some("madvise")
        );
        assert_eq!(selected_thp_mode("always madvise [never]"), Some("never"));
        assert_eq!(selected_thp_mode("[always] madvise never"), Some("always"));
        assert_eq!(selected_thp_mode("always madvise never"), None);
        assert_eq!(selected_thp_mode("[] x"), None);
        assert_eq!(selected_thp_mode(""), None);
    }
}
