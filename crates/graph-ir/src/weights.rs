//! Learnable params: creating them from fillers, checking them against the
//! shapes the layers need, and transplanting them by layer name as Caffe's
//! `Net::CopyTrainedLayersFrom` (unmatched source layers are ignored, a
//! different blob count or shape is an error, except that a blob written with
//! the legacy 4-D num/channels/height/width fields matches any shape of at
//! most 4 axes that is equal once padded on the left with 1s, e.g.
//! `(1, 1, N, K)` for `(N, K)`, as `Blob::ShapeEquals`).
//!
//! Blobs from a caffemodel are moved into arrays, never copied, when the
//! layer has no params yet (loading); a layer that has them gets the values
//! written into its own arrays. A legacy blob is reshaped to the layer's
//! shape in place (same buffer).

use caffe_io::blob::{blob_into_array, check_blob, uses_legacy_dims};
use caffe_io::proto::NetParameter;
use ndarray::{ArrayD, IxDyn};

use crate::error::{Error, Result};
use crate::net::{Layer, Net};
use crate::ops::ParamInit;
use crate::shape::Shape;
use crate::surgery::CopyReport;

const RENAME_HINT: &str =
    "; to learn this layer's params from scratch rather than copying them from a saved net, rename the layer";

/// Caffe's `ShapeEquals`: exact, or for legacy blobs equal once the target
/// is left-padded with 1s to 4 axes.
pub(crate) fn fits(expected: &[usize], actual: &[usize], legacy: bool) -> bool {
    if !legacy || actual.len() != 4 {
        return expected == actual;
    }
    if expected.len() > 4 {
        return false;
    }
    let pad = 4 - expected.len();
    (0..4).all(|i| {
        let want = if i < pad { 1 } else { expected[i - pad] };
        want == actual[i]
    })
}

/// Gives `array` the shape `expected` without copying its buffer. An array
/// with a different element count is returned as it is (the shape check
/// that follows reports it).
fn conform(array: ArrayD<f32>, expected: &[usize]) -> ArrayD<f32> {
    if array.shape() == expected || array.len() != expected.iter().product::<usize>() {
        return array;
    }
    let array = if array.is_standard_layout() {
        array
    } else {
        array.as_standard_layout().into_owned()
    };
    array
        .into_shape_with_order(IxDyn(expected))
        .expect("same element count, standard layout")
}

/// Checks a layer's present params against what its new setup needs.
pub(crate) fn check_params(layer: &Layer, expected: &[ParamInit]) -> Result<()> {
    let params = layer.params();
    if params.is_empty() {
        return Ok(());
    }
    if params.len() != expected.len() {
        return Err(Error::ParamCount {
            layer: layer.name().to_string(),
            type_name: layer.type_name().to_string(),
            expected: expected.len(),
            actual: params.len(),
        });
    }
    for (index, (p, e)) in params.iter().zip(expected).enumerate() {
        let legacy = layer.legacy.get(index).copied().unwrap_or(false);
        if !fits(&e.shape, p.shape(), legacy) {
            return Err(Error::ParamShape {
                layer: layer.name().to_string(),
                type_name: layer.type_name().into(),
                index,
                expected: e.shape.clone(),
                actual: p.shape().to_vec(),
                hint: "",
            });
        }
    }
    Ok(())
}

/// After a successful check: gives legacy params their shape and, with
/// `init`, creates missing params from the fillers.
pub(crate) fn settle_params(layer: &mut Layer, init: bool) {
    let Some(expected) = layer.expected.clone() else {
        return;
    };
    let params = layer.params_mut();
    if params.is_empty() {
        if init {
            *params = expected
                .iter()
                .map(|e| ArrayD::from_elem(IxDyn(&e.shape), e.fill.initial()))
                .collect();
        }
    } else {
        let taken = std::mem::take(params);
        *params = taken
            .into_iter()
            .zip(&expected)
            .map(|(p, e)| conform(p, &e.shape))
            .collect();
    }
    layer.legacy.clear();
}

/// A source layer's name and the shape/legacy flag of each of its blobs.
struct SourceLayer<'a> {
    name: &'a str,
    shapes: Vec<(Shape, bool)>,
}

