//! The admin panel over the real server: sign-in and its throttling, sessions kept in
//! the database (sign-out, deletion, password reset and timeouts end them on every
//! instance), CSRF refusals that change nothing, every key action reflected in the key
//! service and in API answers on the next request, the plan's maximum, show-once keys,
//! the audit log, and the wall between panel and API (no keys here, no cookie there).
mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use common::{Instance, TestApp};
use contentgate::admins::{self, Grants, sessions::Timeouts};
use contentgate::app::{AppState, GraphqlOptions, PanelOptions};
use contentgate::auth::keys::{KeyRef, KeyStore};
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};

const EMAIL: &str = "ops@example.com";
const PASSWORD: &str = "a long enough password";
const KEYS: &str = "/panel/accounts/default/keys";
const POSTS: &str = "/api/v1/content/post";

/// A browser without JavaScript: it keeps cookies and does not follow redirects.
struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: Mutex<BTreeMap<String, String>>,
}

struct Page {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// The first form's CSRF token on the page.
    fn csrf(&self) -> String {
        let at = self.body.find("name=\"csrf\" value=\"").expect("a form") + 19;
        self.body[at..].split('"').next().unwrap().to_owned()
    }
}

impl Browser {
    fn new(base: &str) -> Self {
        Browser {
            base: base.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: Mutex::new(BTreeMap::new()),
        }
    }

    fn at(&self, base: &str) -> Self {
        let other = Browser::new(base);
        *other.cookies.lock().unwrap() = self.cookies.lock().unwrap().clone();
        other
    }

    fn cookie_header(&self) -> String {
        let cookies = self.cookies.lock().unwrap();
        cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Page {
        let response = request
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        let headers = response.headers().clone();
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().unwrap();
            let (pair, attributes) = text.split_once(';').unwrap_or((text, ""));
            let (name, value) = pair.split_once('=').unwrap();
            let mut cookies = self.cookies.lock().unwrap();
            if attributes.contains("Max-Age=0") {
                cookies.remove(name);
            } else {
                cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: response.status().as_u16(),
            headers,
            body: response.text().await.unwrap(),
        }
    }

    async fn get(&self, path: &str) -> Page {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        self.send(request).await
    }

    async fn sign_in(&self, email: &str, password: &str) -> Page {
        let form = self.get("/panel/login").await;
        let csrf = form.csrf();
        self.post(
            "/panel/login",
            &[("csrf", &csrf), ("email", email), ("password", password)],
        )
        .await
    }

    /// The CSRF token of the signed-in session (from any page's sign-out form).
    async fn csrf(&self) -> String {
        self.get("/panel/").await.csrf()
    }
}

async fn app_with_admin() -> (TestApp, Browser) {
    let app = TestApp::with_demo().await;
    admins::create(&app.db, EMAIL, PASSWORD, &Grants::All)
        .await
        .unwrap();
    let browser = Browser::new(&app.url(""));
    (app, browser)
}

async fn signed_in() -> (TestApp, Browser) {
    let (app, browser) = app_with_admin().await;
    let answer = browser.sign_in(EMAIL, PASSWORD).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.location(), "/panel/");
    (app, browser)
}

/// Creates a user key through the panel and returns its id and secret.
async fn create_key(
    app: &TestApp,
    browser: &Browser,
    name: &str,
    rules: &[(&str, &str)],
) -> (String, String) {
    let csrf = browser.csrf().await;
    let mut fields = vec![
        ("csrf".to_owned(), csrf),
        ("name".to_owned(), name.to_owned()),
    ];
    for (i, (type_name, letters)) in rules.iter().enumerate() {
        fields.push((format!("type_{i}"), type_name.to_string()));
        for (letter, field) in [
            ('r', "read"),
            ('c', "create"),
            ('u', "update"),
            ('d', "delete"),
        ] {
            if letters.contains(letter) {
                fields.push((format!("{field}_{i}"), "on".into()));
            }
        }
    }
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let answer = browser.post(KEYS, &pairs).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    let id = answer.location().rsplit_once("#key-").unwrap().1.to_owned();
    let secret = key_of(app, &id).await.expect("the key is kept");
    (id, secret)
}

