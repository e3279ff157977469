//! Linear maps along axes, as Caffe 1.0 layers: output `o` is the sum of
//! row `o`'s weights times the inputs, the same products as the ONNX op's
//! plus zeros (exact for finite inputs). `planes` maps H and W of an NCHW
//! blob: the rows by a Convolution over the planes reshaped to
//! `(N*C, 1, H, W)` (an `(H, 1)` kernel per output row, then a Reshape back),
//! the columns by an InnerProduct with `axis: 3` (Caffe lumps only the last
//! axis). `along` maps any one axis of any blob: a Reshape to
//! `(P, len, S, 1)`, a 1x1 Convolution, a Reshape back. Resize (every
//! interpolation), Slice's steps and ArgMax's reversals use them; the
//! matrices are one-hot for selections.

use caffe_io::proto::{ConvolutionParameter, InnerProductParameter};
use ndarray::{Array2, IxDyn};

use super::reshape_param;
use crate::cx::{Blob, Cx};
use crate::error::OpResult;
use crate::node::Node;

/// The most weights (`len_out x len` floats, 64 MB) a map's matrix may
/// have: larger ones are refused before anything is allocated.
const MAX_WEIGHTS: usize = 1 << 24;

/// Refuses `count` weights for `what` beyond [`MAX_WEIGHTS`] (before they
/// are allocated).
pub(crate) fn check_weights(count: Option<usize>, what: &str) -> OpResult<()> {
    match count {
        Some(n) if n <= MAX_WEIGHTS => Ok(()),
        _ => Err(crate::OpError::Refuse(format!(
            "{what}: as a Caffe layer it would take more than {MAX_WEIGHTS} weights"
        ))),
    }
}

/// A zero `len_out x len` matrix for a map of `what`, or a refusal when it
/// would exceed [`MAX_WEIGHTS`] (checked before allocating).
pub(crate) fn matrix(len_out: usize, len: usize, what: &str) -> OpResult<Array2<f32>> {
    match len_out.checked_mul(len) {
        Some(n) if n <= MAX_WEIGHTS => Ok(Array2::zeros((len_out, len))),
        _ => Err(crate::OpError::Refuse(format!(
            "{what}: as a Caffe layer its matrix would take {len_out} x {len} weights (at most {MAX_WEIGHTS} are \
             written)"
        ))),
    }
}

/// Emits `out = rows * x * cols^T` per plane (`rows`: `H_out x H`, `cols`:
/// `W_out x W`; `None` leaves the axis as it is), the last layer writing
/// output 0. Returns a description of each step for the report.
pub(crate) fn planes(
    cx: &mut Cx,
    node: &Node,
    x: Blob,
    rows: Option<Array2<f32>>,
    cols: Option<Array2<f32>>,
) -> Vec<String> {
    let (n, c, h_in, w_in) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3]);
    let h = rows.as_ref().map_or(h_in, |m| m.dim().0);
    let w = cols.as_ref().map_or(w_in, |m| m.dim().0);
    let mut steps = Vec::new();
    let mut cur = x;
    if let Some(rows) = rows {
        let planes = cx.part(node, "planes", vec![n * c, 1, h_in, w_in]);
        cx.layer(node, "planes", "Reshape", &[&cur], &[&planes], vec![], |l| {
            l.reshape_param = Some(reshape_param([(n * c) as i64, 1, h_in as i64, w_in as i64]))
        });
        let kernel = rows
            .into_shape_with_order(IxDyn(&[h, 1, h_in, 1]))
            .expect("an (h, h_in) matrix holds h * h_in weights");
        let mapped = cx.part(node, "rows", vec![n * c, h, 1, w_in]);
        cx.layer(node, "rows", "Convolution", &[&planes], &[&mapped], vec![kernel], |l| {
            l.convolution_param = Some(ConvolutionParameter {
                num_output: Some(h as u32),
                bias_term: Some(false),
                kernel_h: Some(h_in as u32),
                kernel_w: Some(1),
                ..Default::default()
            })
        });
        let back = if cols.is_none() {
            cx.output_blob(node, 0, vec![n, c, h, w])
        } else {
            cx.part(node, "rows_nchw", vec![n, c, h, w_in])
        };
        cx.layer(node, "rows_nchw", "Reshape", &[&mapped], &[&back], vec![], |l| {
            l.reshape_param = Some(reshape_param([n as i64, c as i64, h as i64, w_in as i64]))
        });
        steps.push(format!("rows {h_in}->{h} as a Convolution over (N*C, 1, H, W)"));
        cur = back;
    }
    if let Some(cols) = cols {
        let out = cx.output_blob(node, 0, vec![n, c, h, w]);
        cx.layer(
            node,
            "cols",
            "InnerProduct",
            &[&cur],
            &[&out],
            vec![cols.into_dyn()],
            |l| {
                l.inner_product_param = Some(InnerProductParameter {
                    num_output: Some(w as u32),
                    bias_term: Some(false),
                    axis: Some(3),
                    ..Default::default()
                })
            },
        );
        steps.push(format!("columns {w_in}->{w} as an InnerProduct over axis 3"));
    }
    steps
}

