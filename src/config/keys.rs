//! Arguments of the commands about API access: keys, and persisted queries.

use clap::{Args, Subcommand};

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// List the account's keys (with their expiry, limits, grace and last use).
    List,
    /// Create a user-defined key.
    Create {
        #[arg(long)]
        name: String,
        /// TYPE=LETTERS with LETTERS from c r u d, e.g. `post=r` or `_media=cru`.
        #[arg(long = "rule")]
        rules: Vec<String>,
        #[command(flatten)]
        expiry: ExpiryArgs,
        #[command(flatten)]
        access: AccessArgs,
    },
    /// Change a user-defined key: its rules (--rule or --no-rules), name, expiry or
    /// limits; what is not given stays as it is.
    Update {
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "rule", conflicts_with = "no_rules")]
        rules: Vec<String>,
        #[arg(long)]
        no_rules: bool,
        #[command(flatten)]
        expiry: ExpiryArgs,
        #[command(flatten)]
        access: AccessArgs,
    },
    /// Give a key a new secret: ID, `read_only` or `read_write`.
    Regenerate {
        key: String,
        /// Keep the old secret working this long (e.g. 1h, 7d) so deployed clients can
        /// move over; without it the old secret stops working at once.
        #[arg(long, value_parser = humantime::parse_duration)]
        grace: Option<std::time::Duration>,
    },
    /// Requests per day of one key over the 30-day window, and its last use.
    Usage { key: String },
    /// Print a key's QR code for Flotiq Mobile Expo in the terminal: ID, `read_only` or
    /// `read_write` (`{"apiKey":..,"apiUrl":"<public url>/api"}`).
    Qr { key: String },
    /// Delete a user-defined key.
    Delete { id: String },
}

/// When a user-defined key stops working.
#[derive(Args, Debug, Clone, Default)]
pub struct ExpiryArgs {
    /// The key stops working this long from now (e.g. 30d, 12h).
    #[arg(long, value_parser = humantime::parse_duration, conflicts_with_all = ["expires_at", "no_expiry"])]
    pub expires_in: Option<std::time::Duration>,
    /// The key stops working at this time (RFC 3339, e.g. 2027-01-31T00:00:00Z).
    #[arg(long, value_parser = parse_rfc3339, conflicts_with = "no_expiry")]
    pub expires_at: Option<i64>,
    /// The key never expires (the default for a new key).
    #[arg(long)]
    pub no_expiry: bool,
}

/// Where a user-defined key may be used from.
#[derive(Args, Debug, Clone, Default)]
pub struct AccessArgs {
    /// An origin browsers may use the key from (`https://app.example.com`,
    /// `https://*.example.com`); repeat for more. Requests without `Origin` pass.
    #[arg(long = "origin", conflicts_with = "any_origin")]
    pub origins: Vec<String>,
    /// A client network (CIDR, or one address) the key may be used from; repeat for more.
    #[arg(long = "network", conflicts_with = "any_network")]
    pub networks: Vec<String>,
    /// Remove the key's origin list (any origin).
    #[arg(long)]
    pub any_origin: bool,
    /// Remove the key's network list (any client address).
    #[arg(long)]
    pub any_network: bool,
}

/// Microseconds since the epoch of an RFC 3339 time.
fn parse_rfc3339(text: &str) -> Result<i64, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_micros())
        .map_err(|_| format!("'{text}' is not an RFC 3339 time such as 2027-01-31T00:00:00Z"))
}

#[derive(Subcommand, Debug)]
pub enum QueriesCommand {
    /// Store GraphQL documents (one per file) for the account; prints each one's hash.
    Add { files: Vec<std::path::PathBuf> },
    /// List the hashes the account stores.
    List,
}
