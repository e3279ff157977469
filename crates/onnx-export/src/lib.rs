//! Export to ONNX (work in progress).
