//! Limits checked on a request's document before anything recurses over it: document
//! size and bracket nesting on the raw text (so the parser never recurses deeply), then
//! aliases, depth and complexity on the parsed document, every fragment spread counted
//! as if it were written inline. Introspection (`__schema`, `__type`) is left to the
//! schema's own, looser depth limit: GraphiQL's introspection query nests deeper than
//! any content query should.

use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Request, Value, Variables};

use super::schema::DEFAULT_FIRST;
use crate::content::objects::MAX_LIST_LIMIT;

pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024;
/// Brackets (`{`, `[`, `(`) open at once anywhere in a document, and levels of arrays
/// and objects in its variables.
pub const MAX_NESTING: usize = 64;
/// Fragments spread inside one another, one chain.
pub const MAX_FRAGMENT_CHAIN: usize = 16;
pub const MAX_ALIASES: usize = 30;
pub const MAX_COMPLEXITY: u64 = 20_000;
pub const MAX_BATCH: usize = 10;
pub const MAX_DEPTH: usize = 10;
/// What a relation field counts as in complexity: its assumed number of objects (an
/// estimate that keeps ordinary nested queries within bounds). The
/// hard bound whatever the data holds is `MAX_OBJECTS_PER_REQUEST`.
pub const RELATION_SIZE: u64 = 3;
/// The schema's own depth limit, which introspection queries also meet.
pub const MAX_SCHEMA_DEPTH: usize = 20;

/// What a checked document is.
pub struct Checked {
    pub is_mutation: bool,
}

/// The deepest bracket nesting of a document's text, stopping at the first level past
/// `MAX_NESTING`; strings, block strings and comments are skipped. One pass, no
/// recursion: this runs before the parser, whose recursion it bounds.
fn bracket_nesting(text: &str) -> usize {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    // `\"""` is an escaped delimiter inside a block string.
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
                if depth > MAX_NESTING {
                    return depth;
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// Levels of arrays and objects in a variables value, past `MAX_NESTING` or not,
/// measured without recursion.
fn value_nesting(value: &Value) -> usize {
    let mut stack = vec![(value, 0usize)];
    let mut deepest = 0;
    while let Some((value, depth)) = stack.pop() {
        deepest = deepest.max(depth);
        if depth > MAX_NESTING {
            break;
        }
        match value {
            Value::List(items) => stack.extend(items.iter().map(|v| (v, depth + 1))),
            Value::Object(map) => stack.extend(map.values().map(|v| (v, depth + 1))),
            _ => {}
        }
    }
    deepest
}

/// Figures of a selection set as if every fragment spread in it were written inline.
#[derive(Clone, Copy, Default)]
struct Figures {
    cost: u64,
    /// Levels of fields, the set's own included.
    depth: usize,
    aliases: u64,
}

impl Figures {
    fn add(&mut self, other: Figures) {
        self.cost = self.cost.saturating_add(other.cost);
        self.depth = self.depth.max(other.depth);
        self.aliases = self.aliases.saturating_add(other.aliases);
    }
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    relation_fields: &'a dyn Fn(&str) -> bool,
    /// A fragment's figures depend only on whether it is spread at the root, so each
    /// is computed at most twice however often it is spread: linear in the document.
    memo: HashMap<(Name, bool), Figures>,
    /// Fragments being expanded, innermost last (cycles and long chains stop here).
    chain: Vec<Name>,
}

impl Walk<'_> {
    /// The number of objects a field can yield: the page size a list asks for, clamped
    /// as the resolvers clamp it; a relation's assumed size; 1 for anything else.
    fn list_size(&self, field: &Field, root: bool) -> u64 {
        let argument = field
            .arguments
            .iter()
            .find(|(name, _)| name.node == "first" || name.node == "limit");
        let value = argument.map(|(_, value)| {
            value.node.clone().into_const_with(|name| {
                Ok::<_, std::convert::Infallible>(
                    self.variables.get(&name).cloned().unwrap_or(Value::Null),
                )
            })
        });
        match value {
            Some(Ok(Value::Number(n))) => n.as_u64().unwrap_or(MAX_LIST_LIMIT).min(MAX_LIST_LIMIT),
            _ if root && field.name.node.ends_with("List") => 20,
            _ if root => DEFAULT_FIRST,
            _ if (self.relation_fields)(&field.name.node) => RELATION_SIZE,
            _ => 1,
        }
    }

    /// The figures of `set`, which has `above` levels of fields above it. A document
    /// is refused as soon as a field would be deeper than `MAX_DEPTH`, so the walk never
    /// recurses further than that (and `MAX_FRAGMENT_CHAIN` spreads).
    fn set(
        &mut self,
        set: &Positioned<SelectionSet>,
        root: bool,
        above: usize,
    ) -> Result<Figures, String> {
        let mut figures = Figures::default();
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) if field.node.name.node.starts_with("__") => {}
                Selection::Field(field) => figures.add(self.field(&field.node, root, above)?),
                Selection::InlineFragment(fragment) => {
                    figures.add(self.set(&fragment.node.selection_set, root, above)?)
                }
                Selection::FragmentSpread(spread) => {
                    figures.add(self.spread(&spread.node.fragment_name.node, root, above)?)
                }
            }
        }
        Ok(figures)
    }

    fn field(&mut self, field: &Field, root: bool, above: usize) -> Result<Figures, String> {
        if above + 1 > MAX_DEPTH {
            return Err(too_deep());
        }
        let children = self.set(&field.selection_set, false, above + 1)?;
        Ok(Figures {
            cost: 1u64.saturating_add(children.cost.saturating_mul(self.list_size(field, root))),
            depth: children.depth + 1,
            aliases: children.aliases + u64::from(field.alias.is_some()),
        })
    }

    fn spread(&mut self, name: &Name, root: bool, above: usize) -> Result<Figures, String> {
        if let Some(figures) = self.memo.get(&(name.clone(), root)) {
            // Computed where it was first spread; the depth is checked where it is now.
            if above + figures.depth > MAX_DEPTH {
                return Err(too_deep());
            }
            return Ok(*figures);
        }
        // An unknown fragment is reported by validation, which runs next.
        let Some(fragment) = self.document.fragments.get(name) else {
            return Ok(Figures::default());
        };
        if self.chain.contains(name) {
            return Err(format!("Fragment {name} spreads itself"));
        }
        if self.chain.len() >= MAX_FRAGMENT_CHAIN {
            return Err(format!(
                "Fragments are spread inside one another more than {MAX_FRAGMENT_CHAIN} times"
            ));
        }
        self.chain.push(name.clone());
        let figures = self.set(&fragment.node.selection_set, root, above);
        self.chain.pop();
        let figures = figures?;
        self.memo.insert((name.clone(), root), figures);
        Ok(figures)
    }
}

