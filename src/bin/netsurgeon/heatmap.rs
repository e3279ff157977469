//! `netsurgeon heatmap`: (being written) Caffe-style preprocessing, one
//! full-conv forward, the argmax map and a PNG of a class's probability map.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct HeatmapArgs {
    /// The fully convolutional net definition (.prototxt).
    pub prototxt: PathBuf,
}

pub fn run(_args: &HeatmapArgs, _quiet: bool) -> Result<()> {
    anyhow::bail!("heatmap is not available yet")
}