async fn key_of(app: &TestApp, id: &str) -> Option<String> {
    app.keys
        .list(&app.account_id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.id == id)
        .and_then(|k| k.key)
}

async fn user_key_count(app: &TestApp) -> usize {
    app.keys
        .list(&app.account_id)
        .await
        .unwrap()
        .iter()
        .filter(|k| k.kind == "user")
        .count()
}

#[tokio::test]
async fn the_root_leads_to_the_panel_and_the_panel_to_its_login() {
    let (app, browser) = app_with_admin().await;
    let root = browser.get("/").await;
    assert_eq!((root.status, root.location()), (303, "/panel/"));
    let panel = browser.get("/panel/").await;
    assert_eq!((panel.status, panel.location()), (303, "/panel/login"));
    // An API key opens nothing in the panel, as a header or in the query.
    let with_key = browser
        .send(
            browser
                .client
                .get(app.url(KEYS))
                .header("x-auth-token", &app.rw),
        )
        .await;
    assert_eq!(
        (with_key.status, with_key.location()),
        (303, "/panel/login")
    );
    let in_query = browser.get(&format!("{KEYS}?auth_token={}", app.rw)).await;
    assert_eq!(in_query.status, 303);
    let login = browser.get("/panel/login").await;
    assert_eq!(login.status, 200);
    assert!(login.body.contains("name=\"email\"") && login.body.contains("name=\"password\""));
    let csp = login.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(login.headers["x-frame-options"], "DENY");
    let cookie = login.headers[SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Path=/panel")
    );
    assert!(!cookie.contains("Secure"), "no Secure over plain http");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let (app, browser) = app_with_admin().await;
    let wrong = browser.sign_in(EMAIL, "not the password").await;
    let unknown = browser
        .sign_in("nobody@example.com", "not the password")
        .await;
    assert_eq!((wrong.status, unknown.status), (401, 401));
    let message = "The email or the password is not right.";
    assert!(wrong.body.contains(message) && unknown.body.contains(message));
    assert!(browser.cookies.lock().unwrap().get("cg_session").is_none());
    // Both failures are recorded; text typed into the email field only when it is an
    // admin's email (people type passwords there).
    let (entries, _) = contentgate::audit::page(&app.db, None, 1, 10)
        .await
        .unwrap();
    let failed: Vec<&str> = entries
        .iter()
        .filter(|e| e.action == "sign-in.failed")
        .map(|e| e.subject.as_str())
        .collect();
    assert_eq!(failed, ["(unknown email)", EMAIL]);
}

