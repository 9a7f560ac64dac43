//! The API Keys page and its actions. Every change goes through the key service (the
//! command line's code path, its checks and the plan's maximum), which records it in
//! the audit log; it takes effect on the next API request on every instance, since
//! keys are read from the database.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use super::form::Form;
use super::keys_form::{self, Draft};
use super::keys_page::{Extra, anchor_of, render, types_of};
use super::session::SignedIn;
use super::views::{self, Section};
use super::{PanelState, error_page, html, managed, nav, posted_to};
use crate::admins::sessions;
use crate::auth::ApiToken;
use crate::auth::keys::{KeyChange, KeyRef, KeyView};
use crate::error::AppError;

/// The largest audit page asked for (a longer log is read from the command line).
const MAX_AUDIT_PAGE: u64 = 100_000;

pub async fn page(
    State(state): State<PanelState>,
    signed_in: SignedIn,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    // Read leniently: a repeated or malformed parameter is not worth an error page.
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let param = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let extra = Extra {
        new_card: param("new").map(|_| (Draft::default(), Vec::new())),
        failed: None,
        audit_page: param("audit")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .clamp(1, MAX_AUDIT_PAGE),
    };
    respond(&state, &signed_in, &name, extra, StatusCode::OK).await
}

async fn respond(
    state: &PanelState,
    signed_in: &SignedIn,
    name: &str,
    extra: Extra,
    status: StatusCode,
) -> Response {
    let account = match managed(state, signed_in, name).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    match render(state, signed_in, &account, extra).await {
        Ok(page) => {
            let nav = nav(signed_in, Some(&account.name), Section::Keys);
            (status, html(views::keys_page(&nav, &page))).into_response()
        }
        Err(err) => error_page(&err),
    }
}

/// After a change: the page again (a GET, so a reload repeats nothing), at the card.
/// A key shown once travels to that page sealed in the session.
async fn done(
    state: &PanelState,
    signed_in: &SignedIn,
    account: &str,
    shown: Option<&KeyView>,
) -> Response {
    let mut anchor = String::new();
    if let Some(view) = shown {
        anchor = format!("#key-{}", anchor_of(view));
        let token = view.key.as_deref().and_then(ApiToken::parse);
        if let (true, Some(token)) = (state.keys.show_once, token) {
            let flash = format!("{}\n{}", view.id, state.keys.secret.seal(&token));
            if let Err(err) = sessions::set_flash(&state.db, &signed_in.session, Some(flash)).await
            {
                return error_page(&err);
            }
        }
    }
    Redirect::to(&format!("/panel/accounts/{account}/keys{anchor}")).into_response()
}

/// A refusal the admin can fix (validation, the plan's maximum) goes back to the card;
/// anything else is an error page.
fn fixable(err: &AppError) -> bool {
    matches!(err, AppError::Validation(_) | AppError::Refused(_))
}

/// A key form that may be acted on: its token checked, its account managed by the
/// admin, and its rules read (or what is wrong with them).
async fn submitted(
    state: &PanelState,
    signed_in: &SignedIn,
    name: &str,
    form: &Form,
) -> Result<(entity::account::Model, Draft, RulesOrErrors), Response> {
    let account = posted_to(state, signed_in, name, form).await?;
    let draft = keys_form::read(form);
    let labels = types_of(state, &account.id)
        .await
        .map_err(|err| error_page(&err))?;
    let rules = draft.rules(|t| label_in(&labels, t));
    Ok((account, draft, rules))
}

type RulesOrErrors = Result<std::collections::BTreeMap<String, crate::auth::Perms>, Vec<String>>;

pub async fn create(
    State(state): State<PanelState>,
    signed_in: SignedIn,
    Path(name): Path<String>,
    form: Form,
) -> Response {
    let (account, draft, rules) = match submitted(&state, &signed_in, &name, &form).await {
        Ok(submitted) => submitted,
        Err(response) => return response,
    };
    let created = match both(rules, draft.limits()) {
        Err(errors) => Err(errors),
        Ok((rules, limits)) => {
            let actor = signed_in.actor();
            match state
                .keys
                .create_user_key(
                    &actor,
                    &account.id,
                    &draft.name,
                    &rules,
                    &limits,
                    &state.plans,
                )
                .await
            {
                Ok(view) => Ok(view),
                Err(err) if fixable(&err) => Err(views::messages(&err)),
                Err(err) => return error_page(&err),
            }
        }
    };
    match created {
        Ok(view) => done(&state, &signed_in, &account.name, Some(&view)).await,
        Err(errors) => {
            let extra = Extra {
                new_card: Some((draft, errors)),
                audit_page: 1,
                ..Extra::default()
            };
            respond(&state, &signed_in, &name, extra, StatusCode::BAD_REQUEST).await
        }
    }
}

