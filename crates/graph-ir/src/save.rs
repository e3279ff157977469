//! Net -> NetParameter for caffe-io to write: each layer's kept
//! `LayerParameter` (so fields this crate does not model survive) and, for
//! the caffemodel, its params as blobs with a modern `shape`.

use std::path::Path;

use caffe_io::binary::BlobRef;
use caffe_io::blob::array_into_blob;
use caffe_io::proto::NetParameter;

use crate::error::Result;
use crate::net::Net;

impl Net {
    /// The net as a parameter without weights (what the prototxt holds).
    pub fn to_proto(&self) -> NetParameter {
        let mut param = self.header.clone();
        param.layer = self.layers.iter().map(|l| l.proto().clone_without_blobs()).collect();
        param
    }

    /// The net with its params as blobs (what a caffemodel holds), moving the
    /// param buffers into the blobs: no copy. To write weights while keeping
    /// the net, [`Net::save_weights`] borrows them instead.
    pub fn into_weights_proto(self) -> NetParameter {
        let mut param = self.to_proto();
        for (proto, mut layer) in param.layer.iter_mut().zip(self.layers) {
            proto.blobs = std::mem::take(layer.params_mut())
                .into_iter()
                .map(array_into_blob)
                .collect();
        }
        param
    }

    /// Writes the net as a `.prototxt` and its params as a `.caffemodel`
    /// (each written atomically). Reloading both gives the same net.
    pub fn save(&self, prototxt: impl AsRef<Path>, caffemodel: impl AsRef<Path>) -> Result<()> {
        caffe_io::write_prototxt(prototxt.as_ref(), &self.to_proto())?;
        self.save_weights(caffemodel)
    }

    /// Writes the params as a `.caffemodel` (atomically), borrowed straight
    /// from their arrays: no copy of the weights is made.
    pub fn save_weights(&self, caffemodel: impl AsRef<Path>) -> Result<()> {
        caffe_io::write_caffemodel_with(caffemodel.as_ref(), &self.to_proto(), |i, _| {
            self.layers[i]
                .params()
                .iter()
                .map(|p| BlobRef::from_array(p.view()))
                .collect()
        })?;
        Ok(())
    }
}
