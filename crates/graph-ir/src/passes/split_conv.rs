//! Splits a Convolution whose reduction length `K = C_in * kernel volume` is
//! large into `Slice` (input channels) -> one Convolution per channel range ->
//! `Eltwise` SUM, because a matrix-product kernel that keeps its packed input
//! panels cache-resident only for moderate K re-reads the weights once per
//! output column panel when K is large (tract 0.23 reads fc6-conv's 151 MB
//! eight times at 451x451). Each part reduces over fewer channels, so its
//! panels stay in cache and its weights are read once; the sum of the parts
//! is the original convolution up to float reassociation.
//!
//! The result is plain Caffe layers, so every exporter and runtime (and
//! `Net::save`) sees an ordinary net: `<name>/slice` cuts the bottom into
//! `<name>/in<i>`, `<name>/part<i>` computes `<name>/part<i>` (only part 0
//! keeps the bias), and an Eltwise SUM that keeps the original layer's name
//! writes the original top. Keeping the name keeps the names of Caffe's
//! automatic split blobs of that top (they are named after their producer),
//! and makes loading the unsplit weights into the split net a loud error (a
//! layer whose blob count differs) rather than a silent mismatch.
//!
//! Only single-bottom, ungrouped convolutions on channel axis 1 whose params
//! are present and not shared by name are split; others are left as they
//! are. It is not a Caffe semantic change, so it is never applied implicitly
//! to what is saved or exported: callers choose it for runtimes that need it.

use caffe_io::proto::{eltwise_parameter, EltwiseParameter, LayerParameter, SliceParameter};
use ndarray::{ArrayD, Axis, Slice};

use crate::error::{Error, Result};
use crate::net::{Layer, Net};
use crate::ops::Convolution;

const PASS: &str = "split_large_conv";

/// The reduction length up to which a convolution is left whole.
///
/// tract 0.23's matrix product blocks its tile walk so that a block of
/// `blk` weight panels (16 rows) and `blk` input panels (8 columns) fits a
/// third of L2: `blk = (L2 / 3) / ((16 + 8) * K * 4 bytes)`, floored at 1, and
/// the weights are re-read once per block of `blk` column panels. With the
/// 1-2 MB L2 of current x86 cores, `K <= 1024` gives `blk >= 8` (2 MB L2) or
/// `>= 4` (1 MB): the 64 output positions of the 451x451 full-conv CaffeNet
/// (8 column panels) read fc6-conv's and fc7-conv's weights once or twice
/// instead of eight times. The measured effect (`benches/forward.rs`) is in
/// the README's Performance section.
pub const DEFAULT_MAX_K: usize = 1024;

/// What to split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitConvOptions {
    /// Convolutions whose `K = C_in * kernel volume` exceeds this are split
    /// into the fewest channel ranges whose `K` does not (as evenly as the
    /// channel count allows; a part has at least one channel).
    pub max_k: usize,
    /// Only split convolutions whose output has at least this many spatial
    /// positions per image. With few positions the product is a matrix-vector
    /// one whose weights are read once anyway, and the split only adds work.
    pub min_positions: usize,
}

impl Default for SplitConvOptions {
    fn default() -> Self {
        SplitConvOptions {
            max_k: DEFAULT_MAX_K,
            min_positions: 2,
        }
    }
}

/// One split convolution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitConvolution {
    /// The layer's name (now the Eltwise SUM's).
    pub name: String,
    /// Its reduction length before the split.
    pub k: usize,
    /// Input channels of each part, in order.
    pub channels: Vec<usize>,
}

/// Splits every convolution of `net` that `options` selects, and re-infers
/// the net. Returns what was split, in layer order.
pub fn split_large_conv(net: &mut Net, options: &SplitConvOptions) -> Result<Vec<SplitConvolution>> {
    if options.max_k == 0 {
        return Err(pass_error("*", "max_k must be positive"));
    }
    let mut done = Vec::new();
    let mut i = 0;
    while i < net.layers().len() {
        match plan(net, i, options) {
            Some(channels) => {
                let parts = channels.len();
                done.push(apply(net, i, channels)?);
                // The Slice, the parts and the sum.
                i += parts + 2;
            }
            None => i += 1,
        }
    }
    Ok(done)
}

