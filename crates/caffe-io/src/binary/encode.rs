//! Binary `NetParameter` and `BlobProto` encoding in the field order Caffe's
//! `WriteProtoToBinaryFile` writes (fields by number, so a model Caffe saved
//! is reproduced byte for byte), streaming each blob's floats from memory to
//! the writer without a copy.

use std::borrow::Cow;
use std::io::Write;

use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};
use prost::Message;

use super::{field, Float, WIRE_I32, WIRE_I64, WIRE_VARINT};
use crate::proto::{BlobProto, KeptField, LayerParameter, NetParameter};

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
    let shell = net_shell(net).len() as u64;
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
                layer_body_len(&layer_shell(l), field::LAYER_BLOBS, &blob_refs(&l.blobs)),
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
    let shell = net_shell(net);
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
        let shell = layer_shell(layer);
        write_framed_layer(w, field::NET_LAYER, &shell, field::LAYER_BLOBS, &blobs(i, layer))?;
    }
    Ok(())
}

/// Encodes one `BlobProto` (the `.binaryproto` format).
pub fn write_blob<W: Write>(blob: &BlobProto, w: &mut W) -> std::io::Result<()> {
    BlobRef::of(blob).write(w)
}

/// The net's own fields, encoded, with its kept fields spliced in.
fn net_shell(net: &NetParameter) -> Vec<u8> {
    let shell = NetParameter {
        name: net.name.clone(),
        layers: Vec::new(),
        input: net.input.clone(),
        input_dim: net.input_dim.clone(),
        force_backward: net.force_backward,
        state: net.state.clone(),
        debug_info: net.debug_info,
        input_shape: net.input_shape.clone(),
        layer: Vec::new(),
        kept_field: Vec::new(),
    };
    with_kept(shell.encode_to_vec(), &net.kept_field)
}

/// A layer's fields but its blobs, encoded, with its kept fields spliced in.
fn layer_shell(layer: &LayerParameter) -> Vec<u8> {
    let mut small = layer.clone_without_blobs();
    let kept = std::mem::take(&mut small.kept_field);
    with_kept(small.encode_to_vec(), &kept)
}

/// Splices the kept fields that came from a binary file back into `encoded`
/// at their numbers' places, so that a file is written back as it was read.
/// A kept field that came from text has no number here: it is written to
/// text only (a weight file's layer fields are not read by Caffe, which takes
/// only names and blobs from it).
fn with_kept(mut encoded: Vec<u8>, kept: &[KeptField]) -> Vec<u8> {
    let mut raw: Vec<(u32, &[u8])> = kept
        .iter()
        .filter(|k| k.parent().is_empty())
        .filter_map(|k| Some((k.number(), k.wire.as_deref()?)))
        .collect();
    raw.sort_by_key(|&(number, _)| number);
    // In ascending order, each after every field numbered up to its own.
    for (number, bytes) in raw {
        let at = split_point(&encoded, number);
        encoded.splice(at..at, bytes.iter().copied());
    }
    encoded
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
