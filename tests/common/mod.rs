//! Test harness: a real server on 127.0.0.1:0 over a fresh database per test (SQLite
//! in a temp dir, or a new PostgreSQL database when `CONTENTGATE_TEST_DATABASE_URL`
//! points at a server), with the account's keys ready to use.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use contentgate::app::{AppState, GraphqlOptions, serve};
use contentgate::auth::keys::KeyStore;
use contentgate::auth::{Perms, ServerSecret};
use contentgate::quota::QuotaOptions;
use contentgate::{accounts, demo};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::Value;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub db: DatabaseConnection,
    pub keys: KeyStore,
    pub account_id: String,
    /// The read-only and read-write application keys of the `default` account.
    pub ro: String,
    pub rw: String,
    pub database_url: String,
    /// SQL statements run by the server's pool so far (for N+1 checks).
    pub statements: Arc<AtomicUsize>,
    /// What counts them, for peers on the same database.
    count_statements: contentgate::db::MetricCallback,
    /// The statements themselves, while `recording` is on (`record_statements`).
    recorded: Arc<std::sync::Mutex<Vec<sea_orm::Statement>>>,
    recording: Arc<std::sync::atomic::AtomicBool>,
    pub quota: QuotaOptions,
    server: Option<Instance>,
    peers: std::sync::Mutex<Vec<Instance>>,
    _dir: tempfile::TempDir,
}

/// A fresh, empty database URL for one test.
pub async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("CONTENTGATE_TEST_DATABASE_URL") {
        Ok(server) if server.starts_with("postgres") => {
            let name = format!("cg_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(server.as_str())
                .await
                .expect("connect to the PostgreSQL test server");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let base = server
                .rsplit_once('/')
                .map_or(server.as_str(), |(base, _)| base);
            format!("{base}/{name}")
        }
        _ => contentgate::db::sqlite_url(dir),
    }
}

/// `--media-url` of a test: with `TEST_MEDIA_URL=s3://bucket` (and the `AWS_*`
/// variables) a prefix of its own in that bucket, else none (the data folder's
/// `media/`). Shared by a test's instances.
pub fn media_url(dir: &std::path::Path) -> Option<String> {
    let bucket = std::env::var("TEST_MEDIA_URL").ok()?;
    let name = dir.file_name()?.to_string_lossy();
    Some(format!("{}/{name}", bucket.trim_end_matches('/')))
}

pub fn media_store(dir: &std::path::Path) -> contentgate::media::MediaStore {
    contentgate::media::MediaStore::from_url(media_url(dir).as_deref(), dir.join("media"))
        .expect("media store")
}

/// A server started by a test, which the test can stop (and so flush its counts).
pub struct Instance {
    pub url: String,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Instance {
    pub async fn start(state: AppState) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let done = tokio::spawn(serve(
            listener,
            state,
            async move {
                let _ = stopped.await;
            },
            Duration::from_secs(5),
        ));
        Instance {
            url: format!("http://{addr}"),
            stop,
            done,
        }
    }

