//! The cost of the worst requests each documented bound still allows (and of refusing
//! what lies past them): time of one request (median of 5) and the server's peak
//! resident memory while it answers, on a server in this process.
//!
//! `cargo bench --bench bounds` (SQLite); `CONTENTGATE_BENCH_DATABASE_URL=postgres://...`
//! runs it on PostgreSQL.

use std::time::{Duration, Instant};

use contentgate::accounts;
use contentgate::app::{AppState, GraphqlOptions, serve};
use contentgate::auth::ServerSecret;
use contentgate::auth::keys::KeyStore;
use contentgate::quota::QuotaOptions;
use sea_orm::{ConnectionTrait, Database};
use serde_json::{Value, json};

/// A memory figure of this process in KiB from `/proc/self/status` (`VmHWM`: the peak
/// since the last reset; `VmRSS`: resident now).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak to the current resident size (Linux `clear_refs` 5).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

struct Api {
    client: reqwest::Client,
    base: String,
    rw: String,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, usize) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("x-auth-token", &self.rw)
            .header("content-type", "application/json");
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.bytes().await.expect("body").len())
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: &Value) {
        let (status, _) = self.send(method, path, Some(body)).await;
        assert_eq!(status, 200, "{path}");
    }

    async fn define(&self, name: &str, text: bool, relation: Option<&str>) {
        let mut properties = serde_json::Map::new();
        let mut config = serde_json::Map::new();
        if text {
            properties.insert("title".into(), json!({"type": "string"}));
            config.insert(
                "title".into(),
                json!({"label": "T", "inputType": "text", "unique": false}),
            );
        }
        if let Some(target) = relation {
            properties.insert(
                "next".into(),
                json!({"type": "array", "items": {"$ref": "#/components/schemas/DataSource"}}),
            );
            config.insert("next".into(), json!({"label": "N", "inputType": "datasource", "unique": false, "validation": {"relationContenttype": target}}));
        }
        let order: Vec<&String> = properties.keys().collect();
        let definition = json!({
            "name": name, "label": name,
            "schemaDefinition": {"type": "object", "allOf": [{"$ref": "#/components/schemas/AbstractContentTypeSchemaDefinition"}, {"type": "object", "properties": properties}], "required": [], "additionalProperties": false},
            "metaDefinition": {"order": order, "propertiesConfig": config}
        });
        self.ok(
            reqwest::Method::POST,
            "/api/v1/internal/contenttype",
            &definition,
        )
        .await;
    }

    async fn batch(&self, name: &str, items: Vec<Value>) {
        for chunk in items.chunks(100) {
            self.ok(
                reqwest::Method::POST,
                &format!("/api/v1/content/{name}/batch"),
                &json!(chunk),
            )
            .await;
        }
    }
}

fn reference(target: &str, id: &str) -> Value {
    json!({"type": "internal", "dataUrl": format!("/api/v1/content/{target}/{id}")})
}

/// One row: the median time of 5 requests, the answer's status and size, and how far
/// the peak resident memory rose above what was resident before.
async fn row(api: &Api, name: &str, method: reqwest::Method, path: &str, body: Option<Value>) {
    let mut times = Vec::new();
    let mut answer = (0, 0);
    reset_peak();
    let before = status_kib("VmRSS");
    for _ in 0..5 {
        let started = Instant::now();
        answer = api.send(method.clone(), path, body.as_ref()).await;
        times.push(started.elapsed());
    }
    let peak = status_kib("VmHWM").saturating_sub(before);
    times.sort();
    println!(
        "| {name:<52} | {:>6} | {:>12} | {:>9.1} | {:>8.1} |",
        answer.0,
        answer.1,
        times[2].as_secs_f64() * 1000.0,
        peak as f64 / 1024.0
    );
}

