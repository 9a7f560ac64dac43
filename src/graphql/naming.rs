//! The one naming function: content type and property names → GraphQL names.
//!
//! Rules (documented in the README): a name that is already a valid GraphQL name and
//! does not start with `__` is kept; otherwise every character outside `[_0-9A-Za-z]`
//! becomes `_`, and a leading digit or `__` gets the prefix `n_`. When two names map
//! to the same GraphQL name, the one that kept its name keeps it and the changed one
//! gets `_2`, `_3`, ... (so adding a property never moves an existing field); a name
//! that meets a reserved one gets the suffix too. Types derived from
//! a content type add suffixes that start with a capital letter (`postConnection`,
//! `postFilterInput`), which content type names (`[_a-z]+`) can never produce.

use std::collections::{BTreeMap, BTreeSet};

/// A valid GraphQL name for `raw`, before collision handling.
pub fn graphql_name(raw: &str) -> String {
    let mut name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) || name.starts_with("__") {
        name = format!("n_{name}");
    }
    name
}

/// Assigns unique GraphQL names to `raws`, avoiding `reserved`. A raw name that is
/// already a valid GraphQL name keeps it whatever else is defined, so adding a property
/// never moves an existing field to another one; changed names (and kept names that meet
/// a reserved one) then take the next free `_2`, `_3`, ... in the order given.
pub fn unique_names<'a>(
    raws: impl IntoIterator<Item = &'a str>,
    reserved: &[&str],
) -> BTreeMap<String, String> {
    let raws: Vec<&str> = raws.into_iter().collect();
    let mut taken: BTreeSet<String> = reserved.iter().map(|r| r.to_string()).collect();
    let mut names = BTreeMap::new();
    for raw in &raws {
        if graphql_name(raw) == *raw && !taken.contains(*raw) {
            taken.insert(raw.to_string());
            names.insert(raw.to_string(), raw.to_string());
        }
    }
    for raw in raws {
        if names.contains_key(raw) {
            continue;
        }
        let base = graphql_name(raw);
        let mut candidate = base.clone();
        let mut n = 2;
        while taken.contains(&candidate) {
            candidate = format!("{base}_{n}");
            n += 1;
        }
        taken.insert(candidate.clone());
        names.insert(raw.to_owned(), candidate);
    }
    names
}

/// `post` → `Post`, `_media` → `_media`: the part after `create`/`update`/`delete`.
pub fn capitalized(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_valid_and_unique() {
        assert_eq!(graphql_name("title"), "title");
        assert_eq!(graphql_name("1st"), "n_1st");
        assert_eq!(graphql_name("__typename"), "n___typename");
        let names = unique_names(["search", "a", "n_1a", "1a"], &["search"]);
        assert_eq!(names["search"], "search_2");
        assert_eq!(names["1a"], "n_1a_2");
        // A kept name stays with its property whatever comes before it.
        let names = unique_names(["1a", "n_1a", "__typename", "n___typename"], &[]);
        assert_eq!(names["n_1a"], "n_1a");
        assert_eq!(names["1a"], "n_1a_2");
        assert_eq!(names["n___typename"], "n___typename");
        assert_eq!(names["__typename"], "n___typename_2");
        assert_eq!(capitalized("post"), "Post");
        assert_eq!(capitalized("_media"), "_media");
    }
}