    /// Stops the server as SIGTERM would and waits until it has finished.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.expect("server task").expect("server");
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(QuotaOptions::default()).await
    }

    /// A server whose quota meter uses these plans and flush interval.
    pub async fn spawn_with(quota: QuotaOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database(dir.path()).await;
        let mut db = contentgate::db::connect(&database_url)
            .await
            .expect("open test database");
        let statements = Arc::new(AtomicUsize::new(0));
        let counter = statements.clone();
        let recorded = Arc::new(std::sync::Mutex::new(Vec::new()));
        let recording = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (record, on) = (recorded.clone(), recording.clone());
        let count: contentgate::db::MetricCallback = Arc::new(move |info| {
            counter.fetch_add(1, Ordering::SeqCst);
            if on.load(Ordering::SeqCst) {
                record
                    .lock()
                    .expect("recorded")
                    .push(info.statement.clone());
            }
        });
        let counting = count.clone();
        db.set_metric_callback(move |info| counting(info));
        let keys = KeyStore {
            db: db.clone(),
            secret: ServerSecret::from_material(b"test secret"),
            show_once: false,
        };
        let (account, _) = accounts::ensure_default(&keys, quota.plans.default_plan())
            .await
            .expect("default account");
        let listed = keys.list(&account.id).await.expect("list keys");
        let key_of = |kind: &str| {
            listed
                .iter()
                .find(|k| k.kind == kind)
                .and_then(|k| k.key.clone())
                .expect("application key")
        };
        let (ro, rw) = (key_of("read_only"), key_of("read_write"));
        let graphql = GraphqlOptions {
            introspection: true,
        };
        let state = AppState::new(db.clone(), keys.clone(), graphql, quota.clone())
            .with_metric_callback(count.clone())
            .with_media(media_store(dir.path()));
        let server = Instance::start(state).await;
        TestApp {
            addr: server
                .url
                .trim_start_matches("http://")
                .parse()
                .expect("address"),
            client: reqwest::Client::new(),
            db,
            keys,
            account_id: account.id,
            ro,
            rw,
            database_url,
            statements,
            count_statements: count,
            recorded,
            recording,
            quota,
            server: Some(server),
            peers: std::sync::Mutex::default(),
            _dir: dir,
        }
    }

    /// Stops this test's first server (graceful, as SIGTERM), which closes its pool;
    /// the test goes on with a new connection to the same database.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
            self.db = contentgate::db::connect(&self.database_url)
                .await
                .expect("reopen test database");
            self.keys.db = self.db.clone();
        }
    }

    /// Another server on the same database, with its own pool and the same quota
    /// settings, as a second process would be; the test can stop it.
    pub async fn spawn_instance(&self) -> Instance {
        let db = contentgate::db::connect(&self.database_url)
            .await
            .expect("open test database");
        let keys = KeyStore {
            db: db.clone(),
            ..self.keys.clone()
        };
        let graphql = GraphqlOptions {
            introspection: true,
        };
        let state = AppState::new(db, keys, graphql, self.quota.clone())
            .with_media(media_store(self._dir.path()));
        Instance::start(state).await
    }

    /// A second server on the same database, as another instance behind a load balancer
    /// would be: its own schema cache, nothing shared in memory.
    pub async fn spawn_peer(&self) -> String {
        self.spawn_peer_with(GraphqlOptions {
            introspection: true,
        })
        .await
    }

    pub async fn spawn_peer_with(&self, graphql: GraphqlOptions) -> String {
        self.spawn_peer_configured(graphql, |state| state).await
    }

    /// A peer whose state `configure` adjusts before it starts.
    pub async fn spawn_peer_configured(
        &self,
        graphql: GraphqlOptions,
        configure: impl FnOnce(AppState) -> AppState,
    ) -> String {
        let state = AppState::new(
            self.db.clone(),
            self.keys.clone(),
            graphql,
            self.quota.clone(),
        )
        .with_metric_callback(self.count_statements.clone())
        .with_media(media_store(self._dir.path()));
        let peer = Instance::start(configure(state)).await;
        let url = peer.url.clone();
        // Runs as long as the test's app; dropped with it, which stops it.
        self.peers.lock().expect("peers").push(peer);
        url
    }

    /// A server with the example blog loaded.
    pub async fn with_demo() -> Self {
        let app = Self::spawn().await;
        app.load_demo().await;
        app
    }

    /// A server whose quota meter is off, so that the statements counted while it
    /// answers a request are that request's own (the meter writes in the background).
    pub async fn uncounted() -> Self {
        Self::spawn_with(QuotaOptions {
            enabled: false,
            ..QuotaOptions::default()
        })
        .await
    }

    pub async fn load_demo(&self) {
        assert!(
            demo::load(&self.db, &self.account_id)
                .await
                .expect("load demo")
        );
    }

    /// A user-defined key with rules like `[("post", "r"), ("author", "crud")]`.
    pub async fn user_key(&self, rules: &[(&str, &str)]) -> String {
        let rules: BTreeMap<String, Perms> = rules
            .iter()
            .map(|(t, letters)| {
                let perms = Perms {
                    create: letters.contains('c'),
                    read: letters.contains('r'),
                    update: letters.contains('u'),
                    delete: letters.contains('d'),
                };
                (t.to_string(), perms)
            })
            .collect();
        self.keys
            .create_user_key(
                &contentgate::audit::Actor::cli(),
                &self.account_id,
                "test key",
                &rules,
                &Default::default(),
                &self.quota.plans,
            )
            .await
            .expect("create key")
            .key
            .expect("key shown")
    }

    /// The SQL statements the server runs to answer one GET.
    pub async fn record_statements(&self, path: &str, key: &str) -> Vec<sea_orm::Statement> {
        self.recorded.lock().expect("recorded").clear();
        self.recording.store(true, Ordering::SeqCst);
        let (status, body) = self.get(path, key).await;
        self.recording.store(false, Ordering::SeqCst);
        assert_eq!(status, 200, "{path}: {body}");
        std::mem::take(&mut *self.recorded.lock().expect("recorded"))
    }

    /// How many SQL statements the server runs to answer one GET.
    pub async fn statements_for(&self, path: &str, key: &str) -> (usize, Value) {
        let before = self.statements.load(Ordering::SeqCst);
        let (status, body) = self.get(path, key).await;
        assert_eq!(status, 200, "{path}: {body}");
        (self.statements.load(Ordering::SeqCst) - before, body)
    }

    /// On PostgreSQL the notifications of this test's own writes arrive a moment after
    /// their commits (milliseconds here), and each makes the next request look its key
    /// up again: waits (up to five seconds) until kept reads with `key` have run no
    /// statement for 100 ms. Nothing on SQLite, where a commit is seen at once.
    pub async fn settle_notifications(&self, key: &str) {
        if !self.database_url.starts_with("postgres") {
            return;
        }
        let started = std::time::Instant::now();
        let mut quiet = 0;
        while quiet < 4 && started.elapsed() < std::time::Duration::from_secs(5) {
            // A kept answer runs no statement once the key's lookup is reused.
            let (statements, _) = self
                .statements_for("/api/v2/graphql?query=%7B__typename%7D", key)
                .await;
            quiet = if statements == 0 { quiet + 1 } else { 0 };
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
    }

    /// This test's data folder (its media files are under `media/`).
    pub fn data_dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The media store this test's servers use (a folder or a bucket).
    pub fn media(&self) -> contentgate::media::MediaStore {
        media_store(self._dir.path())
    }

    /// The keys of the stored files under `folder` (`originals`, `resized`).
    pub async fn stored_files(&self, folder: &str) -> Vec<String> {
        let mut keys: Vec<String> = self
            .media()
            .list(folder)
            .await
            .expect("list media")
            .into_iter()
            .map(|listed| listed.key)
            .collect();
        keys.sort();
        keys
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends a request with `X-AUTH-TOKEN` and JSON, as the official SDK does, and
    /// returns the status and the JSON body (`Null` when the body is not JSON).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let base = format!("http://{}", self.addr);
        self.call_at(&base, method, path, key, body).await
    }

    /// `call` on another server (a peer at `base`, such as `spawn_peer` returns).
    pub async fn call_at(
        &self,
        base: &str,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{base}{path}"))
            .header("content-type", "application/json");
        if !key.is_empty() {
            request = request.header("x-auth-token", key);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Posts a raw body with an optional content type, to test how bodies are read.
    pub async fn post_raw(
        &self,
        path: &str,
        key: &str,
        content_type: Option<&str>,
        body: &str,
    ) -> reqwest::Response {
        let mut request = self.client.post(self.url(path)).header("x-auth-token", key);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.body(body.to_owned()).send().await.expect("request")
    }

    pub async fn get(&self, path: &str, key: &str) -> (u16, Value) {
        self.call(Method::GET, path, key, None).await
    }
    pub async fn post(&self, path: &str, key: &str, body: &Value) -> (u16, Value) {
        self.call(Method::POST, path, key, Some(body)).await
    }
    pub async fn put(&self, path: &str, key: &str, body: &Value) -> (u16, Value) {
        self.call(Method::PUT, path, key, Some(body)).await
    }
    pub async fn patch(&self, path: &str, key: &str, body: &Value) -> (u16, Value) {
        self.call(Method::PATCH, path, key, Some(body)).await
    }
    pub async fn delete(&self, path: &str, key: &str) -> (u16, Value) {
        self.call(Method::DELETE, path, key, None).await
    }

    /// Ids of a type's live objects, read straight from the database.
    pub async fn stored_ids(&self, type_name: &str) -> Vec<String> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        entity::content_object::Entity::find()
            .filter(entity::content_object::Column::AccountId.eq(&self.account_id))
            .filter(entity::content_object::Column::ContentType.eq(type_name))
            .filter(entity::content_object::Column::DeletedAt.is_null())
            .order_by_asc(entity::content_object::Column::ObjectId)
            .all(&self.db)
            .await
            .expect("query objects")
            .into_iter()
            .map(|o| o.object_id)
            .collect()
    }

    /// A fingerprint of everything an account holds, to prove a refusal changed nothing.
    pub async fn snapshot(&self) -> String {
        use sea_orm::{EntityTrait, QueryOrder};
        let objects = entity::content_object::Entity::find()
            .order_by_asc(entity::content_object::Column::Pk)
            .all(&self.db)
            .await
            .unwrap();
        let types = entity::content_type::Entity::find()
            .order_by_asc(entity::content_type::Column::Id)
            .all(&self.db)
            .await
            .unwrap();
        let refs = entity::content_ref::Entity::find()
            .all(&self.db)
            .await
            .unwrap();
        format!("{objects:?}{types:?}{refs:?}")
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            let _ = server.stop.send(());
        }
        drop_test_database(&self.database_url);
    }
}