/// Validates every match before anything moves; returns (target, source) pairs.
fn plan(net: &Net, sources: &[SourceLayer<'_>], report: &mut CopyReport) -> Result<Vec<(usize, usize)>> {
    let mut pairs = Vec::new();
    for (si, src) in sources.iter().enumerate() {
        let Some(ti) = net.layers().iter().position(|l| l.name() == src.name) else {
            report.ignored.push(src.name.to_string());
            continue;
        };
        let target = &net.layers()[ti];
        let count = target.op().param_count();
        // A layer this crate does not model keeps whatever params it is given.
        let custom = target.op().is::<crate::registry::Unmodelled>();
        if custom {
            if !src.shapes.is_empty() {
                report.copied.push(src.name.to_string());
            }
            pairs.push((ti, si));
            continue;
        }
        if src.shapes.len() != count {
            return Err(Error::ParamCount {
                layer: src.name.to_string(),
                type_name: target.type_name().to_string(),
                expected: count,
                actual: src.shapes.len(),
            });
        }
        if let Some(expected) = &target.expected {
            for (index, ((shape, legacy), e)) in src.shapes.iter().zip(expected).enumerate() {
                if !fits(&e.shape, shape, *legacy) {
                    return Err(Error::ParamShape {
                        layer: src.name.to_string(),
                        type_name: target.type_name().into(),
                        index,
                        expected: e.shape.clone(),
                        actual: shape.clone(),
                        hint: RENAME_HINT,
                    });
                }
            }
        }
        if count > 0 {
            report.copied.push(src.name.to_string());
        }
        pairs.push((ti, si));
    }
    Ok(pairs)
}

/// Installs `arrays` (with their legacy flags) as the params of layer `ti`.
/// A layer that already holds params of the right shapes gets the values
/// written into its arrays, as Caffe's `Blob::CopyFrom` does: a view of a
/// param (pycaffe's `net.params[...][i].data`) stays valid and sees them.
fn install(net: &mut Net, ti: usize, arrays: Vec<(ArrayD<f32>, bool)>) {
    let layer = &mut net.layers_mut()[ti];
    let expected = layer.expected.clone();
    let in_place = expected.is_some()
        && layer.params().len() == arrays.len()
        && layer.params().iter().zip(&arrays).all(|(p, (a, _))| p.len() == a.len());
    if in_place {
        let count = arrays.len();
        for (slot, (array, _)) in layer.params_mut().iter_mut().zip(arrays) {
            let array = conform(array, slot.shape());
            slot.assign(&array);
        }
        layer.legacy = vec![false; count];
        return;
    }
    let (arrays, legacy): (Vec<_>, Vec<_>) = match expected {
        Some(e) => arrays
            .into_iter()
            .zip(e)
            .map(|((a, _), e)| (conform(a, &e.shape), false))
            .unzip(),
        None => arrays.into_iter().unzip(),
    };
    *layer.params_mut() = arrays;
    layer.legacy = legacy;
}

/// Moves the weight blobs of `weights` into the net's layers, by name.
pub(crate) fn copy_from_proto(net: &mut Net, mut weights: NetParameter) -> Result<CopyReport> {
    let mut report = CopyReport::default();
    let mut sources = Vec::with_capacity(weights.layer.len());
    for layer in &weights.layer {
        let mut shapes = Vec::with_capacity(layer.blobs.len());
        for (index, blob) in layer.blobs.iter().enumerate() {
            let shape = check_blob(blob).map_err(|source| Error::Blob {
                layer: layer.name().to_string(),
                index,
                source,
            })?;
            shapes.push((shape, uses_legacy_dims(blob)));
        }
        sources.push(SourceLayer {
            name: layer.name(),
            shapes,
        });
    }
    let pairs = plan(net, &sources, &mut report)?;
    drop(sources);
    for (ti, si) in pairs {
        let blobs = std::mem::take(&mut weights.layer[si].blobs);
        let mut arrays = Vec::with_capacity(blobs.len());
        for (index, blob) in blobs.into_iter().enumerate() {
            let legacy = uses_legacy_dims(&blob);
            let array = blob_into_array(blob).map_err(|source| Error::Blob {
                layer: weights.layer[si].name().to_string(),
                index,
                source,
            })?;
            arrays.push((array, legacy));
        }
        install(net, ti, arrays);
    }
    Ok(report)
}

/// Copies the params of `source`'s layers into the net's layers, by name.
pub(crate) fn copy_from_net(net: &mut Net, source: &Net) -> Result<CopyReport> {
    let mut report = CopyReport::default();
    let sources: Vec<SourceLayer<'_>> = source
        .layers()
        .iter()
        .map(|l| SourceLayer {
            name: l.name(),
            shapes: l
                .params()
                .iter()
                .enumerate()
                .map(|(i, p)| (p.shape().to_vec(), l.legacy.get(i).copied().unwrap_or(false)))
                .collect(),
        })
        .collect();
    let pairs = plan(net, &sources, &mut report)?;
    for (ti, si) in pairs {
        let src = &source.layers()[si];
        let arrays = src
            .params()
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), src.legacy.get(i).copied().unwrap_or(false)))
            .collect();
        install(net, ti, arrays);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_shapes_match_left_padded() {
        assert!(fits(&[10, 500], &[1, 1, 10, 500], true));
        assert!(fits(&[500], &[1, 1, 1, 500], true));
        assert!(fits(&[20, 1, 5, 5], &[20, 1, 5, 5], true));
        assert!(!fits(&[10, 500], &[1, 1, 10, 500], false));
        assert!(!fits(&[10, 500], &[1, 1, 500, 10], true));
        assert!(!fits(&[1, 1, 1, 10, 500], &[1, 1, 10, 500], true));
    }

    #[test]
    fn conform_keeps_the_buffer() {
        let a = ArrayD::from_shape_vec(IxDyn(&[1, 1, 2, 3]), vec![0.0; 6]).unwrap();
        let ptr = a.as_ptr();
        let b = conform(a, &[2, 3]);
        assert_eq!(b.shape(), &[2, 3]);
        assert_eq!(b.as_ptr(), ptr);
    }
}
