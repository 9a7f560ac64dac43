//! List filters (all fifteen operators), ordering, paging and counts over the example
//! blog, and 400s for anything that cannot be honoured.

mod common;

use common::TestApp;
use serde_json::{Value, json};

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Ids returned for `filters`, ordered by id, with the total count.
async fn ids(app: &TestApp, filters: Value) -> (Vec<String>, u64) {
    let path = format!(
        "/api/v1/content/post?limit=100&order_by=slug&filters={}",
        encode(&filters.to_string())
    );
    let (status, body) = app.get(&path, &app.ro).await;
    assert_eq!(status, 200, "{filters} -> {body}");
    let mut ids: Vec<String> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    (ids, body["total_count"].as_u64().unwrap())
}

async fn expect(app: &TestApp, filters: Value, expected: &[&str]) {
    let (got, total) = ids(app, filters.clone()).await;
    assert_eq!(got, expected, "filters {filters}");
    assert_eq!(total as usize, expected.len(), "total_count for {filters}");
}

#[tokio::test]
async fn every_operator_filters_in_the_database() {
    let app = TestApp::with_demo().await;
    // post-hello: rating 4.5, featured, tags intro+news, author ada, category news
    // post-keys: rating 5, tags security+guides, author alan, categories guides+rust
    // post-filters: rating 3, status review, tags guides, author ada, category guides
    // post-draft: no rating, status draft, no tags, no author, category news
    expect(
        &app,
        json!({"status": {"type": "equals", "filter": "published"}}),
        &["post-hello", "post-keys"],
    )
    .await;
    expect(
        &app,
        json!({"status": {"type": "equals", "filter": ["draft", "review"]}}),
        &["post-draft", "post-filters"],
    )
    .await;
    expect(
        &app,
        json!({"featured": {"type": "equals", "filter": true}}),
        &["post-hello"],
    )
    .await;
    expect(
        &app,
        json!({"rating": {"type": "equals", "filter": "5"}}),
        &["post-keys"],
    )
    .await;
    expect(
        &app,
        json!({"status": {"type": "notEqual", "filter": "published"}}),
        &["post-draft", "post-filters"],
    )
    .await;
    expect(
        &app,
        json!({"rating": {"type": "notEquals", "filter": 5}}),
        &["post-draft", "post-filters", "post-hello"],
    )
    .await;
    expect(
        &app,
        json!({"title": {"type": "contains", "filter": "LIST"}}),
        &["post-filters"],
    )
    .await;
    expect(
        &app,
        json!({"title": {"type": "notContains", "filter": "E"}}),
        &["post-draft"],
    )
    .await;
    expect(
        &app,
        json!({"slug": {"type": "startsWith", "filter": "scoped"}}),
        &["post-keys"],
    )
    .await;
    expect(
        &app,
        json!({"slug": {"type": "endsWith", "filter": "graphql"}}),
        &["post-draft"],
    )
    .await;
    expect(
        &app,
        json!({"rating": {"type": "lessThan", "filter": 4.5}}),
        &["post-filters"],
    )
    .await;
    expect(
        &app,
        json!({"rating": {"type": "lessThanOrEqual", "filter": 4.5}}),
        &["post-filters", "post-hello"],
    )
    .await;
    expect(
        &app,
        json!({"rating": {"type": "greaterThan", "filter": 4.5}}),
        &["post-keys"],
    )
    .await;
    expect(
        &app,
        json!({"rating": {"type": "greaterThanOrEqual", "filter": "4.5"}}),
        &["post-hello", "post-keys"],
    )
    .await;
    expect(
        &app,
        json!({"rating": {"type": "inRange", "filter": 3, "filter2": 4.5}}),
        &["post-filters", "post-hello"],
    )
    .await;
    expect(
        &app,
        json!({"publishedAt": {"type": "greaterThan", "filter": "2026-02-01"}}),
        &["post-filters", "post-keys"],
    )
    .await;
    expect(&app, json!({"rating": {"type": "empty"}}), &["post-draft"]).await;
    expect(&app, json!({"tags": {"type": "empty"}}), &["post-draft"]).await;
    expect(
        &app,
        json!({"author": {"type": "notEmpty"}}),
        &["post-filters", "post-hello", "post-keys"],
    )
    .await;
    expect(
        &app,
        json!({"tags": {"type": "includes", "filter": "guides"}}),
        &["post-filters", "post-keys"],
    )
    .await;
    expect(
        &app,
        json!({"tags": {"type": "overlaps", "filter": ["intro", "security"]}}),
        &["post-hello", "post-keys"],
    )
    .await;
    expect(&app, json!({"categories[*].dataUrl": {"type": "includes", "filter": "/api/v1/content/category/category-news"}}), &["post-draft", "post-hello"]).await;
    expect(
        &app,
        json!({"author[*].dataUrl": {"type": "contains", "filter": "alan"}}),
        &["post-keys"],
    )
    .await;
    expect(
        &app,
        json!({"author[*].dataUrl": {"type": "notContains", "filter": "ada"}}),
        &["post-draft", "post-keys"],
    )
    .await;
    expect(&app, json!({"categories[*].dataUrl": {"type": "overlaps", "filter": ["/api/v1/content/category/category-rust", "/api/v1/content/category/nope"]}}), &["post-keys"]).await;
    expect(
        &app,
        json!({"*": {"type": "contains", "filter": "frontend"}}),
        &["post-keys"],
    )
    .await;
    expect(
        &app,
        json!({"id": {"type": "equals", "filter": "post-keys"}}),
        &["post-keys"],
    )
    .await;
    // Several keys are ANDed; LIKE wildcards in a value are literal.
    expect(&app, json!({"status": {"type": "equals", "filter": "published"}, "tags": {"type": "includes", "filter": "news"}}), &["post-hello"]).await;
    expect(
        &app,
        json!({"title": {"type": "contains", "filter": "%"}}),
        &[],
    )
    .await;
    expect(
        &app,
        json!({"slug": {"type": "contains", "filter": "_"}}),
        &[],
    )
    .await;
}

