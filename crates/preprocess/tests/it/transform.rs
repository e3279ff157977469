//! `resize_image` and `Transformer` against pycaffe: tiny cases derived by
//! hand from skimage's rules (documented at each test), and real images
//! against values printed by pycaffe's own `io.py` (tests/reference.py).

use std::path::{Path, PathBuf};

use caffe_preprocess::{
    channel_mean, load_image, load_mean, oversample, resize_image, AntiAliasing, Error, ImageOptions, ResizeOptions,
    Transformer,
};
use ndarray::{arr2, s, Array1, Array3, Ix3};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .canonicalize()
        .unwrap()
}

const OFF: ResizeOptions = ResizeOptions {
    anti_aliasing: AntiAliasing::Off,
};
const GAUSSIAN: ResizeOptions = ResizeOptions {
    anti_aliasing: AntiAliasing::Gaussian,
};

fn assert_close(got: f32, want: f64, tol: f64, what: &str) {
    assert!((f64::from(got) - want).abs() <= tol, "{what}: got {got}, want {want}");
}

fn one_channel(rows: &[&[f32]]) -> Array3<f32> {
    let h = rows.len();
    let w = rows[0].len();
    Array3::from_shape_fn((h, w, 1), |(y, x, _)| rows[y][x])
}

/// 2x2 -> 4x4, by hand. skimage samples output pixel i at
/// `src = (i + 0.5) * 2 / 4 - 0.5` = -0.25, 0.25, 0.75, 1.25. With
/// mode='constant' the neighbour outside the image reads 0, so along one axis
/// the weights on (pixel 0, pixel 1) are (0.75, 0), (0.75, 0.25),
/// (0.25, 0.75), (0, 0.75): the outer pixels lose a quarter to the zero border.
/// pycaffe first maps the image to [0, 1] (10 -> 0, 20 -> 1), so the border
/// is the image's minimum, 10. For [[0, 1], [1, 1]] in [0, 1], rows first:
/// W A = [[0, .75], [.25, 1], [.75, 1], [.75, .75]], then each row (a, b) ->
/// (.75a, .75a + .25b, .25a + .75b, .75b); scaled back: 10 + 10 x.
#[test]
fn upsample_2x2_to_4x4_by_hand() {
    let im = one_channel(&[&[10.0, 20.0], &[20.0, 20.0]]);
    let want = [
        [0.0, 0.1875, 0.5625, 0.5625],
        [0.1875, 0.4375, 0.8125, 0.75],
        [0.5625, 0.8125, 0.9375, 0.75],
        [0.5625, 0.75, 0.75, 0.5625],
    ];
    for options in [OFF, GAUSSIAN] {
        // No axis is downsampled, so anti-aliasing changes nothing.
        let out = resize_image(im.view(), (4, 4), options).unwrap();
        assert_eq!(out.shape(), &[4, 4, 1]);
        for y in 0..4 {
            for x in 0..4 {
                // All values are exact in binary: the result is exact.
                assert_eq!(f64::from(out[[y, x, 0]]), 10.0 + 10.0 * want[y][x], "({y}, {x})");
            }
        }
    }
}

/// 4x4 -> 2x2 without anti-aliasing, by hand: `src = (i + 0.5) * 2 - 0.5` =
/// 0.5 and 2.5, half-way between pixels 0/1 and 2/3, so each output pixel is
/// the mean of a 2x2 block and the zero border is never reached.
/// With skimage >= 0.15's default anti-aliasing (sigma = (2 - 1) / 2 = 0.5,
/// radius int(4 * 0.5 + 0.5) = 2, zero outside) the values recorded from
/// skimage 0.26 are smaller at the borders, where the blur mixes in zeros.
#[test]
fn downsample_4x4_to_2x2() {
    let im = Array3::from_shape_fn((4, 4, 1), |(y, x, _)| (4 * y + x) as f32);
    let out = resize_image(im.view(), (2, 2), OFF).unwrap();
    let want = [[2.5, 4.5], [10.5, 12.5]];
    for y in 0..2 {
        for x in 0..2 {
            // float32 normalisation (v / 15) costs a few ulp, as in pycaffe.
            assert_close(out[[y, x, 0]], want[y][x], 2e-6, "anti-aliasing off");
        }
    }
    let out = resize_image(im.view(), (2, 2), GAUSSIAN).unwrap();
    let skimage = [
        2.620042085647583,
        4.259673118591309,
        9.178565979003906,
        10.818197250366211,
    ];
    for (got, want) in out.iter().zip(skimage) {
        assert_close(*got, want, 2e-6, "gaussian anti-aliasing");
    }
}

/// A constant image cannot be min-max normalised: pycaffe returns it filled.
#[test]
fn constant_image_is_filled() {
    let im = Array3::from_elem((3, 5, 3), 0.25f32);
    let out = resize_image(im.view(), (7, 2), OFF).unwrap();
    assert_eq!(out.shape(), &[7, 2, 3]);
    assert!(out.iter().all(|&v| v == 0.25));
}

