//! QR codes for Flotiq Mobile Expo: its scanner reads exactly
//! `{"apiKey":"<key>","apiUrl":"<public url>/api"}` (`apiUrl` must end in `/api`).

use qrcode::QrCode;
use qrcode::render::{svg, unicode};

/// The text a QR code carries for `key` on the server at `public_url`.
pub fn payload(key: &str, public_url: &str) -> String {
    let api_url = format!("{}/api", public_url.trim_end_matches('/'));
    // serde_json's map sorts its keys: `apiKey` comes before `apiUrl`, as Flotiq writes it.
    serde_json::json!({"apiKey": key, "apiUrl": api_url}).to_string()
}

fn code(payload: &str) -> QrCode {
    QrCode::new(payload.as_bytes()).expect("a key and a URL fit in a QR code")
}

/// An SVG image of the code, dark on white, with the quiet zone scanners need.
pub fn svg(payload: &str) -> String {
    code(payload)
        .render::<svg::Color<'_>>()
        .min_dimensions(264, 264)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build()
}

/// The code drawn with half blocks, for a terminal (light modules on a dark background
/// invert well in most terminals, so both colours are drawn).
pub fn terminal(payload: &str) -> String {
    code(payload)
        .render::<unicode::Dense1x2>()
        .dark_color(unicode::Dense1x2::Light)
        .light_color(unicode::Dense1x2::Dark)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_flotiqs_and_the_url_ends_in_api() {
        assert_eq!(
            payload("abc", "https://cms.example.com/"),
            r#"{"apiKey":"abc","apiUrl":"https://cms.example.com/api"}"#
        );
        assert!(svg(&payload("abc", "http://127.0.0.1:8080")).contains("<svg"));
    }
}