#[tokio::test]
async fn internal_dates_accept_both_client_formats() {
    let app = TestApp::with_demo().await;
    let past = "2020-01-01 10:00:00";
    let future = (chrono::Utc::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    expect(
        &app,
        json!({"internal.updatedAt": {"type": "greaterThan", "filter": past}}),
        &["post-draft", "post-filters", "post-hello", "post-keys"],
    )
    .await;
    expect(
        &app,
        json!({"internal.createdAt": {"type": "greaterThan", "filter": future}}),
        &[],
    )
    .await;
    expect(
        &app,
        json!({"internal.createdAt": {"type": "lessThan", "filter": future}}),
        &["post-draft", "post-filters", "post-hello", "post-keys"],
    )
    .await;
}

#[tokio::test]
async fn paging_ordering_ids_and_counts() {
    let app = TestApp::with_demo().await;
    let (status, page) = app
        .get(
            "/api/v1/content/post?limit=3&page=2&order_by=rating&order_direction=desc",
            &app.ro,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            page["total_count"].as_u64(),
            page["total_pages"].as_u64(),
            page["current_page"].as_u64(),
            page["count"].as_u64()
        ),
        (Some(4), Some(2), Some(2), Some(1))
    );
    assert_eq!(
        page["data"][0]["id"], "post-draft",
        "empty values sort last"
    );
    let (_, first) = app
        .get(
            "/api/v1/content/post?limit=3&order_by=rating&order_direction=desc",
            &app.ro,
        )
        .await;
    let order: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["post-keys", "post-hello", "post-filters"]);
    let (_, empty_first) = app
        .get(
            "/api/v1/content/post?limit=1&order_by=rating&empty_first=1",
            &app.ro,
        )
        .await;
    assert_eq!(empty_first["data"][0]["id"], "post-draft");
    let (_, by_title) = app
        .get("/api/v1/content/post?order_by=title", &app.ro)
        .await;
    assert_eq!(by_title["data"][0]["title"], "Coming soon: GraphQL");
    let (_, by_created) = app
        .get(
            "/api/v1/content/post?order_by=internal.createdAt&order_direction=asc",
            &app.ro,
        )
        .await;
    assert_eq!(by_created["count"], 4);
    let (_, some) = app
        .get(
            "/api/v1/content/post?ids[]=post-keys&ids[]=post-hello&ids[]=missing",
            &app.ro,
        )
        .await;
    assert_eq!(some["total_count"], 2);
    let (_, beyond) = app.get("/api/v1/content/post?page=9", &app.ro).await;
    assert_eq!(
        (beyond["count"].as_u64(), beyond["total_count"].as_u64()),
        (Some(0), Some(4))
    );
}

