//! `caffe.io`'s image functions, computed by the preprocess crate, which
//! gives pycaffe's numbers (skimage's and scipy's rules, bit for bit; see
//! `caffe_preprocess::resize`).

use std::path::PathBuf;

use numpy::{IntoPyArray, PyArray3, PyArray4, PyReadonlyArray3};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;

use netsurgeon::caffe_preprocess::{self as preprocess, AntiAliasing, ImageOptions, ResizeOptions};

fn preprocess_error(e: preprocess::Error) -> PyErr {
    if e.path().is_some() && std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) {
        PyOSError::new_err(e.to_string())
    } else {
        PyValueError::new_err(e.to_string())
    }
}

/// `caffe.io.load_image(filename, color=True)`: H x W x 3 (or x 1) float32 in [0, 1].
#[pyfunction]
#[pyo3(signature = (filename, color = true))]
pub fn load_image(py: Python<'_>, filename: PathBuf, color: bool) -> PyResult<Bound<'_, PyArray3<f32>>> {
    let options = ImageOptions::default().color(color);
    let image = py
        .detach(|| preprocess::load_image(&filename, &options))
        .map_err(preprocess_error)?;
    Ok(image.into_pyarray(py))
}

/// `caffe.io.resize_image(im, new_dims)` on a float32 H x W x K image.
#[pyfunction]
#[pyo3(signature = (im, height, width, anti_aliasing = false))]
pub fn resize_image<'py>(
    py: Python<'py>,
    im: PyReadonlyArray3<'py, f32>,
    height: usize,
    width: usize,
    anti_aliasing: bool,
) -> PyResult<Bound<'py, PyArray3<f32>>> {
    let options = ResizeOptions {
        anti_aliasing: if anti_aliasing {
            AntiAliasing::Gaussian
        } else {
            AntiAliasing::Off
        },
    };
    let resized = preprocess::resize_image(im.as_array(), (height, width), options).map_err(preprocess_error)?;
    Ok(resized.into_pyarray(py))
}

/// `caffe.io.oversample(images, crop_dims)` on float32 H x W x K images.
#[pyfunction]
pub fn oversample<'py>(
    py: Python<'py>,
    images: Vec<PyReadonlyArray3<'py, f32>>,
    height: usize,
    width: usize,
) -> PyResult<Bound<'py, PyArray4<f32>>> {
    let views: Vec<_> = images.iter().map(|i| i.as_array()).collect();
    let crops = preprocess::oversample(&views, (height, width)).map_err(preprocess_error)?;
    Ok(crops.into_pyarray(py))
}
