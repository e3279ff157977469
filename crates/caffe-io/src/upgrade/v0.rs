//! V0 layers -> V1 `layers`, as Caffe's `UpgradeV0Net`: V0 `padding` layers are
//! folded into the conv or pool they feed (`UpgradeV0PaddingLayers`), then each
//! V0 layer's flat fields move into the V1 layer's typed parameters
//! (`UpgradeV0LayerParameter`, type strings to enums by `UpgradeV0LayerType`).

use std::collections::HashMap;
use std::path::Path;

use super::Upgraded;
use crate::error::{Error, Location, Result};
use crate::proto::v0_layer_parameter::PoolMethod as V0Pool;
use crate::proto::v1_layer_parameter::LayerType;
use crate::proto::{
    pooling_parameter, ConvolutionParameter, DropoutParameter, Hdf5DataParameter, InfogainLossParameter,
    InnerProductParameter, LrnParameter, NetParameter, PoolingParameter, TransformationParameter, V1LayerParameter,
};

pub(super) fn needs_v0(net: &NetParameter) -> bool {
    net.layers.iter().any(|l| l.layer.is_some())
}

pub(super) fn upgrade_v0(net: &mut NetParameter, path: &Path, report: &mut Upgraded) -> Result<()> {
    let layers = fold_padding_layers(net, path)?;
    let mut upgraded = Vec::with_capacity(layers.len());
    for (index, layer) in layers.into_iter().enumerate() {
        upgraded.push(upgrade_v0_layer(layer, index, path, report)?);
    }
    // Caffe rebuilds the net from name, layers, inputs and force_backward only.
    *net = NetParameter {
        name: net.name.take(),
        layers: upgraded,
        input: std::mem::take(&mut net.input),
        input_dim: std::mem::take(&mut net.input_dim),
        force_backward: net.force_backward,
        ..Default::default()
    };
    Ok(())
}

