//! Panel sessions, kept in the database so that any instance serves them and ending
//! one (sign-out, `admins delete`, a password reset) ends it everywhere on the next
//! request. The cookie carries 32 random bytes; the table holds their SHA-256 only.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entity::{admin, admin_session};
use rand::RngCore;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    Set,
};
use sha2::{Digest, Sha256};

use crate::db::now_micros;
use crate::error::AppResult;

/// How long a session lives without a request, and at most.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub idle: Duration,
    pub absolute: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            idle: Duration::from_secs(30 * 60),
            absolute: Duration::from_secs(12 * 3600),
        }
    }
}

/// A session just opened: the cookie's value (shown to the browser only) and its CSRF
/// token.
pub struct Opened {
    pub cookie: String,
    pub csrf: String,
}

/// A live session and its admin.
#[derive(Debug, Clone)]
pub struct Session {
    pub digest: String,
    pub admin: admin::Model,
    pub csrf: String,
    pub flash: Option<String>,
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(cookie: &str) -> String {
    format!("{:x}", Sha256::digest(cookie.as_bytes()))
}

pub async fn open(db: &DatabaseConnection, admin_id: &str) -> AppResult<Opened> {
    let cookie = random_token();
    let csrf = random_token();
    let now = now_micros();
    admin_session::ActiveModel {
        digest: Set(digest(&cookie)),
        admin_id: Set(admin_id.to_owned()),
        csrf: Set(csrf.clone()),
        created_at: Set(now),
        seen_at: Set(now),
        flash: Set(None),
    }
    .insert(db)
    .await?;
    Ok(Opened { cookie, csrf })
}

/// The session behind a cookie, if it is live; an expired one is removed. A request
/// moves the idle clock (written at most once a minute, to keep reads cheap).
pub async fn find(
    db: &DatabaseConnection,
    cookie: &str,
    timeouts: Timeouts,
) -> AppResult<Option<Session>> {
    let digest = digest(cookie);
    let Some(row) = admin_session::Entity::find_by_id(digest.clone())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let Some(admin) = admin::Entity::find_by_id(row.admin_id.clone())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = now_micros();
    let micros = |d: Duration| d.as_micros() as i64;
    let expired = now - row.seen_at > micros(timeouts.idle)
        || now - row.created_at > micros(timeouts.absolute);
    if expired {
        admin_session::Entity::delete_by_id(digest).exec(db).await?;
        return Ok(None);
    }
    if now - row.seen_at > 60_000_000 {
        admin_session::Entity::update_many()
            .col_expr(admin_session::Column::SeenAt, now.into())
            .filter(admin_session::Column::Digest.eq(&digest))
            .exec(db)
            .await?;
    }
    Ok(Some(Session {
        digest,
        admin,
        csrf: row.csrf,
        flash: row.flash,
    }))
}

/// Removes every session past its timeouts (those nobody came back to), so the table
/// holds live sessions only; run at each sign-in.
pub async fn prune(db: &DatabaseConnection, timeouts: Timeouts) -> AppResult<()> {
    let now = now_micros();
    let micros = |d: Duration| d.as_micros() as i64;
    admin_session::Entity::delete_many()
        .filter(
            sea_orm::Condition::any()
                .add(admin_session::Column::SeenAt.lt(now - micros(timeouts.idle)))
                .add(admin_session::Column::CreatedAt.lt(now - micros(timeouts.absolute))),
        )
        .exec(db)
        .await?;
    Ok(())
}

pub async fn end(db: &DatabaseConnection, session: &Session) -> AppResult<()> {
    admin_session::Entity::delete_by_id(session.digest.clone())
        .exec(db)
        .await?;
    Ok(())
}

pub async fn end_all<C: ConnectionTrait>(conn: &C, admin_id: &str) -> AppResult<()> {
    admin_session::Entity::delete_many()
        .filter(admin_session::Column::AdminId.eq(admin_id))
        .exec(conn)
        .await?;
    Ok(())
}

/// Keeps `flash` (already sealed by the caller) for the session's next page, or clears it.
pub async fn set_flash(
    db: &DatabaseConnection,
    session: &Session,
    flash: Option<String>,
) -> AppResult<()> {
    admin_session::Entity::update_many()
        .col_expr(admin_session::Column::Flash, flash.into())
        .filter(admin_session::Column::Digest.eq(&session.digest))
        .exec(db)
        .await?;
    Ok(())
}
