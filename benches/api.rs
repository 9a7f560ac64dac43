//! API benchmark: a hydrated REST list of 25, the same page through GraphQL (current and
//! legacy), and searches for a common and a rare term,
//! over generated data sets of 10,000 and 100,000 objects, beside a bare route on the
//! same server that returns a fixed JSON body of the same size (the ceiling).
//! REST and GraphQL v2 rows run twice: as served by default, where a repeated request is answered
//! from the kept answers, and on a second server on the same database that keeps none
//! and renders every request.
//!
//! `cargo bench --bench api` (SQLite); `CONTENTGATE_BENCH_DATABASE_URL=postgres://...`
//! runs it on PostgreSQL. `CONTENTGATE_BENCH_SIZES=10000` limits the sizes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::get;
use contentgate::accounts;
use contentgate::app::{AppState, router};
use contentgate::auth::ServerSecret;
use contentgate::auth::keys::KeyStore;
use contentgate::quota::{Plans, QuotaOptions};
use sea_orm::{ConnectionTrait, Database, EntityTrait, Set, TransactionTrait};
use serde_json::{Value, json};

/// Throughput is measured with 8 clients at once, latency with one client at a time.
// The server binary's allocator, so that the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONCURRENCY: usize = 8;
const RUN_FOR: Duration = Duration::from_secs(2);
const STATUSES: [&str; 3] = ["draft", "review", "published"];
const WORDS: &[&str] = &[
    "river", "mountain", "garden", "signal", "harbor", "lantern", "meadow", "canyon", "orbit",
    "timber",
];

struct Stats {
    rps: f64,
    p50: Duration,
    p99: Duration,
}

/// Sends requests from `CONCURRENCY` tasks for `RUN_FOR`, each checking for a 200.
async fn measure(
    client: &reqwest::Client,
    urls: Arc<Vec<String>>,
    key: &str,
    clients: usize,
) -> Stats {
    measure_with(client, urls, key, &[], 200, clients).await
}

