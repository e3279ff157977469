//! V1 `layers` -> V2 `layer`, as Caffe's `UpgradeV1Net` and
//! `UpgradeV1LayerParameter`: enum layer types become type strings
//! (`UpgradeV1LayerType`), `blobs_lr`/`weight_decay`/`param`/`blob_share_mode`
//! become `param` specs, and every layer parameter moves over as it is.

use std::path::Path;

use super::Upgraded;
use crate::error::{Error, Location, Result};
use crate::proto::v1_layer_parameter::{DimCheckMode as V1DimCheckMode, LayerType};
use crate::proto::{param_spec, LayerParameter, NetParameter, ParamSpec, V1LayerParameter};

pub(super) fn upgrade_v1(net: &mut NetParameter, path: &Path, report: &mut Upgraded) -> Result<()> {
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
        // The same names under V2: a kept field stays where it was.
        kept_field: v1.kept_field,
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
