//! Writing without a second copy of the model: [`ProtoSink`] lets prost encode
//! a message straight into a file (small fields are batched in a buffer, large
//! byte fields such as weights go to the file directly), and [`AtomicFile`]
//! makes every output appear complete or not at all.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::buf::UninitSlice;
use bytes::{Buf, BufMut};

use crate::error::{Error, Result};

/// Size of the batching buffer.
const BUFFER: usize = 1 << 20;
/// Byte runs at least this long bypass the buffer.
const DIRECT: usize = 64 << 10;

/// A `BufMut` over a `Write`: prost encodes into it as into a `Vec<u8>`, but
/// the bytes flow on to the writer. `BufMut` cannot report errors, so the first
/// I/O error is kept, later bytes are dropped, and [`finish`](Self::finish)
/// returns it.
pub(crate) struct ProtoSink<W: Write> {
    inner: W,
    buffer: Vec<u8>,
    error: Option<io::Error>,
    written: u64,
}

impl<W: Write> ProtoSink<W> {
    pub(crate) fn new(inner: W) -> Self {
        ProtoSink {
            inner,
            buffer: Vec::with_capacity(BUFFER),
            error: None,
            written: 0,
        }
    }

    fn write_through(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            match self.inner.write_all(bytes) {
                Ok(()) => self.written += bytes.len() as u64,
                Err(e) => self.error = Some(e),
            }
        }
    }

    fn flush_buffer(&mut self) {
        if !self.buffer.is_empty() {
            let buffer = std::mem::take(&mut self.buffer);
            self.write_through(&buffer);
            self.buffer = buffer;
            self.buffer.clear();
        }
    }

    /// Flushes everything and returns the writer and the bytes written.
    pub(crate) fn finish(mut self) -> io::Result<(W, u64)> {
        self.flush_buffer();
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.inner.flush()?;
        Ok((self.inner, self.written))
    }
}

// SAFETY: `chunk_mut` hands out the vector's spare capacity, which is never
// empty (the buffer is flushed when full), and `advance_mut` only marks as
// initialized bytes within that capacity, as `BufMut` requires of callers.
unsafe impl<W: Write> BufMut for ProtoSink<W> {
    fn remaining_mut(&self) -> usize {
        // A file has no fixed capacity; this is what `Vec<u8>` reports too.
        isize::MAX as usize
    }

    unsafe fn advance_mut(&mut self, cnt: usize) {
        let len = self.buffer.len();
        assert!(cnt <= self.buffer.capacity() - len, "advance_mut past the chunk");
        // SAFETY: the caller initialized `cnt` bytes of the chunk we handed out.
        unsafe { self.buffer.set_len(len + cnt) };
        if self.buffer.len() == self.buffer.capacity() {
            self.flush_buffer();
        }
    }

    fn chunk_mut(&mut self) -> &mut UninitSlice {
        if self.buffer.len() == self.buffer.capacity() {
            self.flush_buffer();
        }
        UninitSlice::uninit(self.buffer.spare_capacity_mut())
    }

    fn put_slice(&mut self, src: &[u8]) {
        if src.len() >= DIRECT {
            self.flush_buffer();
            self.write_through(src);
        } else {
            if self.buffer.capacity() - self.buffer.len() < src.len() {
                self.flush_buffer();
            }
            self.buffer.extend_from_slice(src);
        }
    }

    // prost writes `bytes::Bytes` fields with `put`; the default would copy
    // them through `chunk_mut` a buffer at a time.
    fn put<T: Buf>(&mut self, mut src: T)
    where
        Self: Sized,
    {
        while src.has_remaining() {
            let chunk = src.chunk();
            let n = chunk.len();
            self.put_slice(chunk);
            src.advance(n);
        }
    }
}

/// An output file being written under a temporary name in the target's
/// directory; [`commit`](Self::commit) renames it into place, dropping it
/// removes it.
pub(crate) struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    pub(crate) fn create(path: &Path) -> Result<Self> {
        let tmp =
            caffe_io::fs::temp_file_beside(path).map_err(|e| Error::io(path, "create a temporary file beside", e))?;
        Ok(AtomicFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn file(&mut self) -> &mut std::fs::File {
        self.tmp.as_file_mut()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn commit(self) -> Result<()> {
        let path = self.path;
        self.tmp
            .persist(&path)
            .map_err(|e| Error::io(&path, "rename into place", e.error))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn sink_output_equals_encode_to_vec() {
        use crate::onnx::{GraphProto, ModelProto};
        let big = bytes::Bytes::from((0..300_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>());
        let small = crate::tensor::i64_vector("s", &[1, 2, 3]);
        let mut t =
            crate::tensor::raw_tensor("big", crate::onnx::tensor_proto::DataType::Uint8, &[big.len()], big).unwrap();
        t.doc_string = Some("x".repeat(70_000));
        let model = ModelProto {
            producer_name: Some("p".into()),
            graph: Some(GraphProto {
                initializer: vec![small, t],
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut sink = ProtoSink::new(Vec::new());
        model.encode(&mut sink).unwrap();
        let (out, n) = sink.finish().unwrap();
        assert_eq!(out, model.encode_to_vec());
        assert_eq!(n as usize, out.len());
    }

    struct Failing;
    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn sink_reports_the_first_error() {
        let mut sink = ProtoSink::new(Failing);
        sink.put_slice(&[0; DIRECT]);
        sink.put_slice(&[1; 10]);
        let err = sink.finish().err().expect("the write fails");
        assert_eq!(err.to_string(), "disk full");
    }
}