/// `measure` with extra request headers, expecting `status`.
async fn measure_with(
    client: &reqwest::Client,
    urls: Arc<Vec<String>>,
    key: &str,
    extra: &[(&'static str, String)],
    status: u16,
    clients: usize,
) -> Stats {
    let extra = Arc::new(extra.to_vec());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..clients {
        let client = client.clone();
        let urls = urls.clone();
        let key = key.to_owned();
        let extra = extra.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = worker;
            while started.elapsed() < RUN_FOR {
                let url = &urls[i % urls.len()];
                i += clients;
                let sent = Instant::now();
                let mut request = client.get(url).header("x-auth-token", &key);
                for (name, value) in extra.iter() {
                    request = request.header(*name, value);
                }
                let response = request.send().await.expect("request");
                assert_eq!(response.status(), status, "{url}");
                response.bytes().await.expect("body");
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("worker"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let pick = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Stats {
        rps: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50: pick(0.50),
        p99: pick(0.99),
    }
}

/// Inserts `total` objects: 1% authors, 1% categories, the rest posts that link to
/// one author and two categories. Every post says "content"; one in 10,000 says "zephyr".
async fn generate(db: &sea_orm::DatabaseConnection, account_id: &str, total: usize) {
    let authors = (total / 100).max(1);
    let categories = (total / 100).max(1);
    let posts = total - authors - categories;
    let now = contentgate::db::now_micros();
    let row =
        |type_name: &str, id: String, data: Value, n: usize| entity::content_object::ActiveModel {
            account_id: Set(account_id.to_owned()),
            content_type: Set(type_name.to_owned()),
            object_id: Set(id),
            data: Set(data),
            created_at: Set(now + n as i64),
            updated_at: Set(now + n as i64),
            deleted_at: Set(None),
            version: Set(1),
            ..Default::default()
        };
    let mut rows = Vec::with_capacity(total);
    for i in 0..authors {
        rows.push(row("author", format!("author-{i}"), json!({"name": format!("Author {i}"), "email": format!("a{i}@example.com"), "bio": format!("Writes about {}", WORDS[i % WORDS.len()])}), i));
    }
    for i in 0..categories {
        rows.push(row(
            "category",
            format!("category-{i}"),
            json!({"name": format!("Category {i}"), "slug": format!("category-{i}")}),
            i,
        ));
    }
    for i in 0..posts {
        let word = WORDS[i % WORDS.len()];
        let rare = if i % 10_000 == 7 { " zephyr" } else { "" };
        let reference = |t: &str, n: usize| json!({"type": "internal", "dataUrl": format!("/api/v1/content/{t}/{t}-{n}")});
        rows.push(row(
            "post",
            format!("post-{i}"),
            json!({
                "title": format!("Post {i} on the {word}"),
                "slug": format!("post-{i}"),
                "body": format!("<p>Generated content about the {word} and the {}{rare}.</p>", WORDS[(i / 10) % WORDS.len()]),
                "status": STATUSES[i % 3],
                "rating": (i % 50) as f64 / 10.0,
                "tags": [word],
                "author": [reference("author", i % authors)],
                "categories": [reference("category", i % categories), reference("category", (i + 1) % categories)],
            }),
            i,
        ));
    }
    let txn = db.begin().await.expect("begin");
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<_> = rows.by_ref().take(1000).collect();
        entity::content_object::Entity::insert_many(chunk)
            .exec(&txn)
            .await
            .expect("insert");
    }
    txn.commit().await.expect("commit");
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_unprepared("ANALYZE content_objects")
            .await
            .expect("analyze");
    }
}

async fn database_url(dir: &std::path::Path, size: usize) -> String {
    match std::env::var("CONTENTGATE_BENCH_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            let name = format!("cg_bench_{size}_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(server.as_str()).await.expect("connect");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
            let base = server
                .rsplit_once('/')
                .map_or(server.as_str(), |(base, _)| base);
            format!("{base}/{name}")
        }
        _ => contentgate::db::sqlite_url(dir),
    }
}

/// A server of the application, started on a free port, that `stop` shuts down.
struct Server {
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// The server and its base URL.
    async fn start(state: AppState) -> (String, Server) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(contentgate::app::serve(
            listener,
            state,
            async move {
                let _ = stopped.await;
            },
            Duration::from_secs(5),
        ));
        (base, Server { stop, done })
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.expect("server").expect("serve");
    }
}

/// One table row: throughput under load, latency of one client at a time.
async fn row(
    client: &reqwest::Client,
    name: &str,
    size: usize,
    urls: Vec<String>,
    key: &str,
    ceiling_rps: Option<f64>,
) -> f64 {
    let urls = Arc::new(urls);
    let loaded = measure(client, urls.clone(), key, CONCURRENCY).await;
    let alone = measure(client, urls, key, 1).await;
    let ceiling = ceiling_rps.unwrap_or(loaded.rps);
    println!(
        "| {size:>7} | {name:<26} | {:>8.0} | {:>9.0}% | {:>7.2} | {:>7.2} | {:>7.2} | {:>7.2} |",
        loaded.rps,
        100.0 * loaded.rps / ceiling,
        loaded.p50.as_secs_f64() * 1000.0,
        loaded.p99.as_secs_f64() * 1000.0,
        alone.p50.as_secs_f64() * 1000.0,
        alone.p99.as_secs_f64() * 1000.0,
    );
    loaded.rps
}

/// A batch of 100 new posts (unique slugs, three relations each): how long one takes
/// at this data size. With unique values in an index of their own it should not grow
/// with the number of objects.
async fn write_row(client: &reqwest::Client, base: &str, rw_key: &str, size: usize) {
    let mut times = Vec::new();
    for round in 0..7 {
        let batch: Vec<Value> = (0..100)
            .map(|i| {
                let reference = |t: &str, n: usize| json!({"type": "internal", "dataUrl": format!("/api/v1/content/{t}/{t}-{n}")});
                json!({
                    "title": format!("Bench write {round}-{i}"),
                    "slug": format!("bench-write-{size}-{round}-{i}"),
                    // Targets that exist at every size (1% of objects are authors, 1% categories).
                    "author": [reference("author", i % 10)],
                    "categories": [reference("category", i % 10), reference("category", (i + 1) % 10)],
                })
            })
            .collect();
        let started = Instant::now();
        let response = client
            .post(format!("{base}/api/v1/content/post/batch"))
            .header("X-AUTH-TOKEN", rw_key)
            .json(&batch)
            .send()
            .await
            .expect("batch");
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap_or_default()
        );
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "| {size:>7} | {:<26} | {:>8} | {:>10} | {:>7.2} | {:>7.2} | {:>7} | {:>7} |",
        "write: batch of 100 posts",
        "",
        "",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[times.len() - 1].as_secs_f64() * 1000.0,
        "",
        "",
    );
}

