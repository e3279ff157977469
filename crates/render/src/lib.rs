//! Result images as PNG: a float map in grey (matplotlib's `imshow(x,
//! cmap='gray')`: min-max normalised, 256 levels), a probability map laid over
//! a photo through viridis with a colour bar, and a class map with the class
//! number drawn in each cell. Every file is written atomically (temporary
//! file beside it, then rename) through `caffe_io::fs::write_atomic`.

use std::path::Path;

use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, GrayImage, ImageEncoder, Rgb, RgbImage};
use ndarray::{Array2, ArrayView2, ArrayView3, AsArray, Ix2, Ix3};

mod error;
mod font;

pub use error::{Error, Result};
use font::{draw_text, text_width, ADVANCE, GLYPH_H};

/// Largest side of a rendered image: bounds memory when a caller passes a
/// huge map or cell size.
const MAX_SIDE: usize = 32768;

/// Photos shorter than this are enlarged by an integer factor in heatmaps.
const MIN_PHOTO_HEIGHT: u32 = 200;

/// matplotlib's viridis (CC0, van der Walt & Smith), every 8th of its 256
/// entries and the last, at positions index / 255; linear interpolation
/// between them is within 1.7/255 of the full table.
const VIRIDIS: [[f32; 3]; 33] = [
    [0.267004, 0.004874, 0.329415],
    [0.277018, 0.050344, 0.375715],
    [0.282327, 0.094955, 0.417331],
    [0.282884, 0.135920, 0.453427],
    [0.278826, 0.175490, 0.483397],
    [0.270595, 0.214069, 0.507052],
    [0.258965, 0.251537, 0.524736],
    [0.244972, 0.287675, 0.537260],
    [0.229739, 0.322361, 0.545706],
    [0.214298, 0.355619, 0.551184],
    [0.199430, 0.387607, 0.554642],
    [0.185556, 0.418570, 0.556753],
    [0.172719, 0.448791, 0.557885],
    [0.160665, 0.478540, 0.558115],
    [0.149039, 0.508051, 0.557250],
    [0.137770, 0.537492, 0.554906],
    [0.127568, 0.566949, 0.550556],
    [0.120565, 0.596422, 0.543611],
    [0.120638, 0.625828, 0.533488],
    [0.132268, 0.655014, 0.519661],
    [0.157851, 0.683765, 0.501686],
    [0.196571, 0.711827, 0.479221],
    [0.246070, 0.738910, 0.452024],
    [0.304148, 0.764704, 0.419943],
    [0.369214, 0.788888, 0.382914],
    [0.440137, 0.811138, 0.340967],
    [0.515992, 0.831158, 0.294279],
    [0.595839, 0.848717, 0.243329],
    [0.678489, 0.863742, 0.189503],
    [0.762373, 0.876424, 0.137064],
    [0.845561, 0.887322, 0.099702],
    [0.926106, 0.897330, 0.104071],
    [0.993248, 0.906157, 0.143936],
];

/// Viridis at `t` in [0, 1] (clamped; NaN reads as 0), as floats in [0, 1].
pub fn viridis(t: f32) -> [f32; 3] {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    // Control point i sits at min(8 i, 255) / 255.
    let pos = t * 255.0;
    let i = ((pos / 8.0) as usize).min(VIRIDIS.len() - 2);
    let x0 = (8 * i) as f32;
    let x1 = ((8 * (i + 1)) as f32).min(255.0);
    let f = ((pos - x0) / (x1 - x0)).clamp(0.0, 1.0);
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    [0, 1, 2].map(|k| a[k] + (b[k] - a[k]) * f)
}

/// Viridis at `t` as 8-bit RGB.
pub fn viridis_rgb8(t: f32) -> Rgb<u8> {
    Rgb(viridis(t).map(to_u8))
}

fn to_u8(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0).round() as u8
}

/// Finite min and max of `values` (None if none is finite).
fn finite_range<'a>(values: impl IntoIterator<Item = &'a f32>) -> Option<(f32, f32)> {
    values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, &v| match acc {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        })
}

