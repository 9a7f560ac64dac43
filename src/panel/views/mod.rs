//! The panel's pages as HTML (maud escapes every value it writes). Pages carry no inline
//! script or style: behaviour comes from `assets/panel.js`, looks from `panel.css`.

mod keys;
mod layout;
mod usage;

pub use keys::{Card, Expiry, KeyLife, KeysPage, page as keys_page};
pub use layout::{Nav, Section};
pub use usage::{TypeRow, TypesPage, UsagePage, types as types_page, usage as usage_page};

use maud::{DOCTYPE, Markup, html};

use crate::error::AppError;

/// What an error says to the admin, as sentences.
pub fn messages(err: &AppError) -> Vec<String> {
    match err {
        AppError::Validation(fields) => fields.values().flatten().cloned().collect(),
        AppError::Refused(reasons) => reasons.clone(),
        AppError::BadRequest(reason) => vec![reason.clone()],
        other => vec![other.to_string()],
    }
}

pub fn error(title: &str, message: &str) -> Markup {
    layout::page(
        title,
        None,
        html! {
            h1 { (title) }
            p { (message) }
            p { a href="/panel/" { "Back to the panel" } }
        },
    )
}

pub fn login(csrf: &str, error: Option<&str>, email: &str) -> Markup {
    layout::page(
        "Sign in",
        None,
        html! {
            section.narrow {
                h1 { "Sign in to ContentGate" }
                @if let Some(error) = error {
                    p.error role="alert" id="login-error" { (error) }
                }
                form method="post" action="/panel/login" {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(email) autocomplete="username" required autofocus;
                    label for="password" { "Password" }
                    input #password type="password" name="password" autocomplete="current-password" required;
                    button.primary type="submit" { "Sign in" }
                }
                p.hint { "Admins are created with " code { "contentgate admins create" } "." }
            }
        },
    )
}

pub fn home(nav: &Nav, accounts: &[(String, String)]) -> Markup {
    layout::page(
        "Accounts",
        Some(nav),
        html! {
            h1 { "Accounts" }
            @if accounts.is_empty() {
                p { "You manage no account yet; an operator can grant you one with "
                    code { "contentgate admins grant" } "." }
            } @else {
                ul.cards {
                    @for (name, plan) in accounts {
                        li.card {
                            h2 { (name) }
                            p { "Plan " strong { (plan) } }
                            p.links {
                                a href={ "/panel/accounts/" (name) "/keys" } { "API Keys" }
                                a href={ "/panel/accounts/" (name) "/usage" } { "Usage" }
                                a href={ "/panel/accounts/" (name) "/types" } { "Content types" }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub(super) fn doctype() -> Markup {
    html! { (DOCTYPE) }
}
