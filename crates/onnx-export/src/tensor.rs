//! `TensorProto` constructors and readers. Payloads always go to `raw_data`,
//! little-endian, as ONNX specifies; an owned f32 array becomes the tensor's
//! payload without a copy (on little-endian hosts), so exporting a net does not
//! need a second copy of its weights.

use bytes::Bytes;
use ndarray::{ArrayD, ArrayViewD};

use crate::error::{Error, Result};
use crate::onnx::tensor_proto::DataType;
use crate::onnx::TensorProto;

/// Bytes per element of `data_type`, for the fixed-size types; `None` for
/// strings, sub-byte and unknown types.
pub fn element_size(data_type: i32) -> Option<usize> {
    use DataType as D;
    let size = match DataType::try_from(data_type).ok()? {
        D::Float | D::Int32 | D::Uint32 => 4,
        D::Double | D::Int64 | D::Uint64 | D::Complex64 => 8,
        D::Complex128 => 16,
        D::Uint8 | D::Int8 | D::Bool => 1,
        D::Float8e4m3fn | D::Float8e4m3fnuz | D::Float8e5m2 | D::Float8e5m2fnuz | D::Float8e8m0 => 1,
        D::Uint16 | D::Int16 | D::Float16 | D::Bfloat16 => 2,
        _ => return None,
    };
    Some(size)
}

/// A float tensor holding a copy of `array` (any layout; written in C order).
pub fn f32_tensor(name: &str, array: ArrayViewD<'_, f32>) -> TensorProto {
    let dims = dims_i64(array.shape());
    let raw = match array.as_slice() {
        Some(slice) => Bytes::copy_from_slice(&f32_le_bytes(slice)),
        None => {
            let standard = array.as_standard_layout();
            let slice = standard.as_slice().expect("standard layout is contiguous");
            Bytes::copy_from_slice(&f32_le_bytes(slice))
        }
    };
    raw_tensor_unchecked(name, DataType::Float, dims, raw)
}

/// A float tensor that takes ownership of `array`'s buffer: no copy when the
/// array is in standard layout and the host is little-endian.
pub fn f32_tensor_owned(name: &str, array: ArrayD<f32>) -> TensorProto {
    let dims = dims_i64(array.shape());
    let len = array.len();
    let vec = if array.is_standard_layout() {
        match array.into_raw_vec_and_offset() {
            (vec, Some(0) | None) if vec.len() == len => vec,
            // The array is a window into a larger buffer: keep only the window.
            (vec, Some(offset)) if offset + len <= vec.len() => vec[offset..offset + len].to_vec(),
            (vec, _) => vec,
        }
    } else {
        array.as_standard_layout().iter().copied().collect()
    };
    debug_assert_eq!(vec.len(), len);
    let raw = if cfg!(target_endian = "little") {
        Bytes::from_owner(F32Owner(vec))
    } else {
        Bytes::from(f32_le_bytes(&vec).into_owned())
    };
    raw_tensor_unchecked(name, DataType::Float, dims, raw)
}

/// An int64 tensor of shape `dims` (e.g. a Reshape target or Slice bounds).
pub fn i64_tensor(name: &str, dims: &[usize], values: &[i64]) -> Result<TensorProto> {
    check_len(name, dims, values.len())?;
    let mut raw = Vec::with_capacity(values.len() * 8);
    for v in values {
        raw.extend_from_slice(&v.to_le_bytes());
    }
    Ok(raw_tensor_unchecked(
        name,
        DataType::Int64,
        dims_i64(dims),
        Bytes::from(raw),
    ))
}

/// A 1-D int64 tensor (the common case of shape/axes/pads operands).
pub fn i64_vector(name: &str, values: &[i64]) -> TensorProto {
    i64_tensor(name, &[values.len()], values).expect("a vector's length matches its shape")
}

