//! The one permission function and what is derived from it: the read scope that queries
//! carry, the definitions a key sees, the scope GraphQL schemas are kept by; and the
//! guards of the GraphQL fields on their own, without the per-key schema in front.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::TestApp;
use contentgate::auth::{Action, KeyKind, Perms, Principal};
use contentgate::content::models::Models;
use contentgate::graphql::budget::ObjectBudget;
use contentgate::graphql::http::add_request_data;
use contentgate::graphql::schema::{Flavor, Options, build};
use serde_json::{Value, json};

const TYPES: [&str; 3] = ["post", "author", "category"];
const ACTIONS: [Action; 4] = [Action::Create, Action::Read, Action::Update, Action::Delete];

fn perms(bits: u8) -> Perms {
    Perms {
        create: bits & 1 != 0,
        read: bits & 2 != 0,
        update: bits & 4 != 0,
        delete: bits & 8 != 0,
    }
}

/// Every kind, and every user key over three types with every rule of each (absent or
/// any of the 16 permission sets): 17³ rule sets.
fn every_principal() -> Vec<Principal> {
    let mut all: Vec<Principal> = [KeyKind::ReadOnly, KeyKind::ReadWrite]
        .into_iter()
        .map(|kind| Principal::unchecked("a", kind, BTreeMap::new()))
        .collect();
    for code in 0..17u32.pow(3) {
        let mut rules = BTreeMap::new();
        for (i, name) in TYPES.iter().enumerate() {
            let rule = (code / 17u32.pow(i as u32)) % 17;
            if rule < 16 {
                rules.insert(name.to_string(), perms(rule as u8));
            }
        }
        all.push(Principal::unchecked("a", KeyKind::User, rules));
    }
    all
}

#[test]
fn read_scope_and_definition_scope_agree_with_can_for_every_rule_set() {
    for principal in every_principal() {
        let read = principal.read_scope();
        let definitions = principal.definition_scope();
        for name in TYPES.iter().chain(&["unnamed"]) {
            assert_eq!(
                read.contains(name),
                principal.can(name, Action::Read),
                "{principal:?} {name}"
            );
            let any = ACTIONS.iter().any(|a| principal.can(name, *a));
            let sees = principal.kind() != KeyKind::User || any;
            assert_eq!(definitions.contains(name), sees, "{principal:?} {name}");
        }
    }
}

#[test]
fn equal_schema_scopes_mean_equal_permissions() {
    let all = every_principal();
    let answers = |p: &Principal| -> Vec<bool> {
        TYPES
            .iter()
            .chain(&["unnamed"])
            .flat_map(|t| ACTIONS.iter().map(move |a| p.can(t, *a)))
            .collect()
    };
    let mut by_scope = std::collections::HashMap::new();
    for principal in &all {
        let previous = by_scope.insert(principal.schema_scope(), answers(principal));
        if let Some(previous) = previous {
            assert_eq!(previous, answers(principal), "{principal:?}");
        }
    }
}

/// The account's full schema (as the operator sees it) executed for a restricted key:
/// the field guards alone refuse what the key may not read.
#[tokio::test]
async fn guards_refuse_on_their_own_behind_the_per_key_schema() {
    let app = TestApp::with_demo().await;
    let models = Arc::new(Models::load(&app.db, &app.account_id).await.unwrap());
    let options = Options {
        introspection: true,
    };
    let full = build(
        &models.ordered,
        Flavor::Current,
        options,
        &Principal::operator(&app.account_id),
    )
    .unwrap();
    let posts_only = Principal::unchecked(
        &app.account_id,
        KeyKind::User,
        [("post".to_owned(), perms(2))].into_iter().collect(),
    );
    let db = contentgate::db::Db::new(app.db.clone());
    let run = |query: &str| {
        let mut request = async_graphql::Request::new(query);
        add_request_data(
            &mut request,
            &db,
            &posts_only,
            models.clone(),
            Arc::new(ObjectBudget::default()),
        );
        let full = &full;
        async move {
            let response = async_graphql::Executor::execute(full, request).await;
            serde_json::to_value(&response).unwrap()
        }
    };
    let body = run(r#"{ post(id: "post-keys") { edges { node { title author { name } categories { name } } } } }"#).await;
    let node = &body["data"]["post"]["edges"][0]["node"];
    assert_eq!(node["title"], "Scoped API keys");
    assert_eq!(
        (&node["author"], &node["categories"]),
        (&Value::Null, &Value::Null)
    );
    let codes: Vec<&Value> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["extensions"]["code"])
        .collect();
    assert_eq!(codes, [&json!("FORBIDDEN"), &json!("FORBIDDEN")], "{body}");
    assert_eq!(
        body["errors"][0]["path"],
        json!(["post", "edges", 0, "node", "author"])
    );
    assert!(!body.to_string().contains("Alan"));
    let body = run(r#"{ author { totalCount edges { node { name } } } }"#).await;
    assert_eq!(body["data"]["author"], Value::Null);
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    let body = run(r#"mutation { deletePost(id: "post-keys") }"#).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
}
