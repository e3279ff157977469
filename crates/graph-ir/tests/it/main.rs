//! The integration tests of this package, one module per subject, in one
//! test binary (a binary per file would link the whole dependency tree each time).

mod bad_nets;
mod common;
mod golden;
mod lenet;
mod models;
mod passes;
mod surgery;
