//! Binary `NetParameter` and `BlobProto` decoding (protobuf's wire format, as
//! Caffe's `ReadProtoFromBinaryFile` reads it): each blob's packed floats are
//! read straight into their final buffer, every other field is copied out and
//! decoded by prost, and every length and count is checked against its
//! enclosing message and the [`Limits`] before anything is allocated.

use std::io::BufRead;
use std::path::Path;

use prost::encoding::{encode_key, encode_varint, WireType};
use prost::Message;

use super::{field, Float, WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT};
use crate::error::{Error, Location, Result};
use crate::limits::{Limit, Limits};
use crate::proto::{BlobProto, KeptField, LayerParameter, NetParameter, V1LayerParameter};

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

    /// A layer, read as BVLC's schema reads it where it can. Fields numbered
    /// from 100 hold the params of a layer type, where Caffe's dialects
    /// differ (147 is BVLC's `swish_param` and OpenCV's
    /// `detection_output_param`); one that this schema does not know, or that
    /// does not decode as the field of that number here, is kept on the layer
    /// as its wire bytes (a `KeptField`) and written back as it was. Caffe
    /// takes only a weight file's layer names and blobs, so such a field
    /// changes nothing that is computed. Below 100 lie Caffe's own fields
    /// (name, type, bottoms, blobs, ...): a field there that does not decode
    /// is corruption, and an error.
    fn layer(&mut self, end: u64, index: usize) -> Result<LayerParameter> {
        let start = self.pos;
        let mut fields = Vec::new();
        let (small, blobs) =
            self.message_with_blobs(end, field::LAYER_BLOBS, index, Some(&mut fields), |b: &[u8]| {
                LayerParameter::decode(b).ok().and_then(|l| l.name)
            })?;
        let name_ctx = || format!("layer {index}: ");
        let known = crate::text::message("LayerParameter");
        let field_bytes = |i: usize, at: usize| &small[at..fields.get(i + 1).map_or(small.len(), |&(_, next)| next)];
        let in_schema = |number: u32| number != field::KEPT && known.get_field(number).is_some();
        // The common case, every field BVLC's: one decode of the whole.
        if fields.iter().all(|&(number, _)| in_schema(number)) {
            if let Ok(mut layer) = LayerParameter::decode(small.as_slice()) {
                layer.blobs = blobs;
                return Ok(layer);
            }
        }
        let mut layer = LayerParameter::default();
        let mut kept = Vec::new();
        for (i, &(number, at)) in fields.iter().enumerate() {
            let bytes = field_bytes(i, at);
            let readable = in_schema(number) && LayerParameter::decode(bytes).is_ok();
            if number < field::FIRST_LAYER_PARAM || readable {
                layer = self.merge(layer, bytes, &name_ctx, start)?;
            } else {
                kept.push(KeptField {
                    parent: Some(String::new()),
                    number: Some(number),
                    wire: Some(bytes.to_vec()),
                    ..Default::default()
                });
            }
        }
        layer.kept_field = kept;
        layer.blobs = blobs;
        Ok(layer)
    }

    fn merge<M: Message>(&self, mut msg: M, bytes: &[u8], ctx: &dyn Fn() -> String, start: u64) -> Result<M> {
        msg.merge(bytes).map_err(|e| Error::Binary {
            path: self.path.to_path_buf(),
            location: Location::Byte(start),
            context: ctx(),
            message: format!("invalid field: {e}"),
        })?;
        Ok(msg)
    }

    fn v1_layer(&mut self, end: u64, index: usize) -> Result<V1LayerParameter> {
        let start = self.pos;
        let (small, blobs) = self.message_with_blobs(end, field::V1_LAYER_BLOBS, index, None, |b: &[u8]| {
            V1LayerParameter::decode(b).ok().and_then(|l| l.name)
        })?;
        let name_ctx = || format!("layers {index}: ");
        let mut layer: V1LayerParameter = self.finish(&small, &name_ctx, start)?;
        layer.blobs = blobs;
        Ok(layer)
    }

    /// Splits a layer message into its small fields (raw) and its decoded
    /// blobs; `fields`, when given, gets each small field's number and offset.
    fn message_with_blobs(
        &mut self,
        end: u64,
        blob_field: u32,
        index: usize,
        mut fields: Option<&mut Vec<(u32, usize)>>,
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
                if let Some(fields) = fields.as_deref_mut() {
                    fields.push((number, small.len()));
                }
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
