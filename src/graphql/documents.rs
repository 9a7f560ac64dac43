//! Parsed documents kept per account and document text. Frontends send the same few
//! documents again and again, and parsing one is a fixed part of every request that
//! the kept answers do not cover (a rendered answer, another variable). Parsing needs
//! no schema, so an entry stays right across schema revisions; it is kept per account
//! all the same, so no account can tell by timing which documents another one sends.
//! Only documents that passed the limits are kept, weighed by what their parse holds.

use std::sync::Arc;

use async_graphql::Positioned;
use async_graphql::parser::types::{Directive, ExecutableDocument, Selection, SelectionSet};
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

/// About what a parsed document holds beyond its text: its selections, directives,
/// arguments and their values, variable definitions and their defaults, counted
/// without recursion.
fn weight(document: &ExecutableDocument) -> u64 {
    let mut nodes = 0u64;
    let mut sets: Vec<&Positioned<SelectionSet>> = Vec::new();
    for (_, operation) in document.operations.iter() {
        let operation = &operation.node;
        nodes += 1 + directive_nodes(&operation.directives);
        for variable in &operation.variable_definitions {
            nodes += 1 + directive_nodes(&variable.node.directives);
            if let Some(default) = &variable.node.default_value {
                nodes += value_nodes(&default.node.clone().into_value());
            }
        }
        sets.push(&operation.selection_set);
    }
    for fragment in document.fragments.values() {
        nodes += 1 + directive_nodes(&fragment.node.directives);
        sets.push(&fragment.node.selection_set);
    }
    while let Some(set) = sets.pop() {
        for selection in &set.node.items {
            nodes += 1;
            match &selection.node {
                Selection::Field(field) => {
                    nodes += arguments_nodes(&field.node.arguments)
                        + directive_nodes(&field.node.directives);
                    sets.push(&field.node.selection_set);
                }
                Selection::InlineFragment(fragment) => {
                    nodes += directive_nodes(&fragment.node.directives);
                    sets.push(&fragment.node.selection_set);
                }
                Selection::FragmentSpread(spread) => {
                    nodes += directive_nodes(&spread.node.directives);
                }
            }
        }
    }
    nodes.saturating_mul(BYTES_PER_SELECTION)
}

type Arguments = [(
    Positioned<async_graphql::Name>,
    Positioned<async_graphql_value::Value>,
)];

fn arguments_nodes(arguments: &Arguments) -> u64 {
    arguments
        .iter()
        .map(|(_, value)| 1 + value_nodes(&value.node))
        .sum()
}

fn directive_nodes(directives: &[Positioned<Directive>]) -> u64 {
    directives
        .iter()
        .map(|directive| 1 + arguments_nodes(&directive.node.arguments))
        .sum()
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
        for text in [
            format!("{{ a {} }}", "@a ".repeat(16_000)),
            format!("{{ a @include(if: true, x: [{}]) }}", "1,".repeat(16_000)),
            format!("query($v: [Int] = [{}]) {{ a }}", "1,".repeat(16_000)),
        ] {
            let parsed = async_graphql::parser::parse_query(&text).unwrap();
            assert!(weight(&parsed) > 4_000_000, "{}", weight(&parsed));
        }
    }
}