#[tokio::test]
async fn failed_sign_ins_are_throttled_per_email_on_every_instance() {
    let (app, browser) = app_with_admin().await;
    for _ in 0..admins::throttle::FREE_FAILURES {
        assert_eq!(browser.sign_in(EMAIL, "guess").await.status, 401);
    }
    // Now even the right password waits, on this instance and on another.
    let throttled = browser.sign_in(EMAIL, PASSWORD).await;
    assert_eq!(throttled.status, 429, "{}", throttled.body);
    assert!(throttled.body.contains("Too many failed sign-ins"));
    assert!(throttled.headers.contains_key("retry-after"));
    let peer = app.spawn_peer().await;
    let elsewhere = Browser::new(&peer);
    assert_eq!(elsewhere.sign_in(EMAIL, PASSWORD).await.status, 429);
    // An unknown email is throttled alike: the answer tells nothing about admins.
    let other = Browser::new(&app.url(""));
    for _ in 0..admins::throttle::FREE_FAILURES {
        other.sign_in("nobody@example.com", "guess").await;
    }
    assert_eq!(
        other.sign_in("nobody@example.com", "guess").await.status,
        429
    );
    // After the wait (1 s after the fifth failure) the right password works.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(browser.sign_in(EMAIL, PASSWORD).await.status, 303);
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused_and_changes_nothing() {
    let (app, browser) = signed_in().await;
    let before = user_key_count(&app).await;
    for token in ["", "forged"] {
        let answer = browser
            .post(
                KEYS,
                &[
                    ("csrf", token),
                    ("name", "Sneaky"),
                    ("type_0", "post"),
                    ("read_0", "on"),
                ],
            )
            .await;
        assert_eq!(answer.status, 403, "{}", answer.body);
    }
    let ro = app.ro.clone();
    let regenerate = browser
        .post(&format!("{KEYS}/read_only/regenerate"), &[])
        .await;
    assert_eq!(regenerate.status, 403);
    assert_eq!(user_key_count(&app).await, before);
    assert_eq!(
        app.get(POSTS, &ro).await.0,
        200,
        "the read-only key still works"
    );
    // The sign-in form needs its own token too.
    let bare = Browser::new(&app.url(""));
    let login = bare
        .post("/panel/login", &[("email", EMAIL), ("password", PASSWORD)])
        .await;
    assert_eq!(login.status, 403);
}

#[tokio::test]
async fn keys_made_in_the_panel_act_on_the_next_api_request() {
    let (app, browser) = signed_in().await;
    let page = browser.get(KEYS).await;
    assert_eq!(page.status, 200);
    for text in [
        "Read and write API KEY",
        "Read only API KEY",
        "User defined API keys",
        "Add new API key",
    ] {
        assert!(page.body.contains(text), "{text}");
    }
    let (id, key) = create_key(&app, &browser, "Read Media Files", &[("post", "r")]).await;
    assert_eq!(app.get(POSTS, &key).await.0, 200);
    assert_eq!(app.get("/api/v1/content/author", &key).await.0, 403);
    let listed = app.keys.list(&app.account_id).await.unwrap();
    let view = listed.iter().find(|k| k.id == id).unwrap();
    assert_eq!(view.name, "Read Media Files");
    assert_eq!(view.rules.len(), 1);
    assert!(view.rules[0].read && !view.rules[0].create);

    // Add a rule and rename: both saved together, the scope widens at once.
    let csrf = browser.csrf().await;
    let saved = browser
        .post(
            &format!("{KEYS}/{id}"),
            &[
                ("csrf", &csrf),
                ("name", "Reader"),
                ("type_0", "post"),
                ("read_0", "on"),
                ("type_1", "author"),
                ("read_1", "on"),
            ],
        )
        .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(app.get("/api/v1/content/author", &key).await.0, 200);
    let page = browser.get(KEYS).await;
    assert!(page.body.contains("Reader"));

    // Regenerate: the old secret gets 401 on the next request, the new one works.
    let regenerated = browser
        .post(&format!("{KEYS}/{id}/regenerate"), &[("csrf", &csrf)])
        .await;
    assert_eq!(regenerated.status, 303);
    assert_eq!(app.get(POSTS, &key).await.0, 401);
    let fresh = key_of(&app, &id).await.unwrap();
    assert_ne!(fresh, key);
    assert_eq!(app.get(POSTS, &fresh).await.0, 200);

    // Application keys regenerate too (and cannot be deleted).
    let ro = app.ro.clone();
    assert_eq!(
        browser
            .post(&format!("{KEYS}/read_only/regenerate"), &[("csrf", &csrf)])
            .await
            .status,
        303
    );
    assert_eq!(app.get(POSTS, &ro).await.0, 401);
    let refused = browser
        .post(&format!("{KEYS}/read_only/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, 404, "no application key is deleted");

    // Delete: 401 at once.
    assert_eq!(
        browser
            .post(&format!("{KEYS}/{id}/delete"), &[("csrf", &csrf)])
            .await
            .status,
        303
    );
    assert_eq!(app.get(POSTS, &fresh).await.0, 401);
    assert!(key_of(&app, &id).await.is_none());

    // Every action is in the audit log, with the admin and the address, never a key.
    let (entries, _) = contentgate::audit::page(&app.db, Some(&app.account_id), 1, 50)
        .await
        .unwrap();
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "key.delete",
            "key.regenerate",
            "key.regenerate",
            "key.update",
            "key.create"
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| e.actor == EMAIL && e.client == "127.0.0.1")
    );
    for secret in [&key, &fresh, &ro] {
        assert!(entries.iter().all(|e| !e.subject.contains(secret.as_str())));
    }
    let page = browser.get(KEYS).await;
    assert!(page.body.contains("key.regenerate") && page.body.contains(EMAIL));
}

#[tokio::test]
async fn a_key_card_sets_expiry_and_limits_and_shows_use_grace_and_a_coming_expiry() {
    let (app, browser) = signed_in().await;
    let (id, key) = create_key(&app, &browser, "Storefront", &[("post", "r")]).await;
    let page = browser.get(KEYS).await;
    assert!(page.body.contains("Never expires"), "{}", page.body);
    assert!(page.body.contains("Never used"));
    // Set an expiry within 7 days and limit the key to an origin and a network.
    let soon = (chrono::Utc::now() + chrono::Duration::days(3))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let csrf = browser.csrf().await;
    let fields = |origins: &'static str, networks: &'static str, expires: String| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("name".to_owned(), "Storefront".to_owned()),
            ("type_0".to_owned(), "post".to_owned()),
            ("read_0".to_owned(), "on".to_owned()),
            ("origins".to_owned(), origins.to_owned()),
            ("networks".to_owned(), networks.to_owned()),
            ("expires".to_owned(), expires),
        ]
    };
    let post = |fields: Vec<(String, String)>| {
        let browser = &browser;
        let path = format!("{KEYS}/{id}");
        async move {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            browser.post(&path, &pairs).await
        }
    };
    let saved = post(fields(
        "https://shop.example.com\r\nhttp://localhost:3000",
        "127.0.0.0/8",
        soon.clone(),
    ))
    .await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let view = app
        .keys
        .get(&app.account_id, KeyRef::Id(id.clone()))
        .await
        .unwrap();
    assert_eq!(
        view.origins,
        ["https://shop.example.com", "http://localhost:3000"]
    );
    assert_eq!(view.networks, ["127.0.0.0/8"]);
    assert!(view.expires_at.as_deref().unwrap().starts_with(&soon[..16]));
    // It acts on the next request.
    let from = |origin: &'static str| {
        let client = reqwest::Client::new();
        let (url, key) = (app.url(POSTS), key.clone());
        async move {
            client
                .get(url)
                .header("x-auth-token", key)
                .header("origin", origin)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(from("https://shop.example.com").await, 200);
    assert_eq!(from("https://elsewhere.example.com").await, 403);
    let page = browser.get(KEYS).await;
    assert!(page.body.contains("Expires soon"), "{}", page.body);
    assert!(
        page.body
            .contains("https://shop.example.com\nhttp://localhost:3000")
    );
    // Mistakes come back on the card as typed, and change nothing.
    let refused = post(fields(
        "shop.example.com",
        "10.0.0.0/99",
        "next week".into(),
    ))
    .await;
    assert_eq!(refused.status, 400);
    for text in [
        "is not an origin",
        "is not a network",
        "is not a date and time",
        "next week",
    ] {
        assert!(refused.body.contains(text), "{text}: {}", refused.body);
    }
    let past = post(fields("", "", "2001-01-01T00:00".into())).await;
    assert_eq!(past.status, 400);
    assert!(past.body.contains("must lie in the future"));
    let unchanged = app
        .keys
        .get(&app.account_id, KeyRef::Id(id.clone()))
        .await
        .unwrap();
    assert_eq!(unchanged.origins, view.origins);
    // Rotation with a grace: the old secret keeps working and the card says until when.
    let csrf = browser.csrf().await;
    let rotated = browser
        .post(
            &format!("{KEYS}/{id}/regenerate"),
            &[("csrf", &csrf), ("grace", "1h")],
        )
        .await;
    assert_eq!(rotated.status, 303, "{}", rotated.body);
    assert_eq!(
        from("https://shop.example.com").await,
        200,
        "the old secret still works"
    );
    let new = key_of(&app, &id).await.unwrap();
    assert_ne!(new, key);
    let page = browser.get(KEYS).await;
    assert!(
        page.body
            .contains("The secret before the last rotation works until")
    );
    let bad_grace = browser
        .post(
            &format!("{KEYS}/{id}/regenerate"),
            &[("csrf", &csrf), ("grace", "forever")],
        )
        .await;
    assert_eq!(bad_grace.status, 400);
    assert_eq!(key_of(&app, &id).await.unwrap(), new);
    // Clearing the limits opens the key again; the card then shows its use.
    let cleared = post(fields("", "", String::new())).await;
    assert_eq!(cleared.status, 303);
    assert_eq!(app.get(POSTS, &new).await.0, 200);
    let view = app
        .keys
        .get(&app.account_id, KeyRef::Id(id.clone()))
        .await
        .unwrap();
    assert!(view.origins.is_empty() && view.networks.is_empty() && view.expires_at.is_none());
}

