//! Embed: as Caffe's `EmbedLayer`, each input value is an index (truncated to
//! an integer) into a `(input_dim, num_output)` weight table; the top is the
//! input's shape plus `num_output`, each row the table's row plus the
//! `(num_output,)` bias (`bias_term`, default true). Both sizes are required.
//! Caffe does not check the indices in release builds; an index outside
//! `[0, input_dim)` is an error at run time in ONNX runtimes.

use caffe_io::proto::LayerParameter;

use super::{filler_value, LayerCtx, Op, ParamInit, Setup};
use crate::error::Result;
use crate::shape::Shape;

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.embed_param.clone().unwrap_or_default();
    let (num_output, input_dim, bias_term) = (p.num_output() as usize, p.input_dim() as usize, p.bias_term());
    if num_output == 0 || input_dim == 0 {
        return Err(ctx.invalid(format!(
            "embed_param.num_output ({num_output}) and input_dim ({input_dim}) must be given and positive"
        )));
    }
    let op = Op::Embed {
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
