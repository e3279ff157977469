//! Blob shapes and Caffe's axis arithmetic (`Blob::CanonicalAxisIndex`,
//! `Blob::count`), shared by every layer family.

/// A blob shape, outermost axis first, as Caffe's `Blob::shape()`.
pub type Shape = Vec<usize>;

/// Formats a shape as pycaffe prints it: `(10, 3, 227, 227)`, `(96,)`, `()`.
pub fn fmt_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        _ => {
            let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", dims.join(", "))
        }
    }
}

/// Formats a list of shapes: `(1, 3, 5, 5), (1, 4, 5, 5)`.
pub fn fmt_shapes(shapes: &[Shape]) -> String {
    if shapes.is_empty() {
        return "none".to_string();
    }
    shapes.iter().map(|s| fmt_shape(s)).collect::<Vec<_>>().join(", ")
}

/// Caffe's `CanonicalAxisIndex`: `axis` in `[-num_axes, num_axes)`, negative
/// counting from the end. `None` when out of range.
pub fn canonical_axis(axis: i32, num_axes: usize) -> Option<usize> {
    let n = num_axes as i64;
    let a = i64::from(axis);
    if a < -n || a >= n {
        return None;
    }
    Some(if a < 0 { (a + n) as usize } else { a as usize })
}

/// Product of `shape[start..end]` (1 for an empty range), as `Blob::count`.
pub fn count(shape: &[usize], start: usize, end: usize) -> usize {
    shape[start.min(end)..end].iter().product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_pycaffe() {
        assert_eq!(fmt_shape(&[10, 3, 227, 227]), "(10, 3, 227, 227)");
        assert_eq!(fmt_shape(&[96]), "(96,)");
        assert_eq!(fmt_shape(&[]), "()");
    }

    #[test]
    fn canonical_axes() {
        assert_eq!(canonical_axis(1, 4), Some(1));
        assert_eq!(canonical_axis(-1, 4), Some(3));
        assert_eq!(canonical_axis(-4, 4), Some(0));
        assert_eq!(canonical_axis(4, 4), None);
        assert_eq!(canonical_axis(-5, 4), None);
        assert_eq!(canonical_axis(0, 0), None);
    }
}
