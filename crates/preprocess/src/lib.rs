//! pycaffe's image input pipeline, reproduced exactly, and result images.
//!
//! - [`load_image`]: `caffe.io.load_image` (skimage + Pillow; JPEG through
//!   libjpeg-turbo, so the pixels are the very ones pycaffe sees);
//! - [`resize_image`]: `caffe.io.resize_image` (skimage's bilinear resize);
//! - [`Transformer`]: `caffe.io.Transformer` for one input (`preprocess`,
//!   `deprocess`), with [`channel_mean`], [`load_mean`] and [`oversample`];
//!
//! Result images (heatmaps, class maps) are rendered by netsurgeon-render.
//!
//! ```no_run
//! use caffe_preprocess::{load_image, load_mean, channel_mean, ImageOptions, Transformer};
//! let image = load_image("cat.jpg", &ImageOptions::default())?;
//! let mut t = Transformer::new(&[10, 3, 227, 227])?;
//! t.set_transpose([2, 0, 1])?;
//! t.set_channel_swap(&[2, 1, 0])?;
//! t.set_raw_scale(255.0);
//! let mean = load_mean("ilsvrc_2012_mean.npy")?;
//! let mean = channel_mean(mean.view().into_dimensionality()?);
//! t.set_mean(mean.view().into_dyn())?;
//! let blob = t.preprocess(image.view())?; // 3 x 227 x 227, BGR, mean-free
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod jpeg;
mod load;
mod resize;
mod transform;

pub use error::{Error, Result};
pub use load::{decode_image, load_image, ImageOptions, Limits};
pub use resize::{resize_image, AntiAliasing, ResizeOptions};
pub use transform::{channel_mean, load_mean, oversample, Transformer};
