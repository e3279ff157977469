//! `load_image` against pycaffe: cat_gray.jpg equals the golden `input.npy`
//! bit for bit, colour JPEGs (4:4:4 and 4:2:0) equal Pillow's libjpeg-turbo
//! decode (checksums recorded by tests/reference.py), PNG variants follow
//! Pillow's rules, and bad files give typed errors, never panics.

use std::io::Write;
use std::path::{Path, PathBuf};

use caffe_preprocess::{decode_image, load_image, Error, ImageOptions, Limits};
use image::{ImageBuffer, Luma, LumaA, Rgb, Rgba};
use ndarray::{s, Array3};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .canonicalize()
        .unwrap()
}

/// `(sum, sum of v * (i % 1009 + 1))` of the 8-bit samples (x * 255), the
/// checksum tests/reference.py prints for pycaffe's `load_image`.
fn checksum_u8(a: &Array3<f32>) -> (i64, i64) {
    let mut sum = 0i64;
    let mut weighted = 0i64;
    for (i, &v) in a.iter().enumerate() {
        let x = f64::from(v) * 255.0;
        let q = x.round();
        assert!((x - q).abs() < 1e-3, "{v} is not k / 255");
        sum += q as i64;
        weighted += q as i64 * ((i % 1009) as i64 + 1);
    }
    (sum, weighted)
}

#[test]
fn cat_gray_equals_pycaffe_golden_input_exactly() {
    let f = fixtures();
    let golden = caffe_io::read_npy_f32(f.join("golden/designer/input.npy")).unwrap();
    assert_eq!(golden.shape(), &[1, 1, 360, 480]);
    let img = load_image(f.join("images/cat_gray.jpg"), &ImageOptions::grey()).unwrap();
    assert_eq!(img.shape(), &[360, 480, 1]);
    let golden = golden.slice(s![0, 0, .., ..]);
    let mine = img.slice(s![.., .., 0]);
    // Bitwise: the same libjpeg samples, the same float64 / 255 -> float32.
    let max_diff = mine
        .iter()
        .zip(golden.iter())
        .map(|(a, b)| (f64::from(*a) * 255.0 - f64::from(*b) * 255.0).abs())
        .fold(0.0, f64::max);
    assert_eq!(max_diff, 0.0, "max pixel difference (0..255 scale)");
    assert!(mine.iter().zip(golden.iter()).all(|(a, b)| a.to_bits() == b.to_bits()));

    // color=True tiles the grey channel, as np.tile(img, (1, 1, 3)).
    let rgb = load_image(f.join("images/cat_gray.jpg"), &ImageOptions::default()).unwrap();
    assert_eq!(rgb.shape(), &[360, 480, 3]);
    for c in 0..3 {
        assert_eq!(rgb.slice(s![.., .., c]), mine);
    }
}

#[test]
fn colour_jpegs_equal_pillow_libjpeg_turbo() {
    let f = fixtures();
    // cat.jpg is 4:4:4 (IDCT + colour conversion only); fish-bike.jpg is
    // 4:2:0, so it also checks libjpeg's fancy (triangular) upsampling.
    let cat = load_image(f.join("images/cat.jpg"), &ImageOptions::default()).unwrap();
    assert_eq!(cat.shape(), &[360, 480, 3]);
    assert_eq!(checksum_u8(&cat), (60033953, 30329467696));
    let fish = load_image(f.join("images/fish-bike.jpg"), &ImageOptions::default()).unwrap();
    assert_eq!(fish.shape(), &[323, 481, 3]);
    assert_eq!(checksum_u8(&fish), (80734483, 40777516469));
}

#[test]
fn colour_jpeg_as_grey_is_skimage_rgb2gray() {
    let f = fixtures();
    let g = load_image(f.join("images/cat.jpg"), &ImageOptions::grey()).unwrap();
    assert_eq!(g.shape(), &[360, 480, 1]);
    // Values printed by pycaffe's load_image(..., color=False) (skimage 0.26).
    let expected = [
        ((0, 0), 0.19543412327766418),
        ((100, 200), 0.4929470717906952),
        ((359, 479), 0.6889678239822388),
        ((180, 240), 0.7360266447067261),
    ];
    for ((y, x), v) in expected {
        assert_eq!(f64::from(g[[y, x, 0]]), v, "pixel ({y}, {x})");
    }
    let sum: f64 = g.iter().map(|&v| f64::from(v)).sum();
    assert!((sum - 88225.45543465274).abs() < 1e-6, "{sum}");
}

