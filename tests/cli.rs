//! The command line contract, run as the real binary: accounts, keys, show-once mode,
//! the server secret file, token redaction in logs, and graceful shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_contentgate");

struct Cli {
    dir: tempfile::TempDir,
    database_url: Option<String>,
}

impl Cli {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let database_url = match std::env::var("CONTENTGATE_TEST_DATABASE_URL") {
            Ok(url) if url.starts_with("postgres") => {
                Some(common::fresh_database(dir.path()).await)
            }
            _ => None,
        };
        Cli { dir, database_url }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--data-dir")
            .arg(self.dir.path())
            .args(args)
            .env_remove("CONTENTGATE_SECRET")
            .env_remove("CONTENTGATE_SHOW_KEYS_ONCE")
            .env("RUST_LOG", "warn");
        match &self.database_url {
            Some(url) => command.env("DATABASE_URL", url),
            None => command.env_remove("DATABASE_URL"),
        };
        if let Some(url) = common::media_url(self.dir.path()) {
            command.env("CONTENTGATE_MEDIA_URL", url);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run contentgate")
    }

    fn json(&self, args: &[&str]) -> Value {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?} printed no JSON ({e}): {}",
                String::from_utf8_lossy(&output.stdout)
            )
        })
    }
}

#[path = "common/mod.rs"]
mod common;

#[tokio::test]
async fn keys_commands_follow_the_contract() {
    let cli = Cli::new().await;
    let keys = cli.json(&["keys", "list"]);
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0]["kind"], "read_only");
    assert_eq!(keys[1]["kind"], "read_write");
    for key in keys {
        assert!(key["key"].as_str().unwrap().starts_with("cg_"));
        assert_eq!(key["rules"], json!([]));
        for field in ["id", "name", "created_at"] {
            assert!(key[field].is_string(), "{field}");
        }
    }

    let created = cli.json(&[
        "keys",
        "create",
        "--name",
        "frontend",
        "--rule",
        "_tag=r",
        "--rule",
        "_media=cru",
    ]);
    assert_eq!(created["kind"], "user");
    assert_eq!(created["name"], "frontend");
    assert_eq!(
        created["rules"],
        json!([
            {"content_type": "_media", "create": true, "read": true, "update": true, "delete": false},
            {"content_type": "_tag", "create": false, "read": true, "update": false, "delete": false}
        ])
    );
    // A rule for a type the account does not have is a typo, refused.
    let typo = cli.run(&["keys", "create", "--name", "typo", "--rule", "psot=r"]);
    assert!(!typo.status.success());
    assert!(String::from_utf8_lossy(&typo.stderr).contains("Unknown content type 'psot'"));
    let id = created["id"].as_str().unwrap();
    let listed = cli.json(&["keys", "list", "--json"]);
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert_eq!(
        listed[2]["key"], created["key"],
        "the key can be shown again"
    );

    let updated = cli.json(&["keys", "update", id, "--rule", "_tag=rd"]);
    assert_eq!(
        updated["rules"],
        json!([{"content_type": "_tag", "create": false, "read": true, "update": false, "delete": true}])
    );
    let cleared = cli.json(&["keys", "update", id, "--no-rules"]);
    assert_eq!(cleared["rules"], json!([]));

    let regenerated = cli.json(&["keys", "regenerate", id]);
    assert_ne!(regenerated["key"], created["key"]);
    let ro_before = keys[0]["key"].clone();
    let ro_after = cli.json(&["keys", "regenerate", "read_only"]);
    assert_ne!(ro_after["key"], ro_before);
    assert_eq!(ro_after["kind"], "read_only");

    let app_key_delete = cli.run(&["keys", "delete", keys[1]["id"].as_str().unwrap()]);
    assert_eq!(
        app_key_delete.status.code(),
        Some(2),
        "application keys cannot be deleted"
    );
    assert_eq!(
        String::from_utf8_lossy(&app_key_delete.stderr)
            .lines()
            .count(),
        1
    );
    assert!(cli.run(&["keys", "delete", id]).status.success());
    assert_eq!(cli.json(&["keys", "list"]).as_array().unwrap().len(), 2);
    assert_eq!(
        cli.run(&["keys", "delete", id]).status.code(),
        Some(1),
        "unknown key"
    );
}

