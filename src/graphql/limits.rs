//! Limits checked on a request's document before anything recurses over it: document
//! size and bracket nesting on the raw text (so the parser never recurses deeply), then
//! aliases, depth and complexity on the parsed document, every fragment spread counted
//! as if it were written inline and a variable's declared default as if it were sent.
//! Introspection (`__schema`, `__type`) counts too, with its own depth limit (GraphiQL's
//! introspection query nests deeper than any content query should) and at most three
//! of its lists nested in one another, which is what keeps its answer small.

use std::borrow::Cow;
use std::collections::HashMap;

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned, Request, Value, Variables};

pub use super::nesting::MAX_NESTING;
use super::nesting::{bracket_nesting, value_nesting};
use crate::content::objects::MAX_LIST_LIMIT;

pub const MAX_DOCUMENT_BYTES: usize = 32 * 1024;
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
/// Objects in a page when a list field is given no `first`.
pub const DEFAULT_FIRST: u64 = 10;
/// The schema's own depth limit, which introspection queries also meet.
pub const MAX_SCHEMA_DEPTH: usize = 20;

/// Where a request's document is parsed: the kept parses of its account.
pub struct Documents<'a> {
    pub cache: &'a super::documents::ParsedDocuments,
    pub account_id: &'a str,
}

/// What a checked document is.
pub struct Checked {
    pub is_mutation: bool,
}

/// Figures of a selection set as if every fragment spread in it were written inline.
#[derive(Clone, Copy, Default)]
struct Figures {
    cost: u64,
    /// Levels of fields, the set's own included.
    depth: usize,
    aliases: u64,
    /// Introspection list fields nested in one another, at most.
    lists: usize,
}

impl Figures {
    fn add(&mut self, other: Figures) {
        self.cost = self.cost.saturating_add(other.cost);
        self.depth = self.depth.max(other.depth);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.lists = self.lists.max(other.lists);
    }
}

/// Where a selection set stands: at the root or not, under how many levels of fields,
/// inside introspection (`__schema`, `__type`) or not.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Place {
    root: bool,
    above: usize,
    introspection: bool,
}

impl Place {
    fn max_depth(self) -> usize {
        if self.introspection {
            MAX_SCHEMA_DEPTH
        } else {
            MAX_DEPTH
        }
    }
}

/// Introspection fields that return lists; nesting them multiplies the answer.
const INTROSPECTION_LISTS: &[&str] = &[
    "types",
    "fields",
    "args",
    "inputFields",
    "interfaces",
    "possibleTypes",
    "enumValues",
    "directives",
];
/// Introspection lists nested in one another at most (GraphiQL needs 3: types, fields, args).
pub const MAX_INTROSPECTION_LISTS: usize = 3;

struct Walk<'a> {
    document: &'a ExecutableDocument,
    /// The operation's variables: those sent, else the operation's declared defaults.
    variables: Cow<'a, Variables>,
    relation_fields: &'a dyn Fn(&str) -> bool,
    /// A fragment's figures depend only on whether it is spread at the root and inside
    /// introspection, so each is computed at most four times however often it is
    /// spread: linear in the document.
    memo: HashMap<(Name, bool, bool), Figures>,
    /// Fragments being expanded, innermost last (cycles and long chains stop here).
    chain: Vec<Name>,
}