/// The convolutions [`split_large_conv`] would split, by name, without
/// changing the net (e.g. to avoid copying a net it would leave alone).
pub fn would_split(net: &Net, options: &SplitConvOptions) -> Result<Vec<String>> {
    if options.max_k == 0 {
        return Err(pass_error("*", "max_k must be positive"));
    }
    Ok((0..net.layers().len())
        .filter(|&i| plan(net, i, options).is_some())
        .map(|i| net.layers()[i].name().to_string())
        .collect())
}

fn pass_error(layer: &str, message: impl Into<String>) -> Error {
    Error::Pass {
        pass: PASS,
        layer: layer.to_string(),
        message: message.into(),
    }
}

/// The input channels of each part when layer `i` is to be split.
fn plan(net: &Net, i: usize, options: &SplitConvOptions) -> Option<Vec<usize>> {
    let layer = &net.layers()[i];
    let Convolution(p) = layer.op().downcast_ref()?;
    let shared = layer
        .proto()
        .param
        .iter()
        .any(|s| s.name.as_deref().is_some_and(|n| !n.is_empty()));
    if p.group != 1 || p.axis != 1 || layer.bottoms().len() != 1 || layer.params().is_empty() || shared {
        return None;
    }
    let (bottom, top) = (&layer.bottoms()[0], &layer.tops()[0]);
    if bottom == top {
        return None;
    }
    let (Ok(input), Ok(output)) = (net.blob_shape(bottom), net.blob_shape(top)) else {
        return None;
    };
    let channels = input[1];
    let volume: usize = p.kernel.iter().product();
    let k = channels * volume;
    let positions: usize = output[2..].iter().product();
    if k <= options.max_k || positions < options.min_positions || channels < 2 {
        return None;
    }
    let per_part = (options.max_k / volume).max(1);
    let parts = channels.div_ceil(per_part);
    // As even as possible: the first `channels % parts` parts take one more.
    let (base, extra) = (channels / parts, channels % parts);
    Some((0..parts).map(|j| base + usize::from(j < extra)).collect())
}

