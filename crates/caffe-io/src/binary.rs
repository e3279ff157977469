//! `.caffemodel` (binary `NetParameter`) decoding and encoding that streams the
//! weights: packed float data goes from the file straight into its final
//! `Vec<f32>` (and from the slice straight to the file when writing), while the
//! small fields of each message are handed to prost.
//!
//! Every length prefix is checked against the bytes that remain in its
//! enclosing message before anything is allocated, so a hostile length field
//! yields an error, never a huge allocation.

use std::borrow::Cow;
use std::io::{BufRead, Write};
use std::path::Path;

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};
use prost::Message;

use crate::error::{Error, Location, Result};
use crate::limits::{Limit, Limits};
use crate::proto::{BlobProto, LayerParameter, NetParameter, V1LayerParameter};

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
}

const WIRE_VARINT: u8 = 0;
const WIRE_I64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_I32: u8 = 5;

/// Decodes a whole binary `NetParameter` held in memory.
pub fn decode_net(bytes: &[u8], path: &Path, limits: &Limits) -> Result<NetParameter> {
    let mut reader = WireReader::new(bytes, path, limits);
    reader.net(bytes.len() as u64)
}

/// Decodes a binary `NetParameter` of `len` bytes from a buffered reader, reading
/// each weight blob directly into its own buffer: peak memory is the decoded
/// weights plus the reader's buffer.
pub fn read_net<R: BufRead>(reader: R, len: u64, path: &Path, limits: &Limits) -> Result<NetParameter> {
    WireReader::new(reader, path, limits).net(len)
}

/// Decodes a single `BlobProto` (the `.binaryproto` mean file format).
pub fn decode_blob(bytes: &[u8], path: &Path, limits: &Limits) -> Result<BlobProto> {
    let mut reader = WireReader::new(bytes, path, limits);
    let blob = reader.blob(bytes.len() as u64, &|| String::new())?;
    Ok(blob)
}

struct WireReader<'p, R> {
    inner: R,
    pos: u64,
    path: &'p Path,
    limits: &'p Limits,
    /// Bytes of blob values read so far, against `limits.max_weight_bytes`.
    weight_bytes: u64,
}

impl<'p, R: BufRead> WireReader<'p, R> {
    fn new(inner: R, path: &'p Path, limits: &'p Limits) -> Self {
        WireReader {
            inner,
            pos: 0,
            path,
            limits,
            weight_bytes: 0,
        }
    }

    fn check_limit(&self, limit: Limit, found: u64, ctx: &dyn Fn() -> String) -> Result<()> {
        self.limits.check(limit, found).map_err(|exceeded| Error::Limit {
            path: self.path.to_path_buf(),
            location: Location::Byte(self.pos),
            context: ctx(),
            exceeded,
        })
    }

    fn error(&self, context: String, message: impl Into<String>) -> Error {
        Error::Binary {
            path: self.path.to_path_buf(),
            location: Location::Byte(self.pos),
            context,
            message: message.into(),
        }
    }