impl Walk<'_> {
    /// The number of objects a field can yield: the page size a list asks for, clamped
    /// as the resolvers clamp it; a relation's assumed size; 1 for anything else.
    fn list_size(&self, field: &Field, place: Place) -> u64 {
        if place.introspection {
            return 1;
        }
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
            // Clamped as the resolvers clamp it: `first: 0` still yields one object.
            Some(Ok(Value::Number(n))) => n
                .as_u64()
                .unwrap_or(MAX_LIST_LIMIT)
                .clamp(1, MAX_LIST_LIMIT),
            _ if place.root && field.name.node.ends_with("List") => 20,
            _ if place.root => DEFAULT_FIRST,
            _ if (self.relation_fields)(&field.name.node) => RELATION_SIZE,
            _ => 1,
        }
    }

    /// The figures of `set` at `place`. A document is refused as soon as a field would be
    /// deeper than its limit, so the walk never recurses further than that (and
    /// `MAX_FRAGMENT_CHAIN` spreads).
    fn set(&mut self, set: &Positioned<SelectionSet>, place: Place) -> Result<Figures, String> {
        let mut figures = Figures::default();
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => figures.add(self.field(&field.node, place)?),
                Selection::InlineFragment(fragment) => {
                    figures.add(self.set(&fragment.node.selection_set, place)?)
                }
                Selection::FragmentSpread(spread) => {
                    figures.add(self.spread(&spread.node.fragment_name.node, place)?)
                }
            }
        }
        Ok(figures)
    }

    fn field(&mut self, field: &Field, place: Place) -> Result<Figures, String> {
        let name = field.name.node.as_str();
        let introspection = place.introspection || name.starts_with("__");
        let here = Place {
            introspection,
            ..place
        };
        if here.above + 1 > here.max_depth() {
            return Err(too_deep(here));
        }
        let below = Place {
            root: false,
            above: here.above + 1,
            introspection,
        };
        let children = self.set(&field.selection_set, below)?;
        let figures = Figures {
            cost: 1u64.saturating_add(children.cost.saturating_mul(self.list_size(field, here))),
            depth: children.depth + 1,
            aliases: children.aliases + u64::from(field.alias.is_some()),
            lists: children.lists
                + usize::from(introspection && INTROSPECTION_LISTS.contains(&name)),
        };
        if figures.lists > MAX_INTROSPECTION_LISTS {
            return Err(too_many_lists());
        }
        Ok(figures)
    }

    fn spread(&mut self, name: &Name, place: Place) -> Result<Figures, String> {
        let key = (name.clone(), place.root, place.introspection);
        if let Some(figures) = self.memo.get(&key) {
            // Computed where it was first spread; the depth is checked where it is now.
            if place.above + figures.depth > place.max_depth() {
                return Err(too_deep(place));
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
        let figures = self.set(&fragment.node.selection_set, place);
        self.chain.pop();
        let figures = figures?;
        self.memo.insert(key, figures);
        Ok(figures)
    }
}

fn too_deep(place: Place) -> String {
    format!(
        "Query is nested too deep: at most {} levels of fields are allowed{}",
        place.max_depth(),
        if place.introspection {
            " in introspection"
        } else {
            ""
        }
    )
}

fn too_many_lists() -> String {
    format!(
        "Introspection lists (types, fields, args, ...) nest more than {MAX_INTROSPECTION_LISTS} deep"
    )
}

/// Checks one request's document; `Err` is the message for the client.
/// `relation_fields` tells which field names are relations (charged `RELATION_SIZE`).
/// The parsed document (from `documents`, kept per account and text) is handed to the
/// request, so the executor does not parse it again.
pub fn check(
    request: &mut Request,
    documents: &Documents<'_>,
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
    let Some(parsed) = documents.cache.parse(documents.account_id, &request.query) else {
        return Ok(Checked { is_mutation: false });
    };
    let document = &parsed.document;
    let operation_name = request.operation_name.as_deref();
    let operations: Vec<_> = match &document.operations {
        DocumentOperations::Single(op) => vec![op],
        DocumentOperations::Multiple(ops) => ops
            .iter()
            .filter(|(name, _)| operation_name.is_none_or(|wanted| name.as_str() == wanted))
            .map(|(_, op)| op)
            .collect(),
    };
    let mut figures = Figures::default();
    let mut is_mutation = false;
    for operation in &operations {
        is_mutation |= operation.node.ty == OperationType::Mutation;
        // A variable that is not sent takes its declared default, which counts too
        // (the sent variables, which may be large, are copied only to add one).
        let mut variables = Cow::Borrowed(&request.variables);
        for definition in &operation.node.variable_definitions {
            let name = &definition.node.name.node;
            if let (None, Some(default)) = (variables.get(name), &definition.node.default_value) {
                variables
                    .to_mut()
                    .insert(name.clone(), default.node.clone());
            }
        }
        let mut walk = Walk {
            document,
            variables,
            relation_fields,
            memo: HashMap::new(),
            chain: Vec::new(),
        };
        let root = Place {
            root: true,
            above: 0,
            introspection: false,
        };
        figures.add(walk.set(&operation.node.selection_set, root)?);
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
    documents
        .cache
        .keep(documents.account_id, &request.query, &parsed);
    request.set_parsed_query(ExecutableDocument::clone(document));
    Ok(Checked { is_mutation })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::documents::ParsedDocuments;

    fn refusal(query: &str) -> Option<String> {
        let cache = ParsedDocuments::default();
        let documents = Documents {
            cache: &cache,
            account_id: "a",
        };
        check(&mut Request::new(query), &documents, &|_| false).err()
    }

    #[test]
    fn a_page_of_none_costs_as_the_one_object_it_yields() {
        let heavy = "{ x(first: 0) { y(first: 1000) { z(first: 1000) { id } } } }";
        assert!(refusal(heavy).is_some_and(|r| r.contains("too complex")));
        assert!(refusal("{ x(first: 0) { id } }").is_none());
    }

    #[test]
    fn typename_counts_as_a_field_and_its_aliases_as_aliases() {
        let aliased: String = (0..31).map(|i| format!("t{i}: __typename ")).collect();
        let refused = refusal(&format!("{{ {aliased} }}")).unwrap_or_default();
        assert!(refused.contains("31 aliases"), "{refused}");
        let many = format!("{{ x(first: 1000) {{ {} }} }}", "__typename ".repeat(30));
        assert!(refusal(&many).is_some_and(|r| r.contains("too complex")));
    }
}