/// A float tensor of shape `dims` from a slice in C order.
pub fn f32_tensor_from_slice(name: &str, dims: &[usize], values: &[f32]) -> Result<TensorProto> {
    check_len(name, dims, values.len())?;
    let raw = Bytes::copy_from_slice(&f32_le_bytes(values));
    Ok(raw_tensor_unchecked(name, DataType::Float, dims_i64(dims), raw))
}

/// A tensor of any fixed-size type from little-endian `raw` bytes, checked
/// against `dims`.
pub fn raw_tensor(name: &str, data_type: DataType, dims: &[usize], raw: Bytes) -> Result<TensorProto> {
    if let Some(size) = element_size(data_type as i32) {
        let count = element_count(name, dims)?;
        if count.checked_mul(size) != Some(raw.len()) {
            return Err(Error::InvalidTensor {
                name: name.to_string(),
                message: format!(
                    "{} bytes of data for shape {dims:?} of {data_type:?} ({size} bytes each)",
                    raw.len()
                ),
            });
        }
    }
    Ok(raw_tensor_unchecked(name, data_type, dims_i64(dims), raw))
}

/// An initializer header without data: name, type and dims only. Its bytes
/// come from a [`crate::Payloads`] when the model is written.
pub fn header_tensor(name: &str, data_type: DataType, dims: &[usize]) -> TensorProto {
    TensorProto {
        name: Some(name.to_string()),
        data_type: Some(data_type as i32),
        dims: dims_i64(dims),
        ..Default::default()
    }
}

/// The dims of a tensor as `usize`; an error for negative dims.
pub fn tensor_shape(tensor: &TensorProto) -> Result<Vec<usize>> {
    tensor
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| Error::InvalidTensor {
                name: tensor.name().to_string(),
                message: format!("negative dimension {d} in {:?}", tensor.dims),
            })
        })
        .collect()
}

/// The values of a float tensor (from `raw_data` or `float_data`) as an array.
/// External data must have been loaded first (see [`crate::read_model`]).
pub fn f32_array(tensor: &TensorProto) -> Result<ArrayD<f32>> {
    let name = tensor.name();
    let invalid = |message: String| Error::InvalidTensor {
        name: name.to_string(),
        message,
    };
    if tensor.data_type() != DataType::Float as i32 {
        return Err(invalid(format!(
            "expected FLOAT data, found data_type {}",
            tensor.data_type()
        )));
    }
    let shape = tensor_shape(tensor)?;
    let count = element_count(name, &shape)?;
    let values: Vec<f32> = if let Some(raw) = &tensor.raw_data {
        if raw.len() != count * 4 {
            return Err(invalid(format!("{} raw bytes for {count} floats", raw.len())));
        }
        raw.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else if tensor.data_location() == crate::onnx::tensor_proto::DataLocation::External {
        return Err(invalid("data is external and has not been loaded".into()));
    } else {
        if tensor.float_data.len() != count {
            return Err(invalid(format!(
                "{} float_data values for {count} floats",
                tensor.float_data.len()
            )));
        }
        tensor.float_data.clone()
    };
    ArrayD::from_shape_vec(shape, values).map_err(|e| invalid(e.to_string()))
}

/// The values of an int64 tensor (from `raw_data` or `int64_data`).
pub fn i64_values(tensor: &TensorProto) -> Result<Vec<i64>> {
    let name = tensor.name();
    let invalid = |message: String| Error::InvalidTensor {
        name: name.to_string(),
        message,
    };
    if tensor.data_type() != DataType::Int64 as i32 {
        return Err(invalid(format!(
            "expected INT64 data, found data_type {}",
            tensor.data_type()
        )));
    }
    let count = element_count(name, &tensor_shape(tensor)?)?;
    let values: Vec<i64> = match &tensor.raw_data {
        Some(raw) => raw
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().expect("chunks of 8")))
            .collect(),
        None => tensor.int64_data.clone(),
    };
    if values.len() != count {
        return Err(invalid(format!("{} values for {count} elements", values.len())));
    }
    Ok(values)
}