/// Not 1 or 3 channels: `scipy.ndimage.zoom(order=1)`, corner-aligned
/// (`src = i * (2 - 1) / (3 - 1)` = 0, 0.5, 1): corners are the input pixels,
/// the middle is the mean of its neighbours; no normalisation, no border.
#[test]
fn four_channels_use_ndimage_zoom() {
    let im = Array3::from_shape_fn((2, 2, 4), |(y, x, c)| (8 * y + 4 * x + c) as f32);
    let out = resize_image(im.view(), (3, 3), OFF).unwrap();
    assert_eq!(
        out.slice(s![.., .., 0]),
        arr2(&[[0.0, 2.0, 4.0], [4.0, 6.0, 8.0], [8.0, 10.0, 12.0]])
    );
    assert_eq!(out[[2, 2, 3]], 15.0);
}

#[test]
fn resize_rejects_empty_shapes() {
    let im = Array3::<f32>::zeros((2, 2, 1));
    assert!(matches!(resize_image(im.view(), (0, 3), OFF), Err(Error::Shape { .. })));
    let empty = Array3::<f32>::zeros((0, 2, 1));
    assert!(matches!(
        resize_image(empty.view(), (3, 3), OFF),
        Err(Error::Shape { .. })
    ));
}

/// Real images against pycaffe's `resize_image` (skimage 0.26, with
/// `anti_aliasing=False` for Off and its default for Gaussian): every value
/// is the same float32. (Sums differ in the last digits only because numpy
/// sums pairwise.)
#[test]
fn real_image_resizes_match_pycaffe() {
    let f = fixtures();
    let grey = load_image(f.join("images/cat_gray.jpg"), &ImageOptions::grey()).unwrap();
    let points = [(0, 0), (0, 226), (113, 113), (226, 0), (100, 50), (226, 226)];
    let cases = [
        (
            OFF,
            25413.62283282727,
            [
                0.10414615273475647,
                0.2087932974100113,
                0.7696078419685364,
                0.18043231964111328,
                0.2536073327064514,
                0.723373532295227,
            ],
        ),
        (
            GAUSSIAN,
            25402.686757620424,
            [
                0.09670814126729965,
                0.19324858486652374,
                0.774590253829956,
                0.1694536656141281,
                0.25390544533729553,
                0.6830863356590271,
            ],
        ),
    ];
    for (options, sum, values) in cases {
        let r = resize_image(grey.view(), (227, 227), options).unwrap();
        assert_eq!(r.shape(), &[227, 227, 1]);
        for (&(y, x), want) in points.iter().zip(values) {
            assert_eq!(f64::from(r[[y, x, 0]]), want, "{options:?} ({y}, {x})");
        }
        let got: f64 = r.iter().map(|&v| f64::from(v)).sum();
        assert!((got - sum).abs() < 2e-3, "{options:?}: sum {got} vs {sum}");
    }

    // Colour, 360x480 -> 451x451: up in height, slightly down in width (sigma
    // 0.03 rounds to a 1-tap kernel, so both settings agree, as in skimage).
    let cat = load_image(f.join("images/cat.jpg"), &ImageOptions::default()).unwrap();
    let points = [
        (0, 0, 0),
        (0, 450, 1),
        (225, 225, 2),
        (450, 0, 0),
        (300, 100, 1),
        (450, 450, 2),
    ];
    let values = [
        0.09178763628005981,
        0.33064424991607666,
        0.6676470637321472,
        0.16253302991390228,
        0.45250195264816284,
        0.5569841861724854,
    ];
    for options in [OFF, GAUSSIAN] {
        let r = resize_image(cat.view(), (451, 451), options).unwrap();
        for (&p, want) in points.iter().zip(values) {
            assert_eq!(f64::from(r[p]), want, "{p:?}");
        }
        let got: f64 = r.iter().map(|&v| f64::from(v)).sum();
        assert!((got - 276988.96597781824).abs() < 2e-2, "sum {got}");
    }
}

/// A random 37x53x3 image in [0.1, 0.7] (so pycaffe's min-max normalisation
/// is not the identity) resized to 20x71, down in height and up in width,
/// against pycaffe's `resize_image` with skimage 0.26 (tests/reference.py
/// wrote the three files): bit for bit, with and without anti-aliasing.
#[test]
fn random_image_resize_is_bit_exact() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let read = |name: &str| {
        caffe_io::read_npy_f32(data.join(name))
            .unwrap()
            .into_dimensionality::<Ix3>()
            .unwrap()
    };
    let input = read("resize_in_37x53x3.npy");
    for (options, file) in [
        (OFF, "resize_out_20x71_off.npy"),
        (GAUSSIAN, "resize_out_20x71_gaussian.npy"),
    ] {
        let want = read(file);
        let got = resize_image(input.view(), (20, 71), options).unwrap();
        assert_eq!(got.shape(), want.shape());
        let differing = got
            .iter()
            .zip(want.iter())
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        assert_eq!(differing, 0, "{options:?}: {differing} values differ from pycaffe");
    }
}

