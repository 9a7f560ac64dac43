//! Limits checked on the parsed document before any resolver runs: document size,
//! aliases, depth, and complexity with list fields counted by the size they ask for.
//! Introspection (`__schema`, `__type`) is left to the schema's own, looser depth
//! limit: GraphiQL's introspection query nests deeper than any content query should.

use std::collections::HashSet;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Request, Value, Variables};

use super::schema::DEFAULT_FIRST;
use crate::content::objects::MAX_LIST_LIMIT;

pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024;
pub const MAX_ALIASES: usize = 30;
pub const MAX_COMPLEXITY: u64 = 20_000;
pub const MAX_BATCH: usize = 10;
pub const MAX_DEPTH: usize = 10;
/// The schema's own depth limit, which introspection queries also meet.
pub const MAX_SCHEMA_DEPTH: usize = 20;

/// What a checked document is.
pub struct Checked {
    pub is_mutation: bool,
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    aliases: usize,
    deepest: usize,
    seen_fragments: HashSet<Name>,
}

impl Walk<'_> {
    /// The page size a list field asks for, clamped as the resolvers clamp it.
    fn list_size(&self, field: &async_graphql::parser::types::Field, root: bool) -> u64 {
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
            _ => 1,
        }
    }

    fn cost(&mut self, set: &Positioned<SelectionSet>, depth: usize) -> u64 {
        let root = depth == 0;
        let mut total: u64 = 0;
        for selection in &set.node.items {
            let cost = match &selection.node {
                Selection::Field(field) if field.node.name.node.starts_with("__") => 0,
                Selection::Field(field) => {
                    if field.node.alias.is_some() {
                        self.aliases += 1;
                    }
                    self.deepest = self.deepest.max(depth + 1);
                    let children = self.cost(&field.node.selection_set, depth + 1);
                    1u64.saturating_add(children.saturating_mul(self.list_size(&field.node, root)))
                }
                Selection::InlineFragment(fragment) => {
                    self.cost(&fragment.node.selection_set, depth)
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.clone();
                    match self.document.fragments.get(&name) {
                        // A fragment cycle is reported by validation; count it once here.
                        Some(fragment) if self.seen_fragments.insert(name) => {
                            let set = fragment.node.selection_set.clone();
                            self.cost(&set, depth)
                        }
                        _ => 0,
                    }
                }
            };
            total = total.saturating_add(cost);
        }
        total
    }
}

/// Checks one request's document; `Err` is the message for the client.
/// The parsed document is handed to the request, so the executor does not parse it again.
pub fn check(request: &mut Request) -> Result<Checked, String> {
    if request.query.len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "The document is larger than {MAX_DOCUMENT_BYTES} bytes"
        ));
    }
    // Syntax errors are left to the executor, which reports them in the usual shape.
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return Ok(Checked { is_mutation: false });
    };
    let operation_name = request.operation_name.as_deref();
    let variables = &request.variables;
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
        variables,
        aliases: 0,
        deepest: 0,
        seen_fragments: HashSet::new(),
    };
    let mut complexity: u64 = 0;
    let mut is_mutation = false;
    for operation in &operations {
        is_mutation |= operation.node.ty == OperationType::Mutation;
        walk.seen_fragments.clear();
        complexity = complexity.saturating_add(walk.cost(&operation.node.selection_set, 0));
    }
    if walk.deepest > MAX_DEPTH {
        return Err(format!(
            "Query is nested too deep ({} levels); at most {MAX_DEPTH} are allowed",
            walk.deepest
        ));
    }
    if walk.aliases > MAX_ALIASES {
        return Err(format!(
            "The document uses {} aliases; at most {MAX_ALIASES} are allowed",
            walk.aliases
        ));
    }
    if complexity > MAX_COMPLEXITY {
        return Err(format!(
            "The query is too complex ({complexity}); at most {MAX_COMPLEXITY} is allowed, list fields counting by their page size"
        ));
    }
    request.set_parsed_query(document);
    Ok(Checked { is_mutation })
}
