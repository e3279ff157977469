//! Rendering: PNGs have the expected size, are not blank, carry their legend,
//! and are written atomically (no temporary file left behind).

use std::path::{Path, PathBuf};

use caffe_preprocess::{load_image, ImageOptions};
use image::{Rgb, RgbImage};
use ndarray::{arr2, s, Array2, Array3, Ix2, Ix4};
use netsurgeon_render::{
    class_map_png, heatmap_overlay_png, render_class_map, render_gray, render_heatmap_overlay, save_gray_png,
    save_rgb_png, viridis_rgb8, Error,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .canonicalize()
        .unwrap()
}

fn variance(img: &RgbImage) -> f64 {
    let n = (img.width() * img.height() * 3) as f64;
    let mean = img.as_raw().iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    img.as_raw().iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n
}

fn only_file_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Grey levels as matplotlib's `imshow(cmap='gray')`: min 0, max 255, and
/// `floor(x * 256)` between (0.5 -> 128, 0.25 -> 64).
#[test]
fn gray_png_is_min_max_normalised() {
    let values = arr2(&[
        [-1.0f32, 0.0, 1.0, 3.0],
        [f32::NAN, 1.0, 0.0, 3.0],
        [-1.0, -1.0, -1.0, -1.0],
    ]);
    let img = render_gray(&values).unwrap();
    assert_eq!((img.width(), img.height()), (4, 3));
    assert_eq!(img.get_pixel(0, 0).0, [0]);
    assert_eq!(img.get_pixel(3, 0).0, [255]);
    assert_eq!(img.get_pixel(2, 0).0, [128]); // (1 - -1) / 4 = 0.5
    assert_eq!(img.get_pixel(1, 0).0, [64]); // 0.25
    assert_eq!(img.get_pixel(0, 1).0, [0]); // NaN drawn black

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conv.png");
    save_gray_png(&path, &values).unwrap();
    let back = image::open(&path).unwrap().to_luma8();
    assert_eq!(back, img);
    assert_eq!(only_file_in(dir.path()), vec!["conv.png".to_string()]);

    // A constant map is all black, as matplotlib shows it.
    let flat = render_gray(&Array2::from_elem((2, 2), 7.0f32)).unwrap();
    assert!(flat.pixels().all(|p| p.0 == [0]));
    assert!(matches!(
        render_gray(&Array2::<f32>::zeros((0, 3))),
        Err(Error::Shape { .. })
    ));
}

/// The designer filters' Caffe output, channel 1 (Sobel), as a grey PNG.
#[test]
fn designer_conv_output_renders() {
    let conv = caffe_io::read_npy_f32(fixtures().join("golden/designer/conv.npy")).unwrap();
    let conv = conv.into_dimensionality::<Ix4>().unwrap();
    let sobel = conv.slice(s![0, 1, .., ..]);
    let img = render_gray(sobel).unwrap();
    assert_eq!((img.width(), img.height()), (476, 356));
    let levels: std::collections::BTreeSet<u8> = img.pixels().map(|p| p.0[0]).collect();
    assert!(levels.contains(&0) && levels.contains(&255) && levels.len() > 100);
}

fn check_legend(img: &RgbImage, layout: &netsurgeon_render::LegendLayout) {
    let mid_x = layout.bar_x + layout.bar_w / 2;
    // Bar top is the map's max (viridis 1), bottom its min (viridis 0).
    assert_eq!(*img.get_pixel(mid_x, layout.bar_top), viridis_rgb8(1.0));
    assert_eq!(*img.get_pixel(mid_x, layout.bar_bottom - 1), viridis_rgb8(0.0));
    // Tick labels: black text right of the bar, near its top and bottom.
    let label_x = layout.bar_x + layout.bar_w;
    let black_in = |y0: u32, y1: u32| {
        (label_x..img.width())
            .flat_map(|x| (y0..y1).map(move |y| (x, y)))
            .filter(|&(x, y)| img.get_pixel(x, y).0 == [0, 0, 0])
            .count()
    };
    let half = 5 * layout.scale;
    assert!(
        black_in(layout.bar_top.saturating_sub(half), layout.bar_top + half) > 10,
        "max label"
    );
    assert!(
        black_in(layout.bar_bottom - half, (layout.bar_bottom + half).min(img.height())) > 10,
        "min label"
    );
}

