//! Caffe's automatic Split layers (`insert_splits.cpp`) and `Net::Init`'s
//! wiring checks, as a view over the net's layers.
//!
//! Caffe gives every consumer of a blob read by several layers its own copy:
//! a Split layer named `<blob>_<layer>_<top index>_split` right after the
//! producer, with tops `<blob>_<layer>_<top index>_split_<j>`. A top with a
//! nonzero `loss_weight` counts as one more consumer and takes split 0. The
//! net itself keeps the user's names (splits carry no computation); this view
//! reproduces pycaffe's `net.blobs` listing and Caffe's rejection of nets
//! whose in-place layer would become a second producer after the split.

use std::collections::{BTreeSet, HashMap};

use crate::error::{Error, Result};
use crate::net::Layer;

/// A layer of the split-expanded net.
#[derive(Debug, Clone)]
pub(crate) struct ExpandedLayer {
    /// Index of the real layer, or None for an automatic Split.
    pub source: Option<usize>,
    /// The layer's name (`<blob>_<layer>_<top index>_split` for a Split).
    pub name: String,
    pub bottoms: Vec<String>,
    pub tops: Vec<String>,
}

/// A blob of the split-expanded net, in creation order.
#[derive(Debug, Clone)]
pub(crate) struct ExpandedBlob {
    pub name: String,
    /// For a split copy: the blob it copies.
    pub split_of: Option<String>,
}

/// The expanded net: its layers, its blobs in pycaffe's order, its outputs.
#[derive(Debug, Clone)]
pub(crate) struct Expanded {
    pub layers: Vec<ExpandedLayer>,
    pub blobs: Vec<ExpandedBlob>,
    /// Blobs no layer consumes, sorted by name (Caffe keeps them in a std::set).
    pub outputs: Vec<String>,
}

/// `<blob>_<layer>_<top index>_split_<j>`.
pub(crate) fn split_blob_name(layer: &str, blob: &str, top_index: usize, split_index: usize) -> String {
    format!("{blob}_{layer}_{top_index}_split_{split_index}")
}

type TopIdx = (usize, usize);

/// Inserts Caffe's splits and checks the wiring as `Net::Init` does.
pub(crate) fn expand(layers: &[Layer]) -> Result<Expanded> {
    let mut last_top: HashMap<&str, TopIdx> = HashMap::new();
    let mut source_of: HashMap<TopIdx, TopIdx> = HashMap::new();
    let mut consumers: HashMap<TopIdx, usize> = HashMap::new();
    let mut loss_weight: HashMap<TopIdx, f32> = HashMap::new();
    for (i, layer) in layers.iter().enumerate() {
        for (j, blob) in layer.bottoms().iter().enumerate() {
            let Some(&top) = last_top.get(blob.as_str()) else {
                return Err(Error::UnknownBottom {
                    layer: layer.name().to_string(),
                    type_name: layer.type_name().to_string(),
                    blob: blob.clone(),
                    index: j,
                });
            };
            source_of.insert((i, j), top);
            *consumers.entry(top).or_default() += 1;
        }
        for (j, blob) in layer.tops().iter().enumerate() {
            last_top.insert(blob, (i, j));
        }
        let weights = &layer.proto().loss_weight;
        for (j, &w) in weights.iter().enumerate().take(layer.tops().len()) {
            loss_weight.insert((i, j), w);
            if w != 0.0 {
                *consumers.entry((i, j)).or_default() += 1;
            }
        }
    }

    let mut expanded = Vec::with_capacity(layers.len());
    let mut next_split: HashMap<TopIdx, usize> = HashMap::new();
    for (i, layer) in layers.iter().enumerate() {
        let mut bottoms = layer.bottoms().to_vec();
        for (j, bottom) in bottoms.iter_mut().enumerate() {
            let top = source_of[&(i, j)];
            if consumers[&top] > 1 {
                let k = next_split.entry(top).or_default();
                *bottom = split_blob_name(layers[top.0].name(), bottom, top.1, *k);
                *k += 1;
            }
        }
        expanded.push(ExpandedLayer {
            source: Some(i),
            name: layer.name().to_string(),
            bottoms,
            tops: layer.tops().to_vec(),
        });
        for (j, blob) in layer.tops().iter().enumerate() {
            let count = consumers.get(&(i, j)).copied().unwrap_or(0);
            if count > 1 {
                expanded.push(ExpandedLayer {
                    source: None,
                    name: format!("{blob}_{}_{j}_split", layer.name()),
                    bottoms: vec![blob.clone()],
                    tops: (0..count).map(|k| split_blob_name(layer.name(), blob, j, k)).collect(),
                });
                if loss_weight.get(&(i, j)).is_some_and(|&w| w != 0.0) {
                    *next_split.entry((i, j)).or_default() += 1;
                }
            }
        }
    }
    wire(layers, expanded)
}

/// `Net::Init`'s AppendBottom/AppendTop over the expanded layers: every
/// bottom must be available, a top is in place only when it equals the
/// bottom of the same index, and no blob has two producers.
fn wire(layers: &[Layer], expanded: Vec<ExpandedLayer>) -> Result<Expanded> {
    let mut producer: HashMap<String, usize> = HashMap::new();
    let mut available: BTreeSet<String> = BTreeSet::new();
    let mut blobs = Vec::new();
    // Split tops name the blob they copy; remember it for the listing.
    let mut split_source: HashMap<&str, &str> = HashMap::new();
    for l in &expanded {
        if l.source.is_none() {
            for t in &l.tops {
                split_source.insert(t, &l.bottoms[0]);
            }
        }
    }
    let name_of = |l: &ExpandedLayer| -> (String, String) {
        let type_name = l.source.map_or("Split", |i| layers[i].type_name());
        (l.name.clone(), type_name.to_string())
    };
    for (idx, l) in expanded.iter().enumerate() {
        for (j, b) in l.bottoms.iter().enumerate() {
            if !available.remove(b) {
                let (layer, type_name) = name_of(l);
                return Err(Error::UnknownBottom {
                    layer,
                    type_name,
                    blob: b.clone(),
                    index: j,
                });
            }
        }
        for (j, t) in l.tops.iter().enumerate() {
            let in_place = l.bottoms.get(j) == Some(t);
            if !in_place {
                if let Some(&p) = producer.get(t) {
                    let (layer, type_name) = name_of(l);
                    return Err(Error::DuplicateTop {
                        layer,
                        type_name,
                        blob: t.clone(),
                        producer: name_of(&expanded[p]).0,
                    });
                }
                producer.insert(t.clone(), idx);
                blobs.push(ExpandedBlob {
                    name: t.clone(),
                    split_of: split_source.get(t.as_str()).map(|s| s.to_string()),
                });
            }
            available.insert(t.clone());
        }
    }
    Ok(Expanded {
        layers: expanded,
        blobs,
        outputs: available.into_iter().collect(),
    })
}