#[tokio::test]
async fn bad_rules_get_an_inline_error_and_change_nothing() {
    let (app, browser) = signed_in().await;
    let (id, key) = create_key(&app, &browser, "Posts", &[("post", "r")]).await;
    let csrf = browser.csrf().await;
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("name", "Posts"),
                ("type_0", "nosuchtype"),
                ("read_0", "on"),
            ],
            "Unknown content type 'nosuchtype'",
        ),
        (
            &[
                ("name", "Posts"),
                ("type_0", "post"),
                ("read_0", "on"),
                ("type_1", "post"),
            ],
            "more than one rule",
        ),
        (
            &[("name", "  "), ("type_0", "post"), ("read_0", "on")],
            "The property name is required",
        ),
        (
            &[("name", "Posts"), ("type_0", "")],
            "Choose a content type",
        ),
    ];
    for (fields, message) in cases {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        let answer = browser.post(&format!("{KEYS}/{id}"), &all).await;
        assert_eq!(answer.status, 400, "{message}");
        assert!(answer.body.contains(message), "{message}: {}", answer.body);
        assert!(answer.body.contains("role=\"alert\""));
        // A new key with the same mistake is not created either.
        let before = user_key_count(&app).await;
        assert_eq!(browser.post(KEYS, &all).await.status, 400);
        assert_eq!(user_key_count(&app).await, before);
    }
    let view = app
        .keys
        .list(&app.account_id)
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.id == id)
        .unwrap();
    assert_eq!((view.name.as_str(), view.rules.len()), ("Posts", 1));
    assert_eq!(app.get(POSTS, &key).await.0, 200);
}

