//! ReduceMean/ReduceMax over H and W of an NCHW blob -> global AVE/MAX
//! Pooling (then Flatten when keepdims is 0). Other axes need Caffe's
//! Reduction, which OpenCV lacks and which reduces only trailing axes: not
//! mapped yet.

use crate::adapt;
use crate::cx::Cx;
use crate::error::OpResult;
use crate::node::Node;
use crate::refuse;
use crate::registry::Mapped;

fn reduce(cx: &mut Cx, node: &Node, max: bool) -> OpResult<Mapped> {
    node.arity(1, 2, Some(1))?;
    let x = cx.blob(node, 0)?;
    let axes = adapt::axes(node, 18, cx.constant(node, 1)?);
    let rank = x.rank() as i64;
    let mut axes: Vec<i64> = axes
        .unwrap_or_else(|| (0..rank).collect())
        .iter()
        .map(|&a| if a < 0 { a + rank } else { a })
        .collect();
    axes.sort_unstable();
    axes.dedup();
    if rank != 4 || axes != [2, 3] {
        refuse!(
            "a reduction over axes {axes:?} of a rank-{rank} tensor: only H and W of NCHW (global pooling) are mapped"
        );
    }
    let keep = node.int("keepdims", 1)? != 0;
    let pooled_shape = vec![x.shape[0], x.shape[1], 1, 1];
    if keep {
        let out = cx.output_blob(node, 0, pooled_shape);
        super::pool::global(cx, node, "", &x, max, &out);
        return Mapped::exact("Pooling with global_pooling");
    }
    let pooled = cx.part(node, "pooled", pooled_shape);
    super::pool::global(cx, node, "pool", &x, max, &pooled);
    let out = cx.output_blob(node, 0, vec![x.shape[0], x.shape[1]]);
    cx.layer(node, "", "Flatten", &[&pooled], &[&out], vec![], |_| {});
    Mapped::composed("Pooling with global_pooling, then Flatten (keepdims 0)")
}

pub fn reduce_mean(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    reduce(cx, node, false)
}

pub fn reduce_max(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    reduce(cx, node, true)
}