#[tokio::test]
async fn conditions_that_cannot_be_honoured_are_refused() {
    let app = TestApp::with_demo().await;
    let cases = [
        (
            "filters=%7Bbad",
            "filters",
            "Malformed filters json - Syntax error",
        ),
        (
            "filters=%5B%5D",
            "filters",
            "Malformed filters json - an object is expected",
        ),
        (
            "filters=%7B%22nope%22%3A%7B%22type%22%3A%22equals%22%2C%22filter%22%3A1%7D%7D",
            "filters",
            "Unknown field: nope",
        ),
        (
            "filters=%7B%22title%22%3A%7B%22type%22%3A%22near%22%2C%22filter%22%3A1%7D%7D",
            "filters",
            "Unknown filter type \"near\" for title",
        ),
        (
            "filters=%7B%22title%22%3A%7B%22type%22%3A%22equals%22%7D%7D",
            "filters",
            "Filter equals for title needs a filter value",
        ),
        (
            "filters=%7B%22rating%22%3A%7B%22type%22%3A%22lessThan%22%2C%22filter%22%3A%22abc%22%7D%7D",
            "filters",
            "A number is expected for rating",
        ),
        (
            "filters=%7B%22internal.createdAt%22%3A%7B%22type%22%3A%22lessThan%22%2C%22filter%22%3A%22soon%22%7D%7D",
            "filters",
            "Wrong date format for internal.createdAt",
        ),
        (
            "filters=%7B%22rating%22%3A%7B%22type%22%3A%22contains%22%2C%22filter%22%3A%221%22%7D%7D",
            "filters",
            "Filter contains is not supported for rating",
        ),
        (
            "filters=%7B%22rating%22%3A%7B%22type%22%3A%22inRange%22%2C%22filter%22%3A1%7D%7D",
            "filters",
            "Filter inRange for rating needs filter and filter2",
        ),
        ("order_by=nope", "order_by", "Unknown field: nope"),
        (
            "order_by=tags",
            "order_by",
            "Cannot order by the list field tags",
        ),
        (
            "order_direction=sideways",
            "order_direction",
            "Must be asc or desc",
        ),
        (
            "limit=1001",
            "limit",
            "This value should be between 1 and 1000.",
        ),
        (
            "limit=0",
            "limit",
            "This value should be between 1 and 1000.",
        ),
        (
            "limit=ten",
            "limit",
            "This value should be a positive integer.",
        ),
        ("page=0", "page", "This value should be 1 or more."),
        (
            "page=18446744073709551615",
            "page",
            "This value is too large.",
        ),
        ("hydrate=3", "hydrate", "This value should be 0, 1 or 2."),
    ];
    for (query, param, message) in cases {
        let (status, body) = app
            .get(&format!("/api/v1/content/post?{query}"), &app.ro)
            .await;
        assert_eq!((status, body), (400, json!({param: [message]})), "{query}");
    }
    // Raw, unencoded JSON in the query works, as the Next.js starters send it.
    let raw = app.client.get(format!("{}?filters={{\"slug\":{{\"type\":\"equals\",\"filter\":\"scoped-api-keys\"}}}}&auth_token={}", app.url("/api/v1/content/post"), app.ro)).send().await.unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.json::<Value>().await.unwrap()["total_count"], 1);
}