fn png_bytes<P: image::PixelWithColorType>(img: &ImageBuffer<P, Vec<P::Subpixel>>) -> Vec<u8>
where
    [P::Subpixel]: image::EncodableLayout,
{
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[test]
fn png_variants_follow_pillow() {
    let p = Path::new("mem.png");
    let (grey, color) = (ImageOptions::grey(), ImageOptions::default());
    // 8-bit grey: v / 255.
    let g8 = ImageBuffer::from_fn(3, 2, |x, y| Luma([(x * 100 + y * 7) as u8]));
    let a = decode_image(&png_bytes(&g8), p, &grey).unwrap();
    assert_eq!(a.shape(), &[2, 3, 1]);
    assert_eq!(a[[1, 2, 0]], (207.0f64 / 255.0) as f32);
    // 16-bit grey stays 16-bit in Pillow ("I;16"): v / 65535.
    let g16 = ImageBuffer::from_fn(3, 2, |x, y| Luma([(x * 20000 + y * 999) as u16]));
    let a = decode_image(&png_bytes(&g16), p, &grey).unwrap();
    assert_eq!(a[[1, 2, 0]], (40999.0f64 / 65535.0) as f32);
    // 16-bit RGB is opened by Pillow as 8-bit "RGB": high byte / 255.
    let rgb16 = ImageBuffer::from_fn(2, 2, |x, y| Rgb([(x * 30000 + 255) as u16, (y * 40000) as u16, 65535]));
    let a = decode_image(&png_bytes(&rgb16), p, &color).unwrap();
    assert_eq!(a.shape(), &[2, 2, 3]);
    assert_eq!(a[[0, 1, 0]], ((30255 >> 8) as f64 / 255.0) as f32);
    assert_eq!(a[[1, 0, 1]], ((40000 >> 8) as f64 / 255.0) as f32);
    assert_eq!(a[[1, 1, 2]], 1.0);
    // RGBA: alpha dropped.
    let rgba = ImageBuffer::from_fn(2, 1, |x, _| Rgba([10 * x as u8, 20, 30, 0]));
    let a = decode_image(&png_bytes(&rgba), p, &color).unwrap();
    assert_eq!(a.shape(), &[1, 2, 3]);
    assert_eq!(a[[0, 1, 0]], (10.0f64 / 255.0) as f32);
    // RGBA as grey: rgb2gray of the colour, alpha ignored.
    let a = decode_image(&png_bytes(&rgba), p, &grey).unwrap();
    let want = (10.0 / 255.0) * 0.2125 + (20.0 / 255.0) * 0.7154 + (30.0 / 255.0) * 0.0721;
    assert_eq!(a[[0, 1, 0]], want as f32);
    // Grey + alpha: grey, tiled for colour.
    let la = ImageBuffer::from_fn(2, 1, |x, _| LumaA([100 + x as u8, 7]));
    let a = decode_image(&png_bytes(&la), p, &color).unwrap();
    assert_eq!(a.shape(), &[1, 2, 3]);
    assert_eq!(a[[0, 1, 2]], (101.0f64 / 255.0) as f32);
}

fn expect_err(result: caffe_preprocess::Result<Array3<f32>>) -> Error {
    match result {
        Ok(a) => panic!("expected an error, got an image of shape {:?}", a.shape()),
        Err(e) => e,
    }
}

#[test]
fn bad_files_are_typed_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cat = std::fs::read(fixtures().join("images/cat.jpg")).unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::File::create(&p).unwrap().write_all(bytes).unwrap();
        p
    };

    let missing = dir.path().join("missing.jpg");
    let e = expect_err(load_image(&missing, &ImageOptions::default()));
    assert!(matches!(e, Error::Io { .. }), "{e}");
    assert!(e.to_string().contains("missing.jpg"), "{e}");

    let p = write("empty.jpg", b"");
    let e = expect_err(load_image(&p, &ImageOptions::default()));
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
    assert!(
        e.to_string().contains("empty.jpg") && e.to_string().contains("empty"),
        "{e}"
    );

    let p = write("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    let e = expect_err(load_image(&p, &ImageOptions::default()));
    assert!(
        matches!(e, Error::Unsupported { .. }) && e.to_string().contains("Gif"),
        "{e}"
    );

    let p = write("text.jpg", b"hello, I am not an image");
    assert!(matches!(
        expect_err(load_image(&p, &ImageOptions::default())),
        Error::Unsupported { .. }
    ));

    // Truncated in the middle of the entropy-coded data: Pillow raises
    // "image file is truncated"; libjpeg's premature-EOF warning is an error.
    let p = write("half.jpg", &cat[..cat.len() / 2]);
    let e = expect_err(load_image(&p, &ImageOptions::default()));
    assert!(matches!(e, Error::Corrupt { format: "JPEG", .. }), "{e}");
    assert!(
        e.to_string().contains("half.jpg") && e.to_string().contains("Premature end"),
        "{e}"
    );

    // Only the SOI marker and garbage: libjpeg's fatal error becomes ours.
    let mut garbage = vec![0xFF, 0xD8, 0xFF, 0x01];
    garbage.extend(std::iter::repeat_n(0x55u8, 100));
    let p = write("garbage.jpg", &garbage);
    let e = expect_err(load_image(&p, &ImageOptions::default()));
    assert!(matches!(e, Error::Corrupt { format: "JPEG", .. }), "{e}");

    // A header cut right after SOF.
    let p = write("header_only.jpg", &cat[..300]);
    assert!(matches!(
        expect_err(load_image(&p, &ImageOptions::default())),
        Error::Corrupt { .. }
    ));

    let png = png_bytes(&ImageBuffer::from_fn(8, 8, |x, _| Luma([x as u8])));
    let p = write("cut.png", &png[..png.len() - 20]);
    let e = expect_err(load_image(&p, &ImageOptions::default()));
    assert!(matches!(e, Error::Corrupt { format: "PNG", .. }), "{e}");
    assert!(e.to_string().contains("cut.png"), "{e}");
}