async fn database_url(dir: &std::path::Path) -> String {
    match std::env::var("CONTENTGATE_BENCH_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            let name = format!("cg_bench_bounds_{}", std::process::id());
            let admin = Database::connect(server.as_str()).await.expect("connect");
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
                .await
                .expect("drop");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create");
            let base = server.rsplit_once('/').map_or(server.as_str(), |(b, _)| b);
            format!("{base}/{name}")
        }
        _ => contentgate::db::sqlite_url(dir),
    }
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = contentgate::db::connect(&database_url(dir.path()).await)
        .await
        .expect("database");
    let keys = KeyStore {
        db: db.clone(),
        secret: ServerSecret::from_material(b"bench"),
        show_once: false,
    };
    let (account, _) = accounts::ensure_default(&keys, "unlimited")
        .await
        .expect("account");
    let rw = keys.list(&account.id).await.expect("keys")[1]
        .key
        .clone()
        .expect("read-write key");
    let quota = QuotaOptions {
        enabled: false,
        ..QuotaOptions::default()
    };
    let state = AppState::new(
        db.clone(),
        keys,
        GraphqlOptions {
            introspection: true,
        },
        quota,
    )
    .with_response_cache(0);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(
        listener,
        state,
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));
    let api = Api {
        client: reqwest::Client::new(),
        base,
        rw,
    };

    // a-0 → 99 b → 99 c each: 9,900 embedded objects at hydrate=2 (the bound is 10,000).
    api.define("c", true, None).await;
    api.define("b", true, Some("c")).await;
    api.define("a", true, Some("b")).await;
    let refs = |target: &str, n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| reference(target, &format!("{target}-{i}")))
            .collect()
    };
    api.batch(
        "c",
        (0..99)
            .map(|i| json!({"id": format!("c-{i}"), "title": "leaf"}))
            .collect(),
    )
    .await;
    api.batch(
        "b",
        (0..99)
            .map(|i| json!({"id": format!("b-{i}"), "title": "middle", "next": refs("c", 99)}))
            .collect(),
    )
    .await;
    api.ok(
        reqwest::Method::POST,
        "/api/v1/content/a",
        &json!({"id": "a-0", "title": "top", "next": refs("b", 99)}),
    )
    .await;
    api.ok(
        reqwest::Method::POST,
        "/api/v1/content/a",
        &json!({"id": "a-1", "title": "top", "next": refs("b", 99).into_iter().chain(refs("b", 2)).collect::<Vec<_>>()}),
    )
    .await;
    // 31 objects of 1 MB referenced by one: 31 MB embedded at hydrate=1 (bound: 32 MiB).
    api.define("big", true, None).await;
    api.define("holder", false, Some("big")).await;
    let filler = "x".repeat(1_000_000);
    for i in 0..35 {
        api.ok(
            reqwest::Method::POST,
            "/api/v1/content/big",
            &json!({"id": format!("big-{i}"), "title": filler}),
        )
        .await;
    }
    api.ok(
        reqwest::Method::POST,
        "/api/v1/content/holder",
        &json!({"id": "h", "next": refs("big", 31)}),
    )
    .await;
    api.ok(
        reqwest::Method::POST,
        "/api/v1/content/holder",
        &json!({"id": "h2", "next": refs("big", 35)}),
    )
    .await;
    // Hubs of small nodes: `hub` holds 99 middles, `hub2` 100, each middle the same 100
    // leaves: 1 + 99 + 9,900 = 10,000 objects in one query (the bound), and 10,101.
    api.define("node", false, Some("node")).await;
    api.batch(
        "node",
        (0..100).map(|i| json!({"id": format!("t{i}")})).collect(),
    )
    .await;
    api.batch(
        "node",
        (0..100)
            .map(|i| {
                let leaves: Vec<Value> = (0..100)
                    .map(|j| reference("node", &format!("t{j}")))
                    .collect();
                json!({"id": format!("m{i}"), "next": leaves})
            })
            .collect(),
    )
    .await;
    let middles = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| reference("node", &format!("m{i}")))
            .collect()
    };
    api.ok(
        reqwest::Method::POST,
        "/api/v1/content/node",
        &json!({"id": "hub", "next": middles(99)}),
    )
    .await;
    api.ok(
        reqwest::Method::POST,
        "/api/v1/content/node",
        &json!({"id": "hub2", "next": middles(100)}),
    )
    .await;

    println!("Worst requests within each bound, and refusals past them (one request at a time).");
    println!(
        "| request                                              | status | answer bytes | median ms | peak MiB |"
    );
    println!(
        "|------------------------------------------------------|--------|--------------|-----------|----------|"
    );
    use reqwest::Method;
    let graphql = |query: &str| Some(json!({ "query": query }));
    let nested = format!(
        "{{ node(id: {}1{}) {{ edges {{ node {{ id }} }} }} }}",
        "[".repeat(16_000),
        "]".repeat(16_000)
    );
    let spreads: String = (0..1_500).map(|i| format!("...F{} ", i % 15)).collect();
    let fragments: String = (0..15)
        .map(|i| format!("fragment F{i} on node {{ id ...F{} }} ", i + 1))
        .collect();
    let fanout = format!(
        "{{ node {{ edges {{ node {{ {spreads} }} }} }} }} {fragments} fragment F15 on node {{ id }}"
    );
    let huge =
        json!({"query": "{ __typename }", "variables": {"v": "x".repeat(100 * 1024 * 1024)}});
    let rows: Vec<(&str, Method, &str, Option<Value>)> = vec![
        (
            "REST hydrate=2, 9,900 embedded objects",
            Method::GET,
            "/api/v1/content/a/a-0?hydrate=2",
            None,
        ),
        (
            "  10,100 embedded: refused",
            Method::GET,
            "/api/v1/content/a/a-1?hydrate=2",
            None,
        ),
        (
            "REST hydrate=1, 31 MB embedded",
            Method::GET,
            "/api/v1/content/holder/h?hydrate=1",
            None,
        ),
        (
            "  35 MB embedded: refused",
            Method::GET,
            "/api/v1/content/holder/h2?hydrate=1",
            None,
        ),
        (
            "GraphQL, 10,000 objects resolved",
            Method::POST,
            "/api/v2/graphql",
            graphql(r#"{ node(id: "hub") { edges { node { next { next { id } } } } } }"#),
        ),
        (
            "  10,101 objects: refused at the fields",
            Method::POST,
            "/api/v2/graphql",
            graphql(r#"{ node(id: "hub2") { edges { node { next { next { id } } } } } }"#),
        ),
        (
            "GraphQL, 31 MB of related objects",
            Method::POST,
            "/api/v2/graphql",
            graphql(r#"{ holder(id: "h") { edges { node { next { id } } } } }"#),
        ),
        (
            "  35 MB: refused at the field",
            Method::POST,
            "/api/v2/graphql",
            graphql(r#"{ holder(id: "h2") { edges { node { next { id } } } } }"#),
        ),
        (
            "GraphQL 32 KiB document nesting 16,000: refused",
            Method::POST,
            "/api/v2/graphql",
            graphql(&nested),
        ),
        (
            "GraphQL 1,500 spreads of a 15-fragment chain",
            Method::POST,
            "/api/v2/graphql",
            graphql(&fanout),
        ),
        (
            "GraphQL body of 100 MiB (within the 101 MiB limit)",
            Method::POST,
            "/api/v2/graphql",
            Some(huge),
        ),
    ];
    for (name, method, path, body) in rows {
        row(&api, name, method, path, body).await;
    }

    let _ = stop.send(());
    server.await.expect("server").expect("serve");
    db.close().await.ok();
}
