//! JPEG decoding with libjpeg-turbo (MozJPEG's copy of its decoder, built from
//! bundled source), configured as Pillow configures it: islow integer IDCT,
//! fancy (triangular) chroma upsampling, YCbCr -> RGB in libjpeg. Pillow is
//! what `skimage.io.imread`, and so pycaffe's `caffe.io.load_image`, decodes
//! JPEG with, so this gives the very same 8-bit samples.

use std::ffi::CStr;
use std::os::raw::c_int;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::path::Path;

use mozjpeg::{ColorSpace, DctMethod, Decompress};
use mozjpeg_sys::{jpeg_common_struct, jpeg_error_mgr, jpeg_std_error, JWRN_JPEG_EOF};

use crate::error::{Error, Result};
use crate::load::{Decoded, Limits, Samples};

/// The payload our libjpeg error handler unwinds with, so that a failure is
/// told apart from a real panic (which is resumed, not turned into an error).
struct JpegFailure(String);

/// Decodes a JPEG to 8-bit grey (1 channel) or RGB (3 channels).
pub(crate) fn decode(bytes: &[u8], path: &Path, limits: &Limits) -> Result<Decoded> {
    // libjpeg reports fatal errors by calling `error_exit`, which must not
    // return; ours unwinds (through "C-unwind" frames) back to here.
    match catch_unwind(AssertUnwindSafe(|| decode_inner(bytes, path, limits))) {
        Ok(result) => result,
        Err(payload) => match payload.downcast::<JpegFailure>() {
            Ok(failure) => Err(Error::corrupt(path, "JPEG", failure.0)),
            Err(other) => resume_unwind(other),
        },
    }
}

fn decode_inner(bytes: &[u8], path: &Path, limits: &Limits) -> Result<Decoded> {
    let mut dec = Decompress::builder()
        .with_err(error_manager())
        .from_mem(bytes)
        .map_err(|e| Error::corrupt(path, "JPEG", e.to_string()))?;
    // Pillow's defaults, which are libjpeg's; set explicitly so that a change
    // of default in the C library cannot change our pixels.
    dec.dct_method(DctMethod::IntegerSlow);
    dec.do_fancy_upsampling(true);
    let (width, height) = dec.size();
    let channels = match dec.color_space() {
        ColorSpace::JCS_GRAYSCALE => 1,
        ColorSpace::JCS_YCbCr | ColorSpace::JCS_RGB => 3,
        other => {
            return Err(Error::unsupported(
                path,
                format!("JPEG in colour space {other:?} (only grey, YCbCr and RGB JPEGs are read)"),
            ))
        }
    };
    // The header is all that has been read: check its dimensions before
    // libjpeg allocates buffers for them.
    limits.check(path, width as u64, height as u64, channels)?;
    let mut started = if channels == 1 { dec.grayscale() } else { dec.rgb() }
        .map_err(|e| Error::corrupt(path, "JPEG", e.to_string()))?;
    // One u8 per sample, rows of width x channels.
    let data: Vec<u8> = started
        .read_scanlines()
        .map_err(|e| Error::corrupt(path, "JPEG", e.to_string()))?;
    started
        .finish()
        .map_err(|e| Error::corrupt(path, "JPEG", e.to_string()))?;
    if data.len() != width * height * channels {
        return Err(Error::corrupt(
            path,
            "JPEG",
            format!("decoded {} samples, expected {width}x{height}x{channels}", data.len()),
        ));
    }
    Ok(Decoded {
        width,
        height,
        channels,
        samples: Samples::U8(data),
    })
}

fn error_manager() -> jpeg_error_mgr {
    // SAFETY: jpeg_error_mgr is a plain C struct (integers, pointers and
    // Option<fn>), for which all-zero is valid; jpeg_std_error fills it in.
    let mut err: jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { jpeg_std_error(&mut err) };
    err.error_exit = Some(error_exit);
    err.emit_message = Some(emit_message);
    err
}

/// Fatal libjpeg error: unwind with its message. `resume_unwind` does not run
/// the panic hook, so nothing is printed.
extern "C-unwind" fn error_exit(cinfo: &mut jpeg_common_struct) {
    let message = format_message(cinfo);
    resume_unwind(Box::new(JpegFailure(message)));
}

/// libjpeg warnings. Pillow ignores them (corrupt entropy data is patched
/// over, as libjpeg does) except running out of data: a truncated file makes
/// Pillow raise "image file is truncated", so it is an error here too.
extern "C-unwind" fn emit_message(cinfo: &mut jpeg_common_struct, msg_level: c_int) {
    // SAFETY: libjpeg calls this with its own cinfo, whose `err` is ours.
    let code = unsafe { (*cinfo.err).msg_code };
    if msg_level < 0 && code == JWRN_JPEG_EOF as c_int {
        error_exit(cinfo);
    }
}

fn format_message(cinfo: &mut jpeg_common_struct) -> String {
    // SAFETY: `err` points at our error manager for the whole decode.
    let err = unsafe { &*cinfo.err };
    let code = err.msg_code;
    let Some(format) = err.format_message else {
        return format!("libjpeg error {code}");
    };
    // libjpeg writes at most JMSG_LENGTH_MAX (200) bytes; the binding declares
    // the buffer as an immutable 80-byte array, so pass a larger one through a
    // pointer cast instead of writing through a shared reference.
    let mut buffer = [0u8; 256];
    type Formatter = unsafe extern "C-unwind" fn(&mut jpeg_common_struct, *mut u8);
    // SAFETY: same C function, same ABI; the second parameter is a char*.
    let format: Formatter = unsafe { std::mem::transmute(format) };
    unsafe { format(cinfo, buffer.as_mut_ptr()) };
    match CStr::from_bytes_until_nul(&buffer) {
        Ok(text) => text.to_string_lossy().into_owned(),
        Err(_) => format!("libjpeg error {code}"),
    }
}