/// Both parts of a card, or every error of either.
fn both<A, B>(
    first: Result<A, Vec<String>>,
    second: Result<B, Vec<String>>,
) -> Result<(A, B), Vec<String>> {
    match (first, second) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (first, second) => Err([first.err(), second.err()]
            .into_iter()
            .flatten()
            .flatten()
            .collect()),
    }
}

fn label_in(types: &[(String, String)], name: &str) -> String {
    types
        .iter()
        .find(|(n, _)| n == name)
        .map_or_else(|| name.to_owned(), |(_, label)| label.clone())
}

pub async fn save(
    State(state): State<PanelState>,
    signed_in: SignedIn,
    Path((name, id)): Path<(String, String)>,
    form: Form,
) -> Response {
    let (account, draft, rules) = match submitted(&state, &signed_in, &name, &form).await {
        Ok(submitted) => submitted,
        Err(response) => return response,
    };
    let saved = match both(rules, draft.limits()) {
        Err(errors) => Err(errors),
        Ok((rules, limits)) => {
            let actor = signed_in.actor();
            // The card shows every part of the key, so a save sets every part.
            let change = KeyChange {
                name: Some(draft.name.clone()),
                rules: Some(rules),
                expires_at: Some(limits.expires_at),
                access: Some(limits.access),
            };
            match state.keys.update(&actor, &account.id, &id, &change).await {
                Ok(view) => Ok(view),
                // Only a user-defined key's card shows errors; the refusal of rules for
                // an application key is a page of its own.
                Err(err @ AppError::Validation(_)) => Err(views::messages(&err)),
                Err(err) => return error_page(&err),
            }
        }
    };
    match saved {
        Ok(view) => {
            let to = format!(
                "/panel/accounts/{}/keys#key-{}",
                account.name,
                anchor_of(&view)
            );
            Redirect::to(&to).into_response()
        }
        Err(errors) => {
            let extra = Extra {
                failed: Some((id, draft, errors)),
                audit_page: 1,
                ..Extra::default()
            };
            respond(&state, &signed_in, &name, extra, StatusCode::BAD_REQUEST).await
        }
    }
}

pub async fn regenerate(
    State(state): State<PanelState>,
    signed_in: SignedIn,
    Path((name, id)): Path<(String, String)>,
    form: Form,
) -> Response {
    let account = match posted_to(&state, &signed_in, &name, &form).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    let grace = match form.get("grace").unwrap_or_default().trim() {
        "" => None,
        text => match humantime::parse_duration(text) {
            Ok(grace) if grace <= crate::auth::keys::MAX_GRACE => Some(grace),
            _ => {
                let err = AppError::BadRequest(format!("'{text}' is not a grace period"));
                return error_page(&err);
            }
        },
    };
    match state
        .keys
        .regenerate(&signed_in.actor(), &account.id, KeyRef::parse(id), grace)
        .await
    {
        Ok(view) => done(&state, &signed_in, &account.name, Some(&view)).await,
        Err(err) => error_page(&err),
    }
}

pub async fn delete(
    State(state): State<PanelState>,
    signed_in: SignedIn,
    Path((name, id)): Path<(String, String)>,
    form: Form,
) -> Response {
    let account = match posted_to(&state, &signed_in, &name, &form).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    match state
        .keys
        .delete(&signed_in.actor(), &account.id, &id)
        .await
    {
        Ok(()) => done(&state, &signed_in, &account.name, None).await,
        Err(err) => error_page(&err),
    }
}

/// The key's QR code for Flotiq Mobile Expo; none when the server keeps no copy.
pub async fn qr(
    State(state): State<PanelState>,
    signed_in: SignedIn,
    Path((name, id)): Path<(String, String)>,
) -> Response {
    let account = match managed(&state, &signed_in, &name).await {
        Ok(account) => account,
        Err(response) => return response,
    };
    match state.keys.get(&account.id, KeyRef::parse(id)).await {
        Ok(KeyView {
            key: Some(secret), ..
        }) => {
            let svg = crate::qr::svg(&crate::qr::payload(&secret, &state.options.public_url));
            ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response()
        }
        Ok(_) => error_page(&AppError::NotFound),
        Err(err) => error_page(&err),
    }
}