/// `values` as grey levels the way `plt.imshow(values, cmap='gray')` shows
/// them: normalised to [0, 1] by the finite min and max (a constant map is
/// all 0, as matplotlib's `Normalize` gives), then matplotlib's 256-entry
/// lookup `min(floor(x * 256), 255)`. Non-finite values are drawn black.
pub fn render_gray<'a>(values: impl AsArray<'a, f32, Ix2>) -> Result<GrayImage> {
    let values: ArrayView2<'a, f32> = values.into();
    let (h, w) = values.dim();
    check_canvas("gray image", w, h)?;
    let (lo, hi) = finite_range(values.iter()).unwrap_or((0.0, 0.0));
    let span = f64::from(hi) - f64::from(lo);
    let level = |v: f32| -> u8 {
        if !v.is_finite() || span <= 0.0 {
            return 0;
        }
        let x = (f64::from(v) - f64::from(lo)) / span;
        ((x * 256.0).floor() as i64).clamp(0, 255) as u8
    };
    let mut img = GrayImage::new(w as u32, h as u32);
    for ((y, x), &v) in values.indexed_iter() {
        img.put_pixel(x as u32, y as u32, image::Luma([level(v)]));
    }
    Ok(img)
}

/// Writes `values` as a grey PNG (see [`render_gray`]), atomically.
pub fn save_gray_png<'a>(path: impl AsRef<Path>, values: impl AsArray<'a, f32, Ix2>) -> Result<()> {
    let img = render_gray(values)?;
    write_png(
        path.as_ref(),
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::L8,
    )
}

/// An H x W x 3 (or x 1) float image in [0, 1] as 8-bit RGB (clipped, rounded).
pub fn render_rgb<'a>(image: impl AsArray<'a, f32, Ix3>) -> Result<RgbImage> {
    let image: ArrayView3<'a, f32> = image.into();
    let (h, w, c) = image.dim();
    if c != 1 && c != 3 {
        return Err(Error::shape(
            "image",
            format!("expected H x W x 3 (or x 1), got {:?}", image.shape()),
        ));
    }
    check_canvas("image", w, h)?;
    let mut img = RgbImage::new(w as u32, h as u32);
    for (x, y, px) in img.enumerate_pixels_mut() {
        let (y, x) = (y as usize, x as usize);
        *px = Rgb([0, 1, 2].map(|k| to_u8(image[[y, x, if c == 3 { k } else { 0 }]])));
    }
    Ok(img)
}

/// Writes an H x W x 3 float image in [0, 1] as an RGB PNG, atomically.
pub fn save_rgb_png<'a>(path: impl AsRef<Path>, image: impl AsArray<'a, f32, Ix3>) -> Result<()> {
    let img = render_rgb(image)?;
    save_png(path, &img)
}

/// Writes an RGB image as PNG, atomically.
pub fn save_png(path: impl AsRef<Path>, img: &RgbImage) -> Result<()> {
    write_png(
        path.as_ref(),
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::Rgb8,
    )
}

fn write_png(path: &Path, bytes: &[u8], w: u32, h: u32, color: ExtendedColorType) -> Result<()> {
    caffe_io::fs::write_atomic(path, |out| {
        PngEncoder::new(out)
            .write_image(bytes, w, h, color)
            .map_err(std::io::Error::other)
    })?;
    Ok(())
}

fn check_canvas(what: &'static str, w: usize, h: usize) -> Result<()> {
    if w == 0 || h == 0 {
        return Err(Error::shape(what, format!("cannot draw an empty {h}x{w} image")));
    }
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(Error::shape(
            what,
            format!("{w}x{h} pixels is over the {MAX_SIDE}-pixel limit of a rendered image"),
        ));
    }
    Ok(())
}