    fn io_error(&self, context: String, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            self.error(context, "the file ends in the middle of a message (truncated?)")
        } else {
            Error::io(self.path, "read", e)
        }
    }

    fn read_exact(&mut self, buf: &mut [u8], ctx: &dyn Fn() -> String) -> Result<()> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.pos += buf.len() as u64;
                Ok(())
            }
            Err(e) => Err(self.io_error(ctx(), e)),
        }
    }

    fn varint(&mut self, ctx: &dyn Fn() -> String) -> Result<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let mut byte = [0u8];
            self.read_exact(&mut byte, ctx)?;
            let b = byte[0];
            if i == 9 && b > 1 {
                return Err(self.error(ctx(), "varint is longer than 64 bits"));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(value);
            }
        }
        Err(self.error(ctx(), "varint is longer than 10 bytes"))
    }

    /// Reads a field key; returns (field number, wire type).
    fn key(&mut self, ctx: &dyn Fn() -> String) -> Result<(u32, u8)> {
        let key = self.varint(ctx)?;
        if key > u64::from(u32::MAX) {
            return Err(self.error(ctx(), format!("field key {key} is out of range")));
        }
        let number = (key >> 3) as u32;
        let wire = (key & 7) as u8;
        if number == 0 {
            return Err(self.error(ctx(), "field number 0 is invalid (corrupt data?)"));
        }
        Ok((number, wire))
    }

    /// Reads a length prefix and checks that it fits in the enclosing message.
    fn length(&mut self, end: u64, ctx: &dyn Fn() -> String) -> Result<u64> {
        let len = self.varint(ctx)?;
        let remaining = end.saturating_sub(self.pos);
        if len > remaining {
            return Err(self.error(
                ctx(),
                format!("length prefix {len} exceeds the {remaining} bytes left in the enclosing message (truncated or corrupt file?)"),
            ));
        }
        Ok(len)
    }

    /// Copies one field (whose key was just read) into `out`, re-encoded, so that
    /// prost can decode the small fields of a message in one go.
    fn copy_field(
        &mut self,
        number: u32,
        wire: u8,
        end: u64,
        out: &mut Vec<u8>,
        ctx: &dyn Fn() -> String,
    ) -> Result<()> {
        let wire_type = match wire {
            WIRE_VARINT => WireType::Varint,
            WIRE_I64 => WireType::SixtyFourBit,
            WIRE_LEN => WireType::LengthDelimited,
            WIRE_I32 => WireType::ThirtyTwoBit,
            3 | 4 => {
                return Err(self.error(
                    ctx(),
                    format!("field {number} uses protobuf groups, which caffe.proto never uses (corrupt data?)"),
                ))
            }
            other => {
                return Err(self.error(
                    ctx(),
                    format!("field {number} has invalid wire type {other} (corrupt data?)"),
                ))
            }
        };
        encode_key(number, wire_type, out);
        match wire {
            WIRE_VARINT => {
                let v = self.varint(ctx)?;
                encode_varint(v, out);
            }
            WIRE_I64 | WIRE_I32 => {
                let n = if wire == WIRE_I64 { 8 } else { 4 };
                if end.saturating_sub(self.pos) < n {
                    return Err(self.error(ctx(), "a fixed-size field runs past the end of its message"));
                }
                let start = out.len();
                out.resize(start + n as usize, 0);
                self.read_exact(&mut out[start..], ctx)?;
            }
            _ => {
                let len = self.length(end, ctx)?;
                encode_varint(len, out);
                let start = out.len();
                out.resize(start + len as usize, 0);
                self.read_exact(&mut out[start..], ctx)?;
            }
        }
        Ok(())
    }

    fn finish<M: Message + Default>(&self, small: &[u8], ctx: &dyn Fn() -> String, start: u64) -> Result<M> {
        M::decode(small).map_err(|e| Error::Binary {
            path: self.path.to_path_buf(),
            location: Location::Byte(start),
            context: ctx(),
            message: format!("invalid field: {e}"),
        })
    }

    fn net(&mut self, end: u64) -> Result<NetParameter> {
        let mut small = Vec::new();
        let mut layers = Vec::new();
        let mut v1_layers = Vec::new();
        let start = self.pos;
        let ctx = || String::new();
        while self.pos < end {
            let (number, wire) = self.key(&ctx)?;
            match (number, wire) {
                (field::NET_LAYER, WIRE_LEN) => {
                    self.check_limit(Limit::Layers, (layers.len() + v1_layers.len() + 1) as u64, &ctx)?;
                    let len = self.length(end, &ctx)?;
                    let index = layers.len();
                    layers.push(self.layer(self.pos + len, index)?);
                }
                (field::NET_LAYERS_V1, WIRE_LEN) => {
                    self.check_limit(Limit::Layers, (layers.len() + v1_layers.len() + 1) as u64, &ctx)?;
                    let len = self.length(end, &ctx)?;
                    let index = v1_layers.len();
                    v1_layers.push(self.v1_layer(self.pos + len, index)?);
                }
                _ => self.copy_field(number, wire, end, &mut small, &ctx)?,
            }
        }
        if self.pos != end {
            return Err(self.error(String::new(), "a field runs past the end of the file"));
        }
        let mut net: NetParameter = self.finish(&small, &ctx, start)?;
        net.layer = layers;
        net.layers = v1_layers;
        Ok(net)
    }

    fn layer(&mut self, end: u64, index: usize) -> Result<LayerParameter> {
        let start = self.pos;
        let (small, blobs) = self.message_with_blobs(end, field::LAYER_BLOBS, index, |b: &[u8]| {
            LayerParameter::decode(b).ok().and_then(|l| l.name)
        })?;
        let name_ctx = || format!("layer {index}: ");
        let mut layer: LayerParameter = self.finish(&small, &name_ctx, start)?;
        layer.blobs = blobs;
        Ok(layer)
    }

    fn v1_layer(&mut self, end: u64, index: usize) -> Result<V1LayerParameter> {
        let start = self.pos;
        let (small, blobs) = self.message_with_blobs(end, field::V1_LAYER_BLOBS, index, |b: &[u8]| {
            V1LayerParameter::decode(b).ok().and_then(|l| l.name)
        })?;
        let name_ctx = || format!("layers {index}: ");
        let mut layer: V1LayerParameter = self.finish(&small, &name_ctx, start)?;
        layer.blobs = blobs;
        Ok(layer)
    }

    /// Splits a layer message into its small fields (raw) and its decoded blobs.
    fn message_with_blobs(
        &mut self,
        end: u64,
        blob_field: u32,
        index: usize,
        name_of: impl Fn(&[u8]) -> Option<String>,
    ) -> Result<(Vec<u8>, Vec<BlobProto>)> {
        let mut small = Vec::new();
        let mut blobs = Vec::new();
        let ctx = || format!("layer {index}: ");
        while self.pos < end {
            let (number, wire) = self.key(&ctx)?;
            if number == blob_field && wire == WIRE_LEN {
                let len = self.length(end, &ctx)?;
                // Caffe writes a layer's name before its blobs, so errors can name it.
                let name = name_of(&small).unwrap_or_default();
                let blob_index = blobs.len();
                let blob_ctx = || format!("layer {index} '{name}', blob {blob_index}: ");
                blobs.push(self.blob(self.pos + len, &blob_ctx)?);
            } else {
                self.copy_field(number, wire, end, &mut small, &ctx)?;
            }
        }
        if self.pos != end {
            return Err(self.error(ctx(), "a field runs past the end of the layer"));
        }
        Ok((small, blobs))
    }

    fn blob(&mut self, end: u64, ctx: &dyn Fn() -> String) -> Result<BlobProto> {
        let start = self.pos;
        let mut small = Vec::new();
        let (mut data, mut diff) = (Vec::new(), Vec::new());
        let (mut double_data, mut double_diff) = (Vec::new(), Vec::new());
        while self.pos < end {
            let (number, wire) = self.key(ctx)?;
            match (number, wire) {
                (field::BLOB_DATA, WIRE_LEN) => self.packed(end, &mut data, ctx)?,
                (field::BLOB_DIFF, WIRE_LEN) => self.packed(end, &mut diff, ctx)?,
                (field::BLOB_DOUBLE_DATA, WIRE_LEN) => self.packed(end, &mut double_data, ctx)?,
                (field::BLOB_DOUBLE_DIFF, WIRE_LEN) => self.packed(end, &mut double_diff, ctx)?,
                // Unpacked repeated floats are legal protobuf; rare, so slow is fine.
                (field::BLOB_DATA, WIRE_I32) => data.push(self.fixed(end, ctx)?),
                (field::BLOB_DIFF, WIRE_I32) => diff.push(self.fixed(end, ctx)?),
                (field::BLOB_DOUBLE_DATA, WIRE_I64) => double_data.push(self.fixed(end, ctx)?),
                (field::BLOB_DOUBLE_DIFF, WIRE_I64) => double_diff.push(self.fixed(end, ctx)?),
                _ => self.copy_field(number, wire, end, &mut small, ctx)?,
            }
        }
        if self.pos != end {
            return Err(self.error(ctx(), "a field runs past the end of the blob"));
        }
        let mut blob: BlobProto = self.finish(&small, ctx, start)?;
        blob.data = data;
        blob.diff = diff;
        blob.double_data = double_data;
        blob.double_diff = double_diff;
        Ok(blob)
    }

    /// One unpacked little-endian value (a repeated float written without packing).
    fn fixed<T: Float>(&mut self, end: u64, ctx: &dyn Fn() -> String) -> Result<T> {
        if end.saturating_sub(self.pos) < T::SIZE as u64 {
            return Err(self.error(ctx(), format!("a {} runs past the end of the blob", T::NAME)));
        }
        self.weight_bytes += T::SIZE as u64;
        self.check_limit(Limit::WeightBytes, self.weight_bytes, ctx)?;
        let mut v = T::default();
        self.read_exact(bytemuck::bytes_of_mut(&mut v), ctx)?;
        Ok(v.swap_le())
    }

    /// Packed little-endian values, read straight into their final buffer.
    fn packed<T: Float>(&mut self, end: u64, out: &mut Vec<T>, ctx: &dyn Fn() -> String) -> Result<()> {
        let len = self.length(end, ctx)?;
        if len % T::SIZE as u64 != 0 {
            return Err(self.error(
                ctx(),
                format!(
                    "packed {} data of {len} bytes is not a whole number of {}s",
                    T::NAME,
                    T::NAME
                ),
            ));
        }
        let n = (len / T::SIZE as u64) as usize;
        let start = out.len();
        // Checked before the buffer is reserved: a genuine file this big needs a raised limit.
        self.check_limit(Limit::BlobElements, (start + n) as u64, ctx)?;
        self.weight_bytes += len;
        self.check_limit(Limit::WeightBytes, self.weight_bytes, ctx)?;
        if start == 0 {
            // A fresh zeroed allocation comes from the OS already zeroed: no memset.
            *out = vec![T::default(); n];
        } else {
            out.resize(start + n, T::default());
        }
        self.read_exact(bytemuck::cast_slice_mut(&mut out[start..]), ctx)?;
        if cfg!(target_endian = "big") {
            for v in &mut out[start..] {
                *v = v.swap_le();
            }
        }
        Ok(())
    }
}

