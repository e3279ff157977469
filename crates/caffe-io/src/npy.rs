//! `.npy` files in and out (ndarray-npy), so that blobs meet numpy. Reading
//! views the file's bytes, so the header's shape is checked against the bytes
//! actually present before anything is allocated from it.

use std::path::Path;

use ndarray::{ArrayD, ArrayViewD};
use ndarray_npy::{ViewNpyError, ViewNpyExt, WriteNpyExt};

use crate::error::{Error, Result};
use crate::fs::write_atomic;

/// Reads an `.npy` array as f32. Float32 is read as is; float64 and integer
/// arrays (int64, int32, uint8) are converted, as numpy's `astype(np.float32)`.
pub fn read_npy_f32(path: impl AsRef<Path>) -> Result<ArrayD<f32>> {
    let path = path.as_ref();
    let buf = read_aligned(path)?;
    let bytes = &bytemuck::cast_slice::<u64, u8>(&buf.words)[..buf.len];
    let npy_err = |e: ViewNpyError| Error::Npy {
        path: path.to_path_buf(),
        message: describe(e),
    };
    match ArrayViewD::<f32>::view_npy(bytes) {
        Ok(v) => return Ok(v.as_standard_layout().into_owned()),
        Err(ViewNpyError::WrongDescriptor(_)) => {}
        Err(e) => return Err(npy_err(e)),
    }
    macro_rules! convert {
        ($t:ty) => {
            match ArrayViewD::<$t>::view_npy(bytes) {
                Ok(v) => return Ok(v.as_standard_layout().mapv(|x| x as f32)),
                Err(ViewNpyError::WrongDescriptor(_)) => {}
                Err(e) => return Err(npy_err(e)),
            }
        };
    }
    convert!(f64);
    convert!(i64);
    convert!(i32);
    convert!(u8);
    Err(Error::Npy {
        path: path.to_path_buf(),
        message: "unsupported dtype: expected float32, float64, int64, int32 or uint8".into(),
    })
}

/// Reads an `.npy` array of integers (int64 or int32), e.g. labels.
pub fn read_npy_i64(path: impl AsRef<Path>) -> Result<ArrayD<i64>> {
    let path = path.as_ref();
    let buf = read_aligned(path)?;
    let bytes = &bytemuck::cast_slice::<u64, u8>(&buf.words)[..buf.len];
    match ArrayViewD::<i64>::view_npy(bytes) {
        Ok(v) => return Ok(v.as_standard_layout().into_owned()),
        Err(ViewNpyError::WrongDescriptor(_)) => {}
        Err(e) => {
            return Err(Error::Npy {
                path: path.to_path_buf(),
                message: describe(e),
            })
        }
    }
    ArrayViewD::<i32>::view_npy(bytes)
        .map(|v| v.mapv(i64::from))
        .map_err(|e| Error::Npy {
            path: path.to_path_buf(),
            message: describe(e),
        })
}

/// Writes a float32 `.npy` (C order), atomically: a temporary file in the same
/// directory is renamed into place once complete.
pub fn write_npy_f32(path: impl AsRef<Path>, array: ArrayViewD<'_, f32>) -> Result<()> {
    write_atomic(path.as_ref(), |w| {
        array
            .as_standard_layout()
            .write_npy(w)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
}

struct Aligned {
    words: Vec<u64>,
    len: usize,
}

/// Reads a file into 8-byte-aligned memory, so that typed views of it work.
fn read_aligned(path: &Path) -> Result<Aligned> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
    let len = file.metadata().map_err(|e| Error::io(path, "stat", e))?.len() as usize;
    let mut words = vec![0u64; len.div_ceil(8)];
    let bytes = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..len];
    file.read_exact(bytes).map_err(|e| Error::io(path, "read", e))?;
    Ok(Aligned { words, len })
}

fn describe(e: ViewNpyError) -> String {
    match e {
        ViewNpyError::MissingBytes(n) => {
            format!("truncated: the header's shape needs {n} more bytes than the file has")
        }
        ViewNpyError::ExtraBytes(n) => format!("{n} bytes follow the array data"),
        ViewNpyError::NonNativeEndian => "big-endian arrays are not supported; save with dtype '<f4'".into(),
        ViewNpyError::LengthOverflow => "the header's shape has more elements than fit in memory".into(),
        other => format!("not a valid .npy file: {other}"),
    }
}
