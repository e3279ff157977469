//! Embed: as Caffe's `EmbedLayer`, each input value is an index (truncated to
//! an integer) into a `(input_dim, num_output)` weight table; the top is the
//! input's shape plus `num_output`, each row the table's row plus the
//! `(num_output,)` bias (`bias_term`, default true). Both sizes are required.
//! Caffe does not check the indices in release builds; an index outside
//! `[0, input_dim)` is an error at run time in ONNX runtimes.

use caffe_io::proto::LayerParameter;

use super::{filler_value, LayerCtx, ParamInit, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// `Embed`: rows of a `(input_dim, num_output)` table picked by the input's values.
#[derive(Debug, Clone, PartialEq)]
pub struct Embed {
    pub num_output: usize,
    pub input_dim: usize,
    pub bias_term: bool,
}

/// `Embed`: one bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["Embed"], setup);

impl LayerOp for Embed {
    fn param_count(&self) -> usize {
        1 + usize::from(self.bias_term)
    }

    /// The leading axes are the bottom's; `num_output` is appended.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.leading_of_bottom(0))
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.embed_param.clone().unwrap_or_default();
    let (num_output, input_dim, bias_term) = (p.num_output() as usize, p.input_dim() as usize, p.bias_term());
    if num_output == 0 || input_dim == 0 {
        return Err(ctx.invalid(format!(
            "embed_param.num_output ({num_output}) and input_dim ({input_dim}) must be given and positive"
        )));
    }
    let op = Embed {
        num_output,
        input_dim,
        bias_term,
    };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(op, ctx.num_tops));
    };
    let mut top = inputs[0].clone();
    top.push(num_output);
    let mut params = vec![ParamInit {
        shape: vec![input_dim, num_output],
        fill: filler_value(p.weight_filler.as_ref(), 0.0),
    }];
    if bias_term {
        params.push(ParamInit {
            shape: vec![num_output],
            fill: filler_value(p.bias_filler.as_ref(), 0.0),
        });
    }
    Ok(Setup::known(op, vec![top], params))
}