#[tokio::test]
async fn the_plans_maximum_disables_adding_keys_with_the_reason() {
    let app = TestApp::spawn_with(contentgate::quota::QuotaOptions {
        plans: std::sync::Arc::new(
            contentgate::quota::Plans::parse(
                "default_plan = \"free\"\n[plans.free]\nmax_user_keys = 1\n",
            )
            .unwrap(),
        ),
        flush_interval: Duration::from_millis(100),
        enabled: true,
    })
    .await;
    app.load_demo().await;
    admins::create(&app.db, EMAIL, PASSWORD, &Grants::All)
        .await
        .unwrap();
    let browser = Browser::new(&app.url(""));
    browser.sign_in(EMAIL, PASSWORD).await;
    create_key(&app, &browser, "Only one", &[("post", "r")]).await;
    let page = browser.get(KEYS).await;
    let reason = "The plan &#39;free&#39; allows at most 1 user-defined keys";
    let reason_plain = "The plan 'free' allows at most 1 user-defined keys";
    assert!(
        page.body.contains(reason) || page.body.contains(reason_plain),
        "{}",
        page.body
    );
    assert!(page.body.contains("disabled"));
    let csrf = browser.csrf().await;
    let refused = browser
        .post(KEYS, &[("csrf", &csrf), ("name", "Second")])
        .await;
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("allows at most 1 user-defined keys"));
    assert_eq!(user_key_count(&app).await, 1);
}