/// Bilinear resize of a small map to `(h, w)` for display: pixel centres
/// aligned as skimage's `resize`, but edges clamped (no darkened border).
pub fn upsample_bilinear(map: ArrayView2<'_, f32>, (h, w): (usize, usize)) -> Array2<f32> {
    let (mh, mw) = map.dim();
    let taps = |n_in: usize, n_out: usize| -> Vec<(usize, usize, f32)> {
        let factor = n_in as f64 / n_out as f64;
        (0..n_out)
            .map(|i| {
                let src = (factor * (i as f64 + 0.5) - 0.5).clamp(0.0, (n_in - 1) as f64);
                let lo = src.floor() as usize;
                ((lo), (lo + 1).min(n_in - 1), (src - lo as f64) as f32)
            })
            .collect()
    };
    let rows = taps(mh, h);
    let cols = taps(mw, w);
    Array2::from_shape_fn((h, w), |(y, x)| {
        let (y0, y1, fy) = rows[y];
        let (x0, x1, fx) = cols[x];
        let top = map[[y0, x0]] * (1.0 - fx) + map[[y0, x1]] * fx;
        let bottom = map[[y1, x0]] * (1.0 - fx) + map[[y1, x1]] * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

/// A tick label: up to 3 decimals, or scientific for very small or large.
fn format_tick(v: f32) -> String {
    let a = v.abs();
    if v == 0.0 {
        "0".into()
    } else if !(1e-3..1e5).contains(&a) {
        format!("{v:.2e}")
    } else {
        let s = format!("{v:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" {
            "0".into()
        } else {
            s.into()
        }
    }
}

const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
const BLACK: Rgb<u8> = Rgb([0, 0, 0]);
const FRAME: Rgb<u8> = Rgb([64, 64, 64]);

/// Where the parts of a heatmap legend were drawn (for tests and callers that
/// add to the picture).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegendLayout {
    /// The factor the photo was enlarged by (1 unless it was under 200 px tall).
    pub enlarge: u32,
    /// Left column of the legend panel (the photo is left of it).
    pub panel_x: u32,
    /// Colour bar: x range `bar_x..bar_x + bar_w`, y range `bar_top..bar_bottom`
    /// (top is the map's maximum).
    pub bar_x: u32,
    pub bar_w: u32,
    pub bar_top: u32,
    pub bar_bottom: u32,
    /// Font scale used (each font pixel is `scale` x `scale`).
    pub scale: u32,
}

/// Lays a probability map over a photo: the map (e.g. 8x8) is upsampled
/// bilinearly to the photo's size, normalised by its min and max, coloured
/// with viridis and blended, `(1 - alpha) * photo + alpha * colour`. A panel
/// right of the photo holds a colour bar with the map's max (top) and min
/// (bottom) written beside it, and `legend` above it. A photo under 200
/// pixels tall is first enlarged by the smallest integer factor that reaches
/// 200 (nearest neighbour), so a digit canvas is not a thumbnail.
pub fn render_heatmap_overlay<'a, 'b>(
    image: impl AsArray<'a, f32, Ix3>,
    prob_map: impl AsArray<'b, f32, Ix2>,
    alpha: f32,
    legend: Option<&str>,
) -> Result<(RgbImage, LegendLayout)> {
    let image: ArrayView3<'a, f32> = image.into();
    let prob_map: ArrayView2<'b, f32> = prob_map.into();
    let photo = render_rgb(image)?;
    // A small input (a 28x28 digit, a 56x56 canvas) is enlarged k times,
    // pixels as squares, so that the picture and its legend are legible.
    let enlarge = MIN_PHOTO_HEIGHT.div_ceil(photo.height()).max(1);
    let photo = if enlarge > 1 {
        check_canvas(
            "heatmap",
            (photo.width() * enlarge) as usize,
            (photo.height() * enlarge) as usize,
        )?;
        image::imageops::resize(
            &photo,
            photo.width() * enlarge,
            photo.height() * enlarge,
            image::imageops::FilterType::Nearest,
        )
    } else {
        photo
    };
    let (w, h) = (photo.width(), photo.height());
    if prob_map.is_empty() {
        return Err(Error::shape("probability map", "is empty"));
    }
    let (lo, hi) =
        finite_range(prob_map.iter()).ok_or_else(|| Error::shape("probability map", "has no finite value"))?;
    let alpha = if alpha.is_nan() { 0.5 } else { alpha.clamp(0.0, 1.0) };
    let up = upsample_bilinear(prob_map, (h as usize, w as usize));
    let span = hi - lo;

    // Legend geometry, in multiples of the font scale so that it reads the
    // same on a 227-pixel and a 1000-pixel photo.
    let s = (h / 160).clamp(1, 4);
    let margin = 4 * s;
    let line = (GLYPH_H + 2) * s;
    let (max_label, min_label) = (format_tick(hi), format_tick(lo));
    let label_w = text_width(&max_label, s).max(text_width(&min_label, s));
    let bar_w = 10 * s;
    let tick = 2 * s;
    // A wide gap after the tick, so that it is not read as a minus sign.
    let gap = 3 * s;
    let title = legend.filter(|t| !t.is_empty());
    let title_w = title.map_or(0, |t| text_width(t, s));
    let content_w = bar_w + tick + gap + label_w;
    let panel_w = 2 * margin + content_w.max(title_w);
    let title_h = if title.is_some() { line + margin } else { 0 };
    let bar_top = margin + title_h + 4 * s;
    let min_bar = 24 * s;
    let canvas_h = h.max(bar_top + min_bar + 4 * s + margin);
    let bar_bottom = canvas_h - margin - 4 * s;
    check_canvas("heatmap", (w + panel_w) as usize, canvas_h as usize)?;

    let mut out = RgbImage::from_pixel(w + panel_w, canvas_h, WHITE);
    for (x, y, px) in photo.enumerate_pixels() {
        let v = up[[y as usize, x as usize]];
        let t = if span > 0.0 && v.is_finite() {
            (v - lo) / span
        } else {
            0.0
        };
        let c = viridis(t);
        let blended = [0, 1, 2].map(|k| {
            let p = f32::from(px.0[k]) / 255.0;
            to_u8((1.0 - alpha) * p + alpha * c[k])
        });
        out.put_pixel(x, y, Rgb(blended));
    }

    let panel_x = w;
    let bar_x = panel_x + margin;
    if let Some(t) = title {
        draw_text(&mut out, i64::from(panel_x + margin), i64::from(margin), t, s, BLACK);
    }
    // The bar, top = 1 (max) to bottom = 0 (min), framed one pixel outside.
    let rows = bar_bottom - bar_top;
    for y in bar_top..bar_bottom {
        let t = 1.0 - (y - bar_top) as f32 / (rows - 1).max(1) as f32;
        let c = viridis_rgb8(t);
        for x in bar_x..bar_x + bar_w {
            out.put_pixel(x, y, c);
        }
    }
    for x in bar_x - 1..=bar_x + bar_w {
        out.put_pixel(x, bar_top - 1, FRAME);
        out.put_pixel(x, bar_bottom, FRAME);
    }
    for y in bar_top - 1..=bar_bottom {
        out.put_pixel(bar_x - 1, y, FRAME);
        out.put_pixel(bar_x + bar_w, y, FRAME);
    }
    // Ticks and labels at the bar's first and last rows.
    for (y, label) in [(bar_top, &max_label), (bar_bottom - 1, &min_label)] {
        for x in bar_x + bar_w..bar_x + bar_w + tick {
            for dy in 0..s.min(2) {
                out.put_pixel(x, (y + dy).min(canvas_h - 1), BLACK);
            }
        }
        let text_y = i64::from(y) - i64::from(GLYPH_H * s / 2);
        draw_text(&mut out, i64::from(bar_x + bar_w + tick + gap), text_y, label, s, BLACK);
    }
    let layout = LegendLayout {
        enlarge,
        panel_x,
        bar_x,
        bar_w,
        bar_top,
        bar_bottom,
        scale: s,
    };
    Ok((out, layout))
}

/// Renders [`render_heatmap_overlay`] to a PNG, atomically.
pub fn heatmap_overlay_png<'a, 'b>(
    path: impl AsRef<Path>,
    image: impl AsArray<'a, f32, Ix3>,
    prob_map: impl AsArray<'b, f32, Ix2>,
    alpha: f32,
    legend: Option<&str>,
) -> Result<()> {
    let (img, _) = render_heatmap_overlay(image, prob_map, alpha, legend)?;
    save_png(path, &img)
}

/// matplotlib's `tab10`, the colours of classes 0-9.
const TAB10: [[u8; 3]; 10] = [
    [0x1f, 0x77, 0xb4],
    [0xff, 0x7f, 0x0e],
    [0x2c, 0xa0, 0x2c],
    [0xd6, 0x27, 0x28],
    [0x94, 0x67, 0xbd],
    [0x8c, 0x56, 0x4b],
    [0xe3, 0x77, 0xc2],
    [0x7f, 0x7f, 0x7f],
    [0xbc, 0xbd, 0x22],
    [0x17, 0xbe, 0xcf],
];

/// A colour per class: tab10 for 0-9, then hues spread by the golden angle;
/// negative classes (e.g. "none") are light grey.
pub fn class_color(class: i64) -> Rgb<u8> {
    if class < 0 {
        return Rgb([200, 200, 200]);
    }
    if let Some(c) = TAB10.get(class as usize) {
        return Rgb(*c);
    }
    let hue = ((class as f64) * 0.618_033_988_749_895).fract() * 6.0;
    let (sat, val) = (0.65, 0.85);
    let f = hue.fract();
    let (p, q, t) = (val * (1.0 - sat), val * (1.0 - sat * f), val * (1.0 - sat * (1.0 - f)));
    let (r, g, b) = match hue as u32 {
        0 => (val, t, p),
        1 => (q, val, p),
        2 => (p, val, t),
        3 => (p, q, val),
        4 => (t, p, val),
        _ => (val, p, q),
    };
    Rgb([r, g, b].map(|v| (v * 255.0).round() as u8))
}

/// A class map (e.g. the 8x8 argmax of a fully convolutional net) as a grid of
/// `cell` x `cell` squares, one colour per class ([`class_color`]) and the
/// class number written in each. `cell` is raised if the largest number would
/// not fit. Cells are separated by a 1-pixel white line.
pub fn render_class_map<'a>(classes: impl AsArray<'a, i64, Ix2>, cell: u32) -> Result<RgbImage> {
    let classes: ArrayView2<'a, i64> = classes.into();
    let (rows, cols) = classes.dim();
    if rows == 0 || cols == 0 {
        return Err(Error::shape(
            "class map",
            format!("cannot draw an empty {rows}x{cols} map"),
        ));
    }
    let digits = classes
        .iter()
        .filter(|&&c| c >= 0)
        .map(|c| c.to_string().len() as u32)
        .max()
        .unwrap_or(1);
    // Room for the number at scale 1 plus a 2-pixel margin and the separator.
    let cell = cell.max(digits * ADVANCE + 4).max(GLYPH_H + 5);
    check_canvas("class map", cols * cell as usize, rows * cell as usize)?;
    let inner = cell - 1;
    // Largest font scale whose text fits the cell with a margin on each side.
    let fits = |s: u32| text_width(&"8".repeat(digits as usize), s) + 4 <= inner && GLYPH_H * s + 4 <= inner;
    // ... and at most about 60% of the cell's height, to stay a label.
    let s = (1..=16)
        .rev()
        .find(|&s| fits(s))
        .unwrap_or(1)
        .min((inner * 3 / 5 / GLYPH_H).max(1));
    let mut img = RgbImage::from_pixel(cols as u32 * cell, rows as u32 * cell, WHITE);
    for ((r, c), &class) in classes.indexed_iter() {
        let color = class_color(class);
        let (x0, y0) = (c as u32 * cell, r as u32 * cell);
        for y in y0..y0 + inner {
            for x in x0..x0 + inner {
                img.put_pixel(x, y, color);
            }
        }
        if class >= 0 {
            let text = class.to_string();
            let luma = 0.299 * f32::from(color.0[0]) + 0.587 * f32::from(color.0[1]) + 0.114 * f32::from(color.0[2]);
            let ink = if luma > 140.0 { BLACK } else { WHITE };
            let tx = x0 + (inner - text_width(&text, s)) / 2;
            let ty = y0 + (inner - GLYPH_H * s) / 2;
            draw_text(&mut img, i64::from(tx), i64::from(ty), &text, s, ink);
        }
    }
    Ok(img)
}

/// Renders [`render_class_map`] to a PNG, atomically.
pub fn class_map_png<'a>(path: impl AsRef<Path>, classes: impl AsArray<'a, i64, Ix2>, cell: u32) -> Result<()> {
    let img = render_class_map(classes, cell)?;
    save_png(path, &img)
}
