//! Resized copies: `W x 0` and `0 x H` keep the proportions, `W x H` crops to fill, and
//! nothing is ever made larger than the original. Decoding is bounded (pixels and
//! memory), so a small file that claims huge dimensions is refused, not unpacked.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

use super::Area;

/// The most pixels an image may have, to be accepted or resized (about 8K × 6K).
pub const MAX_PIXELS: u64 = 50_000_000;
/// The largest width or height a URL may ask for.
pub const MAX_SIDE: u32 = 10_000;

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
    limits
}

/// The dimensions of an image, read from its header.
pub fn dimensions(bytes: &[u8]) -> Option<(u32, u32)> {
    ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .ok()?
        .into_dimensions()
        .ok()
}

/// Decodes a whole image under the limits (an upload is checked this way once).
pub fn decode(bytes: &[u8]) -> Result<DynamicImage, String> {
    let (width, height) = dimensions(bytes).ok_or("The file is not a valid image")?;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!(
            "The image is too large ({width} x {height} pixels). Allowed maximum is {} megapixels.",
            MAX_PIXELS / 1_000_000
        ));
    }
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| "The file is not a valid image".to_owned())?;
    reader.limits(limits());
    reader
        .decode()
        .map_err(|_| "The file is not a valid image".to_owned())
}

/// The size of the copy for a request of `width` x `height` (0: free) of an image of
/// `original` size, and whether it is cropped.
pub fn target((ow, oh): (u32, u32), width: u32, height: u32) -> (u32, u32, bool) {
    let scale = |n: u32, num: u32, den: u32| {
        ((u64::from(n) * u64::from(num) + u64::from(den) / 2) / u64::from(den).max(1)).max(1) as u32
    };
    match (width, height) {
        (0, 0) => (ow, oh, false),
        (w, 0) => {
            let w = w.min(ow);
            (w, scale(oh, w, ow), false)
        }
        (0, h) => {
            let h = h.min(oh);
            (scale(ow, h, oh), h, false)
        }
        (w, h) if w <= ow && h <= oh => (w, h, true),
        // Asked larger than the original: the box shrinks until it fits, keeping its shape.
        (w, h) if u64::from(ow) * u64::from(h) <= u64::from(oh) * u64::from(w) => {
            (ow, scale(h, ow, w), true)
        }
        (w, h) => (scale(w, oh, h), oh, true),
    }
}

/// The copy of `bytes` (of its `area` first, when trimmed) at `width` x `height`,
/// encoded as the original was.
pub fn resize(
    bytes: &[u8],
    area: Option<Area>,
    width: u32,
    height: u32,
) -> Result<Vec<u8>, String> {
    let format =
        image::guess_format(bytes).map_err(|_| "The file is not a valid image".to_owned())?;
    let mut image = decode(bytes)?;
    if let Some(area) = area {
        image = image.crop_imm(area.x, area.y, area.width, area.height);
    }
    let (w, h, crop) = target((image.width(), image.height()), width, height);
    let resized = if (w, h) == (image.width(), image.height()) {
        image
    } else if crop {
        image.resize_to_fill(w, h, image::imageops::FilterType::Lanczos3)
    } else {
        image.resize_exact(w, h, image::imageops::FilterType::Lanczos3)
    };
    let mut out = Cursor::new(Vec::new());
    let resized = match format {
        // JPEG has no alpha channel.
        ImageFormat::Jpeg => DynamicImage::ImageRgb8(resized.to_rgb8()),
        _ => resized,
    };
    resized
        .write_to(&mut out, format)
        .map_err(|err| format!("The image could not be encoded: {err}"))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::target;

    #[test]
    fn proportional_crop_and_never_larger() {
        assert_eq!(target((400, 200), 0, 0), (400, 200, false));
        assert_eq!(target((400, 200), 100, 0), (100, 50, false));
        assert_eq!(target((400, 200), 0, 50), (100, 50, false));
        assert_eq!(target((400, 200), 800, 0), (400, 200, false));
        assert_eq!(target((400, 200), 100, 100), (100, 100, true));
        // Asked larger than the original: the box shrinks to fit, keeping its shape.
        assert_eq!(target((400, 200), 800, 800), (200, 200, true));
        assert_eq!(target((400, 200), 1000, 100), (400, 40, true));
    }
}