#[tokio::test]
async fn sessions_live_in_the_database_and_end_everywhere() {
    let (app, browser) = signed_in().await;
    let peer = app.spawn_peer().await;
    let there = browser.at(&peer);
    assert_eq!(
        there.get(KEYS).await.status,
        200,
        "another instance serves the session"
    );
    // Sign-out on one instance ends it on the other.
    let csrf = browser.csrf().await;
    assert_eq!(
        browser
            .post("/panel/logout", &[("csrf", &csrf)])
            .await
            .location(),
        "/panel/login"
    );
    assert_eq!(there.get(KEYS).await.location(), "/panel/login");

    // A password reset and a deletion end every session of the admin.
    browser.sign_in(EMAIL, PASSWORD).await;
    assert_eq!(browser.get(KEYS).await.status, 200);
    admins::reset_password(&app.db, EMAIL, "another long password")
        .await
        .unwrap();
    assert_eq!(browser.get(KEYS).await.location(), "/panel/login");
    browser.sign_in(EMAIL, "another long password").await;
    assert_eq!(browser.get(KEYS).await.status, 200);
    admins::delete(&app.db, EMAIL).await.unwrap();
    assert_eq!(browser.get(KEYS).await.location(), "/panel/login");
    assert_eq!(
        browser.sign_in(EMAIL, "another long password").await.status,
        401
    );
}

async fn instance_with(app: &TestApp, keys: KeyStore, timeouts: Timeouts) -> Instance {
    let state = AppState::new(
        app.db.clone(),
        keys,
        GraphqlOptions {
            introspection: true,
        },
        app.quota.clone(),
    )
    .with_panel(PanelOptions {
        public_url: "https://cms.example.com".into(),
        timeouts,
    });
    Instance::start(state).await
}

#[tokio::test]
async fn idle_and_absolute_timeouts_end_sessions() {
    let (app, _) = app_with_admin().await;
    let idle = Timeouts {
        idle: Duration::from_secs(1),
        absolute: Duration::from_secs(3600),
    };
    let server = instance_with(&app, app.keys.clone(), idle).await;
    let browser = Browser::new(&server.url);
    let answer = browser.sign_in(EMAIL, PASSWORD).await;
    let cookie = answer
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("cg_session="))
        .unwrap();
    assert!(cookie.contains("; Secure"), "https public URL: {cookie}");
    assert_eq!(browser.get(KEYS).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(browser.get(KEYS).await.location(), "/panel/login");

    let short = Timeouts {
        idle: Duration::from_secs(3600),
        absolute: Duration::from_secs(1),
    };
    let server = instance_with(&app, app.keys.clone(), short).await;
    let browser = Browser::new(&server.url);
    browser.sign_in(EMAIL, PASSWORD).await;
    assert_eq!(browser.get(KEYS).await.status, 200);
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        browser.get(KEYS).await.status,
        200,
        "use does not extend the absolute limit"
    );
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(browser.get(KEYS).await.location(), "/panel/login");
}

#[tokio::test]
async fn with_show_once_a_key_is_shown_once_then_only_masked() {
    let (app, _) = app_with_admin().await;
    let keys = KeyStore {
        show_once: true,
        ..app.keys.clone()
    };
    let server = instance_with(&app, keys, Timeouts::default()).await;
    let browser = Browser::new(&server.url);
    browser.sign_in(EMAIL, PASSWORD).await;
    let csrf = browser.csrf().await;
    let created = browser
        .post(
            KEYS,
            &[
                ("csrf", &csrf),
                ("name", "Once"),
                ("type_0", "post"),
                ("read_0", "on"),
            ],
        )
        .await;
    assert_eq!(created.status, 303);
    let first = browser.get(KEYS).await;
    assert!(first.body.contains("shown this once"));
    let start = first.body.find("<code class=\"full\" hidden>").unwrap() + 26;
    let secret = first.body[start..].split('<').next().unwrap().to_owned();
    assert_eq!(app.get(POSTS, &secret).await.0, 200, "the key shown works");
    assert!(
        first.body.contains("<svg"),
        "its QR code is drawn in the page"
    );
    let second = browser.get(KEYS).await;
    assert!(!second.body.contains(&secret), "shown once only");
    assert!(second.body.contains("keeps no copy of keys"));
}

