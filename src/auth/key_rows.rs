//! What the key service writes beside a key and shows of it: its rules, its audit
//! entries, and the view the command line and the panel print.

use std::collections::BTreeMap;

use entity::{api_key, key_rule};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;

use super::access::KeyAccess;
use super::{ApiToken, KeyKind, Perms};
use crate::audit::{self, Action, Actor};
use crate::error::{AppError, AppResult};
use crate::time::format_iso;

#[derive(Debug, Clone, Serialize)]
pub struct RuleView {
    pub content_type: String,
    pub create: bool,
    pub read: bool,
    pub update: bool,
    pub delete: bool,
}

/// A key as the command line prints it. `key` is `None` for show-once keys.
#[derive(Debug, Clone, Serialize)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    pub kind: &'static str,
    pub key: Option<String>,
    pub rules: Vec<RuleView>,
    pub created_at: String,
    /// When the key stops working; `None`: never.
    pub expires_at: Option<String>,
    /// Until when the secret before the last rotation still works (a key in grace).
    pub previous_valid_until: Option<String>,
    /// Allowed origins and client networks; empty: any.
    pub origins: Vec<String>,
    pub networks: Vec<String>,
    /// The last request made with the key, as of the last quota flush.
    pub last_used_at: Option<String>,
}

/// Flotiq's internal types (media library and tags).
pub(super) const INTERNAL_TYPES: [&str; 2] = ["_media", "_tag"];

pub(super) fn checked_name(name: &str) -> AppResult<&str> {
    let name = name.trim();
    if name.is_empty() {
        return Err(AppError::field("name", "The property name is required"));
    }
    if name.chars().count() > 100 {
        return Err(AppError::field(
            "name",
            "The name may have at most 100 characters",
        ));
    }
    Ok(name)
}

/// The audit entry of a key action: the key's name and id, never its secret.
pub(super) async fn record<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: Action,
    key: &api_key::Model,
) -> AppResult<()> {
    let subject = format!("{} ({})", key.name, key.id);
    audit::record(conn, Some(&key.account_id), actor, action, &subject).await?;
    Ok(())
}

pub(super) async fn replace_rules<C: ConnectionTrait>(
    conn: &C,
    key: &api_key::Model,
    rules: &BTreeMap<String, Perms>,
) -> AppResult<()> {
    key_rule::Entity::delete_many()
        .filter(key_rule::Column::KeyId.eq(&key.id))
        .exec(conn)
        .await?;
    for (content_type, perms) in rules {
        key_rule::ActiveModel {
            key_id: Set(key.id.clone()),
            account_id: Set(key.account_id.clone()),
            content_type: Set(content_type.clone()),
            can_create: Set(perms.create),
            can_read: Set(perms.read),
            can_update: Set(perms.update),
            can_delete: Set(perms.delete),
            ..Default::default()
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

pub(super) fn view(
    key: &api_key::Model,
    secret: Option<&ApiToken>,
    rules: Vec<key_rule::Model>,
) -> KeyView {
    let access = KeyAccess::from_columns(&key.origins, &key.networks);
    KeyView {
        id: key.id.clone(),
        name: key.name.clone(),
        kind: KeyKind::parse(&key.kind).map_or("user", KeyKind::as_str),
        key: secret.map(|t| t.expose().to_owned()),
        rules: rules
            .into_iter()
            .map(|r| RuleView {
                content_type: r.content_type,
                create: r.can_create,
                read: r.can_read,
                update: r.can_update,
                delete: r.can_delete,
            })
            .collect(),
        created_at: format_iso(key.created_at),
        expires_at: key.expires_at.map(format_iso),
        previous_valid_until: key
            .previous_until
            .filter(|until| *until > crate::db::now_micros())
            .map(format_iso),
        origins: access.origin_texts(),
        networks: access.network_texts(),
        last_used_at: key.last_used_at.map(format_iso),
    }
}

/// How far ahead an expiry may lie (further is "never": `--no-expiry`).
const MAX_EXPIRY_MICROS: i64 = 100 * 366 * 86_400 * 1_000_000;

/// An expiry given to a key must lie ahead, and within 100 years.
pub(super) fn check_expiry(expires_at: Option<i64>) -> AppResult<()> {
    let now = crate::db::now_micros();
    match expires_at {
        Some(at) if at <= now => Err(AppError::field(
            "expires_at",
            "The expiry must lie in the future",
        )),
        Some(at) if at - now > MAX_EXPIRY_MICROS => Err(AppError::field(
            "expires_at",
            "The expiry must lie within 100 years (or give none)",
        )),
        _ => Ok(()),
    }
}

/// The same minute: the panel shows and sends back expiries to the minute, so an
/// unchanged card keeps the stored second (and an expired key can still be saved).
pub(super) fn same_minute(a: Option<i64>, b: Option<i64>) -> bool {
    const MINUTE: i64 = 60_000_000;
    match (a, b) {
        (Some(a), Some(b)) => a.div_euclid(MINUTE) == b.div_euclid(MINUTE),
        (a, b) => a == b,
    }
}
