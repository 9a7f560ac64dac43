//! What a file is, decided from its bytes (never from the client's claim): its MIME type
//! from the allow-list of Flotiq's media library, or the type it seems to be instead.

/// Flotiq's allowed MIME types, in the order its error message lists them.
pub const ALLOWED: [&str; 20] = [
    "image/gif",
    "image/png",
    "image/jpeg",
    "image/bmp",
    "image/webp",
    "image/svg+xml",
    "image/svg",
    "image/x-icon",
    "image/vnd.microsoft.icon",
    "text/plain",
    "audio/midi",
    "audio/mpeg",
    "audio/webm",
    "audio/ogg",
    "audio/wav",
    "video/webm",
    "video/ogg",
    "video/mp4",
    "application/pdf",
    "application/json",
];

/// The MIME type of a file whose first bytes are `head` (`whole` tells whether `head`
/// is the whole file, needed to tell JSON from text).
pub fn mime_of(head: &[u8], whole: bool) -> String {
    let text = std::str::from_utf8(head).ok();
    if let Some(kind) = infer::get(head) {
        return match kind.mime_type() {
            // An XML document may be SVG.
            "text/xml" | "application/xml" if text.is_some_and(is_svg) => "image/svg+xml".into(),
            "audio/x-wav" | "audio/wave" => "audio/wav".into(),
            "audio/x-midi" => "audio/midi".into(),
            "audio/x-ogg" | "application/ogg" => "audio/ogg".into(),
            other => other.to_owned(),
        };
    }
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Only a character cut off by the end of `head` is forgiven; any other invalid
        // byte makes the file binary.
        Err(err) if err.error_len().is_none() && !whole => {
            std::str::from_utf8(&head[..err.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return "application/octet-stream".into(),
    };
    if text.contains('\0') {
        return "application/octet-stream".into();
    }
    if is_svg(text) {
        return "image/svg+xml".into();
    }
    if whole && serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() {
        let first = text.trim_start().chars().next();
        if matches!(first, Some('{') | Some('[')) {
            return "application/json".into();
        }
    }
    "text/plain".into()
}

/// An SVG document: an `<svg` root after an optional prolog, comments and doctype.
fn is_svg(text: &str) -> bool {
    let mut rest = text.trim_start_matches('\u{feff}').trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.split_once("?>").map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->").map_or("", |(_, r)| r).trim_start();
        } else if let Some(after) = rest.strip_prefix("<!DOCTYPE") {
            rest = after.split_once('>').map_or("", |(_, r)| r).trim_start();
        } else {
            break;
        }
    }
    rest.starts_with("<svg")
}

pub fn is_allowed(mime: &str) -> bool {
    ALLOWED.contains(&mime)
}

/// Raster images the server decodes and resizes (SVG is served as it is).
pub fn is_raster(mime: &str) -> bool {
    matches!(
        mime,
        "image/gif"
            | "image/png"
            | "image/jpeg"
            | "image/bmp"
            | "image/webp"
            | "image/x-icon"
            | "image/vnd.microsoft.icon"
    )
}

/// An extension as files keep them: ASCII letters and digits, at most 10.
pub fn is_safe_extension(extension: &str) -> bool {
    !extension.is_empty()
        && extension.len() <= 10
        && extension.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The extension a file keeps: its name's, when that is a plausible one, else the
/// usual one of its type.
pub fn extension(file_name: &str, mime: &str) -> String {
    let from_name = file_name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| is_safe_extension(ext));
    from_name.unwrap_or_else(|| {
        match mime {
            "image/jpeg" => "jpg",
            "image/svg+xml" | "image/svg" => "svg",
            "image/x-icon" | "image/vnd.microsoft.icon" => "ico",
            "text/plain" => "txt",
            "audio/midi" => "mid",
            "audio/mpeg" => "mp3",
            "audio/wav" => "wav",
            "audio/webm" | "video/webm" => "webm",
            "audio/ogg" | "video/ogg" => "ogg",
            other => other.rsplit('/').next().unwrap_or("bin"),
        }
        .to_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_decides_not_the_name() {
        assert_eq!(
            mime_of(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", false),
            "image/png"
        );
        assert_eq!(mime_of(b"%PDF-1.7\n", false), "application/pdf");
        assert_eq!(
            mime_of(b"\x1f\x8b\x08\0\0\0\0\0", false),
            "application/gzip"
        );
        assert_eq!(
            mime_of(b"<?xml version=\"1.0\"?>\n<svg xmlns=\"x\"/>", true),
            "image/svg+xml"
        );
        assert_eq!(mime_of(b"{\"a\": [1, 2]}", true), "application/json");
        assert_eq!(mime_of(b"hello, world", true), "text/plain");
        assert_eq!(
            mime_of(b"\0\x01\x02binary", true),
            "application/octet-stream"
        );
        assert!(!is_allowed("application/gzip"));
        assert_eq!(extension("Photo.JPG", "image/jpeg"), "jpg");
        assert_eq!(extension("noext", "image/jpeg"), "jpg");
    }
}