/// The designer-filters input: no resize, transpose only, equals the golden
/// `input.npy` (what pycaffe fed real Caffe) bit for bit.
#[test]
fn cat_gray_preprocess_equals_golden_input() {
    let f = fixtures();
    let golden = caffe_io::read_npy_f32(f.join("golden/designer/input.npy")).unwrap();
    let img = load_image(f.join("images/cat_gray.jpg"), &ImageOptions::grey()).unwrap();
    let mut t = Transformer::new(&[1, 1, 360, 480]).unwrap();
    t.set_transpose([2, 0, 1]).unwrap();
    let x = t.preprocess(img.view()).unwrap();
    assert_eq!(x.shape(), &[1, 360, 480]);
    let golden = golden
        .index_axis(ndarray::Axis(0), 0)
        .into_dimensionality::<Ix3>()
        .unwrap();
    assert!(x.iter().zip(golden.iter()).all(|(a, b)| a.to_bits() == b.to_bits()));
}

fn imagenet_transformer() -> Transformer {
    let mut t = Transformer::new(&[10, 3, 227, 227]).unwrap();
    t.set_transpose([2, 0, 1]).unwrap();
    t.set_channel_swap(&[2, 1, 0]).unwrap();
    t.set_raw_scale(255.0);
    t
}

/// The classification tutorial's pipeline on cat.jpg, against pycaffe's
/// `Transformer` (skimage 0.26 with anti_aliasing=False), value for value:
/// per-channel mean
/// (`mean.mean(1).mean(1)`), and the 256x256 mean image, which pycaffe resizes
/// to 227x227 itself, with an input scale.
#[test]
fn imagenet_pipeline_matches_pycaffe() {
    let f = fixtures();
    let img = load_image(f.join("images/cat.jpg"), &ImageOptions::default()).unwrap();
    let mean = load_mean(f.join("models/ilsvrc_2012_mean.npy")).unwrap();
    let mean = mean.into_dimensionality::<Ix3>().unwrap();
    let cm = channel_mean(mean.view());
    for (got, want) in cm
        .iter()
        .zip([104.0069879317889, 116.66876761696767, 122.6789143406786])
    {
        assert!((got - want).abs() < 1e-12, "{got} vs {want}");
    }
    let points = [(0, 0, 0), (1, 113, 113), (2, 226, 226), (0, 50, 200), (2, 200, 10)];

    let mut t = imagenet_transformer();
    t.set_mean(cm.view().into_dyn()).unwrap();
    let x = t.preprocess(img.view()).unwrap();
    assert_eq!(x.shape(), &[3, 227, 227]);
    let want = [
        -53.86381530761719,
        71.58123016357422,
        62.0943717956543,
        -62.50178527832031,
        -15.706646919250488,
    ];
    for (&p, w) in points.iter().zip(want) {
        assert_eq!(f64::from(x[p]), w, "channel mean {p:?}");
    }
    let sum: f64 = x.iter().map(|&v| f64::from(v)).sum();
    assert!((sum - 209531.0676928138).abs() < 1.0, "sum {sum}");
    // deprocess undoes everything but the resize.
    let back = t.deprocess(x.view().into_dyn()).unwrap();
    assert_eq!(back.shape(), &[227, 227, 3]);
    let sum: f64 = back.iter().map(|&v| f64::from(v)).sum();
    assert!((sum - 70204.91716596903).abs() < 0.05, "deprocessed sum {sum}");

    let mut t = imagenet_transformer();
    t.set_mean(mean.view().into_dyn()).unwrap();
    t.set_input_scale(0.5);
    let m = t.mean().unwrap();
    assert_eq!(m.shape(), &[3, 227, 227]);
    let mean_points = [(0, 0, 0), (1, 113, 113), (2, 226, 226), (0, 50, 200)];
    let mean_want = [
        110.2123023660024,
        111.37778990599327,
        113.57498248122283,
        110.55750629524846,
    ];
    for (&p, w) in mean_points.iter().zip(mean_want) {
        assert_eq!(m[p], w, "resized mean {p:?}");
    }
    let x = t.preprocess(img.view()).unwrap();
    let want = [
        -30.034564971923828,
        38.43610382080078,
        35.599151611328125,
        -34.52614974975586,
        -5.611774921417236,
    ];
    for (&p, w) in points.iter().zip(want) {
        assert_eq!(f64::from(x[p]), w, "mean image {p:?}");
    }
}

