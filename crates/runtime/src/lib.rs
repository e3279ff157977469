//! Execution with tract (work in progress).