/// What a browser page adds to a kept read: CORS (an `Origin` to match and echo, the
/// exposed headers), a key limited to origins (checked on every request), and the
/// conditional request (`If-None-Match`, answered 304). Plain and browser requests run
/// in alternating rounds on the same server, so that noise falls on both. The ETag is
/// computed for every read in both; its own cost is timed alone.
async fn browser_rows(
    client: &reqwest::Client,
    keys: &KeyStore,
    account_id: &str,
    rows: [(&str, Vec<String>); 2],
    size: usize,
) {
    use contentgate::auth::access::KeyAccess;
    use contentgate::auth::keys::KeyLimits;
    let origin = "http://localhost:3000";
    let read = contentgate::auth::Perms {
        read: true,
        ..Default::default()
    };
    let rules: std::collections::BTreeMap<String, contentgate::auth::Perms> =
        ["post", "author", "category"]
            .iter()
            .map(|t| (t.to_string(), read))
            .collect();
    let make = |name: &'static str, origins: Vec<String>| {
        let rules = rules.clone();
        async move {
            let limits = KeyLimits {
                expires_at: None,
                access: KeyAccess::parse(&origins, &[]).expect("origins"),
            };
            let plans = Plans::default();
            keys.create_user_key(
                &contentgate::audit::Actor::cli(),
                account_id,
                name,
                &rules,
                &limits,
                &plans,
            )
            .await
            .expect("key")
            .key
            .expect("secret")
        }
    };
    let open = make("bench open", Vec::new()).await;
    let limited = make("bench browser", vec![origin.to_owned()]).await;
    for (name, urls) in rows {
        let urls = Arc::new(urls);
        let browser = [("origin", origin.to_owned())];
        // Paired rounds, alternating which side runs first; the median of the rounds'
        // ratios, since this machine's noise comes in bursts longer than a round.
        let rounds = 8;
        let (mut plain_rps, mut browser_rps, mut ratios) = (0.0, 0.0, Vec::new());
        for round in 0..rounds {
            let mut pair = [0.0, 0.0];
            for browser_turn in [round % 2 == 1, round % 2 == 0] {
                let stats = if browser_turn {
                    measure_with(client, urls.clone(), &limited, &browser, 200, CONCURRENCY).await
                } else {
                    measure_with(client, urls.clone(), &open, &[], 200, CONCURRENCY).await
                };
                pair[browser_turn as usize] = stats.rps;
            }
            plain_rps += pair[0] / rounds as f64;
            browser_rps += pair[1] / rounds as f64;
            ratios.push(pair[1] / pair[0]);
        }
        ratios.sort_by(f64::total_cmp);
        let median = (ratios[rounds / 2 - 1] + ratios[rounds / 2]) / 2.0;
        // The tag the browser would send back, for one URL repeated.
        let one = Arc::new(vec![urls[0].clone()]);
        let answer = client
            .get(&urls[0])
            .header("x-auth-token", &limited)
            .header("origin", origin)
            .send()
            .await
            .expect("tag");
        let etag = answer.headers()["etag"].to_str().expect("etag").to_owned();
        let conditional = [("origin", origin.to_owned()), ("if-none-match", etag)];
        let not_modified =
            measure_with(client, one, &limited, &conditional, 304, CONCURRENCY).await;
        println!(
            "Browser requests at {size}, kept {name}: {plain_rps:.0} req/s plain, {browser_rps:.0} \
             req/s with Origin, CORS and a key limited to origins (means of {rounds} alternating \
             rounds): cost {:.1}% (median of the rounds' ratios; rounds from {:.1}% to {:.1}%); \
             If-None-Match answered 304: {:.0} req/s",
            100.0 * (1.0 - median),
            100.0 * (1.0 - ratios[rounds - 1]),
            100.0 * (1.0 - ratios[0]),
            not_modified.rps
        );
    }
    // The entity tag alone: a digest of the kept-answer key, computed for every read.
    let principal = contentgate::auth::Principal::unchecked(
        account_id,
        contentgate::auth::KeyKind::ReadOnly,
        Default::default(),
    );
    let key = contentgate::http::KeptKey::new(
        &principal,
        contentgate::http::KeptScope::Read(principal.read_scope()),
        "/api/v1/content/post?limit=25&hydrate=1&page=3".to_owned(),
    );
    let secret = ServerSecret::from_material(b"bench");
    let started = Instant::now();
    let rounds = 100_000;
    for _ in 0..rounds {
        std::hint::black_box(key.etag(&secret));
    }
    println!(
        "ETag of one read: {:.2} µs",
        started.elapsed().as_secs_f64() * 1e6 / rounds as f64
    );
}

