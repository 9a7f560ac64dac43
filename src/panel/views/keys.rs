//! The API Keys page, modelled on Flotiq's: the two application keys (copy, QR,
//! regenerate), then the user-defined keys, each a card with its rules and its own Save,
//! then the audit log of the account.

use maud::{Markup, PreEscaped, html};

use super::layout::{self, Nav};
use crate::audit::EntryView;
use crate::auth::Perms;

/// One key card as the page shows it.
pub struct Card {
    /// `read_only` / `read_write` for the application keys, the id for the others;
    /// `None` for a key not saved yet.
    pub id: Option<String>,
    pub title: String,
    pub name: String,
    /// The full key when the page may show it.
    pub secret: Option<String>,
    /// Shown now and never again (`--show-keys-once`).
    pub shown_once: bool,
    pub rules: Vec<(String, Perms)>,
    pub errors: Vec<String>,
    pub life: KeyLife,
}

/// A key's limits as its form shows them, and what the page says of its life.
#[derive(Default)]
pub struct KeyLife {
    /// Form values: origins and networks one per line, the expiry as `datetime-local`.
    pub origins: String,
    pub networks: String,
    pub expires: String,
    pub expiry: Option<Expiry>,
    /// Until when the secret before the last rotation still works.
    pub grace_until: Option<String>,
    pub last_used: Option<String>,
    pub requests_30_days: u64,
}

pub enum Expiry {
    Passed(String),
    /// Within the next 7 days: the card warns.
    Soon(String),
    Later(String),
}

pub struct KeysPage {
    pub account: String,
    pub plan: String,
    pub application: Vec<Card>,
    pub user: Vec<Card>,
    /// Content types for the rules' dropdown: name and label.
    pub types: Vec<(String, String)>,
    /// Why no key can be added, if the plan's maximum is reached.
    pub at_maximum: Option<String>,
    pub show_once: bool,
    /// The QR code of a key shown once, drawn in the page (its secret is not kept).
    pub once_qr: Option<String>,
    pub audit: Vec<EntryView>,
    pub audit_page: u64,
    pub audit_pages: u64,
}

pub fn page(nav: &Nav, page: &KeysPage) -> Markup {
    let base = format!("/panel/accounts/{}/keys", page.account);
    layout::page(
        "API Keys",
        Some(nav),
        html! {
            h1 { "API Keys" }
            p.lead { "Account " strong { (page.account) } " on plan " strong { (page.plan) } ". "
                "Send a key as the " code { "X-AUTH-TOKEN" } " header or the " code { "auth_token" } " query parameter." }
            @if page.show_once {
                p.notice { "This server keeps no copy of keys: a key is shown in full once, right after it is created or regenerated. Copy it then." }
            }
            section aria-labelledby="application-keys" {
                h2 #application-keys { "Application API keys" }
                div.cards {
                    @for card in &page.application {
                        (application_card(&base, nav, page, card))
                    }
                }
            }
            section aria-labelledby="user-keys" {
                h2 #user-keys { "User defined API keys" }
                @match &page.at_maximum {
                    Some(reason) => {
                        button type="button" disabled aria-describedby="key-limit" { "Add new API key" }
                        p.hint #key-limit { (reason) }
                    }
                    None => a.button.primary href={ (base) "?new=1#new-key" } { "Add new API key" }
                }
                div.cards {
                    @for card in &page.user {
                        (user_card(&base, nav, page, card))
                    }
                }
            }
            (audit(&base, page))
        },
    )
}

fn secret_block(base: &str, page: &KeysPage, card: &Card) -> Markup {
    let Some(id) = &card.id else {
        return html! { p.hint { "Save the key to generate its token" } };
    };
    html! {
        div.secret {
            @match &card.secret {
                Some(secret) => {
                    code.masked aria-label="Key, hidden" { (mask(secret)) }
                    code.full hidden { (secret) }
                    div.buttons {
                        @if !card.shown_once {
                            button type="button" data-reveal aria-pressed="false" { "Show" }
                        }
                        button type="button" data-copy { "Copy" }
                        @if !card.shown_once {
                            a.button href={ (base) "/" (id) "/qr.svg" } data-qr { "QR code" }
                        }
                    }
                    @if card.shown_once {
                        p.notice role="status" { "Copy the key now: it is shown this once." }
                        @if let Some(svg) = &page.once_qr {
                            details { summary { "QR code" } div.qr-inline { (PreEscaped(svg)) } }
                        }
                    }
                }
                None => {
                    code.masked { "••••••••••••••••" }
                    p.hint { "Shown once when created or regenerated; regenerate it to see a new one." }
                }
            }
        }
    }
}

