//! netsurgeon's errors as Python exceptions: a file that cannot be read is an
//! `OSError`; a net netsurgeon cannot run (a layer it does not model, an
//! export it refuses) is `NotImplementedError`; anything wrong with the net
//! or its arguments (a shape it cannot take, a bad prototxt) is
//! `ValueError`. Each carries netsurgeon's message, which names the file,
//! the layer and what is wrong.

use pyo3::exceptions::{PyNotImplementedError, PyOSError, PyValueError};
use pyo3::PyErr;

use netsurgeon::{caffe_io, graph_ir, ForwardError};

/// Whether an error was a failure to read or write a file.
fn is_io(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(e) = current {
        if e.is::<std::io::Error>() {
            return true;
        }
        current = e.source();
    }
    false
}

pub fn net_error(e: graph_ir::Error) -> PyErr {
    match &e {
        graph_ir::Error::UnsupportedLayer { .. } => PyNotImplementedError::new_err(e.to_string()),
        _ if is_io(&e) => PyOSError::new_err(e.to_string()),
        _ => PyValueError::new_err(e.to_string()),
    }
}

pub fn io_error(e: caffe_io::Error) -> PyErr {
    if is_io(&e) {
        PyOSError::new_err(e.to_string())
    } else {
        PyValueError::new_err(e.to_string())
    }
}

pub fn forward_error(e: ForwardError) -> PyErr {
    match e {
        ForwardError::Net(e) => net_error(*e),
        ForwardError::Export(e) => PyNotImplementedError::new_err(format!("{e}")),
        other => PyValueError::new_err(other.to_string()),
    }
}

pub fn export_error(e: netsurgeon::onnx_export::Error) -> PyErr {
    if is_io(&e) {
        PyOSError::new_err(e.to_string())
    } else {
        PyNotImplementedError::new_err(e.to_string())
    }
}
