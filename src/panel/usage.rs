//! The Usage page and plan changes, and the Content types page.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use entity::{api_key, content_type};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

use super::form::Form;
use super::session::SignedIn;
use super::views::{self, Section};
use super::{PanelState, error_page, forbidden, html, managed, nav};
use crate::auth::KeyKind;
use crate::auth::keys::KeyRef;
use crate::error::AppResult;
use crate::quota::usage::{self, SECONDS_PER_DAY, utc_day_and_second, window_start};
use crate::time::format_iso;

pub async fn page(
    State(state): State<PanelState>,
    signed_in: SignedIn,
    Path(name): Path<String>,
) -> Response {
    let account = match managed(&state, &signed_in, &name).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    match usage_page(&state, &signed_in, &account).await {
        Ok(page) => html(views::usage_page(
            &nav(&signed_in, Some(&account.name), Section::Usage),
            &page,
        )),
        Err(err) => error_page(&err),
    }
}

async fn usage_page(
    state: &PanelState,
    signed_in: &SignedIn,
    account: &entity::account::Model,
) -> AppResult<views::UsagePage> {
    let report = usage::report(&state.db, &state.plans, account).await?;
    let (today, _) = utc_day_and_second();
    let days = (window_start(today)..=today)
        .map(|day| {
            let date: String = format_iso(day * SECONDS_PER_DAY * 1_000_000)
                .chars()
                .take(10)
                .collect();
            let n = report
                .days
                .iter()
                .find(|d| d.day == date)
                .map_or(0, |d| d.requests);
            (date, n)
        })
        .collect();
    let user_keys = api_key::Entity::find()
        .filter(api_key::Column::AccountId.eq(&account.id))
        .filter(api_key::Column::Kind.eq(KeyKind::User.as_str()))
        .count(&state.db)
        .await?;
    let plans = signed_in
        .session
        .admin
        .all_accounts
        .then(|| state.plans.all().map(|p| p.name.clone()).collect());
    Ok(views::UsagePage {
        days,
        user_keys,
        max_user_keys: state.plans.get(&account.plan).and_then(|p| p.max_user_keys),
        plans,
        report,
    })
}

/// Only admins of all accounts change plans (a plan is what the operator sells).
pub async fn set_plan(
    State(state): State<PanelState>,
    signed_in: SignedIn,
    Path(name): Path<String>,
    form: Form,
) -> Response {
    if !signed_in.session.admin.all_accounts {
        return forbidden();
    }
    let account = match super::posted_to(&state, &signed_in, &name, &form).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    let plan = match state.plans.require(form.get("plan").unwrap_or_default()) {
        Ok(plan) => plan,
        Err(message) => return error_page(&crate::error::AppError::BadRequest(message)),
    };
    let changed =
        crate::accounts::set_plan(&state.keys, &signed_in.actor(), &account.name, &plan.name).await;
    match changed {
        Ok(_) => Redirect::to(&format!("/panel/accounts/{}/usage", account.name)).into_response(),
        Err(err) => error_page(&err),
    }
}

pub async fn types(
    State(state): State<PanelState>,
    signed_in: SignedIn,
    Path(name): Path<String>,
) -> Response {
    let account = match managed(&state, &signed_in, &name).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    match types_page(&state, &account).await {
        Ok(page) => html(views::types_page(
            &nav(&signed_in, Some(&account.name), Section::Types),
            &page,
        )),
        Err(err) => error_page(&err),
    }
}

async fn types_page(
    state: &PanelState,
    account: &entity::account::Model,
) -> AppResult<views::TypesPage> {
    let rows = content_type::Entity::find()
        .filter(content_type::Column::AccountId.eq(&account.id))
        .order_by_asc(content_type::Column::CreatedAt)
        .all(&state.db)
        .await?;
    let operator = crate::auth::Principal::operator(&account.id);
    let counts = crate::content::object_counts(&state.db, &operator).await?;
    let models = crate::content::models::models_in_order(&state.db, &account.id).await?;
    let types = rows
        .iter()
        .map(|row| views::TypeRow {
            name: row.name.clone(),
            label: type_label(row),
            properties: models
                .iter()
                .find(|m| m.name == row.name)
                .map_or(0, |m| m.properties.len()),
            objects: counts.get(&row.name).copied().unwrap_or(0),
        })
        .collect();
    let read_only = state
        .keys
        .get(&account.id, KeyRef::Application(KeyKind::ReadOnly))
        .await?;
    let public: Vec<_> = models
        .into_iter()
        .filter(|m| !m.name.starts_with('_'))
        .collect();
    Ok(views::TypesPage {
        types,
        read_only_key: read_only.key,
        first_query: crate::graphql::first_query(&public),
    })
}

/// How a type appears in the panel: its label, internal types marked as such.
pub fn type_label(row: &content_type::Model) -> String {
    if row.is_internal {
        format!("{} (internal)", row.label)
    } else {
        row.label.clone()
    }
}
