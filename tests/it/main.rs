//! The integration tests of this package, one module per subject, in one
//! test binary (a binary per file would link the whole dependency tree each time).

mod bad_files;
mod cli;
mod common;
mod custom_layer;
mod demo;
mod full_conv_caffenet;
mod fuzz_corpus;
mod golden;
mod heatmap;
mod library_api;
mod spatial;
mod split_conv;
mod to_caffe;
mod zoo_opencv;
