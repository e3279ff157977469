//! What every subcommand shares: `NAME=DIMS` input specs, output-file safety
//! (no silent overwrite, never the input as the output) and pycaffe-style shapes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// An input blob and its shape, as given on the command line: `data=1,3,451,451`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    pub name: String,
    pub dims: Vec<usize>,
}

impl std::str::FromStr for InputSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, dims) = s
            .split_once('=')
            .ok_or_else(|| format!("'{s}' is not NAME=DIMS (e.g. data=1,3,227,227)"))?;
        let dims = dims
            .split([',', 'x'])
            .map(|d| d.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| format!("'{s}': dims must be whole numbers separated by commas"))?;
        if name.is_empty() || dims.is_empty() || dims.contains(&0) {
            return Err(format!("'{s}': give a blob name and non-zero dims"));
        }
        Ok(InputSpec {
            name: name.to_string(),
            dims,
        })
    }
}

/// pycaffe's tuple style: `(96, 3, 11, 11)`, `(96,)`, `()`.
pub fn format_shape(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        dims => format!(
            "({})",
            dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Checks that `output` may be written: it is none of `inputs`, and it does not
/// exist unless `force` is given.
pub fn check_output(output: &Path, inputs: &[&Path], force: bool) -> Result<()> {
    for input in inputs {
        if same_file(output, input) {
            bail!(
                "{}: the output would overwrite an input; choose another output path",
                output.display()
            );
        }
    }
    if output.exists() && !force {
        bail!("{}: already exists; pass --force to overwrite it", output.display());
    }
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!("{}: the directory {} does not exist", output.display(), dir.display());
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Loads a net (and its weights), then gives the requested inputs their shapes.
pub fn load_net(prototxt: &Path, weights: Option<&PathBuf>, inputs: &[InputSpec]) -> Result<graph_ir::Net> {
    let mut net = graph_ir::Net::load(prototxt, weights.map(PathBuf::as_path))?;
    for spec in inputs {
        net.reshape_input(&spec.name, &spec.dims)
            .with_context(|| format!("--input {}={:?}", spec.name, spec.dims))?;
    }
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_specs_parse() {
        let spec: InputSpec = "data=1,3,451,451".parse().unwrap();
        assert_eq!(spec.dims, vec![1, 3, 451, 451]);
        assert!("data".parse::<InputSpec>().is_err());
        assert!("data=1,x".parse::<InputSpec>().is_err());
        assert!("data=1,0".parse::<InputSpec>().is_err());
        assert_eq!(format_shape(&[96]), "(96,)");
        assert_eq!(format_shape(&[10, 3]), "(10, 3)");
    }
}
