//! The driver on hand-built graphs: refusals name the node and write
//! nothing, shape arithmetic folds, symbolic inputs ask for a shape.
//! (Numbers are checked against onnxruntime in tests/it/to_caffe.rs.)

use ndarray::ArrayD;
use onnx_export::builder::dims;
use onnx_export::{attr, Dim, GraphBuilder, ModelOptions};

use crate::{import, Error, How, ImportOptions};

#[test]
fn a_product_of_two_activations_is_refused_by_name() {
    let mut g = GraphBuilder::new("g");
    g.add_input("a", &dims(&[2, 3])).unwrap();
    g.add_input("b", &dims(&[3, 4])).unwrap();
    g.add_node("MatMul", "mm", &["a", "b"], &["y"], vec![]).unwrap();
    g.add_output("y", None).unwrap();
    let model = g.into_model(&ModelOptions::default()).unwrap();
    let err = import(&model, &ImportOptions::default()).unwrap_err();
    let Error::Refused { refusals, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(refusals.0.len(), 1);
    assert_eq!(refusals.0[0].node, "mm");
    assert_eq!(refusals.0[0].op_type, "MatMul");
    assert!(err.to_string().contains("two activations"), "{err}");
}

#[test]
fn every_refused_node_is_listed_and_downstream_ones_are_not() {
    let mut g = GraphBuilder::new("g");
    g.add_input("x", &dims(&[2, 3, 4, 5])).unwrap();
    g.add_node(
        "Transpose",
        "t1",
        &["x"],
        &["a"],
        vec![attr::ints("perm", &[1, 0, 2, 3])],
    )
    .unwrap();
    g.add_node("Relu", "r", &["a"], &["b"], vec![]).unwrap();
    g.add_node("Erf", "e", &["x"], &["c"], vec![]).unwrap();
    g.add_output("b", None).unwrap();
    g.add_output("c", None).unwrap();
    let model = g.into_model(&ModelOptions::default()).unwrap();
    let Err(Error::Refused { refusals, .. }) = import(&model, &ImportOptions::default()) else {
        panic!()
    };
    let names: Vec<&str> = refusals.0.iter().map(|r| r.node.as_str()).collect();
    assert_eq!(names, ["t1", "e"]);
}

#[test]
fn shape_arithmetic_folds_into_one_layer() {
    let mut g = GraphBuilder::new("g");
    g.add_input("x", &dims(&[2, 3, 4, 5])).unwrap();
    let zero = g.initializer_i64("zero", &[], &[0]).unwrap();
    let axes = g.initializer_i64("axes", &[1], &[0]).unwrap();
    let rest = g.initializer_i64("rest", &[1], &[-1]).unwrap();
    g.add_node("Shape", "shape", &["x"], &["s"], vec![]).unwrap();
    g.add_node("Gather", "gather", &["s", &zero], &["n"], vec![attr::int("axis", 0)])
        .unwrap();
    g.add_node("Unsqueeze", "unsq", &["n", &axes], &["n1"], vec![]).unwrap();
    g.add_node("Concat", "cat", &["n1", &rest], &["target"], vec![attr::int("axis", 0)])
        .unwrap();
    g.add_node("Reshape", "flat", &["x", "target"], &["y"], vec![]).unwrap();
    g.add_output("y", None).unwrap();
    let model = g.into_model(&ModelOptions::default()).unwrap();
    let imported = import(&model, &ImportOptions::default()).unwrap();
    let hows: Vec<How> = imported.report.nodes.iter().map(|n| n.how).collect();
    assert_eq!(hows, [How::Folded, How::Folded, How::Folded, How::Folded, How::Exact]);
    assert_eq!(imported.net.blob_shape("y").unwrap(), [2, 60]);
    let types: Vec<&str> = imported.net.layers().iter().map(|l| l.type_name()).collect();
    assert_eq!(types, ["Input", "Flatten"]);
    // The layer making the output carries its name, for OpenCV.
    assert_eq!(imported.net.layers()[1].name(), "y");
}

#[test]
fn a_symbolic_input_asks_for_a_shape() {
    let mut g = GraphBuilder::new("g");
    g.add_input(
        "images",
        &[Dim::Param("N".into()), Dim::Fixed(3), Dim::Fixed(8), Dim::Fixed(8)],
    )
    .unwrap();
    g.add_node("Relu", "r", &["images"], &["y"], vec![]).unwrap();
    g.add_output("y", None).unwrap();
    let model = g.into_model(&ModelOptions::default()).unwrap();
    let err = import(&model, &ImportOptions::default()).unwrap_err().to_string();
    assert!(err.contains("images") && err.contains("--input images=DIMS"), "{err}");
    let options = ImportOptions {
        input_shapes: vec![("images".into(), vec![2, 3, 8, 8])],
        ..Default::default()
    };
    let imported = import(&model, &options).unwrap();
    assert_eq!(imported.net.blob_shape("y").unwrap(), [2, 3, 8, 8]);
}

#[test]
fn an_identity_output_takes_the_output_name() {
    let mut g = GraphBuilder::new("g");
    g.add_input("x", &dims(&[1, 2, 3, 3])).unwrap();
    let w = g.initializer_f32_owned("w", ArrayD::ones(vec![2, 2, 1, 1])).unwrap();
    g.add_node("Conv", "c", &["x", &w], &["h"], vec![]).unwrap();
    g.add_node("Identity", "id", &["h"], &["y"], vec![]).unwrap();
    g.add_output("y", None).unwrap();
    let model = g.into_model(&ModelOptions::default()).unwrap();
    let imported = import(&model, &ImportOptions::default()).unwrap();
    assert_eq!(imported.outputs, ["y"]);
    assert_eq!(imported.net.layers()[1].tops(), ["y"]);
}

/// A composition whose weights would be huge is refused before anything is
/// allocated (SSD's (0, 2, 3, 1) of 84 x 38 x 38 without Permute would be a
/// 121296 x 121296 permutation: 59 GB).
#[test]
fn a_composition_too_large_to_write_is_refused_not_allocated() {
    let mut g = GraphBuilder::new("g");
    g.add_input("x", &dims(&[1, 84, 38, 38])).unwrap();
    g.add_node(
        "Transpose",
        "conf_perm",
        &["x"],
        &["y"],
        vec![attr::ints("perm", &[0, 2, 3, 1])],
    )
    .unwrap();
    g.add_output("y", None).unwrap();
    let model = g.into_model(&ModelOptions::default()).unwrap();
    let err = import(&model, &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Refused { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains("'conf_perm' (Transpose)") && message.contains("121296 x 121296 weights"),
        "{message}"
    );
}

/// A shape read from the file is checked before a folded constant is
/// allocated: ConstantOfShape of 2^40 elements is an error naming the node.
#[test]
fn a_huge_folded_constant_is_an_error_not_an_allocation() {
    let mut g = GraphBuilder::new("g");
    g.add_input("x", &dims(&[1, 3])).unwrap();
    let shape = g.initializer_i64("shape", &[2], &[1 << 20, 1 << 20]).unwrap();
    g.add_node("ConstantOfShape", "huge", &[&shape], &["c"], vec![])
        .unwrap();
    g.add_node("Add", "add", &["x", "c"], &["y"], vec![]).unwrap();
    g.add_output("y", None).unwrap();
    let model = g.into_model(&ModelOptions::default()).unwrap();
    let message = import(&model, &ImportOptions::default()).unwrap_err().to_string();
    assert!(message.contains("huge") && message.contains("more than"), "{message}");
}