/// The hydrated list with quota accounting off (the server without kept answers above)
/// and on (another server on the same database, also without kept answers, whose meter
/// counts every request against a plan with limits the run cannot reach), in
/// alternating rounds so that noise falls on both.
async fn quota_rows(
    client: &reqwest::Client,
    database_url: &str,
    keys: &KeyStore,
    off_urls: &[String],
    key: &str,
    size: usize,
) {
    let plans = Plans::parse(
        "[plans.bench]\nrequests_per_30_days = 1000000000000\nrequests_per_second = 1000000000\n",
    )
    .expect("plans");
    accounts::set_plan(keys, &contentgate::audit::Actor::cli(), "default", "bench")
        .await
        .expect("plan");
    let on = QuotaOptions {
        plans: Arc::new(plans),
        ..QuotaOptions::default()
    };
    let graphql = contentgate::app::GraphqlOptions {
        introspection: true,
    };
    // Its own pool, as another process would have (and `serve` closes it at the end).
    let db = contentgate::db::connect(database_url)
        .await
        .expect("database");
    let keys = KeyStore {
        db: db.clone(),
        ..keys.clone()
    };
    // Rendered every time, as on the server it is compared with.
    let state = AppState::new(db, keys, graphql, on).with_response_cache(0);
    let (on_base, on_server) = Server::start(state).await;
    let off_base = off_urls[0].split("/api/").next().expect("base").to_owned();
    let on_urls: Vec<String> = off_urls
        .iter()
        .map(|u| u.replace(&off_base, &on_base))
        .collect();
    let (off_urls, on_urls) = (Arc::new(off_urls.to_vec()), Arc::new(on_urls));
    let (mut off_rps, mut on_rps) = (0.0, 0.0);
    for round in 0..4 {
        // off, on / on, off / ...: neither side always runs first.
        for on_turn in [round % 2 == 1, round % 2 == 0] {
            let urls = if on_turn { &on_urls } else { &off_urls };
            let rps = measure(client, urls.clone(), key, CONCURRENCY).await.rps / 4.0;
            *(if on_turn { &mut on_rps } else { &mut off_rps }) += rps;
        }
    }
    on_server.stop().await;
    println!(
        "Quota accounting at {size}: hydrated list {off_rps:.0} req/s off, {on_rps:.0} req/s on \
         (mean of 4 alternating rounds): cost {:.1}%",
        100.0 * (1.0 - on_rps / off_rps)
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let sizes: Vec<usize> = std::env::var("CONTENTGATE_BENCH_SIZES")
        .unwrap_or_else(|_| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!(
        "Throughput and latency with {CONCURRENCY} clients at once; latency again with 1 client."
    );
    println!(
        "| objects | scenario                   |    req/s | of ceiling | p50 ms  | p99 ms  | p50 (1) | p99 (1) |"
    );
    println!(
        "|---------|----------------------------|----------|------------|---------|---------|---------|---------|"
    );
    for size in sizes {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = database_url(dir.path(), size).await;
        let db = contentgate::db::connect(&url).await.expect("database");
        let keys = KeyStore {
            db: db.clone(),
            secret: ServerSecret::from_material(b"bench"),
            show_once: false,
        };
        let (account, _) = accounts::ensure_default(&keys, "unlimited")
            .await
            .expect("account");
        let listed = keys.list(&account.id).await.expect("keys");
        let key = listed[0].key.clone().expect("read-only key");
        let rw_key = listed
            .iter()
            .find(|k| k.kind == "read_write")
            .and_then(|k| k.key.clone())
            .expect("read-write key");
        // The example definitions, then generated objects.
        for definition in contentgate::demo::DEFINITIONS {
            let body: Value = serde_json::from_str(definition).expect("definition");
            contentgate::content::types::create(
                &db,
                &contentgate::auth::Principal::operator(&account.id),
                &body,
                contentgate::graphql::check_models,
            )
            .await
            .expect("type");
        }
        let loading = Instant::now();
        generate(&db, &account.id, size).await;
        eprintln!(
            "generated {size} objects in {:.1}s",
            loading.elapsed().as_secs_f64()
        );

        let graphql = contentgate::app::GraphqlOptions {
            introspection: true,
        };
        // Accounting off here; the quota rows below compare it with accounting on.
        let off = QuotaOptions {
            enabled: false,
            ..QuotaOptions::default()
        };
        let state = AppState::new(db.clone(), keys.clone(), graphql, off.clone());
        // The same service with no kept answers: every request renders again.
        let bare_state =
            AppState::new(db.clone(), keys.clone(), graphql, off).with_response_cache(0);
        let (bare, bare_server) = Server::start(bare_state).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let client = reqwest::Client::new();
        // One hydrated page, used as the fixed body of the ceiling route.
        let sample_path = "/api/v1/content/post?limit=25&hydrate=1&page=3";
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let fixed: Arc<str> = Arc::from("{}");
        let fixed_slot = Arc::new(std::sync::RwLock::new(fixed));
        let slot = fixed_slot.clone();
        let app = router(state).route(
            "/bench/fixed",
            get(move || {
                let body = slot.read().expect("fixed body").clone();
                async move { ([("content-type", "application/json")], body.to_string()) }
            }),
        );
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await
                .expect("serve");
        });
        let base = format!("http://{addr}");
        let sample = client
            .get(format!("{base}{sample_path}"))
            .header("x-auth-token", &key)
            .send()
            .await
            .expect("sample")
            .text()
            .await
            .expect("body");
        *fixed_slot.write().expect("fixed body") = Arc::from(sample.as_str());

        // The same page positions at every size: what may grow with the data set is the
        // count, not the offset.
        let pages = 40;
        let list = |base: &str| -> Vec<String> {
            (0..200)
                .map(|i| {
                    format!(
                        "{base}/api/v1/content/post?limit=25&hydrate=1&page={}",
                        1 + (i * 37) % pages.max(1)
                    )
                })
                .collect()
        };
        let ceiling = row(
            &client,
            &format!("fixed body, {} B", sample.len()),
            size,
            vec![format!("{base}/bench/fixed")],
            &key,
            None,
        )
        .await;
        row(
            &client,
            "REST list 25, hydrate=1",
            size,
            list(&base),
            &key,
            Some(ceiling),
        )
        .await;
        let rest = row(
            &client,
            "  same, rendered each time",
            size,
            list(&bare),
            &key,
            Some(ceiling),
        )
        .await;
        quota_rows(&client, &url, &keys, &list(&bare), &key, size).await;
        let fields = "id title slug body status rating tags author { id name email bio } categories { id name slug }";
        let encode = |query: String| -> String {
            form_urlencoded::byte_serialize(query.as_bytes()).collect()
        };
        let current = |base: &str| -> Vec<String> {
            (0..200)
                .map(|i| {
                    let offset = 25 * ((i * 37) % pages.max(1));
                    let query = format!("{{ post(first: 25, offset: {offset}) {{ totalCount edges {{ node {{ {fields} }} }} }} }}");
                    format!("{base}/api/v2/graphql?query={}", encode(query))
                })
                .collect()
        };
        row(
            &client,
            "GraphQL v2 25 posts + rels",
            size,
            current(&base),
            &key,
            Some(ceiling),
        )
        .await;
        let graphql = row(
            &client,
            "  same, rendered each time",
            size,
            current(&bare),
            &key,
            Some(ceiling),
        )
        .await;
        let legacy = |base: &str| -> Vec<String> {
            (0..200)
                .map(|i| {
                    let page = 1 + (i * 37) % pages.max(1);
                    let query = format!("{{ postList(limit: 25, page: {page}) {{ {fields} }} }}");
                    format!("{base}/api/graphql?query={}", encode(query))
                })
                .collect()
        };
        browser_rows(
            &client,
            &keys,
            &account.id,
            [("REST list", list(&base)), ("GraphQL", current(&base))],
            size,
        )
        .await;
        row(
            &client,
            "GraphQL legacy list 25, rendered",
            size,
            legacy(&bare),
            &key,
            Some(ceiling),
        )
        .await;
        println!(
            "GraphQL v2 / REST hydrated list (rendered each time) throughput at {size}: {:.2}",
            graphql / rest
        );
        let common = |base: &str| -> Vec<String> {
            WORDS
                .iter()
                .map(|w| format!("{base}/api/v1/search?q=content%20{w}&limit=25"))
                .collect()
        };
        let rare = |base: &str| vec![format!("{base}/api/v1/search?q=zephyr&limit=25")];
        for (name, urls) in [
            ("search common term", common(&base)),
            ("  same, rendered each time", common(&bare)),
            ("search rare term", rare(&base)),
            ("  same, rendered each time", rare(&bare)),
        ] {
            row(&client, name, size, urls, &key, Some(ceiling)).await;
        }
        write_row(&client, &bare, &rw_key, size).await;
        let _ = tx.send(());
        bare_server.stop().await;
        server.await.expect("server");
        db.close().await.ok();
    }
}
