//! Operators of the admin panel: who they are, which accounts each may manage, and
//! signing in (password check and throttling). The command line and the panel both
//! come here; no HTTP knowledge lives in this module.

pub mod password;
pub mod sessions;
pub mod throttle;

use entity::{account, admin, admin_account, admin_session};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, Set,
};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::audit::{self, Action, Actor};
use crate::db::now_micros;
use crate::error::{AppError, AppResult};
use crate::time::format_iso;

/// Which accounts an admin may manage.
#[derive(Debug, Clone)]
pub enum Grants {
    All,
    Accounts(Vec<String>),
}

#[derive(Debug, Clone, Serialize)]
pub struct AdminView {
    pub email: String,
    pub all_accounts: bool,
    /// Account names (empty for `all_accounts`).
    pub accounts: Vec<String>,
    pub created_at: String,
}

/// Emails are compared lowercased and trimmed; anything without one `@` between two
/// non-empty parts is refused.
pub fn normalize_email(email: &str) -> AppResult<String> {
    let email = email.trim().to_lowercase();
    let valid = email
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && !host.is_empty() && !host.contains('@'))
        && !email.chars().any(char::is_whitespace)
        && email.len() <= 254;
    if !valid {
        return Err(AppError::field("email", "Invalid email address"));
    }
    Ok(email)
}

pub async fn find(db: &DatabaseConnection, email: &str) -> AppResult<Option<admin::Model>> {
    let email = normalize_email(email)?;
    Ok(admin::Entity::find()
        .filter(admin::Column::Email.eq(email))
        .one(db)
        .await?)
}

async fn require(db: &DatabaseConnection, email: &str) -> AppResult<admin::Model> {
    find(db, email).await?.ok_or(AppError::NotFound)
}

/// Creates an admin; `grants` names accounts by name (each must exist).
pub async fn create(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
    grants: &Grants,
) -> AppResult<AdminView> {
    let email = normalize_email(email)?;
    password::check_strength(password)?;
    if find(db, &email).await?.is_some() {
        return Err(AppError::field("email", "This value is already used"));
    }
    let account_ids = match grants {
        Grants::All => Vec::new(),
        Grants::Accounts(names) => account_ids(db, names).await?,
    };
    let hash = password::hash(password.to_owned()).await?;
    let txn = crate::db::begin_write(db).await?;
    let model = admin::ActiveModel {
        id: Set(uuid::Uuid::new_v4().to_string()),
        email: Set(email.clone()),
        password_hash: Set(hash),
        all_accounts: Set(matches!(grants, Grants::All)),
        created_at: Set(now_micros()),
    }
    .insert(&txn)
    .await?;
    for account_id in account_ids {
        grant_row(&txn, &model.id, &account_id).await?;
    }
    crate::db::commit(db, txn).await?;
    view(db, model).await
}

async fn account_ids(db: &DatabaseConnection, names: &[String]) -> AppResult<Vec<String>> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        let found = account::Entity::find()
            .filter(account::Column::Name.eq(name))
            .one(db)
            .await?
            .ok_or_else(|| AppError::field("account", format!("No account named {name}")))?;
        ids.push(found.id);
    }
    Ok(ids)
}

async fn grant_row<C: sea_orm::ConnectionTrait>(
    conn: &C,
    admin_id: &str,
    account_id: &str,
) -> AppResult<()> {
    let exists = admin_account::Entity::find_by_id((admin_id.to_owned(), account_id.to_owned()))
        .one(conn)
        .await?
        .is_some();
    if !exists {
        admin_account::ActiveModel {
            admin_id: Set(admin_id.to_owned()),
            account_id: Set(account_id.to_owned()),
        }
        .insert(conn)
        .await?;
    }
    Ok(())
}

pub async fn grant(db: &DatabaseConnection, email: &str, account: &str) -> AppResult<AdminView> {
    let model = require(db, email).await?;
    let ids = account_ids(db, &[account.to_owned()]).await?;
    grant_row(db, &model.id, &ids[0]).await?;
    view(db, model).await
}

pub async fn list(db: &DatabaseConnection) -> AppResult<Vec<AdminView>> {
    let admins = admin::Entity::find()
        .order_by_asc(admin::Column::Email)
        .all(db)
        .await?;
    let mut views = Vec::with_capacity(admins.len());
    for model in admins {
        views.push(view(db, model).await?);
    }
    Ok(views)
}

/// Deletes an admin; their sessions end with them.
pub async fn delete(db: &DatabaseConnection, email: &str) -> AppResult<()> {
    let model = require(db, email).await?;
    let txn = crate::db::begin_write(db).await?;
    sessions::end_all(&txn, &model.id).await?;
    admin_account::Entity::delete_many()
        .filter(admin_account::Column::AdminId.eq(&model.id))
        .exec(&txn)
        .await?;
    admin::Entity::delete_by_id(model.id).exec(&txn).await?;
    crate::db::commit(db, txn).await?;
    Ok(())
}

