//! `GET /api/auth-context`: what the presented key is (never the key itself), its rules
//! and limits, and the account's plan with what remains of its allowance.

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use super::RestState;
use crate::auth::Principal;
use crate::error::AppResult;
use crate::quota::AllowanceSlot;

pub fn router() -> Router<RestState> {
    Router::new().route("/api/auth-context", get(handle))
}

async fn handle(
    State(state): State<RestState>,
    principal: Principal,
    Extension(slot): Extension<AllowanceSlot>,
) -> AppResult<Json<Value>> {
    let context = state.key_context(&principal).await?;
    let key = &context.key;
    let plan = state.quota.plan(&context.plan);
    Ok(Json(json!({
        "account": context.account,
        "key": {
            "id": key.id,
            "name": key.name,
            "kind": key.kind,
            "rules": key.rules,
            "expires_at": key.expires_at,
            "origins": key.origins,
            "networks": key.networks,
        },
        "plan": {
            "name": context.plan,
            "requests_per_30_days": plan.and_then(|p| p.requests_per_30_days),
            // As admission left it for this request (`None` without a quota).
            "remaining": slot.get().map(|allowance| allowance.remaining),
        },
    })))
}