/// The classification demo's picture: a photo and an 8x8 map upsampled over it.
#[test]
fn heatmap_over_cat_has_size_contrast_and_legend() {
    let cat = load_image(fixtures().join("images/cat.jpg"), &ImageOptions::default()).unwrap();
    let map = Array2::from_shape_fn((8, 8), |(y, x)| ((y * 8 + x) as f32 / 63.0) * 0.9 + 0.05);
    let (img, layout) = render_heatmap_overlay(&cat, &map, 0.5, Some("P(cat)")).unwrap();
    assert_eq!(img.height(), 360);
    assert_eq!((layout.enlarge, layout.panel_x), (1, 480));
    assert!(img.width() > 480 + 20, "a legend panel is added right of the photo");
    assert!(variance(&img) > 100.0);
    check_legend(&img, &layout);
    // The title is drawn above the bar.
    let title_black = (layout.panel_x..img.width())
        .flat_map(|x| (0..layout.bar_top.saturating_sub(6 * layout.scale)).map(move |y| (x, y)))
        .filter(|&(x, y)| img.get_pixel(x, y).0 == [0, 0, 0])
        .count();
    assert!(title_black > 20, "legend title drawn");
    // The map's corners: top-left is the minimum, bottom-right the maximum,
    // so the blend leans to viridis 0 (purple) and 1 (yellow) there.
    let tl = img.get_pixel(2, 2).0;
    let br = img.get_pixel(477, 357).0;
    assert!(br[1] as i32 - tl[1] as i32 > 60, "{tl:?} vs {br:?}");

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("heatmap.png");
    heatmap_overlay_png(&path, &cat, &map, 0.5, Some("P(cat)")).unwrap();
    let back = image::open(&path).unwrap().to_rgb8();
    assert_eq!(back, img);
    assert_eq!(only_file_in(dir.path()), vec!["heatmap.png".to_string()]);
}

/// The digits full-conv demo: the 56x56 canvas and the 8x8 probability of
/// digit 3; the canvas grows to fit the legend.
#[test]
fn heatmap_over_small_digit_canvas() {
    let f = fixtures().join("golden/digits/full_conv");
    let canvas = caffe_io::read_npy_f32(f.join("input_56.npy")).unwrap();
    let canvas = canvas.into_dimensionality::<Ix4>().unwrap();
    let grey = canvas.slice(s![0, 0, .., ..]);
    let rgb = Array3::from_shape_fn((56, 56, 3), |(y, x, _)| grey[[y, x]]);
    let prob = caffe_io::read_npy_f32(f.join("blobs/prob.npy")).unwrap();
    let prob = prob.into_dimensionality::<Ix4>().unwrap();
    let p3 = prob.slice(s![0, 3, .., ..]);
    let (img, layout) = render_heatmap_overlay(&rgb, p3, 0.6, Some("digit 3")).unwrap();
    // 56 pixels are enlarged 4 times (the smallest factor reaching 200).
    assert_eq!(layout.enlarge, 4);
    assert_eq!(img.height(), 224);
    assert_eq!(layout.panel_x, 224);
    assert!(variance(&img) > 100.0);
    check_legend(&img, &layout);
    // Each input pixel became a 4x4 block.
    assert_eq!(img.get_pixel(0, 0), img.get_pixel(3, 3));

    // A 5x5 photo is enlarged 40 times; the canvas is never shorter than the
    // legend needs.
    let tiny = Array3::from_elem((5, 5, 3), 0.5f32);
    let (img, layout) = render_heatmap_overlay(&tiny, &arr2(&[[0.0f32, 1.0]]), 0.5, None).unwrap();
    assert_eq!((layout.enlarge, layout.panel_x, img.height()), (40, 200, 200));
    assert_eq!(*img.get_pixel(img.width() - 1, img.height() - 1), Rgb([255, 255, 255]));
}

