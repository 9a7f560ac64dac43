//! Command-line arguments with environment fallbacks: the one place configuration is read.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod keys;
pub use keys::{AccessArgs, ExpiryArgs, KeysCommand, QueriesCommand};

#[derive(Parser, Debug)]
#[command(
    name = "contentgate",
    version,
    about = "Self-hosted, Flotiq-compatible content API server"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Args, Debug, Clone)]
pub struct GlobalArgs {
    /// Folder for the SQLite database and the server secret.
    #[arg(
        long,
        env = "CONTENTGATE_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// `postgres://...` keeps the data in PostgreSQL instead of SQLite.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// Server secret; overrides `secret.key` in the data folder.
    #[arg(
        long,
        env = "CONTENTGATE_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub secret: Option<Secret>,
    /// Keep no encrypted copy of keys: a key is shown only when it is created.
    #[arg(long, env = "CONTENTGATE_SHOW_KEYS_ONCE", global = true)]
    pub show_keys_once: bool,
    /// Plans file (TOML); default `plans.toml` in the data folder, if it is there.
    #[arg(long, env = "CONTENTGATE_PLANS", global = true)]
    pub plans: Option<PathBuf>,
    /// The account a command acts on (`default` when not given); `admins create` and
    /// `admins grant` take it more than once.
    #[arg(long = "account", global = true, action = clap::ArgAction::Append)]
    pub accounts: Vec<String>,
    /// The address clients reach the server at, for the QR codes' `apiUrl` and the
    /// panel's cookies (`Secure` when https); default `http://` + the listen address.
    #[arg(long, env = "CONTENTGATE_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    /// Where media files live: `s3://bucket/prefix` for an S3-compatible bucket
    /// (endpoint, region and credentials from `AWS_ENDPOINT`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`); default the
    /// data folder's `media/`.
    #[arg(long, env = "CONTENTGATE_MEDIA_URL", global = true)]
    pub media_url: Option<String>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

impl GlobalArgs {
    /// The built-in plans and those of the plans file.
    pub fn plans(&self) -> Result<crate::quota::Plans, String> {
        match &self.plans {
            Some(path) => crate::quota::Plans::load(path, true),
            None => crate::quota::Plans::load(&self.data_dir.join("plans.toml"), false),
        }
    }

    /// The one account a command acts on.
    pub fn account(&self) -> Result<&str, String> {
        match self.accounts.as_slice() {
            [] => Ok("default"),
            [one] => Ok(one),
            _ => Err("this command acts on one account: give --account once".into()),
        }
    }