// ------------------------------------------------------------------ encoding

/// A blob as the encoder sees it: its small fields (shape, legacy dims) and its
/// values, borrowed where possible so that writing a model copies no weights.
#[derive(Debug, Clone)]
pub struct BlobRef<'a> {
    /// Shape and legacy dims; its data fields are ignored.
    pub header: BlobProto,
    pub data: Cow<'a, [f32]>,
    pub diff: Cow<'a, [f32]>,
    pub double_data: Cow<'a, [f64]>,
    pub double_diff: Cow<'a, [f64]>,
}

impl<'a> BlobRef<'a> {
    /// Borrows a decoded blob.
    pub fn of(blob: &'a BlobProto) -> Self {
        BlobRef {
            header: blob_small(blob),
            data: Cow::Borrowed(&blob.data),
            diff: Cow::Borrowed(&blob.diff),
            double_data: Cow::Borrowed(&blob.double_data),
            double_diff: Cow::Borrowed(&blob.double_diff),
        }
    }

    /// Borrows an array (copied only if it is not in standard layout), with a
    /// modern `shape`.
    pub fn from_array(array: ndarray::ArrayViewD<'a, f32>) -> Self {
        let header = BlobProto {
            shape: Some(crate::proto::BlobShape {
                dim: array.shape().iter().map(|&d| d as i64).collect(),
            }),
            ..Default::default()
        };
        let data = match array.to_slice() {
            Some(slice) => Cow::Borrowed(slice),
            None => Cow::Owned(array.iter().copied().collect()),
        };
        BlobRef {
            header,
            data,
            diff: Cow::Borrowed(&[]),
            double_data: Cow::Borrowed(&[]),
            double_diff: Cow::Borrowed(&[]),
        }
    }