fn raw_tensor_unchecked(name: &str, data_type: DataType, dims: Vec<i64>, raw: Bytes) -> TensorProto {
    TensorProto {
        name: Some(name.to_string()),
        data_type: Some(data_type as i32),
        dims,
        raw_data: Some(raw),
        ..Default::default()
    }
}

fn dims_i64(shape: &[usize]) -> Vec<i64> {
    // Shapes of in-memory arrays fit in i64 on every platform Rust supports.
    shape.iter().map(|&d| d as i64).collect()
}

fn element_count(name: &str, dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::InvalidTensor {
            name: name.to_string(),
            message: format!("shape {dims:?} overflows"),
        })
}

fn check_len(name: &str, dims: &[usize], len: usize) -> Result<()> {
    let count = element_count(name, dims)?;
    if count != len {
        return Err(Error::InvalidTensor {
            name: name.to_string(),
            message: format!("{len} values for shape {dims:?} ({count} elements)"),
        });
    }
    Ok(())
}

/// f32 values as little-endian bytes: a borrow on little-endian hosts.
fn f32_le_bytes(values: &[f32]) -> std::borrow::Cow<'_, [u8]> {
    if cfg!(target_endian = "little") {
        std::borrow::Cow::Borrowed(bytemuck::cast_slice(values))
    } else {
        std::borrow::Cow::Owned(values.iter().flat_map(|v| v.to_le_bytes()).collect())
    }
}

/// Keeps a `Vec<f32>` alive behind a `Bytes` and shows it as its bytes.
struct F32Owner(Vec<f32>);

impl AsRef<[u8]> for F32Owner {
    fn as_ref(&self) -> &[u8] {
        bytemuck::cast_slice(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, IxDyn, ShapeBuilder};

    #[test]
    fn owned_array_is_not_copied() {
        let array = Array::from_shape_vec(IxDyn(&[2, 3]), vec![1f32, 2., 3., 4., 5., 6.]).unwrap();
        let ptr = array.as_ptr() as *const u8;
        let t = f32_tensor_owned("w", array);
        if cfg!(target_endian = "little") {
            assert_eq!(t.raw_data.as_ref().unwrap().as_ptr(), ptr);
        }
        assert_eq!(t.dims, vec![2, 3]);
        assert_eq!(f32_array(&t).unwrap().as_slice().unwrap(), &[1., 2., 3., 4., 5., 6.]);
    }

    #[test]
    fn fortran_and_sliced_arrays_are_written_in_c_order() {
        let f = Array::from_shape_vec(IxDyn(&[2, 3]).f(), vec![1f32, 4., 2., 5., 3., 6.]).unwrap();
        let want = [1f32, 2., 3., 4., 5., 6.];
        assert_eq!(
            f32_array(&f32_tensor("a", f.view())).unwrap().as_slice().unwrap(),
            &want
        );
        assert_eq!(
            f32_array(&f32_tensor_owned("b", f.clone()))
                .unwrap()
                .as_slice()
                .unwrap(),
            &want
        );
        let big = Array::from_shape_vec(IxDyn(&[3, 3]), (0..9).map(|v| v as f32).collect()).unwrap();
        let tail = big.slice_move(ndarray::s![1.., ..]).into_dyn();
        let t = f32_tensor_owned("c", tail);
        assert_eq!(f32_array(&t).unwrap().as_slice().unwrap(), &[3., 4., 5., 6., 7., 8.]);
    }

    #[test]
    fn lengths_are_checked() {
        assert!(i64_tensor("s", &[2, 2], &[1, 2, 3]).is_err());
        assert!(raw_tensor("r", DataType::Float, &[3], Bytes::from_static(&[0; 8])).is_err());
        let t = i64_tensor("s", &[3], &[1, -1, 7]).unwrap();
        assert_eq!(i64_values(&t).unwrap(), vec![1, -1, 7]);
    }
}
