//! What a page on another origin needs: CORS on the API routes (never the panel),
//! conditional reads (`ETag`, `304`, `private, no-cache`), and the per-key origins and
//! client networks a user-defined key may be limited to (behind trusted proxies too).

mod common;

use std::collections::BTreeMap;

use common::TestApp;
use contentgate::audit::Actor;
use contentgate::auth::Perms;
use contentgate::auth::access::KeyAccess;
use contentgate::auth::keys::KeyLimits;
use contentgate::http::CorsOrigins;
use reqwest::header::HeaderMap;
use serde_json::json;

const GRAPHQL: contentgate::app::GraphqlOptions = contentgate::app::GraphqlOptions {
    introspection: true,
};
const LIST: &str = "/api/v1/content/post?limit=2&hydrate=1";

/// Every value of a header, joined as one list.
fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .iter()
        .map(|v| v.to_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn preflight(app: &TestApp, base: &str, path: &str, origin: &str, method: &str) -> HeaderMap {
    let answer = app
        .client
        .request(reqwest::Method::OPTIONS, format!("{base}{path}"))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "x-auth-token,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.headers().clone()
}

/// A user-defined key reading posts, limited to `origins` and `networks`.
async fn limited_key(app: &TestApp, origins: &[&str], networks: &[&str]) -> String {
    let owned = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let limits = KeyLimits {
        expires_at: None,
        access: KeyAccess::parse(&owned(origins), &owned(networks)).unwrap(),
    };
    let rules = BTreeMap::from([(
        "post".to_owned(),
        Perms {
            read: true,
            ..Perms::default()
        },
    )]);
    app.keys
        .create_user_key(
            &Actor::cli(),
            &app.account_id,
            "limited",
            &rules,
            &limits,
            &app.quota.plans,
        )
        .await
        .unwrap()
        .key
        .unwrap()
}

async fn get_with(
    app: &TestApp,
    base: &str,
    path: &str,
    key: &str,
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app
        .client
        .get(format!("{base}{path}"))
        .header("x-auth-token", key);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn preflights_are_answered_on_api_routes_before_any_key_and_never_on_the_panel() {
    let app = TestApp::with_demo().await;
    let base = app.url("");
    for (path, method) in [
        ("/api/v2/graphql", "POST"),
        ("/api/graphql", "GET"),
        ("/api/v1/content/post", "DELETE"),
        ("/api/v1/search", "GET"),
        ("/api/auth-context", "GET"),
        ("/image/0x0/some-id.png", "GET"),
    ] {
        // No key at all: a preflight never carries one, and is never refused for it.
        let headers = preflight(&app, &base, path, "http://localhost:3000", method).await;
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            "*",
            "{path}"
        );
        let allowed = header(&headers, "access-control-allow-headers").to_ascii_lowercase();
        for name in ["x-auth-token", "content-type", "x-mode"] {
            assert!(allowed.contains(name), "{path}: {allowed}");
        }
        assert!(
            header(&headers, "access-control-allow-methods").contains(method),
            "{path}"
        );
        assert_eq!(header(&headers, "access-control-max-age"), "3600");
        assert!(headers.get("access-control-allow-credentials").is_none());
        assert!(
            headers.get("x-ratelimit-remaining").is_none(),
            "{path}: not counted"
        );
    }
    // GraphQL answers GET and POST only.
    let headers = preflight(
        &app,
        &base,
        "/api/v2/graphql",
        "http://localhost:3000",
        "DELETE",
    )
    .await;
    assert!(!header(&headers, "access-control-allow-methods").contains("DELETE"));
    // The panel is same-origin only.
    let panel = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/panel/login"))
        .header("origin", "http://localhost:3000")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(panel.headers().get("access-control-allow-origin").is_none());
    let page = app
        .client
        .get(app.url("/panel/login"))
        .header("origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert!(page.headers().get("access-control-allow-origin").is_none());

    // Answers, errors included, let the page read the headers it needs.
    for key in [app.ro.as_str(), "cg_not_a_key"] {
        let answer = get_with(
            &app,
            &base,
            LIST,
            key,
            &[("origin", "http://localhost:3000")],
        )
        .await;
        let headers = answer.headers();
        assert_eq!(header(headers, "access-control-allow-origin"), "*");
        let exposed = header(headers, "access-control-expose-headers").to_ascii_lowercase();
        for name in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-reset",
            "retry-after",
            "etag",
            "x-request-id",
        ] {
            assert!(exposed.contains(name), "{exposed}");
        }
    }
}

#[tokio::test]
async fn an_origin_list_echoes_only_matching_origins() {
    let app = TestApp::with_demo().await;
    let origins = CorsOrigins::parse("http://localhost:3000, https://*.example.com").unwrap();
    let base = app
        .spawn_peer_configured(GRAPHQL, |state| state.with_cors(origins))
        .await;
    for allowed in [
        "http://localhost:3000",
        "https://app.example.com",
        "https://a.b.example.com",
    ] {
        let headers = preflight(&app, &base, "/api/v2/graphql", allowed, "POST").await;
        assert_eq!(header(&headers, "access-control-allow-origin"), allowed);
        assert!(
            header(&headers, "vary")
                .to_ascii_lowercase()
                .contains("origin")
        );
        let answer = get_with(&app, &base, LIST, &app.ro, &[("origin", allowed)]).await;
        assert_eq!(
            header(answer.headers(), "access-control-allow-origin"),
            allowed
        );
        assert!(
            header(answer.headers(), "vary")
                .to_ascii_lowercase()
                .contains("origin")
        );
    }
    for refused in [
        "https://example.com",
        "http://localhost:3001",
        "https://app.example.com.evil.net",
    ] {
        let headers = preflight(&app, &base, "/api/v2/graphql", refused, "POST").await;
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "{refused}"
        );
    }
    assert!(CorsOrigins::parse("localhost:3000").is_err());
    assert!(CorsOrigins::parse("https://*.com").is_err());
}