#[tokio::test]
async fn bad_arguments_get_one_line_and_a_non_zero_exit() {
    let cli = Cli::new().await;
    for args in [
        &["keys", "create", "--name", "x", "--rule", "post=x"][..],
        &["keys", "create", "--name", "x", "--rule", "post"],
        &["keys", "create", "--name", "x", "--rule", "Post=r"],
        &["keys", "update", "some-id"],
        &["keys", "list", "--account", "nobody"],
        &["accounts", "create", "bad name!"],
    ] {
        let output = cli.run(args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(!stderr.is_empty(), "{args:?}");
    }
    // A missing account is a missing thing (1), as the README says; bad arguments are 2.
    assert_eq!(
        cli.run(&["keys", "list", "--account", "nosuch"])
            .status
            .code(),
        Some(1)
    );
    let output = cli.run(&["keys", "create", "--name", "x", "--rule", "post=x"]);
    assert_eq!(
        String::from_utf8_lossy(&output.stderr)
            .trim()
            .lines()
            .count(),
        1
    );
}

#[tokio::test]
async fn accounts_are_created_with_their_own_keys() {
    let cli = Cli::new().await;
    let created = cli.json(&["accounts", "create", "shop", "--json"]);
    assert_eq!(created["name"], "shop");
    let accounts = cli.json(&["accounts", "list", "--json"]);
    let names: Vec<&str> = accounts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["default", "shop"]);
    let shop_keys = cli.json(&["keys", "list", "--account", "shop"]);
    let default_keys = cli.json(&["keys", "list"]);
    assert_eq!(shop_keys.as_array().unwrap().len(), 2);
    assert_ne!(shop_keys[0]["key"], default_keys[0]["key"]);
    assert_eq!(
        cli.run(&["accounts", "create", "shop"]).status.code(),
        Some(2)
    );
}

