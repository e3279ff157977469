//! Caffe's dialects, named: the schemas of BVLC Caffe and of the forks that
//! most deployed models come from. A net says which it is written in by the
//! fields and layer types it uses; [`detect`] names them with the evidence.
//!
//! What a dialect changes when netsurgeon saves a net:
//! - text: nothing to choose. Every field outside BVLC's schema is written
//!   back as it was read (`KeptField`), so a prototxt keeps its dialect.
//! - binary: a `.caffemodel` carries each layer's params under BVLC's (and
//!   SSD's) numbers, and the fields kept from another binary file as the
//!   bytes they were read as. A field kept from a prototxt goes to the
//!   prototxt only: Caffe, every fork included, reads nothing but a layer's
//!   name and blobs from a weight file, and OpenCV reads the prototxt too.
//!
//! The forks number their fields differently, which is why the numbers
//! matter only for binary files: [`Dialect::layer_fields`] lists each one's.

use std::fmt;

use crate::proto::NetParameter;

/// A Caffe dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Dialect {
    /// BVLC Caffe (master): the schema netsurgeon's own is.
    Bvlc,
    /// The SSD fork (weiliu89/caffe): Permute, PriorBox, Normalize, DetectionOutput.
    Ssd,
    /// OpenCV's `opencv-caffe.proto`: SSD's layers renumbered, `ceil_mode`,
    /// DetectionOutput's `clip`/`normalized_bbox`, Proposal.
    OpenCv,
    /// SegNet and ENet (alexgkendall/caffe-segnet, TimoSaemann/caffe-enet):
    /// BN with `bn_mode`, Upsample with a mask, DenseImageData.
    SegNet,
    /// PSPNet and DeepLab v2 (hszhao/PSPNet): Interp, BN with `slope_filler`.
    PspNet,
    /// DeepLab v1 (deeplab-public): Convolution's `hole`.
    DeepLab,
    /// py-faster-rcnn (rbgirshick/caffe-fast-rcnn): ROIPooling, Dropout's `scale_train`.
    FasterRcnn,
    /// The MobileNet/ShuffleNet forks: ConvolutionDepthwise, ShuffleChannel.
    MobileNet,
    /// SE-Net (hujie-frank/SENet): Axpy.
    SeNet,
    /// The YOLOv3 ports (ChenYingpeng/darknet2caffe): Upsample with one
    /// bottom, and a Pooling rule of its own Caffe that no field states (one
    /// more window when kernel - stride is odd: YOLOv3-tiny's 2/1 max pooling
    /// keeps 13 x 13); that rule applies only when the net is loaded with
    /// this dialect (`--dialect yolo`).
    Yolo,
}