    fn encoded_len(&self) -> u64 {
        self.header.encoded_len() as u64
            + packed_len(field::BLOB_DATA, 4 * self.data.len() as u64)
            + packed_len(field::BLOB_DIFF, 4 * self.diff.len() as u64)
            + packed_len(field::BLOB_DOUBLE_DATA, 8 * self.double_data.len() as u64)
            + packed_len(field::BLOB_DOUBLE_DIFF, 8 * self.double_diff.len() as u64)
    }

    fn write<W: Write>(&self, w: &mut W) -> std::io::Result<()> {
        let small = self.header.encode_to_vec();
        // Fields 1-4 (legacy dims) come before data; field 7 (shape) after diff.
        let split = split_point(&small, field::BLOB_DIFF);
        w.write_all(&small[..split])?;
        write_packed(w, field::BLOB_DATA, &self.data)?;
        write_packed(w, field::BLOB_DIFF, &self.diff)?;
        w.write_all(&small[split..])?;
        write_packed(w, field::BLOB_DOUBLE_DATA, &self.double_data)?;
        write_packed(w, field::BLOB_DOUBLE_DIFF, &self.double_diff)
    }
}

/// The number of bytes [`write_net`] writes for `net`.
pub fn encoded_net_len(net: &NetParameter) -> u64 {
    let shell = net_shell(net).encoded_len() as u64;
    let v1: u64 = net
        .layers
        .iter()
        .map(|l| {
            framed_len(
                field::NET_LAYERS_V1,
                layer_body_len(
                    &l.clone_without_blobs().encode_to_vec(),
                    field::V1_LAYER_BLOBS,
                    &blob_refs(&l.blobs),
                ),
            )
        })
        .sum();
    let v2: u64 = net
        .layer
        .iter()
        .map(|l| {
            framed_len(
                field::NET_LAYER,
                layer_body_len(
                    &l.clone_without_blobs().encode_to_vec(),
                    field::LAYER_BLOBS,
                    &blob_refs(&l.blobs),
                ),
            )
        })
        .sum();
    shell + v1 + v2
}

