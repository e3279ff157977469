//! Transpose: a Reshape where only axes of size 1 move (the memory is the
//! same); else Permute in the dialects that have it (SSD's, OpenCV's, NNIE's
//! (0, 2, 3, 1) only); else, where the batch axis and the trailing axes stay
//! and only the axes between move (ShuffleNet's channel shuffle, (0, 2, 1,
//! 3, 4) of `(N, g, C/g, H, W)`), a permutation of the flattened middle
//! axes: Reshape to `(N, M, S, 1)`, a 1x1 Convolution with one-hot weights,
//! Reshape to the result (exact for finite inputs); else refused: BVLC
//! Caffe has no transpose.

use caffe_io::proto::PermuteParameter;

use super::linear_map;
use super::reshape::to_shape;
use crate::cx::Blob;
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
        if let Some(k) = middle_axes(&perm) {
            return permute_middle(cx, node, &x, &perm, k);
        }
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

/// The last moved axis `k` when `perm` keeps axis 0 and every axis after
/// `k`, moving only axes `1..=k`.
fn middle_axes(perm: &[usize]) -> Option<usize> {
    if perm.first() != Some(&0) {
        return None;
    }
    let k = (1..perm.len()).rev().find(|&i| perm[i] != i)?;
    perm[1..=k].iter().all(|&a| (1..=k).contains(&a)).then_some(k)
}

fn permute_middle(cx: &mut Cx, node: &Node, x: &Blob, perm: &[usize], k: usize) -> OpResult<Mapped> {
    let dims = &x.shape;
    let m: usize = dims[1..=k].iter().product();
    let s: usize = dims[k + 1..].iter().product();
    // Output middle index -> input middle index, both row-major.
    let out_dims: Vec<usize> = perm[1..=k].iter().map(|&a| dims[a]).collect();
    let what = format!(
        "Transpose {perm:?} of {dims:?} without Permute (the '{}' dialect has none; ssd and opencv do): a \
         permutation of {m} values",
        cx.dialect()
    );
    let mut weights = linear_map::matrix(m, m, &what)?;
    for j in 0..m {
        let mut rest = j;
        let mut index = vec![0usize; k + 1];
        for t in (0..k).rev() {
            index[perm[1 + t]] = rest % out_dims[t];
            rest /= out_dims[t];
        }
        let i = (1..=k).fold(0, |acc, a| acc * dims[a] + index[a]);
        weights[(j, i)] = 1.0;
    }
    let shape: Vec<usize> = perm.iter().map(|&a| dims[a]).collect();
    let out = cx.output_blob(node, 0, shape.clone());
    linear_map::mix(cx, node, x, [dims[0], s], weights, "permuted", shape, Some(out))?;
    Mapped::composed(format!(
        "{perm:?} moves only axes 1..={k}: a permutation of {m} values as a one-hot 1x1 Convolution between Reshapes"
    ))
}

#[cfg(test)]
mod tests {
    use super::middle_axes;

    #[test]
    fn which_orders_permute_middle_axes() {
        assert_eq!(middle_axes(&[0, 2, 1, 3, 4]), Some(2));
        assert_eq!(middle_axes(&[0, 3, 1, 2]), Some(3));
        assert_eq!(middle_axes(&[0, 2, 3, 1]), Some(3));
        assert_eq!(middle_axes(&[1, 0, 2, 3]), None);
        assert_eq!(middle_axes(&[0, 1, 2, 3]), None);
    }
}