#[tokio::test]
async fn reads_carry_an_etag_and_a_matching_one_gets_304_until_something_changes() {
    let app = TestApp::with_demo().await;
    let rendered = app
        .spawn_peer_configured(GRAPHQL, |state| state.with_response_cache(0))
        .await;
    let reader = app.user_key(&[("post", "r"), ("category", "r")]).await;
    let other_scope = app.user_key(&[("post", "r")]).await;
    let first_id = app.get(LIST, &app.ro).await.1["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let graphql_get = "/api/v2/graphql?query=%7B%20post(first%3A%202)%20%7B%20edges%20%7B%20node%20%7B%20id%20%7D%20%7D%20%7D%20%7D";
    for base in [app.url(""), rendered] {
        for path in [
            LIST.to_owned(),
            format!("/api/v1/content/post/{first_id}?hydrate=1"),
            "/api/v1/search?q=the".to_owned(),
            "/api/v1/internal/contenttype".to_owned(),
            "/api/v1/internal/contenttype/post".to_owned(),
            "/api/v2/graphql/schema".to_owned(),
            graphql_get.to_owned(),
        ] {
            let first = get_with(&app, &base, &path, &reader, &[]).await;
            assert_eq!(first.status(), 200, "{path}");
            let etag = header(first.headers(), "etag").to_owned();
            assert!(etag.starts_with('"') && etag.len() > 10, "{path}: {etag}");
            assert_eq!(
                header(first.headers(), "cache-control"),
                "private, no-cache",
                "{path}"
            );
            // A browser keeps one copy per key, not per URL alone.
            assert!(
                header(first.headers(), "vary").contains("x-auth-token"),
                "{path}"
            );
            let first_body = first.text().await.unwrap();
            // Even when the browser says `no-cache`, a matching tag is answered 304.
            for extra in [
                vec![("if-none-match", etag.as_str())],
                vec![
                    ("if-none-match", etag.as_str()),
                    ("cache-control", "no-cache"),
                ],
            ] {
                let again = get_with(&app, &base, &path, &reader, &extra).await;
                assert_eq!(again.status(), 304, "{path}");
                assert_eq!(header(again.headers(), "etag"), etag);
                assert_eq!(
                    header(again.headers(), "cache-control"),
                    "private, no-cache"
                );
                assert!(again.text().await.unwrap().is_empty());
            }
            let weak = format!("W/{etag}, \"other\"");
            let again = get_with(&app, &base, &path, &reader, &[("if-none-match", &weak)]).await;
            assert_eq!(
                again.status(),
                304,
                "{path}: weak and listed tags compare too"
            );
            let stale = get_with(
                &app,
                &base,
                &path,
                &reader,
                &[("if-none-match", "\"stale\"")],
            )
            .await;
            assert_eq!(stale.status(), 200);
            let any = get_with(&app, &base, &path, &reader, &[("if-none-match", "*")]).await;
            assert_eq!(any.status(), 200, "{path}: `*` is never taken");
            assert_eq!(stale.text().await.unwrap(), first_body, "{path}");
            // A key with another scope never shares a tag.
            let other = get_with(
                &app,
                &base,
                &path,
                &other_scope,
                &[("if-none-match", &etag)],
            )
            .await;
            assert_ne!(other.status(), 304, "{path}");
            assert_ne!(header(other.headers(), "etag"), etag, "{path}");
        }
    }
    // A write anywhere in the account changes every tag; writes and errors stay no-store.
    let before = get_with(&app, &app.url(""), LIST, &reader, &[]).await;
    let etag = header(before.headers(), "etag").to_owned();
    let written = app
        .client
        .patch(app.url(&format!("/api/v1/content/post/{first_id}")))
        .header("x-auth-token", &app.rw)
        .header("content-type", "application/json")
        .body(json!({"title": "Changed"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(written.status(), 200);
    assert_eq!(header(written.headers(), "cache-control"), "no-store");
    assert!(written.headers().get("etag").is_none());
    let after = get_with(
        &app,
        &app.url(""),
        LIST,
        &reader,
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(after.status(), 200);
    assert_ne!(header(after.headers(), "etag"), etag);
    let missing = get_with(
        &app,
        &app.url(""),
        "/api/v1/content/post/nope",
        &reader,
        &[("if-none-match", "*")],
    )
    .await;
    assert_eq!(missing.status(), 404);
    assert_eq!(header(missing.headers(), "cache-control"), "no-store");
    assert!(missing.headers().get("etag").is_none());
    // GraphQL over POST is not a conditional read.
    let posted = app
        .client
        .post(app.url("/api/v2/graphql"))
        .header("x-auth-token", &reader)
        .json(&json!({"query": "{ post(first: 2) { edges { node { id } } } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), 200);
    assert!(posted.headers().get("etag").is_none());
    assert_eq!(header(posted.headers(), "cache-control"), "no-store");
}

#[tokio::test]
async fn a_key_limited_to_origins_and_networks_is_refused_elsewhere_and_the_refusal_counts() {
    let mut app = TestApp::with_demo().await;
    let base = app.url("");
    let by_origin = limited_key(
        &app,
        &["http://localhost:3000", "https://*.example.com"],
        &[],
    )
    .await;
    let from = |origin: &'static str| {
        let (app, base, key) = (&app, base.clone(), by_origin.clone());
        async move { get_with(app, &base, LIST, &key, &[("origin", origin)]).await }
    };
    assert_eq!(from("http://localhost:3000").await.status(), 200);
    assert_eq!(from("https://shop.example.com").await.status(), 200);
    let refused = from("https://evil.test").await;
    assert_eq!(refused.status(), 403);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], 403);
    assert!(
        body["message"].as_str().unwrap().contains("origin"),
        "{body}"
    );
    assert_eq!(from("https://example.com").await.status(), 403);
    // Servers and scripts send no Origin: the origin list does not apply to them.
    assert_eq!(app.get(LIST, &by_origin).await.0, 200);
    // GraphQL refuses the same way.
    let graphql = app
        .client
        .post(app.url("/api/v2/graphql"))
        .header("x-auth-token", &by_origin)
        .header("origin", "https://evil.test")
        .json(&json!({"query": "{ post(first: 1) { edges { node { id } } } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(graphql.status(), 403);

    // Networks: the socket's peer here is 127.0.0.1.
    let elsewhere = limited_key(&app, &[], &["10.0.0.0/8"]).await;
    let here = limited_key(&app, &[], &["127.0.0.1"]).await;
    assert_eq!(app.get(LIST, &elsewhere).await.0, 403);
    assert_eq!(app.get(LIST, &here).await.0, 200);
    // GraphiQL opened with the key in its URL shows nothing of the schema to a refused key.
    let playground = |key: String| {
        let url = app.url(&format!("/api/v2/graphql?auth_token={key}"));
        let client = app.client.clone();
        async move {
            let page = client
                .get(url)
                .header("accept", "text/html")
                .send()
                .await
                .unwrap();
            page.text().await.unwrap()
        }
    };
    assert!(
        !playground(elsewhere.clone())
            .await
            .contains("The first five objects")
    );
    assert!(
        playground(here.clone())
            .await
            .contains("The first five objects")
    );
    // X-Forwarded-For is believed only from a trusted proxy.
    let forwarded = [("x-forwarded-for", "10.1.2.3")];
    assert_eq!(
        get_with(&app, &base, LIST, &elsewhere, &forwarded)
            .await
            .status(),
        403
    );
    let proxied = app
        .spawn_peer_configured(GRAPHQL, |state| {
            state.with_trusted_proxies(vec!["127.0.0.1/32".parse().unwrap()])
        })
        .await;
    assert_eq!(
        get_with(&app, &proxied, LIST, &elsewhere, &forwarded)
            .await
            .status(),
        200
    );
    assert_eq!(
        get_with(&app, &proxied, LIST, &here, &forwarded)
            .await
            .status(),
        403
    );
    // Only the entries our proxies wrote count: the client's own claims further left do not.
    let spoofed = [("x-forwarded-for", "10.9.9.9, 192.0.2.1")];
    assert_eq!(
        get_with(&app, &proxied, LIST, &elsewhere, &spoofed)
            .await
            .status(),
        403
    );

    // Refused requests of a valid key count against its account, as any request does.
    let before = requests_of(&mut app, &elsewhere).await;
    assert!(before >= 2, "{before}");
}

/// The requests stored for a key after the server flushed its counts.
async fn requests_of(app: &mut TestApp, key: &str) -> u64 {
    app.stop().await;
    let id = app
        .keys
        .list(&app.account_id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.key.as_deref() == Some(key))
        .unwrap()
        .id;
    let today = contentgate::quota::usage::utc_day_and_second().0;
    contentgate::quota::key_use::days_of(&app.db, &id, today)
        .await
        .unwrap()
        .iter()
        .map(|d| d.requests)
        .sum()
}
