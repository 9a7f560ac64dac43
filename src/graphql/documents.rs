//! Parsed documents kept per account and document text. Frontends send the same few
//! documents again and again, and parsing one is a fixed part of every request that
//! the kept answers do not cover (a rendered answer, another variable). Parsing needs
//! no schema, so an entry stays right across schema revisions; it is kept per account
//! all the same, so no account can tell by timing which documents another one sends.

use std::sync::Arc;

use async_graphql::parser::types::ExecutableDocument;
use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// The text kept at most, all documents together; a parsed document takes a few times
/// its text in memory, so this bounds the cache to a few MiB whatever is sent.
const MAX_TEXT_BYTES: u64 = 1024 * 1024;

type Key = (String, String);

#[derive(Clone)]
struct TextSize;

impl Weighter<Key, Arc<ExecutableDocument>> for TextSize {
    fn weight(&self, key: &Key, _: &Arc<ExecutableDocument>) -> u64 {
        (key.0.len() + key.1.len()) as u64
    }
}

pub struct ParsedDocuments {
    entries: Cache<Key, Arc<ExecutableDocument>, TextSize>,
}

impl Default for ParsedDocuments {
    fn default() -> Self {
        ParsedDocuments {
            entries: Cache::with_weighter(4096, MAX_TEXT_BYTES, TextSize),
        }
    }
}

impl ParsedDocuments {
    /// `text` parsed, from the cache when `account_id` sent it before; `None` when it
    /// does not parse (which is not kept: the executor reports the syntax error).
    pub fn parse(&self, account_id: &str, text: &str) -> Option<Arc<ExecutableDocument>> {
        let key = (account_id.to_owned(), text.to_owned());
        if let Some(document) = self.entries.get(&key) {
            return Some(document);
        }
        let document = Arc::new(async_graphql::parser::parse_query(text).ok()?);
        self.entries.insert(key, document.clone());
        Some(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_parsed_once_per_account() {
        let documents = ParsedDocuments::default();
        let first = documents.parse("a", "{ post { id } }").unwrap();
        let again = documents.parse("a", "{ post { id } }").unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let other_account = documents.parse("b", "{ post { id } }").unwrap();
        assert!(!Arc::ptr_eq(&first, &other_account));
        assert!(documents.parse("a", "{ post { ").is_none());
    }
}