/// The `len x input` one-hot matrix reading `start`, `start + step`, ...
/// (`step` may be negative), within [`MAX_WEIGHTS`].
pub(crate) fn selection(input: usize, start: usize, step: i64, len: usize) -> OpResult<Array2<f32>> {
    let mut m = matrix(len, input, &format!("a selection of {len} of {input} values"))?;
    for o in 0..len {
        m[(o, (start as i64 + o as i64 * step) as usize)] = 1.0;
    }
    Ok(m)
}

/// `matrix` (`len_out x len`) applied along `axis` of `x`, into `out` (or a
/// part blob named `part`): Reshape to `(P, len, S, 1)`, a 1x1 Convolution,
/// Reshape to `x`'s shape with `len_out` at `axis`.
pub(crate) fn along(
    cx: &mut Cx,
    node: &Node,
    x: &Blob,
    axis: usize,
    matrix: Array2<f32>,
    part: &str,
    out: Option<Blob>,
) -> OpResult<Blob> {
    let p: usize = x.shape[..axis].iter().product();
    let s: usize = x.shape[axis + 1..].iter().product();
    let mut shape = x.shape.clone();
    shape[axis] = matrix.dim().0;
    mix(cx, node, x, [p, s], matrix, part, shape, out)
}

/// `x` seen as `(P, len, S)` (`[p, s]`), its middle axis mapped by `matrix`
/// (`len_out x len`): Reshape to `(P, len, S, 1)`, a 1x1 Convolution, Reshape
/// to `shape` (into `out`, or a part blob named `part`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn mix(
    cx: &mut Cx,
    node: &Node,
    x: &Blob,
    [p, s]: [usize; 2],
    matrix: Array2<f32>,
    part: &str,
    shape: Vec<usize>,
    out: Option<Blob>,
) -> OpResult<Blob> {
    let (len_out, len) = matrix.dim();
    let flat = cx.part(node, &format!("{part}_flat"), vec![p, len, s, 1]);
    cx.layer(node, &format!("{part}_flat"), "Reshape", &[x], &[&flat], vec![], |l| {
        l.reshape_param = Some(reshape_param([p as i64, len as i64, s as i64, 1]))
    });
    let weights = matrix
        .into_shape_with_order(IxDyn(&[len_out, len, 1, 1]))
        .expect("a (len_out, len) matrix holds len_out * len weights");
    let mapped = cx.part(node, &format!("{part}_mapped"), vec![p, len_out, s, 1]);
    cx.layer(
        node,
        &format!("{part}_mapped"),
        "Convolution",
        &[&flat],
        &[&mapped],
        vec![weights],
        |l| {
            l.convolution_param = Some(ConvolutionParameter {
                num_output: Some(len_out as u32),
                bias_term: Some(false),
                kernel_size: vec![1],
                ..Default::default()
            })
        },
    );
    let back = out.unwrap_or_else(|| cx.part(node, part, shape.clone()));
    cx.layer(node, part, "Reshape", &[&mapped], &[&back], vec![], |l| {
        l.reshape_param = Some(reshape_param(shape.iter().map(|&d| d as i64)))
    });
    Ok(back)
}