#[test]
fn heatmap_rejects_bad_inputs() {
    let rgb = Array3::<f32>::zeros((4, 4, 3));
    let e = render_heatmap_overlay(&rgb, &Array2::<f32>::zeros((0, 0)), 0.5, None).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e}");
    let e = render_heatmap_overlay(&rgb, &Array2::from_elem((2, 2), f32::NAN), 0.5, None).unwrap_err();
    assert!(e.to_string().contains("finite"), "{e}");
    let two = Array3::<f32>::zeros((4, 4, 2));
    assert!(render_heatmap_overlay(&two, &Array2::<f32>::zeros((2, 2)), 0.5, None).is_err());
    // A constant map still renders (all at the bottom colour).
    let (img, _) = render_heatmap_overlay(&rgb, &Array2::from_elem((2, 2), 0.3f32), 1.0, None).unwrap();
    assert_eq!(*img.get_pixel(0, 0), viridis_rgb8(0.0));
}

/// The 8x8 digit map of the full-conv LeNet (Caffe's argmax): one colour per
/// class, the digit written in each cell.
#[test]
fn class_map_of_digits() {
    let map = caffe_io::read_npy_i64(fixtures().join("golden/digits/full_conv/argmax_map.npy")).unwrap();
    let map = map.into_dimensionality::<Ix2>().unwrap();
    let img = render_class_map(&map, 40).unwrap();
    assert_eq!((img.width(), img.height()), (320, 320));
    assert!(variance(&img) > 100.0);
    // Cells of the same class share their background colour, cells of other
    // classes do not (corner pixel of each cell is background).
    let bg = |r: u32, c: u32| *img.get_pixel(c * 40 + 1, r * 40 + 1);
    assert_eq!(bg(0, 1), bg(0, 2)); // 5 and 5
    assert_ne!(bg(0, 0), bg(0, 1)); // 3 and 5
                                    // Each cell holds text: pixels in its centre differ from its background.
    for r in 0..8u32 {
        for c in 0..8u32 {
            let back = bg(r, c);
            let ink = (c * 40 + 8..c * 40 + 32)
                .flat_map(|x| (r * 40 + 8..r * 40 + 32).map(move |y| (x, y)))
                .filter(|&(x, y)| *img.get_pixel(x, y) != back)
                .count();
            assert!(ink > 20, "cell ({r}, {c}) has its number drawn");
        }
    }

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("digits.png");
    class_map_png(&path, &map, 40).unwrap();
    assert_eq!(image::open(&path).unwrap().to_rgb8(), img);
    assert_eq!(only_file_in(dir.path()), vec!["digits.png".to_string()]);

    // Cells too small for the number are enlarged; large classes and -1 work.
    let wide = arr2(&[[123i64, -1], [10, 11]]);
    let img = render_class_map(&wide, 4).unwrap();
    assert!(img.width() >= 2 * (3 * 6 + 3));
    assert!(render_class_map(&Array2::<i64>::zeros((0, 4)), 10).is_err());
    assert!(
        render_class_map(&Array2::<i64>::zeros((4000, 4000)), 40).is_err(),
        "over the size limit"
    );
}

#[test]
fn rgb_png_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo.png");
    let img = Array3::from_shape_fn((3, 2, 3), |(y, x, c)| (y * 6 + x * 3 + c) as f32 / 17.0);
    save_rgb_png(&path, &img).unwrap();
    let back = image::open(&path).unwrap().to_rgb8();
    assert_eq!((back.width(), back.height()), (2, 3));
    // (y, x) = (2, 1): (12 + 3 + c) / 17 * 255, rounded.
    assert_eq!(back.get_pixel(1, 2).0, [225, 240, 255]);
    assert_eq!(back.get_pixel(0, 0).0, [0, 15, 30]);
    // Writing into a missing directory is an error naming the file.
    let e = save_rgb_png(dir.path().join("no/such/dir/x.png"), &img).unwrap_err();
    assert!(e.to_string().contains("x.png"), "{e}");
}
