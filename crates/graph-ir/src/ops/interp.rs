//! `Interp` (PSPNet, DeepLab v2: `interp_layer.cpp`, `caffe_cpu_interp2`):
//! bilinear resizing with aligned corners. `pad_beg`/`pad_end` (each <= 0)
//! crop the input to `eff = in + pad_beg + pad_end`; the output size comes
//! from the first rule that applies, in the fork's order: `shrink_factor`
//! alone `(eff - 1) / shrink + 1`; `zoom_factor` alone
//! `eff + (eff - 1) * (zoom - 1)`; `height` and `width`; shrink then zoom
//! when both are set. Output pixel `y` reads input `y * (eff - 1) / (out - 1)`
//! (0 when `out` is 1), interpolated between its two neighbours.

use caffe_io::proto::{InterpParameter, LayerParameter};

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// A resolved `Interp`: the output plane and the crop of the input.
#[derive(Debug, Clone, PartialEq)]
pub struct Interp {
    /// `[height, width]` of the output (0 before the input is known).
    pub out: [usize; 2],
    /// `pad_beg`, `pad_end` (<= 0): the rows and columns cut from the input.
    pub pad_beg: i32,
    pub pad_end: i32,
}

/// One bottom, one top; reads the `interp_param` block.
pub(crate) const TYPE: LayerType = LayerType::new(&["Interp"], setup).fork_fields(&["interp_param"]);

impl LayerOp for Interp {
    /// N and C follow the input; the output plane is fixed by the input's,
    /// so a symbolic height or width cannot be exported.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        let flags = flow.bottom_flags(0, 4);
        if flags[2] || flags[3] {
            return None;
        }
        Some(flow.same_as_bottom(0))
    }
}

fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p: InterpParameter = match caffe_io::kept::find(&layer.kept_field, "interp_param") {
        Some(block) => block.parse_block("InterpParameter").map_err(|e| ctx.invalid(e))?,
        None => InterpParameter::default(),
    };
    if p.pad_beg() > 0 || p.pad_end() > 0 {
        return Err(ctx.invalid("interp_param: pad_beg and pad_end must be <= 0 (only cropping is allowed)"));
    }
    let mut op = Interp {
        out: [0, 0],
        pad_beg: p.pad_beg(),
        pad_end: p.pad_end(),
    };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(op, ctx.num_tops));
    };
    let input = &inputs[0];
    if input.len() != 4 {
        return Err(ctx.shape_error(inputs, "Interp takes an N x C x H x W input"));
    }
    let crop = i64::from(p.pad_beg()) + i64::from(p.pad_end());
    let eff = [input[2] as i64 + crop, input[3] as i64 + crop];
    if eff.iter().any(|&e| e <= 0) {
        return Err(ctx.shape_error(inputs, "the pads crop the whole input"));
    }
    let shrink = |e: i64, s: i64| (e - 1) / s + 1;
    let zoom = |e: i64, z: i64| e + (e - 1) * (z - 1);
    let (has_shrink, has_zoom) = (p.shrink_factor.is_some(), p.zoom_factor.is_some());
    let (s, z) = (i64::from(p.shrink_factor()), i64::from(p.zoom_factor()));
    if has_shrink && s < 1 {
        return Err(ctx.invalid("interp_param.shrink_factor must be at least 1"));
    }
    if has_zoom && z < 1 {
        return Err(ctx.invalid("interp_param.zoom_factor must be at least 1"));
    }
    let out = match (has_shrink, has_zoom) {
        (true, false) => eff.map(|e| shrink(e, s)),
        (false, true) => eff.map(|e| zoom(e, z)),
        (true, true) => eff.map(|e| zoom(shrink(e, s), z)),
        (false, false) if p.height.is_some() && p.width.is_some() => [i64::from(p.height()), i64::from(p.width())],
        (false, false) => {
            return Err(ctx
                .invalid("interp_param needs shrink_factor, zoom_factor, or both height and width (as the fork does)"))
        }
    };
    if out.iter().any(|&o| o <= 0) {
        return Err(ctx.shape_error(inputs, format!("the output size {out:?} is not positive")));
    }
    op.out = out.map(|o| o as usize);
    let top = vec![input[0], input[1], op.out[0], op.out[1]];
    Ok(Setup::known(op, vec![top], Vec::new()))
}

#[cfg(test)]
mod tests {
    use caffe_io::proto::Phase;

    use super::*;
    use crate::registry::LayerRegistry;

    fn out(block: &str, input: [usize; 4]) -> Result<Shape> {
        let text = format!(r#"layer {{ name: "i" type: "Interp" bottom: "x" top: "y" {block} }}"#);
        let net = caffe_io::parse_prototxt(&text, "t.prototxt").unwrap();
        let s = LayerRegistry::builtin().setup(&net.layer[0], Phase::Test, Some(&[input.to_vec()]))?;
        Ok(s.tops[0].clone().unwrap())
    }

    #[test]
    fn sizes_follow_the_forks_rules_in_its_order() {
        let x = [1, 2, 9, 7];
        assert_eq!(out("interp_param { zoom_factor: 8 }", x).unwrap(), [1, 2, 65, 49]);
        assert_eq!(out("interp_param { shrink_factor: 4 }", x).unwrap(), [1, 2, 3, 2]);
        assert_eq!(
            out("interp_param { shrink_factor: 2 zoom_factor: 3 }", x).unwrap(),
            [1, 2, 13, 10]
        );
        assert_eq!(out("interp_param { height: 5 width: 6 }", x).unwrap(), [1, 2, 5, 6]);
        // zoom wins over height and width: its rule comes first.
        assert_eq!(
            out("interp_param { zoom_factor: 2 height: 5 width: 6 }", x).unwrap(),
            [1, 2, 17, 13]
        );
        assert_eq!(
            out("interp_param { zoom_factor: 1 pad_beg: -1 pad_end: -1 }", x).unwrap(),
            [1, 2, 7, 5]
        );
        for bad in [
            "",
            "interp_param { height: 5 }",
            "interp_param { pad_beg: 1 zoom_factor: 2 }",
            "interp_param { zoom_factor: 0 }",
        ] {
            let err = out(bad, x).unwrap_err().to_string();
            assert!(err.starts_with("layer 'i' (Interp)"), "{err}");
        }
    }
}