#[tokio::test]
async fn the_qr_code_is_an_svg_for_each_key() {
    let (app, browser) = signed_in().await;
    for id in ["read_only", "read_write"] {
        let answer = browser.get(&format!("{KEYS}/{id}/qr.svg")).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers["content-type"], "image/svg+xml");
        assert!(answer.body.contains("<svg"));
    }
    let (id, _) = create_key(&app, &browser, "Mobile", &[("post", "r")]).await;
    assert_eq!(
        browser.get(&format!("{KEYS}/{id}/qr.svg")).await.status,
        200
    );
    assert_eq!(
        browser.get(&format!("{KEYS}/nope/qr.svg")).await.status,
        404
    );
    assert_eq!(
        contentgate::qr::payload(&app.ro, "http://127.0.0.1:8080"),
        format!(
            r#"{{"apiKey":"{}","apiUrl":"http://127.0.0.1:8080/api"}}"#,
            app.ro
        )
    );
    // Without a session, no QR code.
    let stranger = Browser::new(&app.url(""));
    assert_eq!(
        stranger
            .get(&format!("{KEYS}/read_only/qr.svg"))
            .await
            .status,
        303
    );
}

#[tokio::test]
async fn admins_see_only_the_accounts_granted_to_them() {
    let app = TestApp::with_demo().await;
    let keys = app.keys.clone();
    contentgate::accounts::create(&keys, "other", "unlimited")
        .await
        .unwrap();
    admins::create(
        &app.db,
        EMAIL,
        PASSWORD,
        &Grants::Accounts(vec!["other".into()]),
    )
    .await
    .unwrap();
    let browser = Browser::new(&app.url(""));
    browser.sign_in(EMAIL, PASSWORD).await;
    let home = browser.get("/panel/").await;
    assert!(home.body.contains("/panel/accounts/other/keys"));
    assert!(!home.body.contains("/panel/accounts/default/keys"));
    assert_eq!(browser.get(KEYS).await.status, 404);
    assert_eq!(browser.get("/panel/accounts/other/keys").await.status, 200);
    // Only admins of all accounts change plans.
    let csrf = browser.csrf().await;
    let refused = browser
        .post(
            "/panel/accounts/other/plan",
            &[("csrf", &csrf), ("plan", "unlimited")],
        )
        .await;
    assert_eq!(refused.status, 403);
    admins::grant(&app.db, EMAIL, "default").await.unwrap();
    assert_eq!(browser.get(KEYS).await.status, 200);
}

#[tokio::test]
async fn usage_and_content_types_pages_show_the_account() {
    let (app, browser) = signed_in().await;
    app.get(POSTS, &app.ro).await;
    let usage = browser.get("/panel/accounts/default/usage").await;
    assert_eq!(usage.status, 200);
    assert!(usage.body.contains("<svg") && usage.body.contains("Requests per day"));
    assert!(usage.body.contains("Change the plan"));
    let types = browser.get("/panel/accounts/default/types").await;
    assert_eq!(types.status, 200);
    for label in ["Blog post", "Author", "Category"] {
        assert!(types.body.contains(label), "{label}");
    }
    assert!(types.body.contains("data-graphiql"));
    assert!(types.body.contains("The first five objects of"));
    assert!(
        !types.body.contains(&format!("auth_token={}", app.ro)),
        "the key is never in a URL"
    );
}

