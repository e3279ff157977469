//! `netsurgeon._native`: the Rust half of the Python package. The Python half
//! (`pysrc/netsurgeon`) gives pycaffe's API on top of it; this module holds
//! the net, hands out numpy views of its params, and runs forward passes
//! with the GIL released.
//!
//! - `net::NativeNet`: a loaded net, its cached tract session, its views.
//! - `image`: `caffe.io`'s image loading and resizing (the preprocess crate).
//! - `errors`: netsurgeon's errors as Python exceptions.

use pyo3::prelude::*;

mod errors;
mod image;
mod net;

/// The encoded `FileDescriptorSet` of netsurgeon's Caffe schema
/// (`caffe.proto`), from which `netsurgeon.caffe.proto.caffe_pb2` builds its
/// message classes without protoc.
#[pyfunction]
fn descriptor_set(py: Python<'_>) -> Bound<'_, pyo3::types::PyBytes> {
    pyo3::types::PyBytes::new(py, netsurgeon::caffe_io::DESCRIPTOR_SET)
}

/// The converter's version.
#[pyfunction]
fn version() -> &'static str {
    netsurgeon::VERSION
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<net::NativeNet>()?;
    m.add_function(wrap_pyfunction!(descriptor_set, m)?)?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(image::load_image, m)?)?;
    m.add_function(wrap_pyfunction!(image::resize_image, m)?)?;
    m.add_function(wrap_pyfunction!(image::oversample, m)?)?;
    m.add_function(wrap_pyfunction!(net::default_threads, m)?)?;
    Ok(())
}
