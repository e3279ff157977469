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
use crate::tensor;

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
            let shape = cx.tmp("Shape", "shape", &[&values], vec![])?;
            let (zero, one) = (cx.ints("zero", &[0])?, cx.ints("one", &[1])?);
            let rows = cx.tmp("Slice", "rows", &[&shape, &zero, &one], vec![])?;
            let cols = cx.ints("out_plane", &[(oh * ow) as i64])?;
            let zeros_shape = cx.tmp("Concat", "zeros_shape", &[&rows, &cols], vec![attr::int("axis", 0)])?;
            let zero_value = tensor::raw_tensor(
                "value",
                DataType::Float,
                &[1],
                bytes::Bytes::copy_from_slice(&0f32.to_le_bytes()),
            )?;
            let zeros = cx.tmp(
                "ConstantOfShape",
                "zeros",
                &[&zeros_shape],
                vec![attr::tensor("value", zero_value)],
            )?;
            let scattered = cx.tmp(
                "ScatterElements",
                "unpooled",
                &[&zeros, &indices, &values],
                vec![attr::int("axis", 1)],
            )?;
            let in_shape = cx.tmp("Shape", "in_shape", &[&x], vec![])?;
            let two = cx.ints("two", &[2])?;
            let nc = cx.tmp("Slice", "nc", &[&in_shape, &zero, &two], vec![])?;
            let plane = cx.ints("plane", &[oh as i64, ow as i64])?;
            let out_shape = cx.tmp("Concat", "out_shape", &[&nc, &plane], vec![attr::int("axis", 0)])?;
            cx.node("Reshape", &[&scattered, &out_shape], &[&out], vec![])
        }
    }
}