/// What the card says of the key's life: expiry (a warning 7 days before), a rotation's
/// grace, the last use and the requests of the last 30 days.
fn life_block(life: &KeyLife) -> Markup {
    html! {
        ul.life {
            @match &life.expiry {
                Some(Expiry::Passed(at)) => li.warning role="status" { "Expired " (at) " UTC: requests with it get 401" }
                Some(Expiry::Soon(at)) => li.warning role="status" { "Expires soon: " (at) " UTC" }
                Some(Expiry::Later(at)) => li { "Expires " (at) " UTC" }
                None => li { "Never expires" }
            }
            @if let Some(until) = &life.grace_until {
                li.warning { "The secret before the last rotation works until " (until) " UTC" }
            }
            li { @match &life.last_used { Some(at) => { "Last used " (at) " UTC" } None => { "Never used" } } }
            li { (life.requests_30_days) " requests in the last 30 days" }
        }
    }
}

fn limits_block(anchor: &str, life: &KeyLife) -> Markup {
    html! {
        fieldset.limits {
            legend { "Limits" }
            label for={ "expires-" (anchor) } { "Expires (UTC, empty: never)" }
            input #{ "expires-" (anchor) } type="datetime-local" name="expires" value=(life.expires);
            label for={ "origins-" (anchor) } { "Allowed origins, one per line (empty: any; https://*.example.com for subdomains)" }
            textarea #{ "origins-" (anchor) } name="origins" rows="2" { (life.origins) }
            label for={ "networks-" (anchor) } { "Allowed client networks, one per line (CIDR; empty: any)" }
            textarea #{ "networks-" (anchor) } name="networks" rows="2" { (life.networks) }
        }
    }
}

fn mask(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("••••••••••••{tail}")
}

fn csrf(nav: &Nav) -> Markup {
    html! { input type="hidden" name="csrf" value=(nav.csrf); }
}

fn regenerate_form(base: &str, nav: &Nav, id: &str, title: &str) -> Markup {
    let warning = format!(
        "Regenerate “{title}”? The old key stops working at once (or when the grace chosen beside the button ends), for every client that uses it."
    );
    html! {
        form.regenerate method="post" action={ (base) "/" (id) "/regenerate" } data-confirm=(warning) {
            (csrf(nav))
            label for={ "grace-" (id) } { "Old key works" }
            select #{ "grace-" (id) } name="grace" {
                option value="" selected { "not at all" }
                option value="1h" { "1 more hour" }
                option value="1d" { "1 more day" }
                option value="7d" { "7 more days" }
            }
            button type="submit" { "Regenerate" }
        }
    }
}

fn application_card(base: &str, nav: &Nav, page: &KeysPage, card: &Card) -> Markup {
    let id = card.id.clone().unwrap_or_default();
    html! {
        article.card #{ "key-" (id) } aria-labelledby={ "title-" (id) } {
            h3 #{ "title-" (id) } { (card.title) }
            (secret_block(base, page, card))
            (life_block(&card.life))
            div.actions { (regenerate_form(base, nav, &id, &card.title)) }
        }
    }
}

