//! Legacy net upgrades, step for step as Caffe's `UpgradeNetAsNeeded`
//! (`upgrade_proto.cpp`): V0 layers (with padding layers folded into the
//! following conv/pool) -> V1 `layers`; V1 data-layer transform fields ->
//! `transform_param`; V1 `layers` -> V2 `layer` (enum types to type strings,
//! `blobs_lr`/`weight_decay` to `param`); top-level `input` declarations -> an
//! `Input` layer in front; BatchNorm's three legacy `param`s -> lr 0.
//!
//! Where Caffe aborts, this returns an error; where Caffe logs an error and
//! continues, this continues too and reports the message in [`Upgraded::warnings`].

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Location, Result};
use crate::proto::v0_layer_parameter::PoolMethod as V0Pool;
use crate::proto::v1_layer_parameter::{DimCheckMode as V1DimCheckMode, LayerType};
use crate::proto::{
    param_spec, pooling_parameter, BlobShape, ConvolutionParameter, DataParameter, DropoutParameter, Hdf5DataParameter,
    ImageDataParameter, InfogainLossParameter, InnerProductParameter, InputParameter, LayerParameter, LrnParameter,
    NetParameter, ParamSpec, PoolingParameter, TransformationParameter, V1LayerParameter, WindowDataParameter,
};

/// What the upgrade did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Upgraded {
    /// Which upgrades ran, in order (e.g. "V1 layers", "input fields").
    pub steps: Vec<&'static str>,
    /// Problems Caffe would log and continue past.
    pub warnings: Vec<String>,
}

/// True when `net` uses any legacy form that [`upgrade_net`] rewrites.
pub fn needs_upgrade(net: &NetParameter) -> bool {
    needs_v0(net) || needs_data(net) || !net.layers.is_empty() || !net.input.is_empty() || needs_batchnorm(net)
}

/// Upgrades `net` in place to the current (V2) format, as Caffe does on load.
/// Weight blobs are moved, never copied.
pub fn upgrade_net(net: &mut NetParameter, path: &Path) -> Result<Upgraded> {
    let mut report = Upgraded::default();
    if needs_v0(net) {
        upgrade_v0(net, path, &mut report)?;
        report.steps.push("V0 layers");
    }
    if needs_data(net) {
        upgrade_data_transform(net);
        report.steps.push("data transformation fields");
    }
    if !net.layers.is_empty() {
        upgrade_v1(net, path, &mut report)?;
        report.steps.push("V1 layers");
    }
    if !net.input.is_empty() {
        upgrade_input(net, path)?;
        report.steps.push("input fields");
    }
    if needs_batchnorm(net) {
        for layer in net.layer.iter_mut().filter(|l| is_legacy_batchnorm(l)) {
            for p in &mut layer.param {
                p.lr_mult = Some(0.0);
                p.decay_mult = Some(0.0);
            }
        }
        report.steps.push("BatchNorm params");
    }
    Ok(report)
}

fn needs_v0(net: &NetParameter) -> bool {
    net.layers.iter().any(|l| l.layer.is_some())
}

fn is_legacy_batchnorm(layer: &LayerParameter) -> bool {
    layer.r#type() == "BatchNorm" && layer.param.len() == 3
}

fn needs_batchnorm(net: &NetParameter) -> bool {
    net.layer.iter().any(is_legacy_batchnorm)
}

// ------------------------------------------------------------------ V1 -> V2

fn upgrade_v1(net: &mut NetParameter, path: &Path, report: &mut Upgraded) -> Result<()> {
    if !net.layer.is_empty() {
        return Err(Error::invalid(
            path,
            Location::File,
            "the net has both 'layer' and legacy 'layers' fields; Caffe refuses to upgrade such a net: \
             write every layer in the 'layer { type: \"...\" }' format",
        ));
    }
    let v1 = std::mem::take(&mut net.layers);
    net.layer.reserve(v1.len());
    for (index, layer) in v1.into_iter().enumerate() {
        let upgraded = upgrade_v1_layer(layer, index, path, report)?;
        net.layer.push(upgraded);
    }
    Ok(())
}

