//! `contentgate keys ...`: the account's keys, through the same key service as the panel.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use super::{Failure, account_id, open, print_json};
use crate::audit::Actor;
use crate::auth::Perms;
use crate::auth::keys::KeyRef;
use crate::config::{GlobalArgs, KeysCommand};

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

pub(super) async fn run(global: &GlobalArgs, command: KeysCommand) -> Result<(), Failure> {
    // Parse before opening anything, so bad arguments change nothing.
    let rules = match &command {
        KeysCommand::Create { rules, .. } | KeysCommand::Update { rules, .. } => {
            parse_rules(rules)?
        }
        _ => BTreeMap::new(),
    };
    let (keys, plans) = open(global).await?;
    let account = account_id(&keys, global).await?;
    let actor = Actor::cli();
    match command {
        KeysCommand::List => print_json(global, &keys.list(&account).await?),
        KeysCommand::Create { name, .. } => print_json(
            global,
            &keys
                .create_user_key(&actor, &account, &name, &rules, &plans)
                .await?,
        ),
        KeysCommand::Update { id, name, .. } => print_json(
            global,
            &keys
                .update_rules(&actor, &account, &id, name.as_deref(), &rules)
                .await?,
        ),
        KeysCommand::Regenerate { key } => print_json(
            global,
            &keys
                .regenerate(&actor, &account, KeyRef::parse(key))
                .await?,
        ),
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
