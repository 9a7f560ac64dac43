//! The home page: the accounts the admin may manage, each with its plan.

use axum::extract::State;
use axum::response::Response;

use super::session::SignedIn;
use super::{PanelState, error_page, html, nav, views};

pub async fn page(State(state): State<PanelState>, signed_in: SignedIn) -> Response {
    let accounts = match crate::admins::accounts_of(&state.db, &signed_in.session.admin).await {
        Ok(accounts) => accounts,
        Err(err) => return error_page(&err),
    };
    let rows: Vec<(String, String)> = accounts.into_iter().map(|a| (a.name, a.plan)).collect();
    html(views::home(
        &nav(&signed_in, None, views::Section::Home),
        &rows,
    ))
}