/// One V1 layer as a V2 layer (Caffe's `UpgradeV1LayerParameter`).
pub fn upgrade_v1_layer(
    v1: V1LayerParameter,
    index: usize,
    path: &Path,
    report: &mut Upgraded,
) -> Result<LayerParameter> {
    let name = v1.name.clone().unwrap_or_default();
    let mut layer = LayerParameter {
        name: v1.name,
        bottom: v1.bottom,
        top: v1.top,
        include: v1.include,
        exclude: v1.exclude,
        blobs: v1.blobs,
        loss_weight: v1.loss_weight,
        ..Default::default()
    };
    if let Some(raw) = v1.r#type {
        let ty = LayerType::try_from(raw).map_err(|_| {
            Error::invalid(
                path,
                Location::Layer {
                    index,
                    name: name.clone(),
                },
                format!("unknown V1 layer type number {raw}"),
            )
        })?;
        layer.r#type = Some(v1_type_name(ty).to_string());
    }
    let param = |i: usize, layer: &mut LayerParameter| -> usize {
        while layer.param.len() <= i {
            layer.param.push(ParamSpec::default());
        }
        i
    };
    for (i, p) in v1.param.into_iter().enumerate() {
        let i = param(i, &mut layer);
        layer.param[i].name = Some(p);
    }
    for (i, mode) in v1.blob_share_mode.into_iter().enumerate() {
        let mode = match V1DimCheckMode::try_from(mode) {
            Ok(V1DimCheckMode::Strict) => param_spec::DimCheckMode::Strict,
            Ok(V1DimCheckMode::Permissive) => param_spec::DimCheckMode::Permissive,
            Err(_) => {
                return Err(Error::invalid(
                    path,
                    Location::Layer { index, name },
                    format!("unknown blob_share_mode {mode}"),
                ))
            }
        };
        let i = param(i, &mut layer);
        layer.param[i].share_mode = Some(mode as i32);
    }
    for (i, lr) in v1.blobs_lr.into_iter().enumerate() {
        let i = param(i, &mut layer);
        layer.param[i].lr_mult = Some(lr);
    }
    for (i, decay) in v1.weight_decay.into_iter().enumerate() {
        let i = param(i, &mut layer);
        layer.param[i].decay_mult = Some(decay);
    }
    layer.accuracy_param = v1.accuracy_param;
    layer.argmax_param = v1.argmax_param;
    layer.concat_param = v1.concat_param;
    layer.contrastive_loss_param = v1.contrastive_loss_param;
    layer.convolution_param = v1.convolution_param;
    layer.data_param = v1.data_param;
    layer.dropout_param = v1.dropout_param;
    layer.dummy_data_param = v1.dummy_data_param;
    layer.eltwise_param = v1.eltwise_param;
    layer.exp_param = v1.exp_param;
    layer.hdf5_data_param = v1.hdf5_data_param;
    layer.hdf5_output_param = v1.hdf5_output_param;
    layer.hinge_loss_param = v1.hinge_loss_param;
    layer.image_data_param = v1.image_data_param;
    layer.infogain_loss_param = v1.infogain_loss_param;
    layer.inner_product_param = v1.inner_product_param;
    layer.lrn_param = v1.lrn_param;
    layer.memory_data_param = v1.memory_data_param;
    layer.mvn_param = v1.mvn_param;
    layer.pooling_param = v1.pooling_param;
    layer.power_param = v1.power_param;
    layer.relu_param = v1.relu_param;
    layer.sigmoid_param = v1.sigmoid_param;
    layer.softmax_param = v1.softmax_param;
    layer.slice_param = v1.slice_param;
    layer.tanh_param = v1.tanh_param;
    layer.threshold_param = v1.threshold_param;
    layer.window_data_param = v1.window_data_param;
    layer.transform_param = v1.transform_param;
    layer.loss_param = v1.loss_param;
    if v1.layer.is_some() {
        report.warnings.push(format!(
            "layer {index} '{name}': V1 layer still holds a V0 layer; ignored"
        ));
    }
    Ok(layer)
}

/// Caffe's type string for a V1 layer type enum.
pub fn v1_type_name(ty: LayerType) -> &'static str {
    use LayerType::*;
    match ty {
        None => "",
        Absval => "AbsVal",
        Accuracy => "Accuracy",
        Argmax => "ArgMax",
        Bnll => "BNLL",
        Concat => "Concat",
        ContrastiveLoss => "ContrastiveLoss",
        Convolution => "Convolution",
        Deconvolution => "Deconvolution",
        Data => "Data",
        Dropout => "Dropout",
        DummyData => "DummyData",
        EuclideanLoss => "EuclideanLoss",
        Eltwise => "Eltwise",
        Exp => "Exp",
        Flatten => "Flatten",
        Hdf5Data => "HDF5Data",
        Hdf5Output => "HDF5Output",
        HingeLoss => "HingeLoss",
        Im2col => "Im2col",
        ImageData => "ImageData",
        InfogainLoss => "InfogainLoss",
        InnerProduct => "InnerProduct",
        Lrn => "LRN",
        MemoryData => "MemoryData",
        MultinomialLogisticLoss => "MultinomialLogisticLoss",
        Mvn => "MVN",
        Pooling => "Pooling",
        Power => "Power",
        Relu => "ReLU",
        Sigmoid => "Sigmoid",
        SigmoidCrossEntropyLoss => "SigmoidCrossEntropyLoss",
        Silence => "Silence",
        Softmax => "Softmax",
        SoftmaxLoss => "SoftmaxWithLoss",
        Split => "Split",
        Slice => "Slice",
        Tanh => "TanH",
        WindowData => "WindowData",
        Threshold => "Threshold",
    }
}

