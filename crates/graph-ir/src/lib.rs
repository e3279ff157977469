//! Caffe nets as a typed graph (work in progress).
