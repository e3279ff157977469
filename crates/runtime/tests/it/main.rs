//! The integration tests of this package, one module per subject, in one
//! test binary (a binary per file would link the whole dependency tree each time).

mod common;
mod ort_check;
mod session;
