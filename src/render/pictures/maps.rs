//! maps picture (to come)
