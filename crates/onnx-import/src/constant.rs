//! Constant tensors: initializers, `Constant` nodes and everything folded
//! from them. Floats stay `f32` (Caffe's type); every integer and boolean
//! type is held as `i64`, which is what shapes, axes and indices need.

use ndarray::{ArrayD, IxDyn};
use onnx_export::onnx::{tensor_proto::DataType, TensorProto};

/// A constant value of the graph.
#[derive(Debug, Clone, PartialEq)]
pub enum Const {
    /// FLOAT (and DOUBLE, FLOAT16 read exactly into f32 where they fit).
    F32(ArrayD<f32>),
    /// Every integer type and BOOL (as 0/1).
    I64(ArrayD<i64>),
}

impl Const {
    /// The dims.
    pub fn shape(&self) -> &[usize] {
        match self {
            Const::F32(a) => a.shape(),
            Const::I64(a) => a.shape(),
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// True when the constant has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values as f32 (integers converted).
    pub fn into_f32(self) -> ArrayD<f32> {
        match self {
            Const::F32(a) => a,
            Const::I64(a) => a.mapv(|v| v as f32),
        }
    }

    /// The values as f32 (a copy).
    pub fn to_f32(&self) -> ArrayD<f32> {
        match self {
            Const::F32(a) => a.clone(),
            Const::I64(a) => a.mapv(|v| v as f32),
        }
    }

    /// The values as i64 (floats truncated toward zero, as ONNX's Cast).
    pub fn to_i64(&self) -> ArrayD<i64> {
        match self {
            Const::F32(a) => a.mapv(|v| v as i64),
            Const::I64(a) => a.clone(),
        }
    }

    /// The values flattened as i64.
    pub fn ints(&self) -> Vec<i64> {
        self.to_i64().iter().copied().collect()
    }

    /// The values flattened as f32.
    pub fn floats(&self) -> Vec<f32> {
        self.to_f32().iter().copied().collect()
    }

    /// The single value of a one-element constant, as f32.
    pub fn scalar(&self) -> Option<f32> {
        (self.len() == 1).then(|| self.floats()[0])
    }

    /// True for a float constant.
    pub fn is_float(&self) -> bool {
        matches!(self, Const::F32(_))
    }
}

/// Reads an initializer or a `Constant` node's tensor.
pub fn from_tensor(tensor: &TensorProto) -> Result<Const, String> {
    let dims: Vec<usize> = tensor
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension in {:?}", tensor.dims)))
        .collect::<Result<_, _>>()?;
    let count = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| format!("dims {dims:?} overflow"))?;
    let raw = tensor.raw_data.as_deref();
    let check_raw = |size: usize| -> Result<&[u8], String> {
        let raw = raw.unwrap_or_default();
        if raw.len() != count * size {
            return Err(format!("{} raw bytes for {count} elements of {size} bytes", raw.len()));
        }
        Ok(raw)
    };
    let ints = |values: Vec<i64>| -> Result<Const, String> {
        if values.len() != count {
            return Err(format!("{} values for {count} elements", values.len()));
        }
        Ok(Const::I64(
            ArrayD::from_shape_vec(IxDyn(&dims), values).expect("length checked"),
        ))
    };
    let dt = DataType::try_from(tensor.data_type()).unwrap_or(DataType::Undefined);
    match dt {
        DataType::Float => onnx_export::tensor::f32_array(tensor)
            .map(Const::F32)
            .map_err(|e| e.to_string()),
        DataType::Double => {
            let values: Vec<f64> = if raw.is_some() {
                check_raw(8)?
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect()
            } else {
                tensor.double_data.clone()
            };
            if values.len() != count {
                return Err(format!("{} values for {count} elements", values.len()));
            }
            let values = values.into_iter().map(|v| v as f32).collect();
            Ok(Const::F32(
                ArrayD::from_shape_vec(IxDyn(&dims), values).expect("length checked"),
            ))
        }
        DataType::Float16 => {
            let values: Vec<u16> = if raw.is_some() {
                check_raw(2)?
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect()
            } else {
                tensor.int32_data.iter().map(|&v| v as u16).collect()
            };
            if values.len() != count {
                return Err(format!("{} values for {count} elements", values.len()));
            }
            let values = values.into_iter().map(f16_to_f32).collect();
            Ok(Const::F32(
                ArrayD::from_shape_vec(IxDyn(&dims), values).expect("length checked"),
            ))
        }
        DataType::Int64 => ints(onnx_export::tensor::i64_values(tensor).map_err(|e| e.to_string())?),
        DataType::Int32 | DataType::Int16 | DataType::Int8 | DataType::Uint8 | DataType::Uint16 | DataType::Bool => {
            let size = match dt {
                DataType::Int32 => 4,
                DataType::Int16 | DataType::Uint16 => 2,
                _ => 1,
            };
            let values: Vec<i64> = if raw.is_some() {
                check_raw(size)?
                    .chunks_exact(size)
                    .map(|c| match dt {
                        DataType::Int32 => i32::from_le_bytes(c.try_into().expect("4 bytes")) as i64,
                        DataType::Int16 => i16::from_le_bytes([c[0], c[1]]) as i64,
                        DataType::Uint16 => u16::from_le_bytes([c[0], c[1]]) as i64,
                        DataType::Int8 => c[0] as i8 as i64,
                        _ => c[0] as i64,
                    })
                    .collect()
            } else {
                tensor.int32_data.iter().map(|&v| v as i64).collect()
            };
            ints(values)
        }
        DataType::Uint32 | DataType::Uint64 => ints(if raw.is_some() {
            check_raw(if dt == DataType::Uint32 { 4 } else { 8 })?
                .chunks(if dt == DataType::Uint32 { 4 } else { 8 })
                .map(|c| {
                    let mut b = [0u8; 8];
                    b[..c.len()].copy_from_slice(c);
                    u64::from_le_bytes(b) as i64
                })
                .collect()
        } else {
            tensor.uint64_data.iter().map(|&v| v as i64).collect()
        }),
        other => Err(format!("data type {} is not read", other.as_str_name())),
    }
}

/// IEEE half to single precision (exact: every half is a float).
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: normalize.
            let mut e = 127 - 15 + 1;
            let mut f = frac;
            while f & 0x400 == 0 {
                f <<= 1;
                e -= 1;
            }
            sign | ((e as u32) << 23) | ((f & 0x3ff) << 13)
        }
        (0x1f, _) => sign | 0x7f80_0000 | (frac << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (frac << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_convert_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert!(f16_to_f32(0x7c00).is_infinite());
    }
}
