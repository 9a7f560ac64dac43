//! `contentgate keys ...`: the account's keys, through the same key service as the panel.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::{Failure, account_id, open, print_json};
use crate::audit::Actor;
use crate::auth::Perms;
use crate::auth::access::KeyAccess;
use crate::auth::keys::{KeyChange, KeyLimits, KeyRef, KeyView};
use crate::config::{AccessArgs, ExpiryArgs, GlobalArgs, KeysCommand};

/// Where `serve` listens by default: the QR code's `apiUrl` when no --public-url is given.
const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// `TYPE=LETTERS` with LETTERS from `c r u d`.
fn parse_rules(specs: &[String]) -> Result<BTreeMap<String, Perms>, Failure> {
    let mut rules = BTreeMap::new();
    for spec in specs {
        let bad = || {
            Failure(
                format!(
                    "invalid rule '{spec}': expected TYPE=LETTERS with LETTERS from c, r, u, d (e.g. post=r)"
                ),
                2,
            )
        };
        let (type_name, letters) = spec.split_once('=').ok_or_else(bad)?;
        if type_name.is_empty()
            || !type_name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_')
            || letters.is_empty()
        {
            return Err(bad());
        }
        let mut perms = Perms::default();
        for letter in letters.chars() {
            match letter {
                'c' => perms.create = true,
                'r' => perms.read = true,
                'u' => perms.update = true,
                'd' => perms.delete = true,
                _ => return Err(bad()),
            }
        }
        if rules.insert(type_name.to_owned(), perms).is_some() {
            return Err(Failure(
                format!("content type {type_name} has more than one rule"),
                2,
            ));
        }
    }
    Ok(rules)
}

/// `--expires-in`, `--expires-at`, `--no-expiry` as a change: `None` when none is given.
fn expiry_change(args: &ExpiryArgs) -> Option<Option<i64>> {
    if let Some(span) = args.expires_in {
        let micros = i64::try_from(span.as_micros()).unwrap_or(i64::MAX);
        return Some(Some(crate::db::now_micros().saturating_add(micros)));
    }
    if let Some(at) = args.expires_at {
        return Some(Some(at));
    }
    args.no_expiry.then_some(None)
}

/// The key's new origins and networks: those given replace, `--any-*` clear, the rest
/// stay as `current` holds them.
fn access_change(args: &AccessArgs, current: &KeyView) -> Result<Option<KeyAccess>, Failure> {
    let origins_given = !args.origins.is_empty() || args.any_origin;
    let networks_given = !args.networks.is_empty() || args.any_network;
    if !origins_given && !networks_given {
        return Ok(None);
    }
    let origins = if origins_given {
        &args.origins
    } else {
        &current.origins
    };
    let networks = if networks_given {
        &args.networks
    } else {
        &current.networks
    };
    Ok(Some(KeyAccess::parse(origins, networks)?))
}

pub(super) async fn run(global: &GlobalArgs, command: KeysCommand) -> Result<(), Failure> {
    // Parse before opening anything, so bad arguments change nothing.
    let rules = match &command {
        KeysCommand::Create { rules, .. } | KeysCommand::Update { rules, .. } => {
            parse_rules(rules)?
        }
        _ => BTreeMap::new(),
    };
    if let KeysCommand::Create { access, .. } | KeysCommand::Update { access, .. } = &command {
        KeyAccess::parse(&access.origins, &access.networks)?;
    }
    let (keys, plans) = open(global).await?;
    let account = account_id(&keys, global).await?;
    let actor = Actor::cli();
    match command {
        KeysCommand::List => print_json(global, &keys.list(&account).await?),
        KeysCommand::Create {
            name,
            expiry,
            access,
            ..
        } => {
            let limits = KeyLimits {
                expires_at: expiry_change(&expiry).flatten(),
                access: KeyAccess::parse(&access.origins, &access.networks)?,
            };
            let view = keys
                .create_user_key(&actor, &account, &name, &rules, &limits, &plans)
                .await?;
            print_json(global, &view)
        }
        KeysCommand::Update {
            id,
            name,
            no_rules,
            expiry,
            access,
            ..
        } => {
            // `read_only`/`read_write` name the application keys, refused below.
            let current = keys.get(&account, KeyRef::parse(id)).await?;
            let change = KeyChange {
                name,
                rules: (no_rules || !rules.is_empty()).then_some(rules),
                expires_at: expiry_change(&expiry),
                access: access_change(&access, &current)?,
            };
            if change.name.is_none()
                && change.rules.is_none()
                && change.expires_at.is_none()
                && change.access.is_none()
            {
                return Err(Failure(
                    "nothing to change: give --name, --rule/--no-rules, an expiry or limits".into(),
                    2,
                ));
            }
            print_json(
                global,
                &keys.update(&actor, &account, &current.id, &change).await?,
            )
        }
        KeysCommand::Regenerate { key, grace } => print_json(
            global,
            &keys
                .regenerate(&actor, &account, KeyRef::parse(key), grace)
                .await?,
        ),
        KeysCommand::Usage { key } => {
            let view = keys.get(&account, KeyRef::parse(key)).await?;
            let today = crate::quota::usage::utc_day_and_second().0;
            let days = crate::quota::key_use::days_of(&keys.db, &view.id, today)
                .await
                .map_err(crate::error::AppError::from)?;
            if global.json {
                print_json(
                    global,
                    &serde_json::json!({"id": view.id, "name": view.name,
                        "last_used_at": view.last_used_at, "days": days}),
                );
            } else {
                let total: u64 = days.iter().map(|d| d.requests).sum();
                let last = view.last_used_at.as_deref().unwrap_or("never");
                println!(
                    "{} ({}): {total} requests in the last 30 days, last used {last}",
                    view.name, view.id
                );
                for day in &days {
                    println!("  {}\t{}", day.day, day.requests);
                }
            }
        }
        KeysCommand::Qr { key } => {
            let view = keys.get(&account, KeyRef::parse(key)).await?;
            let secret = view.key.ok_or_else(|| {
                Failure(
                    "this server keeps no copy of keys (--show-keys-once): regenerate the key to see it".into(),
                    1,
                )
            })?;
            let payload = crate::qr::payload(&secret, &global.public_url(DEFAULT_LISTEN));
            println!("{}", crate::qr::terminal(&payload));
            println!(
                "{} ({}) for {}",
                view.name,
                view.kind,
                global.public_url(DEFAULT_LISTEN)
            );
        }
        KeysCommand::Delete { id } => {
            keys.delete(&actor, &account, &id).await?;
            if global.json {
                print_json(global, &serde_json::json!({"deleted": id}));
            } else {
                println!("deleted key {id}");
            }
        }
    }
    Ok(())
}