/// A PostgreSQL test database goes with its test: dropped (its open connections ended)
/// on a thread of its own, since `Drop` cannot await on the test's runtime.
fn drop_test_database(database_url: &str) {
    let Ok(server) = std::env::var("CONTENTGATE_TEST_DATABASE_URL") else {
        return;
    };
    let Some(name) = database_url
        .rsplit_once('/')
        .map(|(_, name)| name.to_owned())
        .filter(|name| name.starts_with("cg_test_") && server.starts_with("postgres"))
    else {
        return;
    };
    let dropped = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            if let Ok(admin) = Database::connect(server.as_str()).await {
                let _ = admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await;
                admin.close().await.ok();
            }
        });
    });
    let _ = dropped.join();
}

/// A minimal valid content type definition with the given properties
/// (`name → (schema, propertiesConfig)`), in the given order.
pub fn definition(name: &str, properties: &[(&str, Value, Value)], required: &[&str]) -> Value {
    let mut schema = serde_json::Map::new();
    let mut config = serde_json::Map::new();
    let mut order = Vec::new();
    for (prop, prop_schema, prop_config) in properties {
        schema.insert(prop.to_string(), prop_schema.clone());
        config.insert(prop.to_string(), prop_config.clone());
        order.push(prop.to_string());
    }
    serde_json::json!({
        "name": name,
        "label": name,
        "schemaDefinition": {
            "type": "object",
            "allOf": [
                {"$ref": "#/components/schemas/AbstractContentTypeSchemaDefinition"},
                {"type": "object", "properties": schema}
            ],
            "required": required,
            "additionalProperties": false
        },
        "metaDefinition": {"order": order, "propertiesConfig": config}
    })
}

pub fn reference(type_name: &str, id: &str) -> Value {
    serde_json::json!({"type": "internal", "dataUrl": format!("/api/v1/content/{type_name}/{id}")})
}

/// Schema and `propertiesConfig` of a plain text property.
pub fn text_property(label: &str) -> (Value, Value) {
    (
        serde_json::json!({"type": "string"}),
        serde_json::json!({"label": label, "inputType": "text", "unique": false}),
    )
}

/// Schema and `propertiesConfig` of a relation to `target`.
pub fn relation_property(target: &str) -> (Value, Value) {
    (
        serde_json::json!({"type": "array", "items": {"$ref": "#/components/schemas/DataSource"}}),
        serde_json::json!({"label": target, "inputType": "datasource", "unique": false, "validation": {"relationContenttype": target}}),
    )
}