/// Drops V0 "padding" layers and gives their pad to the conv/pool they feed.
fn fold_padding_layers(net: &mut NetParameter, path: &Path) -> Result<Vec<V1LayerParameter>> {
    let original = std::mem::take(&mut net.layers);
    let v0_type = |l: &V1LayerParameter| l.layer.as_ref().map(|v0| v0.r#type().to_string()).unwrap_or_default();
    let mut last_top: HashMap<String, Option<usize>> = net.input.iter().map(|n| (n.clone(), None)).collect();
    let mut kept: Vec<V1LayerParameter> = Vec::with_capacity(original.len());
    for (i, layer) in original.iter().enumerate() {
        let ty = v0_type(layer);
        if ty != "padding" {
            kept.push(layer.clone());
        }
        for (j, bottom) in layer.bottom.iter().enumerate() {
            let name = || layer.layer.as_ref().and_then(|v| v.name.clone()).unwrap_or_default();
            let source = match last_top.get(bottom) {
                None => {
                    return Err(Error::invalid(
                        path,
                        Location::Layer { index: i, name: name() },
                        format!("bottom '{bottom}' is produced by no earlier layer"),
                    ))
                }
                Some(None) => continue,
                Some(Some(s)) => &original[*s],
            };
            if v0_type(source) == "padding" {
                let bad = |msg: &str| Error::invalid(path, Location::Layer { index: i, name: name() }, msg.to_string());
                if ty != "conv" && ty != "pool" {
                    return Err(bad("a V0 padding layer feeds a layer that is neither conv nor pool"));
                }
                if layer.bottom.len() != 1 || source.bottom.len() != 1 || source.top.len() != 1 {
                    return Err(bad(
                        "a V0 padding layer must have one bottom and one top, and feed a one-bottom layer",
                    ));
                }
                let pad = source.layer.as_ref().and_then(|v| v.pad);
                let target = kept.last_mut().expect("a non-padding layer was just kept");
                if let Some(v0) = target.layer.as_mut() {
                    v0.pad = Some(pad.unwrap_or(0));
                }
                target.bottom[j] = source.bottom[0].clone();
            }
        }
        for top in &layer.top {
            last_top.insert(top.clone(), Some(i));
        }
    }
    Ok(kept)
}

fn upgrade_v0_layer(
    conn: V1LayerParameter,
    index: usize,
    path: &Path,
    report: &mut Upgraded,
) -> Result<V1LayerParameter> {
    let mut out = V1LayerParameter {
        bottom: conn.bottom,
        top: conn.top,
        ..Default::default()
    };
    let Some(v0) = conn.layer else { return Ok(out) };
    let ty = v0.r#type().to_string();
    let name = v0.name.clone().unwrap_or_default();
    out.name = v0.name.clone();
    if v0.r#type.is_some() {
        out.r#type = Some(v0_type(&ty).ok_or_else(|| {
            Error::invalid(
                path,
                Location::Layer {
                    index,
                    name: name.clone(),
                },
                format!("unknown V0 layer type '{ty}'"),
            )
        })? as i32);
    }
    out.blobs = v0.blobs;
    out.blobs_lr = v0.blobs_lr;
    out.weight_decay = v0.weight_decay;
    let mut warn = |field: &str| {
        report.warnings.push(format!(
            "layer {index} '{name}': V0 parameter '{field}' does not apply to layer type '{ty}'"
        ))
    };
    let is = |t: &str| ty == t;

    if let Some(v) = v0.num_output {
        match () {
            _ if is("conv") => conv(&mut out).num_output = Some(v),
            _ if is("innerproduct") => ip(&mut out).num_output = Some(v),
            _ => warn("num_output"),
        }
    }
    if let Some(v) = v0.biasterm {
        match () {
            _ if is("conv") => conv(&mut out).bias_term = Some(v),
            _ if is("innerproduct") => ip(&mut out).bias_term = Some(v),
            _ => warn("biasterm"),
        }
    }
    if let Some(v) = v0.weight_filler {
        match () {
            _ if is("conv") => conv(&mut out).weight_filler = Some(v),
            _ if is("innerproduct") => ip(&mut out).weight_filler = Some(v),
            _ => warn("weight_filler"),
        }
    }
    if let Some(v) = v0.bias_filler {
        match () {
            _ if is("conv") => conv(&mut out).bias_filler = Some(v),
            _ if is("innerproduct") => ip(&mut out).bias_filler = Some(v),
            _ => warn("bias_filler"),
        }
    }
    if let Some(v) = v0.pad {
        match () {
            _ if is("conv") => conv(&mut out).pad.push(v),
            _ if is("pool") => pool(&mut out).pad = Some(v),
            _ => warn("pad"),
        }
    }
    if let Some(v) = v0.kernelsize {
        match () {
            _ if is("conv") => conv(&mut out).kernel_size.push(v),
            _ if is("pool") => pool(&mut out).kernel_size = Some(v),
            _ => warn("kernelsize"),
        }
    }
    if let Some(v) = v0.group {
        if is("conv") {
            conv(&mut out).group = Some(v)
        } else {
            warn("group")
        }
    }
    if let Some(v) = v0.stride {
        match () {
            _ if is("conv") => conv(&mut out).stride.push(v),
            _ if is("pool") => pool(&mut out).stride = Some(v),
            _ => warn("stride"),
        }
    }
    if let Some(v) = v0.pool {
        if is("pool") {
            let method = match V0Pool::try_from(v) {
                Ok(V0Pool::Max) => pooling_parameter::PoolMethod::Max,
                Ok(V0Pool::Ave) => pooling_parameter::PoolMethod::Ave,
                Ok(V0Pool::Stochastic) => pooling_parameter::PoolMethod::Stochastic,
                Err(_) => {
                    warn("pool");
                    pooling_parameter::PoolMethod::Max
                }
            };
            pool(&mut out).pool = Some(method as i32);
        } else {
            warn("pool")
        }
    }
    if let Some(v) = v0.dropout_ratio {
        if is("dropout") {
            out.dropout_param = Some(DropoutParameter { dropout_ratio: Some(v) })
        } else {
            warn("dropout_ratio")
        }
    }
    for (value, field) in [
        (v0.local_size.map(|v| v as f32), "local_size"),
        (v0.alpha, "alpha"),
        (v0.beta, "beta"),
        (v0.k, "k"),
    ] {
        let Some(v) = value else { continue };
        if !is("lrn") {
            warn(field);
            continue;
        }
        let p = lrn(&mut out);
        match field {
            "local_size" => p.local_size = Some(v as u32),
            "alpha" => p.alpha = Some(v),
            "beta" => p.beta = Some(v),
            _ => p.k = Some(v),
        }
    }
    if let Some(v) = v0.source {
        match ty.as_str() {
            "data" => out.data_param.get_or_insert_with(Default::default).source = Some(v),
            "hdf5_data" => {
                out.hdf5_data_param
                    .get_or_insert_with(Hdf5DataParameter::default)
                    .source = Some(v)
            }
            "images" => out.image_data_param.get_or_insert_with(Default::default).source = Some(v),
            "window_data" => out.window_data_param.get_or_insert_with(Default::default).source = Some(v),
            "infogain_loss" => {
                out.infogain_loss_param
                    .get_or_insert_with(InfogainLossParameter::default)
                    .source = Some(v)
            }
            _ => warn("source"),
        }
    }
    if let Some(v) = v0.scale {
        transform(&mut out).scale = Some(v);
    }
    if let Some(v) = v0.meanfile {
        transform(&mut out).mean_file = Some(v);
    }
    if let Some(v) = v0.batchsize {
        match ty.as_str() {
            "data" => out.data_param.get_or_insert_with(Default::default).batch_size = Some(v),
            "hdf5_data" => out.hdf5_data_param.get_or_insert_with(Default::default).batch_size = Some(v),
            "images" => out.image_data_param.get_or_insert_with(Default::default).batch_size = Some(v),
            "window_data" => out.window_data_param.get_or_insert_with(Default::default).batch_size = Some(v),
            _ => warn("batchsize"),
        }
    }
    if let Some(v) = v0.cropsize {
        transform(&mut out).crop_size = Some(v);
    }
    if let Some(v) = v0.mirror {
        transform(&mut out).mirror = Some(v);
    }
    if let Some(v) = v0.rand_skip {
        match ty.as_str() {
            "data" => out.data_param.get_or_insert_with(Default::default).rand_skip = Some(v),
            "images" => out.image_data_param.get_or_insert_with(Default::default).rand_skip = Some(v),
            _ => warn("rand_skip"),
        }
    }
    if let Some(v) = v0.shuffle_images {
        if is("images") {
            out.image_data_param.get_or_insert_with(Default::default).shuffle = Some(v)
        } else {
            warn("shuffle_images")
        }
    }
    for (value, field) in [(v0.new_height, "new_height"), (v0.new_width, "new_width")] {
        let Some(v) = value else { continue };
        if !is("images") {
            warn(field);
            continue;
        }
        let p = out.image_data_param.get_or_insert_with(Default::default);
        if field == "new_height" {
            p.new_height = Some(v as u32)
        } else {
            p.new_width = Some(v as u32)
        }
    }
    if let Some(v) = v0.concat_dim {
        if is("concat") {
            out.concat_param.get_or_insert_with(Default::default).concat_dim = Some(v)
        } else {
            warn("concat_dim")
        }
    }
    let window = is("window_data");
    if let Some(v) = v0.det_fg_threshold {
        if window {
            out.window_data_param.get_or_insert_with(Default::default).fg_threshold = Some(v)
        } else {
            warn("det_fg_threshold")
        }
    }
    if let Some(v) = v0.det_bg_threshold {
        if window {
            out.window_data_param.get_or_insert_with(Default::default).bg_threshold = Some(v)
        } else {
            warn("det_bg_threshold")
        }
    }
    if let Some(v) = v0.det_fg_fraction {
        if window {
            out.window_data_param.get_or_insert_with(Default::default).fg_fraction = Some(v)
        } else {
            warn("det_fg_fraction")
        }
    }
    if let Some(v) = v0.det_context_pad {
        if window {
            out.window_data_param.get_or_insert_with(Default::default).context_pad = Some(v)
        } else {
            warn("det_context_pad")
        }
    }
    if let Some(v) = v0.det_crop_mode {
        if window {
            out.window_data_param.get_or_insert_with(Default::default).crop_mode = Some(v)
        } else {
            warn("det_crop_mode")
        }
    }
    if let Some(v) = v0.hdf5_output_param {
        if is("hdf5_output") {
            out.hdf5_output_param = Some(v)
        } else {
            warn("hdf5_output_param")
        }
    }
    Ok(out)
}