// ------------------------------------------------------------------ V1 data layers

fn needs_data(net: &NetParameter) -> bool {
    net.layers.iter().any(|l| match l.r#type() {
        LayerType::Data => l
            .data_param
            .as_ref()
            .is_some_and(|p| p.scale.is_some() || p.mean_file.is_some() || p.crop_size.is_some() || p.mirror.is_some()),
        LayerType::ImageData => l
            .image_data_param
            .as_ref()
            .is_some_and(|p| p.scale.is_some() || p.mean_file.is_some() || p.crop_size.is_some() || p.mirror.is_some()),
        LayerType::WindowData => l
            .window_data_param
            .as_ref()
            .is_some_and(|p| p.scale.is_some() || p.mean_file.is_some() || p.crop_size.is_some() || p.mirror.is_some()),
        _ => false,
    })
}

/// Moves scale/mean_file/crop_size/mirror of data layers into `transform_param`.
fn upgrade_data_transform(net: &mut NetParameter) {
    fn take(
        t: &mut Option<TransformationParameter>,
        scale: &mut Option<f32>,
        mean_file: &mut Option<String>,
        crop_size: &mut Option<u32>,
        mirror: &mut Option<bool>,
    ) {
        let t = t.get_or_insert_with(Default::default);
        if let Some(v) = scale.take() {
            t.scale = Some(v);
        }
        if let Some(v) = mean_file.take() {
            t.mean_file = Some(v);
        }
        if let Some(v) = crop_size.take() {
            t.crop_size = Some(v);
        }
        if let Some(v) = mirror.take() {
            t.mirror = Some(v);
        }
    }
    for l in &mut net.layers {
        match l.r#type() {
            LayerType::Data => {
                let p: &mut DataParameter = l.data_param.get_or_insert_with(Default::default);
                take(
                    &mut l.transform_param,
                    &mut p.scale,
                    &mut p.mean_file,
                    &mut p.crop_size,
                    &mut p.mirror,
                );
            }
            LayerType::ImageData => {
                let p: &mut ImageDataParameter = l.image_data_param.get_or_insert_with(Default::default);
                take(
                    &mut l.transform_param,
                    &mut p.scale,
                    &mut p.mean_file,
                    &mut p.crop_size,
                    &mut p.mirror,
                );
            }
            LayerType::WindowData => {
                let p: &mut WindowDataParameter = l.window_data_param.get_or_insert_with(Default::default);
                take(
                    &mut l.transform_param,
                    &mut p.scale,
                    &mut p.mean_file,
                    &mut p.crop_size,
                    &mut p.mirror,
                );
            }
            _ => {}
        }
    }
}

// ------------------------------------------------------------------ inputs

/// Top-level `input` + `input_shape`/`input_dim` become an `Input` layer named
/// "input", placed first; bare `input` names (as in old weight files) are dropped.
fn upgrade_input(net: &mut NetParameter, path: &Path) -> Result<()> {
    let has_shape = !net.input_shape.is_empty();
    let has_dim = !net.input_dim.is_empty();
    if has_shape || has_dim {
        let mut shapes = Vec::with_capacity(net.input.len());
        for (i, name) in net.input.iter().enumerate() {
            if has_shape {
                let shape = net.input_shape.get(i).cloned().ok_or_else(|| {
                    Error::invalid(
                        path,
                        Location::File,
                        format!("input '{name}' has no input_shape (input {i})"),
                    )
                })?;
                shapes.push(shape);
            } else {
                let dims = net.input_dim.get(4 * i..4 * i + 4).ok_or_else(|| {
                    Error::invalid(
                        path,
                        Location::File,
                        format!(
                            "input '{name}' needs 4 input_dim values (input {i}), but the net gives {} in all",
                            net.input_dim.len()
                        ),
                    )
                })?;
                shapes.push(BlobShape {
                    dim: dims.iter().map(|&d| i64::from(d)).collect(),
                });
            }
        }
        let input = LayerParameter {
            name: Some("input".into()),
            r#type: Some("Input".into()),
            top: net.input.clone(),
            input_param: Some(InputParameter { shape: shapes }),
            ..Default::default()
        };
        net.layer.insert(0, input);
    }
    net.input.clear();
    net.input_shape.clear();
    net.input_dim.clear();
    Ok(())
}

// ------------------------------------------------------------------ V0 -> V1

fn upgrade_v0(net: &mut NetParameter, path: &Path, report: &mut Upgraded) -> Result<()> {
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

/// The V1 enum of a V0 type string.
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