/// Replaces layer `i` by the Slice, the parts and the Eltwise SUM.
fn apply(net: &mut Net, i: usize, channels: Vec<usize>) -> Result<SplitConvolution> {
    let layer = &net.layers()[i];
    let name = layer.name().to_string();
    let k = layer.params()[0].len() / layer.params()[0].shape()[0];
    let phase = net.state().phase;
    let registry = net.layer_types().clone();
    let slice_name = format!("{name}/slice");
    let inputs: Vec<String> = (0..channels.len()).map(|j| format!("{name}/in{j}")).collect();
    let parts: Vec<String> = (0..channels.len()).map(|j| format!("{name}/part{j}")).collect();
    for n in std::iter::once(&slice_name).chain(&parts) {
        if net.layer(n).is_some() {
            return Err(pass_error(&name, format!("a layer named '{n}' already exists")));
        }
    }
    for b in inputs.iter().chain(&parts) {
        if net
            .layers()
            .iter()
            .any(|l| l.tops().contains(b) || l.bottoms().contains(b))
        {
            return Err(pass_error(&name, format!("a blob named '{b}' already exists")));
        }
    }

    let original = layer.proto().clone();
    // Layers that keep the original's filtering rules, so a saved net filters alike.
    let base = LayerParameter {
        phase: original.phase,
        include: original.include.clone(),
        exclude: original.exclude.clone(),
        ..Default::default()
    };
    let mut points = Vec::with_capacity(channels.len() - 1);
    let mut start = 0u32;
    for &c in &channels[..channels.len() - 1] {
        start += c as u32;
        points.push(start);
    }
    let slice = LayerParameter {
        name: Some(slice_name),
        r#type: Some("Slice".to_string()),
        bottom: original.bottom.clone(),
        top: inputs.clone(),
        slice_param: Some(SliceParameter {
            axis: Some(1),
            slice_point: points,
            ..Default::default()
        }),
        ..base.clone()
    };
    let sum = LayerParameter {
        name: Some(name.clone()),
        r#type: Some("Eltwise".to_string()),
        bottom: parts.clone(),
        top: original.top.clone(),
        eltwise_param: Some(EltwiseParameter {
            operation: Some(eltwise_parameter::EltwiseOp::Sum as i32),
            ..Default::default()
        }),
        ..base
    };

    // The params leave the original layer now, so that its weights are freed
    // as soon as the parts hold their copies (one layer's weights at a time).
    let mut params = std::mem::take(net.layers_mut()[i].params_mut()).into_iter();
    let weights = params.next().expect("plan checked the weights");
    let bias = params.next();
    let has_bias = bias.is_some();
    let mut new_layers = Vec::with_capacity(channels.len() + 2);
    new_layers.push(Layer::from_proto(slice, phase, &registry)?);
    let mut start = 0;
    for (j, &c) in channels.iter().enumerate() {
        let mut proto = original.clone();
        proto.name = Some(parts[j].clone());
        proto.bottom = vec![inputs[j].clone()];
        proto.top = vec![parts[j].clone()];
        let keeps_bias = j == 0 && has_bias;
        if let Some(cp) = proto.convolution_param.as_mut() {
            cp.bias_term = Some(keeps_bias);
        }
        // ParamSpecs (lr_mult, ...) follow the params the part has.
        proto.param.truncate(1 + usize::from(keeps_bias));
        let mut part = Layer::from_proto(proto, phase, &registry)?;
        // OIHW sliced on I is not contiguous: each part gets its own copy.
        let w: ArrayD<f32> = weights
            .slice_axis(Axis(1), Slice::from(start..start + c))
            .as_standard_layout()
            .into_owned();
        part.params_mut().push(w);
        if keeps_bias {
            part.params_mut().extend(bias.clone());
        }
        new_layers.push(part);
        start += c;
    }
    drop(weights);
    drop(bias);
    new_layers.push(Layer::from_proto(sum, phase, &registry)?);
    let layers = net.layers_mut();
    layers.splice(i..=i, new_layers);
    net.refresh()?;
    Ok(SplitConvolution { name, k, channels })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An input of `channels` channels, a 3x3 convolution with a bias, an
    /// in-place ReLU and two readers of the ReLU's output (so Caffe inserts a
    /// split named after the convolution).
    fn net(channels: usize, conv_extra: &str) -> Net {
        let text = format!(
            r#"
            layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ dim: 1 dim: {channels} dim: 6 dim: 5 }} }} }}
            layer {{ name: "conv" type: "Convolution" bottom: "data" top: "conv"
                     param {{ lr_mult: 1 }} param {{ lr_mult: 2 }}
                     convolution_param {{ num_output: 4 kernel_size: 3 pad: 1 {conv_extra} }} }}
            layer {{ name: "relu" type: "ReLU" bottom: "conv" top: "conv" }}
            layer {{ name: "a" type: "Sigmoid" bottom: "conv" top: "a" }}
            layer {{ name: "b" type: "TanH" bottom: "conv" top: "b" }}"#
        );
        let param = caffe_io::parse_prototxt(&text, std::path::Path::new("t.prototxt")).expect("valid");
        let mut net = Net::from_proto(param, None).expect("valid net");
        net.synthesize_params(7);
        net
    }

    fn options(max_k: usize) -> SplitConvOptions {
        SplitConvOptions {
            max_k,
            ..Default::default()
        }
    }

    #[test]
    fn splits_into_slice_parts_and_sum() {
        let mut net = net(7, "");
        let before = net.blobs().unwrap();
        let weights = net.param("conv", 0).unwrap().clone();
        let bias = net.param("conv", 1).unwrap().clone();
        // 3 channels x 9 = 27 per part at most: 7 channels -> 3 + 2 + 2.
        assert_eq!(would_split(&net, &options(27)).unwrap(), vec!["conv".to_string()]);
        let done = split_large_conv(&mut net, &options(27)).unwrap();
        assert_eq!(
            done,
            vec![SplitConvolution {
                name: "conv".into(),
                k: 63,
                channels: vec![3, 2, 2],
            }]
        );
        let kinds: Vec<(&str, &str)> = net.layers().iter().map(|l| (l.name(), l.type_name())).collect();
        assert_eq!(
            kinds,
            vec![
                ("data", "Input"),
                ("conv/slice", "Slice"),
                ("conv/part0", "Convolution"),
                ("conv/part1", "Convolution"),
                ("conv/part2", "Convolution"),
                ("conv", "Eltwise"),
                ("relu", "ReLU"),
                ("a", "Sigmoid"),
                ("b", "TanH"),
            ]
        );
        let slice = net.layer("conv/slice").unwrap();
        assert_eq!(slice.tops(), &["conv/in0", "conv/in1", "conv/in2"]);
        assert_eq!(
            slice.op(),
            &crate::Op::new(crate::ops::SliceParams {
                axis: 1,
                points: vec![3, 5]
            })
        );
        let sum = net.layer("conv").unwrap();
        assert_eq!(sum.bottoms(), &["conv/part0", "conv/part1", "conv/part2"]);
        assert_eq!(sum.tops(), &["conv"]);
        assert!(sum.params().is_empty());
        // Each part holds its channels' weights; only part 0 the bias (and
        // only its ParamSpecs follow its params).
        let mut start = 0;
        for (j, c) in [3, 2, 2].into_iter().enumerate() {
            let part = net.layer(&format!("conv/part{j}")).unwrap();
            let expected = weights.slice_axis(Axis(1), Slice::from(start..start + c));
            assert_eq!(part.params()[0], expected);
            assert_eq!(part.params().len(), if j == 0 { 2 } else { 1 });
            assert_eq!(part.proto().param.len(), part.params().len());
            assert_eq!(net.blob_shape(&format!("conv/part{j}")).unwrap(), &[1, 4, 6, 5]);
            start += c;
        }
        assert_eq!(net.param("conv/part0", 1).unwrap(), &bias);
        // Every blob the net had keeps its name and shape, Caffe's split of
        // "conv" included (it is named after its producer, still "conv").
        let after = net.blobs().unwrap();
        for b in &before {
            assert!(after.contains(b), "{b:?} is gone");
        }
        assert!(before.iter().any(|b| b.is_auto_split()));
    }

    #[test]
    fn saved_split_net_loads_back() {
        let mut net = net(4, "");
        split_large_conv(&mut net, &options(18)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (proto, model) = (dir.path().join("n.prototxt"), dir.path().join("n.caffemodel"));
        net.save(&proto, &model).unwrap();
        let back = Net::load_with_weights(&proto, &model).unwrap();
        assert_eq!(back.blobs().unwrap(), net.blobs().unwrap());
        assert_eq!(back.params().len(), net.params().len());
        for ((n1, p1), (n2, p2)) in back.params().iter().zip(net.params()) {
            assert_eq!((n1, p1), (&n2, &p2));
        }
    }

    #[test]
    fn leaves_other_convolutions_alone() {
        // Small enough.
        let mut n = net(4, "");
        assert!(split_large_conv(&mut n, &options(36)).unwrap().is_empty());
        // Grouped.
        let mut n = net(4, "group: 2");
        assert!(split_large_conv(&mut n, &options(1)).unwrap().is_empty());
        // Too few output positions (a matrix-vector product).
        let mut n = net(4, "");
        let few = SplitConvOptions {
            max_k: 1,
            min_positions: 31,
        };
        assert!(split_large_conv(&mut n, &few).unwrap().is_empty());
        // Without a bias: every part is bias-free.
        let mut n = net(4, "bias_term: false");
        let done = split_large_conv(&mut n, &options(9)).unwrap();
        assert_eq!(done[0].channels, vec![1; 4]);
        assert!(n.layers().iter().all(|l| l.params().len() <= 1));
        assert!(split_large_conv(&mut net(4, ""), &options(0)).is_err());
    }
}