fn too_deep() -> String {
    format!("Query is nested too deep: at most {MAX_DEPTH} levels of fields are allowed")
}

/// Checks one request's document; `Err` is the message for the client.
/// `relation_fields` tells which field names are relations (charged `RELATION_SIZE`).
/// The parsed document is handed to the request, so the executor does not parse it again.
pub fn check(
    request: &mut Request,
    relation_fields: &dyn Fn(&str) -> bool,
) -> Result<Checked, String> {
    if request.query.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "The document is larger than {MAX_DOCUMENT_BYTES} bytes"
        ));
    }
    if bracket_nesting(&request.query) > MAX_NESTING {
        return Err(format!(
            "The document nests brackets more than {MAX_NESTING} levels deep"
        ));
    }
    for (name, value) in request.variables.iter() {
        if value_nesting(value) > MAX_NESTING {
            return Err(format!(
                "Variable {name} nests more than {MAX_NESTING} levels deep"
            ));
        }
    }
    // Syntax errors are left to the executor, which reports them in the usual shape.
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return Ok(Checked { is_mutation: false });
    };
    let operation_name = request.operation_name.as_deref();
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(op) => vec![op.clone()],
        DocumentOperations::Multiple(ops) => ops
            .iter()
            .filter(|(name, _)| operation_name.is_none_or(|wanted| name.as_str() == wanted))
            .map(|(_, op)| op.clone())
            .collect(),
    };
    let mut walk = Walk {
        document: &document,
        variables: &request.variables,
        relation_fields,
        memo: HashMap::new(),
        chain: Vec::new(),
    };
    let mut figures = Figures::default();
    let mut is_mutation = false;
    for operation in &operations {
        is_mutation |= operation.node.ty == OperationType::Mutation;
        figures.add(walk.set(&operation.node.selection_set, true, 0)?);
    }
    if figures.aliases > MAX_ALIASES as u64 {
        return Err(format!(
            "The document uses {} aliases; at most {MAX_ALIASES} are allowed",
            figures.aliases
        ));
    }
    if figures.cost > MAX_COMPLEXITY {
        return Err(format!(
            "The query is too complex ({}); at most {MAX_COMPLEXITY} is allowed, list fields counting by their page size and relations by {RELATION_SIZE}",
            figures.cost
        ));
    }
    request.set_parsed_query(document);
    Ok(Checked { is_mutation })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_skips_strings_and_comments() {
        assert_eq!(bracket_nesting("{ a(x: \"{{{[[\") { b } }"), 2);
        assert_eq!(bracket_nesting("{ a # {{{{\n }"), 1);
        assert_eq!(bracket_nesting("{ a(x: \"\"\" {{ \\\"\"\" {{ \"\"\") }"), 2);
        let deep = "[".repeat(100_000);
        assert_eq!(bracket_nesting(&deep), MAX_NESTING + 1);
    }
}
