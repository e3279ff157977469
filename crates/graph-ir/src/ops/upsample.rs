//! `Upsample`: one type name, two layers, told apart by their bottoms.
//!
//! - With two bottoms, SegNet's (and ENet's) unpooling
//!   (alexgkendall/caffe-segnet, `upsample_layer.cpp`): bottom 0 holds the
//!   values and bottom 1 the mask of a MAX Pooling layer's second top (the
//!   flat index `h * W + w` of each maximum in its input plane), both
//!   N x C x H x W. Each value is written at its mask's index in a zero
//!   plane of `upsample_h x upsample_w`, or else `H * scale_h - pad_out_h`
//!   by `W * scale_w - pad_out_w` (scale 2 by default; `pad_out_*` needs a
//!   scale of 2).
//! - With one bottom, the YOLOv3 ports' nearest-neighbour upsampling
//!   (ChenYingpeng/darknet2caffe): `out[h][w] = in[h / scale][w / scale]`,
//!   the plane `scale` times larger (scale 1 by default).

use caffe_io::proto::{LayerParameter, SegNetUpsampleParameter, YoloUpsampleParameter};

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// A resolved `Upsample`.
#[derive(Debug, Clone, PartialEq)]
pub enum Upsample {
    /// SegNet's unpooling into an `[height, width]` plane (0 before the input is known).
    Unpool { out: [usize; 2] },
    /// YOLO's nearest neighbour, `scale` times.
    Nearest { scale: usize },
}

/// One or two bottoms, one top; reads the `upsample_param` block.
pub(crate) const TYPE: LayerType = LayerType::new(&["Upsample"], setup)
    .bottoms(Arity::Between(1, 2))
    .fork_fields(&["upsample_param"]);

impl LayerOp for Upsample {
    /// N and C follow the input; the plane is fixed by the input's.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        let flags = flow.bottom_flags(0, 4);
        if flags[2] || flags[3] {
            return None;
        }
        Some(flow.same_as_bottom(0))
    }
}

fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let block = caffe_io::kept::find(&layer.kept_field, "upsample_param");
    if ctx.num_bottoms == 1 {
        let p: YoloUpsampleParameter = match block {
            Some(b) => b.parse_block("YoloUpsampleParameter").map_err(|e| ctx.invalid(e))?,
            None => YoloUpsampleParameter::default(),
        };
        if p.scale() < 1 {
            return Err(ctx.invalid(format!("upsample_param.scale must be at least 1, got {}", p.scale())));
        }
        let op = Upsample::Nearest {
            scale: p.scale() as usize,
        };
        let Some(inputs) = bottoms else {
            return Ok(Setup::unknown(op, ctx.num_tops));
        };
        let x = &inputs[0];
        if x.len() != 4 {
            return Err(ctx.shape_error(inputs, "Upsample takes an N x C x H x W input"));
        }
        let s = p.scale() as usize;
        let top = vec![x[0], x[1], x[2] * s, x[3] * s];
        return Ok(Setup::known(op, vec![top], Vec::new()));
    }
    let p: SegNetUpsampleParameter = match block {
        Some(b) => b.parse_block("SegNetUpsampleParameter").map_err(|e| ctx.invalid(e))?,
        None => SegNetUpsampleParameter::default(),
    };
    let explicit = p.upsample_h.is_some() && p.upsample_w.is_some();
    let by_hw = p.scale.is_none() && p.scale_h.is_some() && p.scale_w.is_some();
    if !(explicit || by_hw || (p.scale_h.is_none() && p.scale_w.is_none())) {
        return Err(ctx.invalid(
            "upsample_param: give upsample_h and upsample_w, or scale_h and scale_w (without scale), or scale alone",
        ));
    }
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(Upsample::Unpool { out: [0, 0] }, ctx.num_tops));
    };
    let (x, mask) = (&inputs[0], &inputs[1]);
    if x.len() != 4 || mask != x {
        return Err(ctx.shape_error(
            inputs,
            "SegNet's Upsample takes values and their pooling mask, both N x C x H x W",
        ));
    }
    let out = if explicit {
        let out = [p.upsample_h() as usize, p.upsample_w() as usize];
        if out.iter().any(|&o| o <= 1) {
            return Err(ctx.invalid("upsample_h and upsample_w must be greater than 1"));
        }
        out
    } else {
        let (sh, sw) = if by_hw {
            (p.scale_h(), p.scale_w())
        } else {
            (p.scale(), p.scale())
        };
        if sh <= 1 || sw <= 1 {
            return Err(ctx.invalid("the upsampling scales must be greater than 1"));
        }
        if (p.pad_out_h() && sh != 2) || (p.pad_out_w() && sw != 2) {
            return Err(ctx.invalid("pad_out_h and pad_out_w are implemented only for a scale of 2"));
        }
        [
            x[2] * sh as usize - usize::from(p.pad_out_h()),
            x[3] * sw as usize - usize::from(p.pad_out_w()),
        ]
    };
    let top = vec![x[0], x[1], out[0], out[1]];
    Ok(Setup::known(Upsample::Unpool { out }, vec![top], Vec::new()))
}

#[cfg(test)]
mod tests {
    use caffe_io::proto::Phase;

    use super::*;
    use crate::registry::LayerRegistry;

    fn set_up(bottoms: &[&str], block: &str, input: [usize; 4]) -> Result<Setup> {
        let b: String = bottoms.iter().map(|b| format!(" bottom: \"{b}\"")).collect();
        let text = format!(r#"layer {{ name: "up" type: "Upsample" {b} top: "y" {block} }}"#);
        let net = caffe_io::parse_prototxt(&text, "t.prototxt").unwrap();
        let inputs = vec![input.to_vec(); bottoms.len()];
        LayerRegistry::builtin().setup(&net.layer[0], Phase::Test, Some(&inputs))
    }

    #[test]
    fn one_bottom_is_yolos_nearest_two_are_segnets_unpooling() {
        let s = set_up(&["x"], "upsample_param { scale: 2 }", [1, 3, 4, 5]).unwrap();
        assert_eq!(s.op.downcast_ref(), Some(&Upsample::Nearest { scale: 2 }));
        assert_eq!(s.tops[0], Some(vec![1, 3, 8, 10]));
        let s = set_up(&["x", "mask"], "", [1, 3, 4, 5]).unwrap();
        assert_eq!(s.op.downcast_ref(), Some(&Upsample::Unpool { out: [8, 10] }));
        let s = set_up(
            &["x", "mask"],
            "upsample_param { scale: 2 pad_out_h: true }",
            [1, 3, 4, 5],
        )
        .unwrap();
        assert_eq!(s.tops[0], Some(vec![1, 3, 7, 10]));
        let s = set_up(
            &["x", "mask"],
            "upsample_param { upsample_h: 7 upsample_w: 9 }",
            [1, 3, 4, 5],
        )
        .unwrap();
        assert_eq!(s.tops[0], Some(vec![1, 3, 7, 9]));
        for bad in [
            "upsample_param { scale: 1 }",
            "upsample_param { scale: 2 scale_h: 2 }",
            "upsample_param { scale: 3 pad_out_w: true }",
        ] {
            let err = set_up(&["x", "mask"], bad, [1, 3, 4, 5]).unwrap_err().to_string();
            assert!(err.starts_with("layer 'up' (Upsample)"), "{err}");
        }
    }
}
