//! translation picture (to come)