fn blob_refs(blobs: &[BlobProto]) -> Vec<BlobRef<'_>> {
    blobs.iter().map(BlobRef::of).collect()
}

/// Writes `net` as a binary `NetParameter` in the field order Caffe writes
/// (fields by number, so a model Caffe saved is reproduced byte for byte),
/// streaming each blob's floats from memory to `w` without a copy.
pub fn write_net<W: Write>(net: &NetParameter, w: &mut W) -> std::io::Result<()> {
    write_net_with(net, |i, _| blob_refs(&net.layer[i].blobs), w)
}

/// As [`write_net`], but the blobs of layer `i` (of `net.layer`) come from
/// `blobs(i, layer)` instead of `layer.blobs`: a caller that keeps its weights
/// elsewhere (e.g. as arrays) writes them without building a second copy.
pub fn write_net_with<'a, W, F>(net: &NetParameter, blobs: F, w: &mut W) -> std::io::Result<()>
where
    W: Write,
    F: Fn(usize, &LayerParameter) -> Vec<BlobRef<'a>>,
{
    let shell = net_shell(net).encode_to_vec();
    let split = split_point(&shell, field::NET_LAYERS_V1);
    w.write_all(&shell[..split])?;
    for layer in &net.layers {
        let shell = layer.clone_without_blobs().encode_to_vec();
        write_framed_layer(
            w,
            field::NET_LAYERS_V1,
            &shell,
            field::V1_LAYER_BLOBS,
            &blob_refs(&layer.blobs),
        )?;
    }
    w.write_all(&shell[split..])?;
    for (i, layer) in net.layer.iter().enumerate() {
        let shell = layer.clone_without_blobs().encode_to_vec();
        write_framed_layer(w, field::NET_LAYER, &shell, field::LAYER_BLOBS, &blobs(i, layer))?;
    }
    Ok(())
}

