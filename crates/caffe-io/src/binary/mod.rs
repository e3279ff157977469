//! `.caffemodel` (binary `NetParameter`) decoding and encoding that streams the
//! weights: packed float data goes from the file straight into its final
//! `Vec<f32>` (and from the slice straight to the file when writing), while the
//! small fields of each message are handed to prost. `decode` reads, `encode`
//! writes; both follow protobuf's wire format for the messages of `caffe.proto`.
//!
//! Every length prefix is checked against the bytes that remain in its
//! enclosing message before anything is allocated, so a hostile length field
//! yields an error, never a huge allocation.

mod decode;
mod encode;

pub use decode::{decode_blob, decode_net, read_net};
pub use encode::{encoded_net_len, write_blob, write_net, write_net_with, BlobRef};

/// Field numbers of `caffe.proto` that the streaming codec handles itself.
mod field {
    pub const NET_LAYERS_V1: u32 = 2;
    pub const NET_LAYER: u32 = 100;
    pub const LAYER_BLOBS: u32 = 7;
    pub const V1_LAYER_BLOBS: u32 = 6;
    pub const BLOB_DATA: u32 = 5;
    pub const BLOB_DIFF: u32 = 6;
    pub const BLOB_DOUBLE_DATA: u32 = 8;
    pub const BLOB_DOUBLE_DIFF: u32 = 9;
    /// LayerParameter's first layer-type param (`transform_param`).
    pub const FIRST_LAYER_PARAM: u32 = 100;
    /// netsurgeon's `kept_field` (never read from a file as such).
    pub const KEPT: u32 = 536_870_911;
}

const WIRE_VARINT: u8 = 0;
const WIRE_I64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_I32: u8 = 5;

/// The value types of packed blob data (f32 `data`/`diff`, f64 `double_*`).
trait Float: bytemuck::Pod + Default {
    const SIZE: usize;
    const NAME: &'static str;
    /// Converts between little-endian storage and native order (either way).
    fn swap_le(self) -> Self;
}

impl Float for f32 {
    const SIZE: usize = 4;
    const NAME: &'static str = "float";
    fn swap_le(self) -> Self {
        f32::from_bits(u32::from_le(self.to_bits()))
    }
}

impl Float for f64 {
    const SIZE: usize = 8;
    const NAME: &'static str = "double";
    fn swap_le(self) -> Self {
        f64::from_bits(u64::from_le(self.to_bits()))
    }
}
