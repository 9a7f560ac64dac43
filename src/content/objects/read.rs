//! Reading objects: one by id, a page with filters and ordering, and the removed list.

use entity::content_object;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, QueryFilter, QuerySelect};
use serde_json::Value;
use serde_json::value::RawValue;

use super::fields::{ObjectFields, weight};
use super::render::render_value;

use super::stored::{self, COLUMNS, StoredObject, fetch};
use super::{ListParams, MAX_LIST_LIMIT, hydrate};
use crate::auth::{Action, Principal};
use crate::content::Page;
use crate::content::definitions::TypeModel;
use crate::content::definitions::models::{Models, load};
use crate::content::scope::{live_select, push_from_by_id, push_live};
use crate::db::{Db, ReadKind, Sql};
use crate::error::{AppError, AppResult};

/// Looks up the type after the scope check, so a refusal reveals nothing about it.
pub async fn authorized_type<C: ConnectionTrait>(
    conn: &C,
    principal: &Principal,
    type_name: &str,
    actions: &[Action],
) -> AppResult<TypeModel> {
    principal.require_all(type_name, actions)?;
    Ok(load(conn, principal.account_id(), type_name)
        .await?
        .ok_or(AppError::NotFound)?
        .1)
}

pub(super) fn live(
    account_id: &str,
    type_name: &str,
    id: &str,
) -> sea_orm::Select<content_object::Entity> {
    live_select(account_id, type_name).filter(content_object::Column::ObjectId.eq(id))
}

pub(super) async fn find_live<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    type_name: &str,
    id: &str,
) -> AppResult<Option<content_object::Model>> {
    Ok(live(account_id, type_name, id).one(conn).await?)
}

/// A live object about to be deleted, row-locked on PostgreSQL (SQLite serialises all
/// writes already): a concurrent write that references it waits for the deletion
/// and then finds it gone, or the deletion waits and then finds the new reference.
pub(super) async fn find_live_for_delete<C: ConnectionTrait>(
    conn: &C,
    account_id: &str,
    type_name: &str,
    id: &str,
) -> AppResult<Option<content_object::Model>> {
    Ok(live(account_id, type_name, id)
        .lock_exclusive()
        .one(conn)
        .await?)
}

/// One object, rendered (and hydrated to `hydrate` levels) as JSON text.
pub async fn get(
    db: &Db,
    principal: &Principal,
    models: &Models,
    type_name: &str,
    id: &str,
    hydrate: u8,
) -> AppResult<Box<RawValue>> {
    models.authorized(principal, type_name, &[Action::Read])?;
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT ").push(COLUMNS);
    push_from_by_id(&mut sql);
    push_live(
        &mut sql,
        "",
        principal.account_id(),
        Some(type_name),
        &principal.read_scope(),
    );
    sql.push(" AND object_id = ").bind(id.to_owned());
    let rows = fetch(db, &sql, ReadKind::Indexed).await?;
    if rows.is_empty() {
        return Err(AppError::NotFound);
    }
    let objects = hydrate::render_hydrated(db, principal, &models.by_name, &rows, hydrate).await?;
    objects.into_iter().next().ok_or(AppError::NotFound)
}