/// The JPEG header of cat.jpg with its SOF0 dimensions replaced.
fn jpeg_with_dims(cat: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut bytes = cat.to_vec();
    let sof = bytes
        .windows(2)
        .position(|w| w[0] == 0xFF && (w[1] == 0xC0 || w[1] == 0xC2))
        .expect("a SOF marker");
    // FFC0, length (2), precision (1), height (2), width (2).
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

#[test]
fn huge_headers_fail_before_allocating() {
    let cat = std::fs::read(fixtures().join("images/cat.jpg")).unwrap();
    let p = Path::new("huge.jpg");
    let start = std::time::Instant::now();
    let e = expect_err(decode_image(
        &jpeg_with_dims(&cat, 60000, 60000),
        p,
        &ImageOptions::default(),
    ));
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("60000x60000"), "{e}");

    // A PNG header claiming 100000 x 100000.
    let mut png = png_bytes(&ImageBuffer::from_fn(1, 1, |_, _| Luma([0u8])));
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    // Fix the IHDR CRC so that only the size is wrong.
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let e = expect_err(decode_image(&png, Path::new("huge.png"), &ImageOptions::default()));
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("100000x100000"), "{e}");
    assert!(start.elapsed().as_secs_f64() < 2.0, "rejected without decoding");

    // Limits are configurable: cat.jpg (480 x 360) over a 400-pixel width.
    let small = Limits {
        max_width: 400,
        ..Limits::default()
    };
    let e = expect_err(load_image(
        fixtures().join("images/cat.jpg"),
        &ImageOptions::default().limits(small),
    ));
    assert!(
        e.to_string().contains("480x360") && e.to_string().contains("cat.jpg"),
        "{e}"
    );
    let tight = Limits {
        max_alloc: 1000,
        ..Limits::default()
    };
    let e = expect_err(load_image(
        fixtures().join("images/cat_gray.jpg"),
        &ImageOptions::grey().limits(tight),
    ));
    assert!(matches!(e, Error::TooLarge { .. }), "{e}");
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