#[tokio::test]
async fn api_routes_never_accept_the_session_cookie_and_the_panel_sends_no_cors() {
    let (app, browser) = signed_in().await;
    let session = browser.cookies.lock().unwrap()["cg_session"].clone();
    let answer = reqwest::Client::new()
        .get(app.url(POSTS))
        .header("cookie", format!("cg_session={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 401);
    let page = browser
        .send(
            browser
                .client
                .get(app.url(KEYS))
                .header("origin", "https://evil.example"),
        )
        .await;
    assert_eq!(page.status, 200);
    assert!(
        page.headers
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-"))
    );
}

#[tokio::test]
async fn guesses_sent_together_are_counted_one_after_the_other() {
    let (app, _) = app_with_admin().await;
    // Ten browsers, each with its sign-in form, send a wrong password at the same time.
    let mut browsers = Vec::new();
    for _ in 0..10 {
        let browser = Browser::new(&app.url(""));
        let csrf = browser.get("/panel/login").await.csrf();
        browsers.push((browser, csrf));
    }
    let mut attempts = tokio::task::JoinSet::new();
    for (browser, csrf) in browsers {
        attempts.spawn(async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("email", EMAIL),
                ("password", "guess"),
            ];
            browser.post("/panel/login", &fields).await.status
        });
    }
    let statuses: Vec<u16> = attempts.join_all().await;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(
        checked,
        admins::throttle::FREE_FAILURES as usize,
        "{statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
}

#[tokio::test]
async fn what_is_typed_as_an_email_is_never_stored() {
    let (app, browser) = app_with_admin().await;
    let typed = format!("MySecretPass123!{}", "z".repeat(100_000));
    assert_eq!(browser.sign_in(&typed, "x").await.status, 401);
    let (entries, _) = contentgate::audit::page(&app.db, None, 1, 10)
        .await
        .unwrap();
    assert_eq!(entries[0].actor, "(unknown email)");
    assert!(entries.iter().all(|e| !e.subject.contains("MySecret")));
    use sea_orm::EntityTrait;
    let counts = entity::login_failure::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(
        counts.len(),
        2,
        "one for the email typed, one for the address"
    );
    assert!(
        counts
            .iter()
            .all(|c| c.subject.len() < 80 && !c.subject.contains("MySecret"))
    );
}

#[tokio::test]
async fn forged_or_odd_requests_get_a_page_and_change_nothing() {
    let (app, browser) = signed_in().await;
    let csrf = browser.csrf().await;
    let before = user_key_count(&app).await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("name", "Odd"),
        ("type_0", "post"),
        ("read_0", "on"),
    ];
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    // Not a form, or sent from another site: refused even with the token.
    for (content_type, site, status) in [
        ("text/plain", "same-origin", 415),
        ("application/json", "same-origin", 415),
        ("application/x-www-form-urlencoded", "cross-site", 403),
    ] {
        let request = browser
            .client
            .post(app.url(KEYS))
            .header("content-type", content_type)
            .header("sec-fetch-site", site)
            .body(body.clone());
        let answer = browser.send(request).await;
        assert_eq!(answer.status, status, "{content_type} {site}");
        assert!(
            answer.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    }
    // Rule rows no page makes.
    for field in ["type_99999999999999999999", "read_-1"] {
        let answer = browser
            .post(KEYS, &[("csrf", &csrf), ("name", "Odd"), (field, "post")])
            .await;
        assert_eq!(answer.status, 400, "{field}");
    }
    assert_eq!(user_key_count(&app).await, before);
    // Rules for an application key: refused with the reason.
    let answer = browser
        .post(
            &format!("{KEYS}/read_only"),
            &[
                ("csrf", &csrf),
                ("name", "x"),
                ("type_0", "post"),
                ("read_0", "on"),
            ],
        )
        .await;
    assert_eq!(answer.status, 404);
    let ro_id = app.keys.list(&app.account_id).await.unwrap()[0].id.clone();
    let answer = browser
        .post(
            &format!("{KEYS}/{ro_id}"),
            &[
                ("csrf", &csrf),
                ("name", "x"),
                ("type_0", "post"),
                ("read_0", "on"),
            ],
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.contains("Application keys have no rules"),
        "{}",
        answer.body
    );
    // Other methods and unknown pages are pages too, with the panel's headers.
    for (method, path, status) in [
        (reqwest::Method::GET, "/panel/logout", 405),
        (reqwest::Method::PUT, KEYS, 405),
        (reqwest::Method::POST, "/panel/nowhere", 404),
    ] {
        let answer = browser
            .send(browser.client.request(method, app.url(path)))
            .await;
        assert_eq!(answer.status, status, "{path}");
        assert!(answer.headers.contains_key("content-security-policy"));
        assert!(answer.body.contains("<html"), "{path}");
    }
    // An audit page past the end, or absurdly far, is just empty.
    for page in [
        "9223372036854775807",
        "18446744073709551615",
        "x",
        "2&audit=3",
    ] {
        let answer = browser.get(&format!("{KEYS}?audit={page}")).await;
        assert_eq!(answer.status, 200, "{page}");
    }
}