/// A page of objects of `model`'s type, one of `models`. The caller got `model` through
/// `Models::authorized` (REST) or the account's current schema (GraphQL); the read
/// permission is checked here again all the same.
pub async fn list(
    db: &Db,
    principal: &Principal,
    model: &TypeModel,
    params: &ListParams,
) -> AppResult<Page<StoredObject>> {
    principal.require(&model.name, Action::Read)?;
    if params.ids.len() as u64 > MAX_LIST_LIMIT {
        return Err(AppError::field(
            "ids",
            format!("At most {MAX_LIST_LIMIT} ids can be asked for at once"),
        ));
    }
    let type_name = model.name.as_str();
    let scope = principal.read_scope();
    let where_clause = |sql: &mut Sql| {
        if params.ids.is_empty() {
            sql.push(" FROM content_objects WHERE ");
        } else {
            push_from_by_id(sql);
        }
        push_live(sql, "", principal.account_id(), Some(type_name), &scope);
        if !params.ids.is_empty() {
            sql.push(" AND object_id IN ").bind_list(params.ids.clone());
        }
        for condition in &params.filters {
            sql.push(" AND ");
            sql.push_condition(condition);
        }
    };
    // Filters and ordering by a property evaluate stored values (`ReadKind`).
    let kind = if params.filters.is_empty() && !params.ordering.by_property() {
        ReadKind::Indexed
    } else {
        ReadKind::Evaluating
    };
    // Unfiltered: the live count kept by the database's own triggers, read in the
    // page's own statement (one round trip less on PostgreSQL); anything else, or an
    // empty page, is counted by a statement of its own.
    let stored_count = params.filters.is_empty() && params.ids.is_empty();
    let push_stored_count = |sql: &mut Sql| {
        sql.push("(SELECT CAST(COALESCE(SUM(live), 0) AS BIGINT) FROM content_counts WHERE account_id = ")
            .bind(principal.account_id().to_owned())
            .push(" AND content_type = ")
            .bind(type_name.to_owned())
            .push(")");
    };

    let mut sql = Sql::new(db.get_database_backend());
    // The page is chosen on the index alone (no JSON read for skipped rows), then
    // only its rows are fetched.
    sql.push("SELECT ").push(COLUMNS);
    if stored_count {
        sql.push(", ");
        push_stored_count(&mut sql);
        sql.push(" AS num");
    }
    sql.push(" FROM content_objects WHERE pk IN (SELECT pk");
    where_clause(&mut sql);
    sql.push(" ORDER BY ");
    sql.push_ordering(&params.ordering);
    sql.push(" LIMIT ")
        .bind(params.limit as i64)
        .push(" OFFSET ")
        .bind(params.offset as i64)
        .push(") ORDER BY ");
    sql.push_ordering(&params.ordering);
    let (rows, counted) = stored::fetch_counted(db, &sql, kind, stored_count).await?;

    let total = match counted {
        Some(total) => total,
        None => {
            let mut sql = Sql::new(db.get_database_backend());
            if stored_count {
                sql.push("SELECT ");
                push_stored_count(&mut sql);
                sql.push(" AS num");
            } else {
                sql.push("SELECT COUNT(*) AS num");
                where_clause(&mut sql);
            }
            stored::count(db, &sql, kind).await?
        }
    };
    Ok(Page::new(rows, total, params.page, params.limit))
}

/// A page as resolvers read it (GraphQL's parents), with the weight of its objects.
pub async fn list_fields(
    db: &Db,
    principal: &Principal,
    model: &TypeModel,
    params: &ListParams,
) -> AppResult<(Page<ObjectFields>, u64)> {
    let mut page = list(db, principal, model, params).await?;
    let objects = std::mem::take(&mut page.data)
        .into_iter()
        .map(|row| ObjectFields::new(model, row))
        .collect::<AppResult<Vec<_>>>()?;
    let weight = objects.iter().map(ObjectFields::weight).sum();
    Ok((page.with_data(objects), weight))
}

/// A page as trees (the export), with the weight of its objects.
pub async fn list_values(
    db: &Db,
    principal: &Principal,
    model: &TypeModel,
    params: &ListParams,
) -> AppResult<(Page<Value>, u64)> {
    let page = list(db, principal, model, params).await?;
    let weight = page.data.iter().map(|row| weight(Some(model), row)).sum();
    let values = page
        .data
        .iter()
        .map(|row| render_value(model, row))
        .collect::<AppResult<Vec<_>>>()?;
    Ok((page.with_data(values), weight))
}

/// A page rendered for REST: each object as JSON text, hydrated to `params.hydrate`.
pub async fn list_rendered(
    db: &Db,
    principal: &Principal,
    models: &Models,
    model: &TypeModel,
    params: &ListParams,
) -> AppResult<Page<Box<RawValue>>> {
    let page = list(db, principal, model, params).await?;
    let objects =
        hydrate::render_hydrated(db, principal, &models.by_name, &page.data, params.hydrate)
            .await?;
    Ok(page.with_data(objects))
}

/// Ids of objects deleted after `deleted_after` (microseconds) that have not come back.
pub async fn removed(
    db: &DatabaseConnection,
    principal: &Principal,
    type_name: &str,
    deleted_after: Option<i64>,
) -> AppResult<Vec<String>> {
    authorized_type(db, principal, type_name, &[Action::Read, Action::Delete]).await?;
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT object_id, MAX(deleted_at) AS last FROM content_objects WHERE account_id = ")
        .bind(principal.account_id().to_owned())
        .push(" AND content_type = ")
        .bind(type_name.to_owned())
        .push(" AND deleted_at IS NOT NULL");
    if let Some(after) = deleted_after {
        sql.push(" AND deleted_at > ").bind(after);
    }
    // Objects that came back (a live one has the id again) are not removed.
    sql.push(" AND object_id NOT IN (SELECT object_id FROM content_objects WHERE ");
    push_live(
        &mut sql,
        "",
        principal.account_id(),
        Some(type_name),
        &principal.read_scope(),
    );
    sql.push(") GROUP BY object_id ORDER BY last, object_id");
    let rows = db.query_all_raw(sql.statement()).await?;
    rows.iter()
        .map(|row| Ok(row.try_get::<String>("", "object_id")?))
        .collect()
}
