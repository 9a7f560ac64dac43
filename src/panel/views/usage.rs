//! The Usage page (plan, requests in the 30-day window as a chart, user keys against
//! the plan's maximum) and the Content types page.

use maud::{Markup, html};

use super::layout::{self, Nav};
use crate::quota::usage::UsageReport;

pub struct UsagePage {
    pub report: UsageReport,
    /// Requests per day over the whole window, oldest first (zeros included).
    pub days: Vec<(String, u64)>,
    pub user_keys: u64,
    pub max_user_keys: Option<u64>,
    /// Plans the admin may move the account to (only admins of all accounts).
    pub plans: Option<Vec<String>>,
}

pub fn usage(nav: &Nav, page: &UsagePage) -> Markup {
    let report = &page.report;
    let account = nav.account.clone().unwrap_or_default();
    layout::page(
        "Usage",
        Some(nav),
        html! {
            h1 { "Usage" }
            dl.facts {
                dt { "Plan" } dd { (report.plan) }
                dt { "Requests in the last 30 days" } dd { (report.used)
                    @if let Some(limit) = report.limit { " of " (limit) } }
                dt { "Left in the window" } dd { @match report.remaining { Some(left) => (left), None => "no limit" } }
                dt { "User-defined keys" } dd { (page.user_keys)
                    @match page.max_user_keys { Some(max) => { " of " (max) }, None => " (no limit)" } }
            }
            h2 #chart-title { "Requests per day" }
            (chart(&page.days))
            details {
                summary { "The same as a table" }
                div.scroll { table {
                    thead { tr { th scope="col" { "Day (UTC)" } th scope="col" { "Requests" } } }
                    tbody { @for (day, n) in &page.days { tr { td { (day) } td { (n) } } } }
                } }
            }
            @if let Some(plans) = &page.plans {
                h2 { "Change the plan" }
                form.inline method="post" action={ "/panel/accounts/" (account) "/plan" } {
                    input type="hidden" name="csrf" value=(nav.csrf);
                    label for="plan" { "Plan" }
                    select #plan name="plan" {
                        @for plan in plans { option value=(plan) selected[*plan == report.plan] { (plan) } }
                    }
                    button type="submit" { "Change plan" }
                }
            }
        },
    )
}

/// A bar per day, drawn on the server: the tallest bar is the busiest day.
fn chart(days: &[(String, u64)]) -> Markup {
    const WIDTH: u64 = 600;
    const HEIGHT: u64 = 160;
    let peak = days.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let slot = WIDTH / days.len().max(1) as u64;
    let total: u64 = days.iter().map(|(_, n)| n).sum();
    let summary = format!(
        "{total} requests over {} days; the busiest day had {peak}",
        days.len()
    );
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT + 20) } role="img" aria-labelledby="chart-title chart-summary" {
                desc #chart-summary { (summary) }
                line x1="0" y1=(HEIGHT) x2=(WIDTH) y2=(HEIGHT) class="axis" {}
                @for (i, (day, n)) in days.iter().enumerate() {
                    @let h = (n * HEIGHT).div_ceil(peak);
                    rect x=((i as u64) * slot + 2) y=(HEIGHT - h) width=(slot.saturating_sub(4).max(1)) height=(h) class="bar" {
                        title { (day) ": " (n) }
                    }
                }
                @if let (Some(first), Some(last)) = (days.first(), days.last()) {
                    text x="0" y=(HEIGHT + 16) class="label" { (first.0) }
                    text x=(WIDTH) y=(HEIGHT + 16) class="label end" { (last.0) }
                }
                text x="4" y="12" class="label" { "max " (peak) }
            }
            figcaption { (summary) }
        }
    }
}

pub struct TypeRow {
    pub name: String,
    pub label: String,
    pub properties: usize,
    pub objects: i64,
}

pub struct TypesPage {
    pub types: Vec<TypeRow>,
    /// The read-only key, handed to GraphiQL in the tab's storage (never in the URL).
    pub read_only_key: Option<String>,
    pub first_query: Option<String>,
}

pub fn types(nav: &Nav, page: &TypesPage) -> Markup {
    layout::page(
        "Content types",
        Some(nav),
        html! {
            h1 { "Content types" }
            @if page.types.is_empty() {
                p { "No content types yet. Create one with " code { "POST /api/v1/internal/contenttype" } "." }
            } @else {
                div.scroll { table {
                    thead { tr { th scope="col" { "Label" } th scope="col" { "Name" } th scope="col" { "Properties" } th scope="col" { "Objects" } } }
                    tbody { @for t in &page.types {
                        tr { td { (t.label) } td { code { (t.name) } } td { (t.properties) } td { (t.objects) } }
                    } }
                } }
            }
            p {
                a.button.primary href="/api/v2/graphql" data-graphiql
                    data-key=[page.read_only_key.as_deref()] data-query=[page.first_query.as_deref()] {
                    "Open GraphiQL with the read-only key"
                }
            }
            @if page.read_only_key.is_none() {
                p.hint { "This server keeps no copy of keys: paste a key into GraphiQL's headers editor." }
            }
        },
    )
}