/// Sets a new password and ends every session of the admin, on every instance.
pub async fn reset_password(db: &DatabaseConnection, email: &str, password: &str) -> AppResult<()> {
    password::check_strength(password)?;
    let model = require(db, email).await?;
    let hash = password::hash(password.to_owned()).await?;
    let txn = crate::db::begin_write(db).await?;
    sessions::end_all(&txn, &model.id).await?;
    let mut active: admin::ActiveModel = model.into();
    active.password_hash = Set(hash);
    active.update(&txn).await?;
    crate::db::commit(db, txn).await?;
    Ok(())
}

/// The accounts `admin` may manage, oldest first.
pub async fn accounts_of(
    db: &DatabaseConnection,
    admin: &admin::Model,
) -> AppResult<Vec<account::Model>> {
    let mut query = account::Entity::find().order_by_asc(account::Column::CreatedAt);
    if !admin.all_accounts {
        let granted: Vec<String> = admin_account::Entity::find()
            .filter(admin_account::Column::AdminId.eq(&admin.id))
            .all(db)
            .await?
            .into_iter()
            .map(|g| g.account_id)
            .collect();
        query = query.filter(account::Column::Id.is_in(granted));
    }
    Ok(query.all(db).await?)
}

/// The account named `name`, if `admin` may manage it; any other case is `NotFound`,
/// so that the panel does not tell which accounts exist.
pub async fn managed_account(
    db: &DatabaseConnection,
    admin: &admin::Model,
    name: &str,
) -> AppResult<account::Model> {
    let found = account::Entity::find()
        .filter(account::Column::Name.eq(name))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    if admin.all_accounts {
        return Ok(found);
    }
    admin_account::Entity::find_by_id((admin.id.clone(), found.id.clone()))
        .one(db)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(found)
}

/// Why a sign-in was refused. The two cases are all a client learns: neither says
/// whether the email belongs to an admin.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInRefusal {
    Invalid,
    /// Too many failures in a row for this email or this address: wait this many seconds.
    Throttled(u64),
}

/// Checks an email and password from `client`, throttled per email and per address,
/// records the attempt in the audit log, and opens a session when it succeeds.
pub async fn sign_in(
    db: &DatabaseConnection,
    email: &str,
    password: &str,
    client: &str,
) -> AppResult<Result<(admin::Model, sessions::Opened), SignInRefusal>> {
    // Whatever was typed is kept as a digest only (people type passwords into the email
    // field, and it may be of any length); a malformed email finds no admin.
    let email = normalize_email(email).ok();
    let typed = format!(
        "email:{:x}",
        Sha256::digest(email.as_deref().unwrap_or("-").as_bytes())
    );
    let subjects = [typed, format!("addr:{client}")];
    if let Some(wait) = throttle::claim(db, &subjects).await? {
        return Ok(Err(SignInRefusal::Throttled(wait)));
    }
    let found = match &email {
        Some(email) => {
            admin::Entity::find()
                .filter(admin::Column::Email.eq(email))
                .one(db)
                .await?
        }
        None => None,
    };
    let stored = found.as_ref().map(|a| a.password_hash.clone());
    match found {
        Some(found) if password::verify(password.to_owned(), stored).await => {
            throttle::clear(db, &subjects).await?;
            let opened = sessions::open(db, &found.id).await?;
            let actor = Actor::admin(&found.email, client);
            audit::record(db, None, &actor, Action::SignIn, &found.email).await?;
            Ok(Ok((found, opened)))
        }
        other => {
            if other.is_none() {
                // The same work as a wrong password, so timing tells nothing either.
                password::verify(password.to_owned(), None).await;
            }
            // An admin's email is recorded; anything else typed is not.
            let name = other.map_or_else(|| "(unknown email)".to_owned(), |a| a.email);
            let actor = Actor::admin(&name, client);
            audit::record(db, None, &actor, Action::SignInFailed, &name).await?;
            Ok(Err(SignInRefusal::Invalid))
        }
    }
}

async fn view(db: &DatabaseConnection, model: admin::Model) -> AppResult<AdminView> {
    let accounts = if model.all_accounts {
        Vec::new()
    } else {
        accounts_of(db, &model)
            .await?
            .into_iter()
            .map(|a| a.name)
            .collect()
    };
    Ok(AdminView {
        email: model.email,
        all_accounts: model.all_accounts,
        accounts,
        created_at: format_iso(model.created_at),
    })
}

/// Sessions of an admin, for tests and the command line's reports.
pub async fn session_count(db: &DatabaseConnection, email: &str) -> AppResult<usize> {
    let model = require(db, email).await?;
    Ok(admin_session::Entity::find()
        .filter(admin_session::Column::AdminId.eq(model.id))
        .all(db)
        .await?
        .len())
}