fn user_card(base: &str, nav: &Nav, page: &KeysPage, card: &Card) -> Markup {
    let anchor = card.id.clone().unwrap_or_else(|| "new".into());
    let action = match &card.id {
        Some(id) => format!("{base}/{id}"),
        None => base.to_owned(),
    };
    html! {
        article.card #{ "key-" (anchor) } aria-labelledby={ "title-" (anchor) } {
            h3 #{ "title-" (anchor) } { @if card.name.is_empty() { "New API key" } @else { (card.name) } }
            form.key-form method="post" action=(action) {
                (csrf(nav))
                label for={ "name-" (anchor) } { "Name" }
                input #{ "name-" (anchor) } name="name" value=(card.name) maxlength="100" required;
                (secret_block(base, page, card))
                @if card.id.is_some() { (life_block(&card.life)) }
                (rules(&anchor, page, &card.rules))
                (limits_block(&anchor, &card.life))
                @if !card.errors.is_empty() {
                    div.error role="alert" {
                        ul { @for error in &card.errors { li { (error) } } }
                    }
                }
                button.primary type="submit" { "Save" }
            }
            @if let Some(id) = &card.id {
                div.actions {
                    (regenerate_form(base, nav, id, &card.name))
                    form method="post" action={ (base) "/" (id) "/delete" }
                        data-confirm={ "Delete “" (card.name) "”? Clients using it get 401 at once; this cannot be undone." } {
                        (csrf(nav))
                        button.danger type="submit" { "Delete" }
                    }
                }
            }
        }
    }
}

const PERMISSIONS: [&str; 4] = ["read", "create", "update", "delete"];

fn allowed(perms: &Perms, which: &str) -> bool {
    match which {
        "read" => perms.read,
        "create" => perms.create,
        "update" => perms.update,
        _ => perms.delete,
    }
}

fn rules(anchor: &str, page: &KeysPage, rows: &[(String, Perms)]) -> Markup {
    html! {
        fieldset.rules {
            legend { "Rules" }
            div.scroll { table {
                thead { tr {
                    th scope="col" { "Content type" }
                    @for p in PERMISSIONS { th scope="col" { (p.to_uppercase()) } }
                    th scope="col" { span.visually-hidden { "Remove" } }
                } }
                tbody data-next=(rows.len()) {
                    @for (i, (type_name, perms)) in rows.iter().enumerate() {
                        (rule_row(anchor, &i.to_string(), page, type_name, perms))
                    }
                }
            } }
            template { (rule_row(anchor, "__N__", page, "", &Perms::default())) }
            button type="button" data-add-rule { "Add rule" }
        }
    }
}

fn rule_row(anchor: &str, index: &str, page: &KeysPage, type_name: &str, perms: &Perms) -> Markup {
    let select_id = format!("type-{anchor}-{index}");
    let known = page.types.iter().any(|(name, _)| name == type_name);
    html! {
        tr {
            td {
                label.visually-hidden for=(select_id) { "Content type" }
                select #(select_id) name={ "type_" (index) } {
                    option value="" { "Choose a type" }
                    @for (name, label) in &page.types {
                        option value=(name) selected[name == type_name] { (label) }
                    }
                    @if !known && !type_name.is_empty() {
                        option value=(type_name) selected { (type_name) " (deleted)" }
                    }
                }
            }
            @for p in PERMISSIONS {
                td {
                    input type="checkbox" name={ (p) "_" (index) } aria-label={ (p.to_uppercase()) }
                        checked[allowed(perms, p)];
                }
            }
            td { button.icon type="button" data-remove-rule aria-label="Remove rule" title="Remove rule" { "✕" } }
        }
    }
}

fn audit(base: &str, page: &KeysPage) -> Markup {
    html! {
        section #audit aria-labelledby="audit-title" {
            h2 #audit-title { "Audit log" }
            @if page.audit.is_empty() {
                p { "Nothing recorded yet." }
            } @else {
                div.scroll {
                    table.audit {
                        thead { tr { th scope="col" { "When (UTC)" } th scope="col" { "Who" } th scope="col" { "Action" } th scope="col" { "Key" } th scope="col" { "From" } } }
                        tbody {
                            @for e in &page.audit {
                                tr { td { (e.at) } td { (e.actor) } td { (e.action) } td { (e.subject) } td { (e.client) } }
                            }
                        }
                    }
                }
                nav.pages aria-label="Audit pages" {
                    @if page.audit_page > 1 {
                        a href={ (base) "?audit=" (page.audit_page - 1) "#audit" } { "Newer" }
                    }
                    span { "Page " (page.audit_page) " of " (page.audit_pages) }
                    @if page.audit_page < page.audit_pages {
                        a href={ (base) "?audit=" (page.audit_page + 1) "#audit" } { "Older" }
                    }
                }
            }
        }
    }
}