#[tokio::test]
async fn show_once_mode_keeps_no_copy_and_the_secret_file_is_private() {
    let cli = Cli::new().await;
    let created = cli.json(&["keys", "create", "--name", "once", "--show-keys-once"]);
    assert!(
        created["key"].as_str().unwrap().starts_with("cg_"),
        "shown when created"
    );
    let listed = cli.json(&["keys", "list", "--show-keys-once"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["key"].is_null())
    );
    let listed = cli.json(&["keys", "list"]);
    assert!(
        listed[2]["key"].is_null(),
        "a show-once key has no stored copy to reveal later"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cli.dir.path().join("secret.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

/// The data folder and every file in it are private whatever the umask, from the first
/// start (which creates them) and on every later one (which tightens what was loose).
#[cfg(unix)]
#[tokio::test]
async fn the_data_folder_is_private_whatever_the_umask() {
    use std::os::unix::fs::PermissionsExt;
    let cli = Cli::new().await;
    let data = cli.dir.path().join("data");
    let run_with_umask = |umask: &str| {
        let inner = cli.command(&["keys", "list"]);
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(inner.get_program())
            .arg("--data-dir")
            .arg(&data)
            .args(["keys", "list"]);
        for (name, value) in inner.get_envs() {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    run_with_umask("000");
    assert_eq!(mode(&data), 0o700);
    let files: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(files.iter().any(|f| f.ends_with("secret.key")));
    if cli.database_url.is_none() {
        for name in ["contentgate.db", "contentgate.db-wal", "contentgate.db-shm"] {
            let path = data.join(name);
            if path.exists() {
                assert_eq!(mode(&path), 0o600, "{name}");
            }
        }
        assert!(data.join("contentgate.db").exists());
    }
    for file in &files {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    // Loosened by hand: the next start makes them private again.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    for file in &files {
        if file.exists() {
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
    run_with_umask("022");
    assert_eq!(mode(&data), 0o700);
    for file in std::fs::read_dir(&data).unwrap() {
        let file = file.unwrap().path();
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

/// Starts `serve` and returns the child, its address, and its captured log lines.
fn start_server(
    cli: &Cli,
    extra: &[&str],
) -> (
    std::process::Child,
    String,
    Arc<Mutex<Vec<String>>>,
    std::thread::JoinHandle<()>,
) {
    let mut child = cli
        .command(&[&["serve", "--listen", "127.0.0.1:0"][..], extra].concat())
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let sink = lines.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("address=").nth(1) {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                );
            }
            sink.lock().unwrap().push(line);
        }
    });
    let address = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server started");
    (child, address, lines, reader)
}

fn terminate(child: &mut std::process::Child) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    child.wait().unwrap()
}

#[tokio::test]
async fn tokens_never_reach_the_logs_and_sigterm_stops_cleanly() {
    let cli = Cli::new().await;
    let (mut child, address, lines, reader) = start_server(&cli, &["--demo"]);
    let keys = cli.json(&["keys", "list"]);
    let created = cli.json(&["keys", "create", "--name", "scoped", "--rule", "post=r"]);
    let secrets: Vec<String> = keys
        .as_array()
        .unwrap()
        .iter()
        .chain([&created])
        .map(|k| k["key"].as_str().unwrap().to_owned())
        .collect();
    let client = reqwest::Client::new();
    for secret in &secrets {
        let base = format!("http://{address}");
        let by_header = client
            .get(format!("{base}/api/v1/content/post"))
            .header("X-AUTH-TOKEN", secret)
            .send()
            .await
            .unwrap();
        assert_eq!(by_header.status(), 200);
        let by_query = client
            .get(format!(
                "{base}/api/v1/content/post/post-hello?auth_token={secret}&hydrate=0"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(by_query.status(), 200);
        let refused = client
            .get(format!(
                "{base}/api/v1/internal/contenttype/author?auth_token={secret}"
            ))
            .send()
            .await
            .unwrap();
        assert!(refused.status() == 200 || refused.status() == 403);
        let mismatch = client
            .get(format!("{base}/api/v1/content/post?auth_token={secret}x"))
            .header("x-auth-token", secret)
            .send()
            .await
            .unwrap();
        assert_eq!(mismatch.status(), 401);
    }
    let status = terminate(&mut child);
    assert!(
        status.success(),
        "SIGTERM ends the server cleanly: {status:?}"
    );
    reader.join().unwrap();
    let log = lines.lock().unwrap().join("\n");
    assert!(
        log.contains("route=\"/api/v1/content/{type}\""),
        "requests are logged by route:\n{log}"
    );
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "a key leaked into the log");
        assert!(
            !log.contains(&secret[3..20]),
            "part of a key leaked into the log"
        );
    }
    assert!(log.contains("stopped"));

    // `contentgate schema` prints the account's SDL: for the example model, schema.graphql.
    let output = cli.run(&["schema"]);
    assert!(output.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), committed);
    let legacy = String::from_utf8_lossy(&cli.run(&["schema", "--legacy"]).stdout).to_string();
    assert!(legacy.contains("postList("), "{legacy}");
    assert_eq!(
        cli.run(&["schema", "--account", "nobody"]).status.code(),
        Some(1)
    );
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9() {
    let cli = Cli::new().await;
    let (mut child, address, _, _) = start_server(&cli, &["--demo"]);
    let keys = cli.json(&["keys", "list"]);
    let rw = keys[1]["key"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    for i in 0..20 {
        let response = client
            .post(format!("http://{address}/api/v1/content/category"))
            .header("x-auth-token", &rw)
            .json(&json!({"id": format!("kept-{i}"), "name": format!("Kept {i}"), "slug": format!("kept-{i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    child.kill().unwrap(); // SIGKILL: no chance to flush anything
    child.wait().unwrap();

    let (mut child, address, _, _) = start_server(&cli, &[]);
    let response = client
        .get(format!("http://{address}/api/v1/content/category?limit=100&filters=%7B%22slug%22%3A%7B%22type%22%3A%22startsWith%22%2C%22filter%22%3A%22kept-%22%7D%7D"))
        .header("x-auth-token", &rw)
        .send()
        .await
        .unwrap();
    assert_eq!(response.json::<Value>().await.unwrap()["total_count"], 20);
    terminate(&mut child);
}

#[tokio::test]
async fn plans_set_quotas_and_user_key_maximums_and_usage_is_reported() {
    let cli = Cli::new().await;
    std::fs::write(
        cli.dir.path().join("plans.toml"),
        "[plans.team]\nrequests_per_30_days = 1000\nrequests_per_second = 50\nmax_user_keys = 2\n",
    )
    .unwrap();
    let plans = cli.run(&["accounts", "plans"]);
    let plans = String::from_utf8_lossy(&plans.stdout);
    for name in ["free", "basic", "growth", "unlimited (default)", "team"] {
        assert!(plans.contains(name), "{plans}");
    }
    let created = cli.json(&["accounts", "create", "acme", "--plan", "team", "--json"]);
    assert_eq!(created["plan"], "team");
    let unknown = cli.run(&["accounts", "create", "other", "--plan", "gold"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr)
            .contains("no plan named 'gold'; plans: basic, free, growth, team, unlimited")
    );
    for name in ["one", "two"] {
        cli.json(&["keys", "create", "--account", "acme", "--name", name]);
    }
    let third = cli.run(&["keys", "create", "--account", "acme", "--name", "three"]);
    assert_eq!(third.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&third.stderr)
            .contains("The plan 'team' allows at most 2 user-defined keys and the account has 2"),
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
    // The default account is unlimited: its keys are not capped.
    for name in ["a", "b", "c"] {
        cli.json(&["keys", "create", "--name", name]);
    }

    // Requests served by a running server show up in `accounts usage` once it stops.
    let acme_key = cli.json(&["keys", "list", "--account", "acme"])[0]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (mut child, address, _lines, reader) = start_server(&cli, &[]);
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = client
            .get(format!("http://{address}/api/v1/internal/contenttype"))
            .header("x-auth-token", &acme_key)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-ratelimit-limit"], "1000");
    }
    assert!(terminate(&mut child).success());
    reader.join().unwrap();
    let usage = cli.json(&["accounts", "usage", "acme", "--json"]);
    assert_eq!(usage[0]["used"], 3);
    assert_eq!(usage[0]["remaining"], 997);
    assert_eq!(usage[0]["days"].as_array().unwrap().len(), 1);
    let text = String::from_utf8_lossy(&cli.run(&["accounts", "usage"]).stdout).into_owned();
    assert!(
        text.contains(
            "acme (plan team): 3 of 1000 requests used in the last 30 days, 997 remaining"
        ),
        "{text}"
    );
    assert!(
        text.contains("default (plan unlimited): 0 requests in the last 30 days, no quota"),
        "{text}"
    );

    let moved = cli.json(&["accounts", "set-plan", "acme", "free", "--json"]);
    assert_eq!(moved["plan"], "free");
    assert_eq!(
        cli.json(&["accounts", "usage", "acme", "--json"])[0]["limit"],
        100000
    );

    // A server refuses to start when an account's plan is not defined here.
    cli.json(&["accounts", "set-plan", "acme", "team", "--json"]);
    std::fs::write(
        cli.dir.path().join("plans.toml"),
        "default_plan = \"free\"\n",
    )
    .unwrap();
    let refused = cli.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("account acme: no plan named 'team'")
    );
    let missing = cli.run(&["--plans", "/nonexistent/plans.toml", "accounts", "list"]);
    assert_eq!(
        missing.status.code(),
        Some(2),
        "an explicit plans file must exist"
    );
}

/// A running server keeps what it looked up for a key only while nothing was committed
/// to the database; key changes made by the command line, another process, apply to
/// its very next request on SQLite (`data_version`), and on PostgreSQL as soon as the
/// commit's notification has reached it (a moment: polled for up to five seconds),
/// even for answers it has kept.
#[tokio::test]
async fn key_changes_from_the_command_line_apply_at_once_to_a_running_server() {
    let cli = Cli::new().await;
    let exact = cli.database_url.is_none();
    let (mut child, address, _lines, reader) = start_server(&cli, &["--demo"]);
    let client = reqwest::Client::new();
    let once = |key: String| {
        let client = client.clone();
        let url = format!("http://{address}/api/v1/content/post?hydrate=1");
        async move {
            client
                .get(&url)
                .header("X-AUTH-TOKEN", key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // The key's status once it is `want`: at once on SQLite; on PostgreSQL once the
    // last change's notification has reached the server (polled, at most 5 s).
    let status = |key: String, want: u16| {
        let once = &once;
        async move {
            let started = std::time::Instant::now();
            loop {
                let got = once(key.clone()).await;
                if exact || got == want || started.elapsed() > std::time::Duration::from_secs(5) {
                    return got;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    };
    let created = cli.json(&["keys", "create", "--name", "reader", "--rule", "post=r"]);
    let (id, key) = (
        created["id"].as_str().unwrap().to_owned(),
        created["key"].as_str().unwrap().to_owned(),
    );
    for _ in 0..3 {
        assert_eq!(status(key.clone(), 200).await, 200);
    }
    cli.json(&["keys", "update", &id, "--rule", "author=r"]);
    assert_eq!(status(key.clone(), 403).await, 403);
    cli.json(&["keys", "update", &id, "--rule", "post=r"]);
    assert_eq!(status(key.clone(), 200).await, 200);
    assert!(cli.run(&["keys", "delete", &id]).status.success());
    assert_eq!(status(key, 401).await, 401);

    let read_only = |keys: &Value| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|k| k["kind"] == "read_only")
            .unwrap()["key"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let old = read_only(&cli.json(&["keys", "list"]));
    assert_eq!(status(old.clone(), 200).await, 200);
    let new = cli.json(&["keys", "regenerate", "read_only"])["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(status(old, 401).await, 401);
    assert_eq!(status(new, 200).await, 200);
    assert!(terminate(&mut child).success());
    reader.join().unwrap();
}

fn run_with_stdin(cli: &Cli, args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = cli
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn admins_keys_qr_and_the_audit_log_from_the_command_line() {
    let cli = Cli::new().await;
    let password = "a long enough password\n";
    let create = [
        "admins",
        "create",
        "ops@example.com",
        "--all-accounts",
        "--password-stdin",
    ];
    let created = run_with_stdin(&cli, &create, password);
    assert!(created.status.success(), "{created:?}");
    // Refusals: no accounts named, a short password, no terminal to ask on.
    let no_scope = run_with_stdin(
        &cli,
        &["admins", "create", "a@example.com", "--password-stdin"],
        password,
    );
    assert_eq!(no_scope.status.code(), Some(2));
    let short = run_with_stdin(
        &cli,
        &[
            "admins",
            "create",
            "b@example.com",
            "--all-accounts",
            "--password-stdin",
        ],
        "short\n",
    );
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 10 characters"));
    let no_tty = run_with_stdin(
        &cli,
        &["admins", "create", "c@example.com", "--all-accounts"],
        password,
    );
    assert_eq!(no_tty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_tty.stderr).contains("--password-stdin"));

    assert!(cli.run(&["accounts", "create", "shop"]).status.success());
    let limited = [
        "admins",
        "create",
        "shop@example.com",
        "--account",
        "shop",
        "--password-stdin",
    ];
    assert!(run_with_stdin(&cli, &limited, password).status.success());
    let granted = cli.json(&[
        "admins",
        "grant",
        "shop@example.com",
        "--account",
        "default",
        "--json",
    ]);
    assert_eq!(granted["accounts"], json!(["default", "shop"]));
    let admins = cli.json(&["admins", "list", "--json"]);
    assert_eq!(admins[0]["email"], "ops@example.com");
    assert_eq!(admins[0]["all_accounts"], true);
    assert_eq!(admins[1]["email"], "shop@example.com");
    let reset = [
        "admins",
        "reset-password",
        "shop@example.com",
        "--password-stdin",
    ];
    assert!(
        run_with_stdin(&cli, &reset, "another long password\n")
            .status
            .success()
    );
    assert!(
        cli.run(&["admins", "delete", "shop@example.com"])
            .status
            .success()
    );
    assert_eq!(
        cli.json(&["admins", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The QR code in the terminal, drawn with half blocks.
    let qr = cli.run(&["keys", "qr", "read_only"]);
    assert!(qr.status.success());
    let text = String::from_utf8_lossy(&qr.stdout);
    assert!(text.contains('▀') || text.contains('▄'), "{text}");
    assert!(text.contains("Read only API KEY"));

    // Key actions from the command line are in the audit log as `cli`, never the key.
    let made = cli.json(&["keys", "create", "--name", "audited", "--rule", "_tag=r"]);
    cli.json(&["keys", "regenerate", made["id"].as_str().unwrap()]);
    let entries = cli.json(&["audit", "--json"]);
    let actions: Vec<&str> = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["key.regenerate", "key.create"]);
    assert_eq!(entries[0]["actor"], "cli");
    assert!(
        entries[0]["subject"]
            .as_str()
            .unwrap()
            .starts_with("audited (")
    );
    assert!(!entries.to_string().contains(made["key"].as_str().unwrap()));
    let of_shop = cli.json(&["audit", "--account", "shop", "--json"]);
    assert_eq!(of_shop, json!([]));
}

#[tokio::test]
async fn keys_get_expiry_limits_grace_and_usage_from_the_command_line() {
    let cli = Cli::new().await;
    let made = cli.json(&[
        "keys",
        "create",
        "--name",
        "frontend",
        "--rule",
        "_tag=r",
        "--expires-in",
        "30d",
        "--origin",
        "https://*.example.com",
        "--origin",
        "http://localhost:3000",
        "--network",
        "10.0.0.0/8",
    ]);
    let id = made["id"].as_str().unwrap();
    let expires = made["expires_at"].as_str().unwrap();
    let in_30_days = chrono::Utc::now() + chrono::Duration::days(30);
    assert_eq!(&expires[..10], in_30_days.format("%Y-%m-%d").to_string());
    assert_eq!(
        made["origins"],
        json!(["https://*.example.com", "http://localhost:3000"])
    );
    assert_eq!(made["networks"], json!(["10.0.0.0/8"]));
    assert!(made["last_used_at"].is_null());
    // Only what is given changes.
    let moved = cli.json(&[
        "keys",
        "update",
        id,
        "--expires-at",
        "2099-01-31T00:00:00Z",
        "--any-network",
    ]);
    assert_eq!(moved["expires_at"], "2099-01-31T00:00:00+00:00");
    assert_eq!(moved["origins"], made["origins"]);
    assert_eq!(moved["networks"], json!([]));
    assert_eq!(moved["rules"], made["rules"]);
    let lasting = cli.json(&["keys", "update", id, "--no-expiry", "--any-origin"]);
    assert!(lasting["expires_at"].is_null());
    assert_eq!(lasting["origins"], json!([]));
    // Refusals: each one line, nothing changed.
    for (args, says) in [
        (vec!["keys", "update", id], "nothing to change"),
        (
            vec!["keys", "update", id, "--origin", "example.com"],
            "is not an origin",
        ),
        (
            vec!["keys", "update", id, "--network", "10.0.0.0/33"],
            "is not a network",
        ),
        (
            vec!["keys", "update", id, "--expires-at", "2001-01-01T00:00:00Z"],
            "must lie in the future",
        ),
        (
            vec!["keys", "update", id, "--expires-at", "tomorrow"],
            "rfc 3339",
        ),
        (
            vec!["keys", "update", "read_only", "--no-expiry"],
            "application keys",
        ),
        (vec!["keys", "regenerate", id, "--grace", "soon"], "grace"),
        (
            vec!["keys", "regenerate", id, "--grace", "31d"],
            "at most 30 days",
        ),
        (
            vec!["keys", "update", id, "--expires-in", "999999999999d"],
            "within 100 years",
        ),
    ] {
        let output = cli.run(&args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.to_lowercase().contains(says), "{args:?}: {stderr}");
    }
    assert_eq!(cli.json(&["keys", "list"])[2]["expires_at"], json!(null));

    // Rotation with grace: the old secret keeps working, `keys list` shows until when.
    let (mut child, address, _, reader) = start_server(&cli, &[]);
    let old = lasting["key"].as_str().unwrap().to_owned();
    let rotated = cli.json(&["keys", "regenerate", id, "--grace", "1h"]);
    let new = rotated["key"].as_str().unwrap().to_owned();
    assert!(rotated["previous_valid_until"].is_string());
    assert_eq!(
        cli.json(&["keys", "list"])[2]["previous_valid_until"],
        rotated["previous_valid_until"]
    );
    let client = reqwest::Client::new();
    for secret in [&old, &new, &old] {
        let status = client
            .get(format!("http://{address}/api/v1/content/_tag"))
            .header("x-auth-token", secret)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    assert!(terminate(&mut child).success());
    reader.join().unwrap();
    // The requests reach `keys usage` with the flush at shutdown.
    let usage = cli.json(&["keys", "usage", id, "--json"]);
    assert_eq!(usage["days"][0]["requests"], 3, "{usage}");
    assert!(usage["last_used_at"].is_string());
    let text = cli.run(&["keys", "usage", id]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("3 requests in the last 30 days"));
    let immediate = cli.json(&["keys", "regenerate", id]);
    assert!(immediate["previous_valid_until"].is_null());
}

#[tokio::test]
async fn another_sqlite_client_closing_the_database_never_removes_the_servers_wal() {
    let cli = Cli::new().await;
    if cli.database_url.is_some() {
        return; // SQLite's files only
    }
    let (mut child, address, _, reader) = start_server(&cli, &[]);
    let rw = cli.json(&["keys", "list"])[1]["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let client = reqwest::Client::new();
    let types = format!("http://{address}/api/v1/internal/contenttype");
    let listed = client
        .get(&types)
        .header("x-auth-token", &rw)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    // An operator's read with another SQLite client, which then closes the file: with
    // the server's locks held, SQLite keeps the WAL (it deletes it only when no
    // process has the database open).
    let db = cli.dir.path().join("contentgate.db");
    let other = rusqlite::Connection::open(&db).unwrap();
    let keys: i64 = other
        .query_row("SELECT COUNT(*) FROM api_keys", [], |row| row.get(0))
        .unwrap();
    assert_eq!(keys, 2);
    drop(other);
    assert!(
        cli.dir.path().join("contentgate.db-wal").exists(),
        "the WAL was removed under the server"
    );
    // A write acknowledged now is seen by a new process.
    let created = client
        .post(format!("http://{address}/api/v1/content/_tag"))
        .header("x-auth-token", &rw)
        .header("content-type", "application/json")
        .body(r#"{"id":"after-reader","name":"after"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200, "{}", created.text().await.unwrap());
    let other = rusqlite::Connection::open(&db).unwrap();
    let seen: i64 = other
        .query_row(
            "SELECT COUNT(*) FROM content_objects WHERE object_id = 'after-reader'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(seen, 1);
    drop(other);
    assert!(terminate(&mut child).success());
    reader.join().unwrap();
}

#[tokio::test]
async fn the_demo_admin_password_never_reaches_a_log() {
    let cli = Cli::new().await;
    let (mut child, _address, lines, reader) = start_server(&cli, &["--demo"]);
    let admins = cli.json(&["admins", "list", "--json"]);
    assert_eq!(admins[0]["email"], "admin@localhost");
    let status = terminate(&mut child);
    reader.join().unwrap();
    let log = lines.lock().unwrap().join("\n");
    assert!(status.success(), "{status}\n{log}");
    assert!(
        log.contains("contentgate admins reset-password admin@localhost"),
        "{log}"
    );
    assert!(!log.to_lowercase().contains("password is"), "{log}");
    // A second start does not make another admin.
    let (mut child, _address, _lines, reader) = start_server(&cli, &["--demo"]);
    assert_eq!(
        cli.json(&["admins", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert!(terminate(&mut child).success());
    reader.join().unwrap();
}

#[tokio::test]
async fn no_media_object_lacks_its_file_after_kill_9_during_uploads() {
    let cli = Cli::new().await;
    let (mut child, address, _, _) = start_server(&cli, &[]);
    let keys = cli.json(&["keys", "list"]);
    let rw = keys[1]["key"].as_str().unwrap().to_owned();
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(300, 200, |x, y| image::Rgb([x as u8, y as u8, 7]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let png = png.into_inner();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let mut uploaders = Vec::new();
    for _ in 0..4 {
        let (address, rw, png, acknowledged) = (
            address.clone(),
            rw.clone(),
            png.clone(),
            acknowledged.clone(),
        );
        uploaders.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            loop {
                let form = reqwest::multipart::Form::new()
                    .part(
                        "file",
                        reqwest::multipart::Part::bytes(png.clone()).file_name("a.png"),
                    )
                    .text("type", "image");
                let sent = client
                    .post(format!("http://{address}/api/media"))
                    .header("x-auth-token", &rw)
                    .multipart(form)
                    .send()
                    .await;
                let Ok(answer) = sent else { return };
                if answer.status() != 200 {
                    return;
                }
                let Ok(body) = answer.json::<Value>().await else {
                    return;
                };
                acknowledged
                    .lock()
                    .unwrap()
                    .push(body["id"].as_str().unwrap().to_owned());
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().unwrap(); // SIGKILL, uploads in flight
    child.wait().unwrap();
    for uploader in uploaders {
        let _ = uploader.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        !acknowledged.is_empty(),
        "some uploads were answered before the kill"
    );

    let (mut child, address, _, _) = start_server(&cli, &[]);
    let client = reqwest::Client::new();
    let listed: Value = client
        .get(format!("http://{address}/api/v1/content/_media?limit=1000"))
        .header("x-auth-token", &rw)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows: Vec<String> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    for id in &acknowledged {
        assert!(rows.contains(id), "acknowledged upload {id} kept");
    }
    // Every object has its file, whole.
    for id in &rows {
        let answer = client
            .get(format!("http://{address}/image/0x0/{id}.png"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "{id}");
        assert_eq!(answer.bytes().await.unwrap().to_vec(), png, "{id}");
    }
    terminate(&mut child);
}
