//! Top-level input fields -> an `Input` layer, as Caffe's `NetNeedsInputUpgrade`
//! and `UpgradeNetInput`: `input:` with `input_shape` (or four `input_dim`
//! values per input) becomes the first layer, of type `Input`.

use std::path::Path;

use crate::error::{Error, Location, Result};
use crate::proto::{BlobShape, InputParameter, LayerParameter, NetParameter};

/// Top-level `input` + `input_shape`/`input_dim` become an `Input` layer named
/// "input", placed first; bare `input` names (as in old weight files) are dropped.
pub(super) fn upgrade_input(net: &mut NetParameter, path: &Path) -> Result<()> {
    let has_shape = !net.input_shape.is_empty();
    let has_dim = !net.input_dim.is_empty();
    if has_shape || has_dim {
        let mut shapes = Vec::with_capacity(net.input.len());
        for (i, name) in net.input.iter().enumerate() {
            if has_shape {
                let shape = net.input_shape.get(i).cloned().ok_or_else(|| {
                    Error::invalid(
                        path,
                        Location::File,
                        format!("input '{name}' has no input_shape (input {i})"),
                    )
                })?;
                shapes.push(shape);
            } else {
                let dims = net.input_dim.get(4 * i..4 * i + 4).ok_or_else(|| {
                    Error::invalid(
                        path,
                        Location::File,
                        format!(
                            "input '{name}' needs 4 input_dim values (input {i}), but the net gives {} in all",
                            net.input_dim.len()
                        ),
                    )
                })?;
                shapes.push(BlobShape {
                    dim: dims.iter().map(|&d| i64::from(d)).collect(),
                });
            }
        }
        let input = LayerParameter {
            name: Some("input".into()),
            r#type: Some("Input".into()),
            top: net.input.clone(),
            input_param: Some(InputParameter { shape: shapes }),
            ..Default::default()
        };
        net.layer.insert(0, input);
    }
    net.input.clear();
    net.input_shape.clear();
    net.input_dim.clear();
    Ok(())
}