/// The typed parameters of a V1 layer, created empty when missing.
fn conv(o: &mut V1LayerParameter) -> &mut ConvolutionParameter {
    o.convolution_param.get_or_insert_with(Default::default)
}
fn ip(o: &mut V1LayerParameter) -> &mut InnerProductParameter {
    o.inner_product_param.get_or_insert_with(Default::default)
}
fn pool(o: &mut V1LayerParameter) -> &mut PoolingParameter {
    o.pooling_param.get_or_insert_with(Default::default)
}
fn lrn(o: &mut V1LayerParameter) -> &mut LrnParameter {
    o.lrn_param.get_or_insert_with(Default::default)
}
fn transform(o: &mut V1LayerParameter) -> &mut TransformationParameter {
    o.transform_param.get_or_insert_with(Default::default)
}

/// The V1 enum of a V0 type string.
fn v0_type(ty: &str) -> Option<LayerType> {
    use LayerType::*;
    Some(match ty {
        "accuracy" => Accuracy,
        "bnll" => Bnll,
        "concat" => Concat,
        "conv" => Convolution,
        "data" => Data,
        "dropout" => Dropout,
        "euclidean_loss" => EuclideanLoss,
        "flatten" => Flatten,
        "hdf5_data" => Hdf5Data,
        "hdf5_output" => Hdf5Output,
        "im2col" => Im2col,
        "images" => ImageData,
        "infogain_loss" => InfogainLoss,
        "innerproduct" => InnerProduct,
        "lrn" => Lrn,
        "multinomial_logistic_loss" => MultinomialLogisticLoss,
        "pool" => Pooling,
        "relu" => Relu,
        "sigmoid" => Sigmoid,
        "softmax" => Softmax,
        "softmax_loss" => SoftmaxLoss,
        "split" => Split,
        "tanh" => Tanh,
        "window_data" => WindowData,
        _ => return Option::None,
    })
}
