//! Parsed documents kept per account and document text. Frontends send the same few
//! documents again and again, and parsing one is a fixed part of every request that
//! the kept answers do not cover (a rendered answer, another variable). Parsing needs
//! no schema, so an entry stays right across schema revisions; it is kept per account
//! all the same, so no account can tell by timing which documents another one sends.
//! Only documents that passed the limits are kept, weighed by what their parse holds.

use std::sync::Arc;

use async_graphql::Positioned;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// What all kept documents may weigh together (`weight`).
const MAX_KEPT_BYTES: u64 = 4 * 1024 * 1024;

/// What one selection of a parsed document holds besides its text, about: a 32 KiB
/// document of 16,000 one-letter fields parses to about 4.5 MB.
const BYTES_PER_SELECTION: u64 = 300;

type Key = (String, String);

#[derive(Clone)]
struct Kept;

impl Weighter<Key, (Arc<ExecutableDocument>, u64)> for Kept {
    fn weight(&self, _: &Key, value: &(Arc<ExecutableDocument>, u64)) -> u64 {
        value.1
    }
}

pub struct ParsedDocuments {
    entries: Cache<Key, (Arc<ExecutableDocument>, u64), Kept>,
}

impl Default for ParsedDocuments {
    fn default() -> Self {
        ParsedDocuments {
            entries: Cache::with_weighter(1024, MAX_KEPT_BYTES, Kept),
        }
    }
}

/// A document as parsed for one request: from the cache, or parsed now and not kept yet.
pub struct Parsed {
    pub document: Arc<ExecutableDocument>,
    kept: bool,
}

impl ParsedDocuments {
    /// `text` parsed, from the cache when `account_id` sent it before and it passed the
    /// limits then; `None` when it does not parse (the executor reports the error).
    pub fn parse(&self, account_id: &str, text: &str) -> Option<Parsed> {
        if let Some((document, _)) = self.entries.get(&(account_id.to_owned(), text.to_owned())) {
            return Some(Parsed {
                document,
                kept: true,
            });
        }
        let document = Arc::new(async_graphql::parser::parse_query(text).ok()?);
        Some(Parsed {
            document,
            kept: false,
        })
    }

    /// Keeps a document that passed the limits, for the next request that sends it.
    pub fn keep(&self, account_id: &str, text: &str, parsed: &Parsed) {
        if parsed.kept {
            return;
        }
        let weight = (account_id.len() + 2 * text.len()) as u64 + weight(&parsed.document);
        self.entries.insert(
            (account_id.to_owned(), text.to_owned()),
            (parsed.document.clone(), weight),
        );
    }
}

/// About what a parsed document holds beyond its text: its selections, arguments and
/// variable definitions, counted without recursion.
fn weight(document: &ExecutableDocument) -> u64 {
    let mut sets: Vec<&Positioned<SelectionSet>> = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set)
        .chain(document.fragments.values().map(|f| &f.node.selection_set))
        .collect();
    let mut nodes = document
        .operations
        .iter()
        .map(|(_, op)| 1 + op.node.variable_definitions.len() as u64)
        .sum::<u64>()
        + document.fragments.len() as u64;
    while let Some(set) = sets.pop() {
        for selection in &set.node.items {
            nodes += 1;
            match &selection.node {
                Selection::Field(field) => {
                    nodes += field.node.arguments.len() as u64;
                    nodes += field
                        .node
                        .arguments
                        .iter()
                        .map(|(_, value)| value_nodes(&value.node))
                        .sum::<u64>();
                    sets.push(&field.node.selection_set);
                }
                Selection::InlineFragment(fragment) => sets.push(&fragment.node.selection_set),
                Selection::FragmentSpread(_) => {}
            }
        }
    }
    nodes.saturating_mul(BYTES_PER_SELECTION)
}

/// The values in an argument's value (list items and object fields included).
fn value_nodes(value: &async_graphql_value::Value) -> u64 {
    use async_graphql_value::Value;
    let mut stack = vec![value];
    let mut nodes = 0u64;
    while let Some(value) = stack.pop() {
        nodes += 1;
        match value {
            Value::List(items) => stack.extend(items),
            Value::Object(fields) => stack.extend(fields.values()),
            _ => {}
        }
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_kept_once_it_passed_per_account() {
        let documents = ParsedDocuments::default();
        let first = documents.parse("a", "{ post { id } }").unwrap();
        assert!(!first.kept);
        let again = documents.parse("a", "{ post { id } }").unwrap();
        assert!(!again.kept, "not kept before it passed the limits");
        documents.keep("a", "{ post { id } }", &first);
        let kept = documents.parse("a", "{ post { id } }").unwrap();
        assert!(Arc::ptr_eq(&first.document, &kept.document));
        let other_account = documents.parse("b", "{ post { id } }").unwrap();
        assert!(!Arc::ptr_eq(&first.document, &other_account.document));
        assert!(documents.parse("a", "{ post { ").is_none());
    }

    #[test]
    fn a_document_weighs_what_its_selections_hold() {
        let small = async_graphql::parser::parse_query("{ a }").unwrap();
        let text = format!("{{ x {{ {} }} }}", "a ".repeat(16_000));
        let large = async_graphql::parser::parse_query(&text).unwrap();
        assert!(weight(&large) > 4_000_000, "{}", weight(&large));
        assert!(weight(&small) < 1_000);
        let list = format!("{{ x(ids: [{}]) {{ a }} }}", "1,".repeat(16_000));
        let list = async_graphql::parser::parse_query(&list).unwrap();
        assert!(weight(&list) > 4_000_000, "{}", weight(&list));
    }
}
