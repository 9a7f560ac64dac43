//! The audit log: every key action (create, rules change, regenerate, delete), every
//! plan change and every sign-in, with who did it, when and from where. Written in the
//! same transaction as the change it records; it never holds a key.

use entity::audit_entry;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;

use crate::db::now_micros;
use crate::time::format_iso;

/// Who acts: an admin of the panel (by email) or the command line, and from where.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub client: String,
}

impl Actor {
    pub fn cli() -> Self {
        Actor {
            name: "cli".into(),
            client: "local".into(),
        }
    }

    pub fn admin(email: &str, client: &str) -> Self {
        Actor {
            name: email.to_owned(),
            client: client.to_owned(),
        }
    }
}

/// What was done; the log stores `as_str`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    KeyCreate,
    KeyUpdate,
    KeyRegenerate,
    KeyDelete,
    PlanChange,
    SignIn,
    SignInFailed,
    SignOut,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::KeyCreate => "key.create",
            Action::KeyUpdate => "key.update",
            Action::KeyRegenerate => "key.regenerate",
            Action::KeyDelete => "key.delete",
            Action::PlanChange => "plan.change",
            Action::SignIn => "sign-in",
            Action::SignInFailed => "sign-in.failed",
            Action::SignOut => "sign-out",
        }
    }
}

pub async fn record<C: ConnectionTrait>(
    conn: &C,
    account_id: Option<&str>,
    actor: &Actor,
    action: Action,
    subject: &str,
) -> Result<(), DbErr> {
    audit_entry::ActiveModel {
        account_id: Set(account_id.map(str::to_owned)),
        actor: Set(actor.name.clone()),
        action: Set(action.as_str().to_owned()),
        subject: Set(subject.to_owned()),
        client: Set(actor.client.clone()),
        at: Set(now_micros()),
        ..Default::default()
    }
    .insert(conn)
    .await
    .map(drop)
}

#[derive(Debug, Clone, Serialize)]
pub struct EntryView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub client: String,
}

/// One page of entries, latest first (of one account, or of all with `None`), and the
/// number of entries in all.
pub async fn page<C: ConnectionTrait>(
    conn: &C,
    account_id: Option<&str>,
    page: u64,
    per_page: u64,
) -> Result<(Vec<EntryView>, u64), DbErr> {
    let mut query = audit_entry::Entity::find();
    if let Some(account_id) = account_id {
        query = query.filter(audit_entry::Column::AccountId.eq(account_id));
    }
    let total = query.clone().count(conn).await?;
    let entries = query
        .order_by_desc(audit_entry::Column::Id)
        .offset(
            page.saturating_sub(1)
                .saturating_mul(per_page)
                .min(i64::MAX as u64),
        )
        .limit(per_page)
        .all(conn)
        .await?;
    let views = entries
        .into_iter()
        .map(|e| EntryView {
            at: format_iso(e.at),
            actor: e.actor,
            action: e.action,
            subject: e.subject,
            client: e.client,
        })
        .collect();
    Ok((views, total))
}
