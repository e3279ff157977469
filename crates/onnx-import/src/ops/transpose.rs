//! Transpose: a Reshape where only axes of size 1 move (the memory is the
//! same); else Permute in the dialects that have it (SSD's, OpenCV's, NNIE's
//! (0, 2, 3, 1) only); else refused: BVLC Caffe has no transpose.

use caffe_io::proto::PermuteParameter;

use super::reshape::to_shape;
use crate::cx::Cx;
use crate::error::OpResult;
use crate::node::{normalize_axis, Node};
use crate::refuse;
use crate::registry::Mapped;

pub fn transpose(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let x = cx.blob(node, 0)?;
    let rank = x.rank();
    let perm: Vec<usize> = match node.ints("perm") {
        Some(p) => p.iter().map(|&a| normalize_axis(a, rank)).collect::<OpResult<_>>()?,
        None => (0..rank).rev().collect(),
    };
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..rank).collect::<Vec<_>>() {
        crate::invalid!("perm {perm:?} is not a permutation of {rank} axes");
    }
    let shape: Vec<usize> = perm.iter().map(|&a| x.shape[a]).collect();
    let moved: Vec<usize> = perm.iter().copied().filter(|&a| x.shape[a] != 1).collect();
    if moved.windows(2).all(|w| w[0] < w[1]) {
        let m = to_shape(cx, node, &x, shape)?;
        return Ok(Mapped {
            note: format!("only axes of size 1 move: {}", m.note),
            ..m
        });
    }
    if !cx.dialect().permute_allowed(&perm) {
        refuse!(
            "Transpose {perm:?} of {:?}: the '{}' dialect has no Permute layer{}",
            x.shape,
            cx.dialect(),
            if cx.dialect().has_permute() {
                " for this order (NNIE's takes (0, 2, 3, 1) only)"
            } else {
                " (the ssd, opencv and nnie dialects have one)"
            }
        );
    }
    let out = cx.output_blob(node, 0, shape);
    let order = perm.iter().map(|&a| a as u32).collect();
    cx.layer(node, "", "Permute", &[&x], &[&out], vec![], |l| {
        l.permute_param = Some(PermuteParameter { order })
    });
    Mapped::exact(format!("Permute {perm:?}"))
}
