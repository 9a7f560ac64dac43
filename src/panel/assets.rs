//! The panel's script and style sheet, from this binary (nothing from a CDN).

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

const SCRIPT: &str = include_str!("assets/panel.js");
const STYLE: &str = include_str!("assets/panel.css");

pub async fn serve(Path(file): Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "panel.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "panel.css" => (STYLE, "text/css; charset=utf-8"),
        _ => return super::not_found(),
    };
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}
