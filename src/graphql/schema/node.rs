//! A content object as its GraphQL fields read it, whatever the parent value holds.

use std::sync::Arc;

use async_graphql::dynamic::ResolverContext;
use serde_json::Value;

use crate::content::objects::ObjectFields;
use crate::content::refs::Reference;

/// A content object as its fields read it: a stored object (pages and relations, each
/// field parsing its own stored value) or a tree (write answers, search hits).
pub(super) enum Node<'a> {
    Stored(&'a ObjectFields),
    Tree(&'a Value),
}

pub(super) fn node_of<'a>(ctx: &ResolverContext<'a>) -> async_graphql::Result<Node<'a>> {
    let parent = ctx.parent_value;
    if let Some(object) = parent.downcast_ref::<ObjectFields>() {
        return Ok(Node::Stored(object));
    }
    if let Some(object) = parent.downcast_ref::<Arc<ObjectFields>>() {
        return Ok(Node::Stored(object));
    }
    match parent.downcast_ref::<Value>() {
        Some(tree) => Ok(Node::Tree(tree)),
        None => Ok(Node::Tree(parent.try_downcast_ref::<Arc<Value>>()?)),
    }
}

impl Node<'_> {
    /// Property `key` (or the object's `id`), `None` when absent or null.
    pub(super) fn value(&self, key: &str) -> Option<async_graphql::Value> {
        match self {
            Node::Tree(tree) => tree.get(key).filter(|v| !v.is_null()).map(to_graphql),
            Node::Stored(object) if key == "id" => {
                Some(async_graphql::Value::String(object.id().to_owned()))
            }
            Node::Stored(object) => object
                .stored(key)
                .and_then(|text| serde_json::from_str::<async_graphql::Value>(text).ok())
                .filter(|value| *value != async_graphql::Value::Null),
        }
    }

    /// What answering property `key` (or the object's `id`) costs (`answered_size`).
    pub(super) fn size(&self, key: &str) -> u64 {
        match self {
            Node::Tree(tree) => match tree.get(key) {
                None => 0,
                Some(value @ (Value::Array(_) | Value::Object(_))) => {
                    answered_size(&serde_json::to_string(value).unwrap_or_default())
                }
                Some(value) => crate::content::json_size(value),
            },
            Node::Stored(object) if key == "id" => object.id().len() as u64,
            Node::Stored(object) => object.stored(key).map_or(0, answered_size),
        }
    }

    /// The references a relation property `key` holds, in stored order.
    pub(super) fn references(&self, key: &str) -> Vec<Reference> {
        match self {
            Node::Tree(tree) => tree
                .get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Reference::from_item)
                .collect(),
            Node::Stored(object) => object
                .stored(key)
                .and_then(|text| serde_json::from_str::<Vec<Value>>(text).ok())
                .unwrap_or_default()
                .iter()
                .filter_map(Reference::from_item)
                .collect(),
        }
    }
}

pub(super) fn to_graphql(value: &Value) -> async_graphql::Value {
    use async_graphql::Value as Gql;
    // Scalars directly; only lists and objects go through serde.
    match value {
        Value::Null => Gql::Null,
        Value::Bool(b) => Gql::Boolean(*b),
        Value::String(s) => Gql::String(s.clone()),
        Value::Number(n) => Gql::Number(n.clone()),
        _ => Gql::from_json(value.clone()).unwrap_or(Gql::Null),
    }
}

/// What a stored value costs to answer: its text, and for a list or an object about
/// what each of its values takes in memory once parsed (`[{},{}]` is 7 bytes as text
/// and about 200 as values), counted from the text's `[`, `{` and `,` (those inside
/// strings too, which only overcounts).
fn answered_size(text: &str) -> u64 {
    const BYTES_PER_VALUE: u64 = 24;
    let size = text.len() as u64;
    if !text.starts_with(['[', '{']) {
        return size;
    }
    let values = text
        .bytes()
        .filter(|b| matches!(b, b'[' | b'{' | b','))
        .count() as u64;
    size + values * BYTES_PER_VALUE
}

#[cfg(test)]
mod tests {
    use super::answered_size;

    #[test]
    fn lists_and_objects_cost_what_their_values_take() {
        assert_eq!(answered_size("\"a,b,c\""), 7);
        assert_eq!(answered_size("12"), 2);
        let empties = format!("[{}{{}}]", "{},".repeat(1000));
        assert!(answered_size(&empties) > 20 * empties.len() as u64 / 3);
    }
}