impl Dialect {
    /// The dialect's short name (`bvlc`, `ssd`, `opencv`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Bvlc => "bvlc",
            Dialect::Ssd => "ssd",
            Dialect::OpenCv => "opencv",
            Dialect::SegNet => "segnet",
            Dialect::PspNet => "pspnet",
            Dialect::DeepLab => "deeplab",
            Dialect::FasterRcnn => "faster-rcnn",
            Dialect::MobileNet => "mobilenet",
            Dialect::SeNet => "senet",
            Dialect::Yolo => "yolo",
        }
    }

    /// The `LayerParameter` fields the dialect adds to BVLC's, with its own
    /// numbers (where two dialects share a name, their numbers differ).
    pub fn layer_fields(self) -> &'static [(&'static str, u32)] {
        match self {
            Dialect::Bvlc => &[("swish_param", 147), ("clip_param", 148)],
            Dialect::Ssd => &[
                ("permute_param", 202),
                ("prior_box_param", 203),
                ("detection_output_param", 204),
                ("norm_param", 206),
            ],
            Dialect::OpenCv => &[
                ("detection_output_param", 147),
                ("permute_param", 148),
                ("norm_param", 149),
                ("prior_box_param", 150),
                ("proposal_param", 201),
            ],
            Dialect::SegNet => &[
                ("bn_param", 45),
                ("upsample_param", 137),
                ("dense_image_data_param", 138),
            ],
            Dialect::PspNet => &[("interp_param", 143), ("bn_param", 152)],
            Dialect::Yolo => &[("upsample_param", 149)],
            Dialect::MobileNet => &[("shuffle_channel_param", 164)],
            Dialect::DeepLab | Dialect::FasterRcnn | Dialect::SeNet => &[],
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of dialects, for the rules that no field of a model states (which
/// Caffe build a net was written for); see `graph_ir::LoadOptions::dialects`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct DialectSet(u32);

impl DialectSet {
    /// The empty set: every layer computes as BVLC's (and the forks' own
    /// layers as their forks).
    pub const fn new() -> Self {
        DialectSet(0)
    }

    /// The set with `dialect` added.
    pub const fn with(self, dialect: Dialect) -> Self {
        DialectSet(self.0 | 1 << dialect as u32)
    }

    pub const fn contains(self, dialect: Dialect) -> bool {
        self.0 & (1 << dialect as u32) != 0
    }
}

impl FromIterator<Dialect> for DialectSet {
    fn from_iter<I: IntoIterator<Item = Dialect>>(iter: I) -> Self {
        iter.into_iter().fold(DialectSet::new(), DialectSet::with)
    }
}

impl std::str::FromStr for Dialect {
    type Err = String;

    /// A dialect by its [`Dialect::name`].
    fn from_str(s: &str) -> Result<Self, String> {
        ALL.iter().copied().find(|d| d.name() == s).ok_or_else(|| {
            format!(
                "unknown dialect '{s}' (dialects: {})",
                ALL.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
            )
        })
    }
}

/// Every dialect, in order.
pub const ALL: &[Dialect] = &[
    Dialect::Bvlc,
    Dialect::Ssd,
    Dialect::OpenCv,
    Dialect::SegNet,
    Dialect::PspNet,
    Dialect::DeepLab,
    Dialect::FasterRcnn,
    Dialect::MobileNet,
    Dialect::SeNet,
    Dialect::Yolo,
];

/// A dialect a net uses, and where it shows: `(layer, what)` pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialectUse {
    pub dialect: Dialect,
    pub evidence: Vec<(String, String)>,
}

/// The dialects `net` is written in besides BVLC's, in [`Dialect`] order,
/// each with the layers that show it (fields kept from outside BVLC's
/// schema, SSD's fields, and the forks' layer types). Empty for a BVLC net.
pub fn detect(net: &NetParameter) -> Vec<DialectUse> {
    let mut uses: Vec<DialectUse> = Vec::new();
    let mut add = |dialect: Dialect, layer: &str, what: String| match uses.iter_mut().find(|u| u.dialect == dialect) {
        Some(u) => u.evidence.push((layer.to_string(), what)),
        None => uses.push(DialectUse {
            dialect,
            evidence: vec![(layer.to_string(), what)],
        }),
    };
    for layer in &net.layer {
        let name = layer.name();
        let type_name = layer.r#type();
        let by_type = match type_name {
            "Permute" | "PriorBox" | "Normalize" | "DetectionOutput" => Some(Dialect::Ssd),
            "Proposal" => Some(Dialect::OpenCv),
            "DenseImageData" => Some(Dialect::SegNet),
            "Interp" => Some(Dialect::PspNet),
            "ROIPooling" => Some(Dialect::FasterRcnn),
            "ConvolutionDepthwise" | "ShuffleChannel" => Some(Dialect::MobileNet),
            "Axpy" => Some(Dialect::SeNet),
            "Upsample" if layer.bottom.len() == 1 => Some(Dialect::Yolo),
            "Upsample" => Some(Dialect::SegNet),
            _ => None,
        };
        if let Some(d) = by_type {
            add(d, name, format!("type {type_name}"));
        }
        for kept in &layer.kept_field {
            let path = kept.path();
            let text = kept.text();
            let by_field = match path.as_str() {
                "pooling_param.ceil_mode" => Some(Dialect::OpenCv),
                "detection_output_param" if text.contains("clip") || text.contains("normalized_bbox") => {
                    Some(Dialect::OpenCv)
                }
                "detection_output_param" => Some(Dialect::Ssd),
                "bn_param" if text.contains("slope_filler") || text.contains("eps") || text.contains("frozen") => {
                    Some(Dialect::PspNet)
                }
                "bn_param" | "dense_image_data_param" | "dropout_param.sample_weights_test" => Some(Dialect::SegNet),
                "upsample_param" if layer.bottom.len() == 1 => Some(Dialect::Yolo),
                "upsample_param" => Some(Dialect::SegNet),
                "interp_param" => Some(Dialect::PspNet),
                "roi_pooling_param" | "dropout_param.scale_train" => Some(Dialect::FasterRcnn),
                p if p.starts_with("convolution_param.hole") => Some(Dialect::DeepLab),
                _ => None,
            };
            if let Some(d) = by_field {
                add(d, name, path);
            }
        }
    }
    uses.sort_by_key(|u| u.dialect);
    uses
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_net_names_its_dialects_by_their_fields_and_types() {
        let text = r#"
            layer { name: "pool" type: "Pooling" pooling_param { pool: MAX kernel_size: 2 ceil_mode: false } }
            layer { name: "bn" type: "BN" bn_param { bn_mode: INFERENCE } }
            layer { name: "det" type: "DetectionOutput" detection_output_param { num_classes: 2 } }"#;
        let net = crate::parse_prototxt(text, "n.prototxt").unwrap();
        let found: Vec<(Dialect, Vec<(String, String)>)> =
            detect(&net).into_iter().map(|u| (u.dialect, u.evidence)).collect();
        let own = |l: &str, w: &str| (l.to_string(), w.to_string());
        assert_eq!(
            found,
            [
                (
                    Dialect::Ssd,
                    vec![own("det", "type DetectionOutput"), own("det", "detection_output_param")]
                ),
                (Dialect::OpenCv, vec![own("pool", "pooling_param.ceil_mode")]),
                (Dialect::SegNet, vec![own("bn", "bn_param")]),
            ]
        );
        let bvlc = crate::parse_prototxt("layer { name: 'r' type: 'ReLU' }", "b.prototxt").unwrap();
        assert!(detect(&bvlc).is_empty());
        let set: DialectSet = ["yolo".parse::<Dialect>().unwrap()].into_iter().collect();
        assert!(set.contains(Dialect::Yolo) && !set.contains(Dialect::Ssd));
        assert!("yolov3".parse::<Dialect>().unwrap_err().contains("dialects: bvlc, ssd"));
    }
}