    /// `--public-url` without a trailing slash, or `http://` + `listen`.
    pub fn public_url(&self, listen: SocketAddr) -> String {
        match &self.public_url {
            Some(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
            _ => format!("http://{listen}"),
        }
    }

    /// The media store `--media-url` names.
    pub fn media_store(&self) -> Result<crate::media::MediaStore, String> {
        let url = self
            .media_url
            .as_deref()
            .filter(|url| !url.trim().is_empty());
        crate::media::MediaStore::from_url(url, self.data_dir.join("media"))
    }

    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) if !url.expose().is_empty() => url.expose().to_owned(),
            _ => crate::db::sqlite_url(&self.data_dir),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the API server (the default).
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    Accounts(AccountsCommand),
    /// Manage API keys of an account.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage the operators who sign in to the admin panel.
    #[command(subcommand)]
    Admins(AdminsCommand),
    /// Persisted GraphQL queries of an account (Apollo's APQ, and the documents an
    /// account in persisted-only mode runs).
    #[command(subcommand)]
    Queries(QueriesCommand),
    /// Media files: `media gc` removes files no media object points at.
    #[command(subcommand)]
    Media(MediaCommand),
    /// Show the audit log (key actions, plan changes, sign-ins), latest first: of one
    /// account with --account, of all without.
    Audit {
        /// Entries to show.
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// Import a `.flotiq` folder (Flotiq's export format) into the account: types,
    /// media with their files and ids, objects; running it again updates.
    Import {
        /// The folder holding `ContentType<Name>/` folders.
        dir: std::path::PathBuf,
    },
    /// Export the account to a folder (absent or empty) in Flotiq's export format.
    Export { dir: std::path::PathBuf },
    /// Print the account's GraphQL schema (SDL) of the current API, or with --legacy of /api/graphql.
    Schema {
        #[arg(long)]
        legacy: bool,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[arg(long, env = "CONTENTGATE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Load the example blog (category, author, post) into an account that has no content types.
    #[arg(long, env = "CONTENTGATE_DEMO")]
    pub demo: bool,
    /// Seconds to let in-flight requests finish after SIGINT/SIGTERM.
    #[arg(long, env = "CONTENTGATE_SHUTDOWN_TIMEOUT", default_value_t = 10)]
    pub shutdown_timeout: u64,
    /// Answer GraphQL introspection queries (GraphiQL needs them).
    #[arg(long, env = "CONTENTGATE_GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphql_introspection: bool,
    /// Minutes a panel session lives without a request.
    #[arg(long, env = "CONTENTGATE_PANEL_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=10_080))]
    pub panel_idle_minutes: u64,
    /// Hours a panel session lives at most.
    #[arg(long, env = "CONTENTGATE_PANEL_SESSION_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=720))]
    pub panel_session_hours: u64,
    /// Milliseconds between writes of each instance's request counts to the database.
    #[arg(long, env = "CONTENTGATE_QUOTA_FLUSH_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(10..=60_000))]
    pub quota_flush_ms: u64,
    /// Memory for rendered content answers kept between requests, in MiB (0: none).
    #[arg(long, env = "CONTENTGATE_RESPONSE_CACHE_MB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    pub response_cache_mb: u64,
    /// Origins whose pages may call the API: `*`, or a comma-separated list of origins
    /// and wildcard subdomains (`https://*.example.com`).
    #[arg(long, env = "CONTENTGATE_CORS_ORIGINS", default_value = "*")]
    pub cors_origins: String,
    /// Comma-separated proxies (CIDR or addresses) whose `X-Forwarded-For` names the
    /// client; without it the socket's peer is the client.
    #[arg(long, env = "CONTENTGATE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<String>,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            demo: false,
            shutdown_timeout: 10,
            graphql_introspection: true,
            quota_flush_ms: 1000,
            response_cache_mb: 64,
            panel_idle_minutes: 30,
            panel_session_hours: 12,
            cors_origins: "*".into(),
            trusted_proxies: Vec::new(),
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum AccountsCommand {
    /// Create an account with its two application keys.
    Create {
        name: String,
        /// The account's plan; default: the plans file's `default_plan` (`unlimited`).
        #[arg(long)]
        plan: Option<String>,
    },
    /// List accounts.
    List,
    /// Move an account to another plan.
    SetPlan { name: String, plan: String },
    /// `on`: the account's GraphQL endpoints run only persisted queries (stored with
    /// `queries add`, or by clients while it was `off`).
    PersistedOnly {
        name: String,
        #[arg(value_parser = ["on", "off"])]
        mode: String,
    },
    /// Requests per day over the 30-day window and the remaining allowance.
    Usage {
        /// One account; all accounts without it.
        name: Option<String>,
    },
    /// List the plans this server knows.
    Plans,
}

#[derive(Subcommand, Debug)]
pub enum MediaCommand {
    /// Remove files in the data folder's `media/` that no live `_media` object points at.
    Gc,
}

#[derive(Subcommand, Debug)]
pub enum AdminsCommand {
    /// Create an admin for the accounts given with --account (or all with --all-accounts).
    /// The password is asked without echo, or read from stdin with --password-stdin.
    Create {
        email: String,
        #[arg(long)]
        all_accounts: bool,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List admins and the accounts each manages.
    List,
    /// Delete an admin; their sessions end at once.
    Delete { email: String },
    /// Set a new password; every session of the admin ends.
    ResetPassword {
        email: String,
        #[arg(long)]
        password_stdin: bool,
    },
    /// Let an admin manage one more account (--account NAME).
    Grant { email: String },
}

/// A configuration value that must not be printed (the server secret, a database URL
/// with its password): `Debug` shows `[redacted]`, and only `expose` gives the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Secret(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let cli = Cli::parse_from([
            "contentgate",
            "--secret",
            "s3cr3t-value",
            "--database-url",
            "postgres://user:pa55word@db/x",
            "serve",
        ]);
        let printed = format!("{cli:?}");
        assert!(!printed.contains("s3cr3t-value"), "{printed}");
        assert!(!printed.contains("pa55word"), "{printed}");
        assert!(printed.contains("[redacted]"), "{printed}");
    }
}
