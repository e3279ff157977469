//! V1 data layers' transformation fields -> `transform_param`, as Caffe's
//! `NetNeedsDataUpgrade` and `UpgradeNetDataTransformation`: `scale`,
//! `mean_file`, `crop_size` and `mirror` of Data, ImageData and WindowData
//! layers move into the layer's `transform_param`.

use crate::proto::v1_layer_parameter::LayerType;
use crate::proto::{DataParameter, ImageDataParameter, NetParameter, TransformationParameter, WindowDataParameter};

pub(super) fn needs_data(net: &NetParameter) -> bool {
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
pub(super) fn upgrade_data_transform(net: &mut NetParameter) {
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