/// Preprocess then deprocess gives the image back (no resize involved).
#[test]
fn deprocess_inverts_preprocess() {
    let img = Array3::from_shape_fn((4, 5, 3), |(y, x, c)| ((y * 15 + x * 3 + c) % 17) as f32 / 16.0);
    let mut t = Transformer::new(&[1, 3, 4, 5]).unwrap();
    t.set_transpose([2, 0, 1]).unwrap();
    t.set_channel_swap(&[2, 1, 0]).unwrap();
    t.set_raw_scale(255.0);
    t.set_mean(Array1::from(vec![104.0, 117.0, 123.0]).view().into_dyn())
        .unwrap();
    t.set_input_scale(0.017);
    let x = t.preprocess(img.view()).unwrap();
    assert_eq!(x.shape(), &[3, 4, 5]);
    // Channel 0 of the blob is the image's blue channel, minus 104, scaled.
    let want = ((f64::from(img[[1, 2, 2]] * 255.0) - 104.0) as f32) * 0.017;
    assert_eq!(x[[0, 1, 2]], want);
    let batch = x.clone().insert_axis(ndarray::Axis(0));
    let back = t.deprocess(batch.view().into_dyn()).unwrap();
    assert_eq!(back.shape(), img.shape());
    for (a, b) in back.iter().zip(img.iter()) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn settings_are_checked_like_pycaffe() {
    assert!(matches!(Transformer::new(&[3, 227, 227]), Err(Error::Setting { .. })));
    let mut t = Transformer::new(&[1, 3, 8, 8]).unwrap();
    let e = t.set_channel_swap(&[1, 0]).unwrap_err();
    assert!(e.to_string().contains("3 channels"), "{e}");
    assert!(t.set_channel_swap(&[0, 0, 1]).is_err());
    assert!(t.set_transpose([0, 1, 1]).is_err());
    // Mean: wrong channel count, wrong rank; both name the problem.
    let e = t.set_mean(Array1::from(vec![1.0, 2.0]).view().into_dyn()).unwrap_err();
    assert!(e.to_string().contains("2 channel means"), "{e}");
    let e = t
        .set_mean(Array3::<f64>::zeros((1, 8, 8)).view().into_dyn())
        .unwrap_err();
    assert!(e.to_string().contains("1 channels"), "{e}");
    let e = t
        .set_mean(ndarray::ArrayD::<f64>::zeros(vec![1, 3, 8, 8]).view())
        .unwrap_err();
    assert!(e.to_string().contains("4 dimensions"), "{e}");
    // A mean image of the input's shape is taken as is; of another size, it
    // is resized (pycaffe since 2017), a constant one to the same constant.
    t.set_mean(Array3::<f64>::from_elem((3, 16, 16), 5.0).view().into_dyn())
        .unwrap();
    assert_eq!(t.mean().unwrap().shape(), &[3, 8, 8]);
    assert!(t.mean().unwrap().iter().all(|&v| v == 5.0));
    // Without a transpose, the channel swap meets the image's rows: error.
    let mut t = Transformer::new(&[1, 3, 8, 8]).unwrap();
    t.set_channel_swap(&[2, 1, 0]).unwrap();
    let e = t.preprocess(Array3::<f32>::zeros((8, 8, 3)).view()).unwrap_err();
    assert!(e.to_string().contains("transpose"), "{e}");
}

/// `caffe.io.oversample`: corners, centre (`center -/+ crop / 2`, truncated),
/// then the same five mirrored, as printed by pycaffe for a 5x6 ramp.
#[test]
fn oversample_matches_pycaffe() {
    let im = Array3::from_shape_fn((5, 6, 1), |(y, x, _)| (6 * y + x) as f32);
    let crops = oversample(&[im.view()], (3, 4)).unwrap();
    assert_eq!(crops.shape(), &[10, 3, 4, 1]);
    let centre = arr2(&[
        [7.0, 8.0, 9.0, 10.0],
        [13.0, 14.0, 15.0, 16.0],
        [19.0, 20.0, 21.0, 22.0],
    ]);
    assert_eq!(crops.slice(s![4, .., .., 0]), centre);
    let mirrored = arr2(&[
        [10.0, 9.0, 8.0, 7.0],
        [16.0, 15.0, 14.0, 13.0],
        [22.0, 21.0, 20.0, 19.0],
    ]);
    assert_eq!(crops.slice(s![9, .., .., 0]), mirrored);
    assert_eq!(crops[[3, 2, 3, 0]], 29.0); // bottom-right corner crop
    let big = Array3::<f32>::zeros((256, 256, 3));
    assert_eq!(
        oversample(&[big.view(), big.view()], (227, 227)).unwrap().shape(),
        &[20, 227, 227, 3]
    );
    assert!(oversample(&[im.view()], (6, 4)).is_err());
}
