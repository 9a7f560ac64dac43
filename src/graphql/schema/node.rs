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

    /// The size of property `key` (or the object's `id`) as stored JSON.
    pub(super) fn size(&self, key: &str) -> u64 {
        match self {
            Node::Tree(tree) => tree.get(key).map_or(0, crate::content::json_size),
            Node::Stored(object) if key == "id" => object.id().len() as u64,
            Node::Stored(object) => object.stored(key).map_or(0, |text| text.len() as u64),
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
