//! The frame of every page: header with the account's sections, the sign-out form, and
//! the dialogs the script opens (QR code, confirmation).

use maud::{Markup, html};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Keys,
    Usage,
    Types,
}

/// What the header shows for a signed-in admin.
pub struct Nav {
    pub email: String,
    pub csrf: String,
    /// The account the page is about, if any, and which of its sections.
    pub account: Option<String>,
    pub section: Section,
}

pub fn page(title: &str, nav: Option<&Nav>, body: Markup) -> Markup {
    html! {
        (super::doctype())
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · ContentGate" }
                link rel="stylesheet" href="/panel/assets/panel.css";
                script src="/panel/assets/panel.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/panel/" { "ContentGate" }
                    @if let Some(nav) = nav {
                        (menu(nav))
                    }
                }
                main #main tabindex="-1" { (body) }
                div.visually-hidden #announce aria-live="polite" {}
                dialog #qr-dialog aria-labelledby="qr-title" {
                    h2 #qr-title { "QR code" }
                    p { "Scan it with Flotiq Mobile Expo." }
                    img #qr-image alt="QR code of the key and the API address" width="264" height="264";
                    form method="dialog" { button type="submit" { "Close" } }
                }
                dialog #confirm-dialog aria-labelledby="confirm-title" {
                    h2 #confirm-title { "Are you sure?" }
                    p #confirm-text {}
                    form method="dialog" {
                        button type="submit" value="cancel" { "Cancel" }
                        button.danger type="submit" value="confirm" { "Confirm" }
                    }
                }
            }
        }
    }
}

fn menu(nav: &Nav) -> Markup {
    let current = |section: Section| (nav.section == section).then_some("page");
    html! {
        nav aria-label="Panel" {
            a href="/panel/" aria-current=[current(Section::Home)] { "Accounts" }
            @if let Some(account) = &nav.account {
                a href={ "/panel/accounts/" (account) "/keys" } aria-current=[current(Section::Keys)] { "API Keys" }
                a href={ "/panel/accounts/" (account) "/usage" } aria-current=[current(Section::Usage)] { "Usage" }
                a href={ "/panel/accounts/" (account) "/types" } aria-current=[current(Section::Types)] { "Content types" }
            }
        }
        form.signout method="post" action="/panel/logout" {
            input type="hidden" name="csrf" value=(nav.csrf);
            span.who { (nav.email) }
            button type="submit" { "Sign out" }
        }
    }
}
