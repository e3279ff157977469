//! `Upsample`. YOLO's nearest neighbour is `Resize` (nearest, `asymmetric`,
//! `floor`: output pixel `h` reads input pixel `floor(h / scale)`, as the
//! fork's integer division). SegNet's unpooling scatters each value to its
//! mask's index: values and mask viewed as (N * C) x (H * W), the mask cast
//! to integers, `ScatterElements` along the plane into zeros of
//! (N * C) x (out_h * out_w), viewed back as N x C x out_h x out_w. Like the
//! fork, a later value wins where two share an index (a mask from pooling
//! windows that overlap); an index past the plane is an error at run time,
//! as in the fork.

use graph_ir::ops::Upsample;

use super::LayerCx;
use crate::attr;
use crate::error::Result;
use crate::onnx::tensor_proto::DataType;

pub(super) fn upsample(cx: &mut LayerCx<'_, '_>, op: &Upsample) -> Result<()> {
    if cx.opset() < 11 {
        return Err(cx.unsupported("Upsample is exported with Resize and ScatterElements, which need opset 11"));
    }
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    match *op {
        Upsample::Nearest { scale } => {
            let s = scale as f32;
            let scales = cx.owned("scales", ndarray::arr1(&[1.0, 1.0, s, s]).into_dyn())?;
            cx.node(
                "Resize",
                &[&x, "", &scales],
                &[&out],
                vec![
                    attr::string("mode", "nearest"),
                    attr::string("coordinate_transformation_mode", "asymmetric"),
                    attr::string("nearest_mode", "floor"),
                ],
            )
        }
        Upsample::Unpool { out: [oh, ow] } => {
            let mask = cx.inputs[1].clone();
            let [h, w] = [cx.in_shapes[0][2], cx.in_shapes[0][3]];
            let planes = cx.ints("planes", &[-1, (h * w) as i64])?;
            let values = cx.tmp("Reshape", "values", &[&x, &planes], vec![])?;
            let mask = cx.tmp("Reshape", "mask", &[&mask, &planes], vec![])?;
            let indices = cx.tmp(
                "Cast",
                "indices",
                &[&mask],
                vec![attr::int("to", DataType::Int64 as i64)],
            )?;
            // Zeros of (N * C) x (out_h * out_w), N * C read at run time.
            let zeros_shape = super::leading_dims_then(cx, &values, 1, &[(oh * ow) as i64], "zeros_shape")?;
            let zeros = cx.tmp("ConstantOfShape", "zeros", &[&zeros_shape], vec![super::f32_fill(0.0)?])?;
            let scattered = cx.tmp(
                "ScatterElements",
                "unpooled",
                &[&zeros, &indices, &values],
                vec![attr::int("axis", 1)],
            )?;
            let out_shape = super::leading_dims_then(cx, &x, 2, &[oh as i64, ow as i64], "out_shape")?;
            cx.node("Reshape", &[&scattered, &out_shape], &[&out], vec![])
        }
    }
}
