//! Data layers that read their values (and shapes) from outside the net:
//! `Data`, `ImageData`, `WindowData`, `HDF5Data` (shapes come from the
//! database/files, so their data top is unknown here; the label top of Data,
//! ImageData and WindowData is `(batch_size,)` as in Caffe), `MemoryData`
//! (`(batch_size, channels, height, width)` and `(batch_size,)`) and
//! `DummyData` (shapes given by `shape`, or the legacy num/channels/height/width);
//! from the forks, SegNet's and ENet's `DenseImageData` (images and
//! per-pixel labels read from a list: both tops unknown here).
//!
//! A net that keeps such a layer after phase filtering still loads; asking for
//! a shape that depends on an unknown one is an error naming the layer (see
//! [`crate::Error::UnknownShape`]) until `reshape_input` gives the shape.

use caffe_io::blob::dims_to_shape;
use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// Which data layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataKind {
    Data,
    ImageData,
    WindowData,
    Hdf5Data,
    MemoryData,
    DummyData,
    /// SegNet's and ENet's image + label-map list.
    DenseImageData,
}

/// A data layer and the shapes it declares (None: read from its source).
#[derive(Debug, Clone, PartialEq)]
pub struct DataParams {
    pub kind: DataKind,
    /// One per top.
    pub shapes: Vec<Option<Shape>>,
}

impl DataParams {
    /// Parses the layer's data parameters into per-top shapes where Caffe
    /// knows them without reading the source.
    pub fn from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Self> {
        let n = ctx.num_tops;
        let with_label = |batch: u32| {
            let mut shapes = vec![None; n];
            if n > 1 {
                shapes[1] = Some(vec![batch as usize]);
            }
            shapes
        };
        let (kind, shapes) = match ctx.type_name {
            "Data" => (
                DataKind::Data,
                with_label(layer.data_param.clone().unwrap_or_default().batch_size()),
            ),
            "ImageData" => (
                DataKind::ImageData,
                with_label(layer.image_data_param.clone().unwrap_or_default().batch_size()),
            ),
            "WindowData" => (
                DataKind::WindowData,
                with_label(layer.window_data_param.clone().unwrap_or_default().batch_size()),
            ),
            "HDF5Data" => (DataKind::Hdf5Data, vec![None; n]),
            "DenseImageData" => (DataKind::DenseImageData, vec![None; n]),
            "MemoryData" => {
                let p = layer.memory_data_param.unwrap_or_default();
                let b = p.batch_size() as usize;
                let data = vec![b, p.channels() as usize, p.height() as usize, p.width() as usize];
                let mut shapes = vec![Some(data)];
                if n > 1 {
                    shapes.push(Some(vec![b]));
                }
                (DataKind::MemoryData, shapes)
            }
            _ => (DataKind::DummyData, dummy_shapes(ctx, layer)?),
        };
        Ok(DataParams { kind, shapes })
    }
}

/// DummyData's shapes: `shape` once or per top, or the legacy 4-D fields,
/// each once or per top (not both kinds).
fn dummy_shapes(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Vec<Option<Shape>>> {
    let p = layer.dummy_data_param.clone().unwrap_or_default();
    let n = ctx.num_tops;
    let pick = |list: &[u32], what: &str, i: usize| -> Result<usize> {
        match list.len() {
            1 => Ok(list[0] as usize),
            len if len == n => Ok(list[i] as usize),
            len => Err(ctx.invalid(format!(
                "must specify '{what}' once, or once per top blob ({n}); specified {len}"
            ))),
        }
    };
    let legacy = !(p.num.is_empty() && p.channels.is_empty() && p.height.is_empty() && p.width.is_empty());
    let mut shapes = Vec::with_capacity(n);
    if legacy {
        if !p.shape.is_empty() {
            return Err(ctx.invalid("both shape and legacy fields were specified"));
        }
        for i in 0..n {
            shapes.push(Some(vec![
                pick(&p.num, "num", i)?,
                pick(&p.channels, "channels", i)?,
                pick(&p.height, "height", i)?,
                pick(&p.width, "width", i)?,
            ]));
        }
    } else {
        if !(p.shape.len() == 1 || p.shape.len() == n) {
            return Err(ctx.invalid(format!(
                "must specify 'shape' once, or once per top blob ({n}); specified {}",
                p.shape.len()
            )));
        }
        for i in 0..n {
            let dims = &p.shape[if p.shape.len() == 1 { 0 } else { i }].dim;
            let shape = dims_to_shape(dims).map_err(|e| ctx.invalid(format!("shape {i}: {e}")))?;
            shapes.push(Some(shape));
        }
    }
    Ok(shapes)
}

fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, _bottoms: Option<&[Shape]>) -> Result<Setup> {
    let params = DataParams::from_layer(ctx, layer)?;
    let tops = params.shapes.clone();
    Ok(Setup {
        op: params.into(),
        tops,
        params: Some(Vec::new()),
    })
}

/// The data layers with no label top, or as many tops as they declare.
pub(crate) const TYPE: LayerType = LayerType::new(&["HDF5Data", "DummyData"], setup)
    .bottoms(Arity::Exactly(0))
    .tops(Arity::AtLeast(1));
/// The data layers with a data top and an optional label top.
pub(crate) const TYPE_WITH_LABEL: LayerType = LayerType::new(
    &["Data", "ImageData", "WindowData", "MemoryData", "DenseImageData"],
    setup,
)
.bottoms(Arity::Exactly(0))
.tops(Arity::Between(1, 2))
.fork_fields(&["dense_image_data_param"]);

impl LayerOp for DataParams {
    fn is_net_input(&self) -> bool {
        true
    }
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.fixed())
    }
}
