//! The GraphiQL playground: its page and its assets, served from this binary.

use axum::extract::Path;
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::response::{IntoResponse, Response as HttpResponse};

use crate::error::AppError;
use crate::http::QueryParams;

/// A browser asking for the endpoint itself gets GraphiQL.
pub(super) fn wanted(parts: &Parts) -> bool {
    let accepts_html = parts
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    parts.method == Method::GET
        && accepts_html
        && QueryParams::from_parts(parts).get("query").is_none()
}

const GRAPHIQL_JS: &[u8] = include_bytes!("assets/graphiql.min.js");
const GRAPHIQL_CSS: &[u8] = include_bytes!("assets/graphiql.min.css");
const REACT_JS: &[u8] = include_bytes!("assets/react.production.min.js");
const REACT_DOM_JS: &[u8] = include_bytes!("assets/react-dom.production.min.js");

pub(super) async fn asset(Path(file): Path<String>) -> HttpResponse {
    let (body, content_type) = match file.as_str() {
        "graphiql.min.js" => (GRAPHIQL_JS, "text/javascript; charset=utf-8"),
        "graphiql.min.css" => (GRAPHIQL_CSS, "text/css; charset=utf-8"),
        "react.production.min.js" => (REACT_JS, "text/javascript; charset=utf-8"),
        "react-dom.production.min.js" => (REACT_DOM_JS, "text/javascript; charset=utf-8"),
        _ => return AppError::NotFound.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// The playground page. The key comes from the admin panel's hand-off (kept in the
/// tab's session storage, never in a URL, with a first query over the account's types),
/// from `?auth_token=` in the page URL (kept out of the Referer by the no-referrer
/// policy), or from the headers editor.
pub(super) fn page(endpoint: &str, first_query: Option<&str>) -> String {
    // As a JSON string inside the script: `<` escaped, so no text can close the element.
    let first_query = serde_json::to_string(&first_query)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c");
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>ContentGate GraphiQL</title>
<link rel="stylesheet" href="/graphiql/graphiql.min.css">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="/graphiql/react.production.min.js"></script>
<script src="/graphiql/react-dom.production.min.js"></script>
<script src="/graphiql/graphiql.min.js"></script>
<script>
  let handoff = null;
  try {{
    handoff = JSON.parse(sessionStorage.getItem("contentgate.graphiql") || "null");
    sessionStorage.removeItem("contentgate.graphiql");
  }} catch (e) {{}}
  if (handoff) {{
    // A stored editor state would win over the first query.
    localStorage.removeItem("graphiql:tabState");
    localStorage.removeItem("graphiql:query");
  }}
  const token = (handoff && handoff.key) || new URLSearchParams(window.location.search).get("auth_token") || "";
  const headers = token ? JSON.stringify({{"X-AUTH-TOKEN": token}}, null, 2) : '{{\n  "X-AUTH-TOKEN": "paste a key here"\n}}';
  const fetcher = GraphiQL.createFetcher({{ url: "{endpoint}" }});
  const props = {{ fetcher, defaultHeaders: headers, shouldPersistHeaders: false }};
  const firstQuery = (handoff && handoff.query) || {first_query};
  // GraphiQL shows it only to a browser with no editor state of its own.
  if (firstQuery) props.defaultQuery = firstQuery;
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, props));
</script>
</body>
</html>"#
    )
}