/// Encodes one `BlobProto` (the `.binaryproto` format).
pub fn write_blob<W: Write>(blob: &BlobProto, w: &mut W) -> std::io::Result<()> {
    BlobRef::of(blob).write(w)
}

fn net_shell(net: &NetParameter) -> NetParameter {
    NetParameter {
        name: net.name.clone(),
        layers: Vec::new(),
        input: net.input.clone(),
        input_dim: net.input_dim.clone(),
        force_backward: net.force_backward,
        state: net.state.clone(),
        debug_info: net.debug_info,
        input_shape: net.input_shape.clone(),
        layer: Vec::new(),
    }
}

fn framed_len(number: u32, body: u64) -> u64 {
    key_len(number) + encoded_len_varint(body) as u64 + body
}

fn key_len(number: u32) -> u64 {
    encoded_len_varint(u64::from(number << 3)) as u64
}

fn packed_len(number: u32, bytes: u64) -> u64 {
    if bytes == 0 {
        0
    } else {
        framed_len(number, bytes)
    }
}

fn blob_small(blob: &BlobProto) -> BlobProto {
    BlobProto {
        num: blob.num,
        channels: blob.channels,
        height: blob.height,
        width: blob.width,
        shape: blob.shape.clone(),
        ..Default::default()
    }
}

fn layer_body_len(shell: &[u8], blob_field: u32, blobs: &[BlobRef<'_>]) -> u64 {
    shell.len() as u64
        + blobs
            .iter()
            .map(|b| framed_len(blob_field, b.encoded_len()))
            .sum::<u64>()
}

fn write_framed_layer<W: Write>(
    w: &mut W,
    number: u32,
    shell: &[u8],
    blob_field: u32,
    blobs: &[BlobRef<'_>],
) -> std::io::Result<()> {
    write_header(w, number, layer_body_len(shell, blob_field, blobs))?;
    let split = split_point(shell, blob_field);
    w.write_all(&shell[..split])?;
    for blob in blobs {
        write_header(w, blob_field, blob.encoded_len())?;
        blob.write(w)?;
    }
    w.write_all(&shell[split..])
}

fn write_header<W: Write>(w: &mut W, number: u32, len: u64) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(16);
    encode_key(number, WireType::LengthDelimited, &mut head);
    encode_varint(len, &mut head);
    w.write_all(&head)
}

fn write_packed<W: Write, T: Float>(w: &mut W, number: u32, values: &[T]) -> std::io::Result<()> {
    if values.is_empty() {
        return Ok(());
    }
    write_header(w, number, (T::SIZE * values.len()) as u64)?;
    if cfg!(target_endian = "little") {
        w.write_all(bytemuck::cast_slice(values))
    } else {
        for chunk in values.chunks(16 * 1024) {
            let le: Vec<T> = chunk.iter().map(|v| v.swap_le()).collect();
            w.write_all(bytemuck::cast_slice(&le))?;
        }
        Ok(())
    }
}

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

/// The offset of the first field numbered above `number` in a message that prost
/// encoded (prost writes fields in ascending number order).
fn split_point(mut encoded: &[u8], number: u32) -> usize {
    use prost::encoding::decode_varint;
    let total = encoded.len();
    while !encoded.is_empty() {
        let here = total - encoded.len();
        let Ok(key) = decode_varint(&mut encoded) else {
            return here;
        };
        if (key >> 3) as u32 > number {
            return here;
        }
        let skip = match (key & 7) as u8 {
            WIRE_VARINT => {
                if decode_varint(&mut encoded).is_err() {
                    return total;
                }
                0
            }
            WIRE_I64 => 8,
            WIRE_I32 => 4,
            _ => match decode_varint(&mut encoded) {
                Ok(len) => len as usize,
                Err(_) => return total,
            },
        };
        encoded = &encoded[skip.min(encoded.len())..];
    }
    total
}
