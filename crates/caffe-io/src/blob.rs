//! `BlobProto` <-> ndarray, with Caffe's shape rules (`Blob::FromProto`): a
//! blob that sets any of the legacy num/channels/height/width fields is 4-D
//! (missing ones are 0); otherwise `shape.dim` gives the shape. Data comes from
//! `double_data` when present, else `data`, and must hold exactly as many
//! values as the shape has elements.

use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::proto::{BlobProto, BlobShape};

/// Why a blob is not a valid tensor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    #[error("dimension {index} is negative ({value})")]
    NegativeDim { index: usize, value: i64 },
    #[error("shape {shape:?} has more elements than fit in memory")]
    Overflow { shape: Vec<i64> },
    #[error("shape {shape:?} has {expected} elements but the blob holds {actual} values")]
    CountMismatch {
        shape: Vec<usize>,
        expected: usize,
        actual: usize,
    },
}

/// The shape of a blob as Caffe reads it (legacy 4-D fields win over `shape`).
pub fn blob_shape(blob: &BlobProto) -> Result<Vec<usize>, BlobError> {
    let dims: Vec<i64> = if uses_legacy_dims(blob) {
        vec![
            i64::from(blob.num()),
            i64::from(blob.channels()),
            i64::from(blob.height()),
            i64::from(blob.width()),
        ]
    } else {
        blob.shape.as_ref().map(|s| s.dim.clone()).unwrap_or_default()
    };
    dims_to_shape(&dims)
}

/// Checks a list of dims from a file: none negative, and the element count fits.
pub fn dims_to_shape(dims: &[i64]) -> Result<Vec<usize>, BlobError> {
    let mut count: usize = 1;
    let mut shape = Vec::with_capacity(dims.len());
    for (index, &value) in dims.iter().enumerate() {
        if value < 0 {
            return Err(BlobError::NegativeDim { index, value });
        }
        let d = usize::try_from(value).map_err(|_| BlobError::Overflow { shape: dims.to_vec() })?;
        // Count in bytes of f32 too, so that a valid shape can always be allocated.
        // Zero dims count as 1: an empty shape such as (0, 2^40, 2^40) is still
        // refused, as ndarray refuses it (found by fuzzing).
        count = count
            .checked_mul(d.max(1))
            .filter(|c| c.checked_mul(4).is_some_and(|b| b <= isize::MAX as usize))
            .ok_or_else(|| BlobError::Overflow { shape: dims.to_vec() })?;
        shape.push(d);
    }
    Ok(shape)
}

/// True when the blob gives its shape with the legacy 4-D fields.
pub fn uses_legacy_dims(blob: &BlobProto) -> bool {
    blob.num.is_some() || blob.channels.is_some() || blob.height.is_some() || blob.width.is_some()
}

/// Number of values the blob holds (double data counts when present).
pub fn value_count(blob: &BlobProto) -> usize {
    if blob.double_data.is_empty() {
        blob.data.len()
    } else {
        blob.double_data.len()
    }
}

/// Checks that the blob's data length agrees with its shape; returns the shape.
pub fn check_blob(blob: &BlobProto) -> Result<Vec<usize>, BlobError> {
    let shape = blob_shape(blob)?;
    let expected: usize = shape.iter().product();
    let actual = value_count(blob);
    if expected != actual {
        return Err(BlobError::CountMismatch {
            shape,
            expected,
            actual,
        });
    }
    Ok(shape)
}

/// Takes the blob's values as an array, moving the float buffer (no copy);
/// double data is converted to f32 as Caffe's float nets do.
pub fn blob_into_array(mut blob: BlobProto) -> Result<ArrayD<f32>, BlobError> {
    let shape = check_blob(&blob)?;
    let data = if blob.double_data.is_empty() {
        std::mem::take(&mut blob.data)
    } else {
        blob.double_data.iter().map(|&v| v as f32).collect()
    };
    Ok(ArrayD::from_shape_vec(IxDyn(&shape), data).expect("count was checked"))
}

/// A view of the blob's float data in its shape, without copying.
pub fn blob_view(blob: &BlobProto) -> Result<ArrayViewD<'_, f32>, BlobError> {
    let shape = check_blob(blob)?;
    if !blob.double_data.is_empty() {
        // Views need f32 storage; double blobs are rare (old solvers' snapshots).
        return Err(BlobError::CountMismatch {
            shape,
            expected: value_count(blob),
            actual: blob.data.len(),
        });
    }
    Ok(ArrayViewD::from_shape(IxDyn(&shape), &blob.data).expect("count was checked"))
}

/// A blob with a modern `shape` holding the array's values (in row-major order).
pub fn array_to_blob(array: ArrayViewD<'_, f32>) -> BlobProto {
    let data = match array.as_slice() {
        Some(s) => s.to_vec(),
        None => array.iter().copied().collect(),
    };
    BlobProto {
        shape: Some(BlobShape {
            dim: array.shape().iter().map(|&d| d as i64).collect(),
        }),
        data,
        ..Default::default()
    }
}

/// A blob that takes ownership of the array's buffer (no copy when the array is
/// in standard layout).
pub fn array_into_blob(array: ArrayD<f32>) -> BlobProto {
    let dim = array.shape().iter().map(|&d| d as i64).collect();
    let data = if array.is_standard_layout() {
        array.into_raw_vec_and_offset().0
    } else {
        array.iter().copied().collect()
    };
    BlobProto {
        shape: Some(BlobShape { dim }),
        data,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_dims_win_and_missing_ones_are_zero() {
        let blob = BlobProto {
            num: Some(1),
            channels: Some(1),
            height: Some(2),
            width: Some(3),
            shape: Some(BlobShape { dim: vec![9] }),
            data: vec![0.0; 6],
            ..Default::default()
        };
        assert_eq!(check_blob(&blob).unwrap(), vec![1, 1, 2, 3]);
        let partial = BlobProto {
            channels: Some(3),
            ..Default::default()
        };
        assert_eq!(blob_shape(&partial).unwrap(), vec![0, 3, 0, 0]);
    }

    #[test]
    fn rejects_bad_shapes() {
        let neg = BlobProto {
            shape: Some(BlobShape { dim: vec![2, -1] }),
            ..Default::default()
        };
        assert_eq!(blob_shape(&neg), Err(BlobError::NegativeDim { index: 1, value: -1 }));
        let huge = BlobProto {
            shape: Some(BlobShape {
                dim: vec![1 << 40, 1 << 40],
            }),
            ..Default::default()
        };
        assert!(matches!(blob_shape(&huge), Err(BlobError::Overflow { .. })));
        let short = BlobProto {
            shape: Some(BlobShape { dim: vec![2, 3] }),
            data: vec![0.0; 5],
            ..Default::default()
        };
        assert_eq!(
            check_blob(&short),
            Err(BlobError::CountMismatch {
                shape: vec![2, 3],
                expected: 6,
                actual: 5
            })
        );
    }

    #[test]
    fn into_array_moves_the_buffer() {
        let blob = BlobProto {
            shape: Some(BlobShape { dim: vec![2, 2] }),
            data: vec![1.0, 2.0, 3.0, 4.0],
            ..Default::default()
        };
        let ptr = blob.data.as_ptr();
        let array = blob_into_array(blob).unwrap();
        assert_eq!(array.as_ptr(), ptr);
        let back = array_into_blob(array);
        assert_eq!(back.data.as_ptr(), ptr);
    }
}
