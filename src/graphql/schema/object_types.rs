//! Object types of content types, their scalar and relation fields, and `flotiq___internal`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_graphql::dynamic::{Field, FieldFuture, FieldValue, Object, TypeRef};
use serde_json::Value;

use super::{
    INTERNAL_TYPE, JSON_SCALAR, Names, Node, node_of, take_answer_bytes, take_bytes, take_objects,
    to_graphql,
};
use crate::auth::Action;
use crate::content::definitions::Property;
use crate::content::definitions::model::SchemaType;
use crate::content::objects::{Meta, ObjectFields};
use crate::error::AppError;
use crate::graphql::errors::IntoGraphql;
use crate::graphql::guard::{Need, guarded, ready};
use crate::graphql::loader::RelationLoader;

/// A scalar read from the parent object (a rendered content object or part of one).
pub(super) fn json_field(name: &str, ty: TypeRef, need: Need, key: &str) -> Field {
    let key = key.to_owned();
    guarded(name, ty, need, move |ctx| {
        let value = node_of(&ctx).and_then(|node| {
            take_answer_bytes(&ctx, node.size(&key))?;
            Ok(node.value(&key).map(FieldValue::value))
        });
        ready(&ctx, value)
    })
}

pub(super) fn output_type(property: &Property, object_names: &BTreeMap<String, String>) -> TypeRef {
    let named = |name: &str| {
        if property.required {
            TypeRef::named_nn(name)
        } else {
            TypeRef::named(name)
        }
    };
    if let Some(target) = &property.relation {
        return TypeRef::named_list(
            object_names
                .get(target)
                .cloned()
                .unwrap_or_else(|| JSON_SCALAR.into()),
        );
    }
    match property.schema_type {
        SchemaType::String => named(TypeRef::STRING),
        SchemaType::Number => named(TypeRef::FLOAT),
        SchemaType::Integer => named(TypeRef::INT),
        SchemaType::Boolean => named(TypeRef::BOOLEAN),
        SchemaType::Array if property.item_type == Some(SchemaType::String) => {
            TypeRef::named_list(TypeRef::STRING)
        }
        _ => named(JSON_SCALAR),
    }
}

/// The object type of one content type. A relation to a type in `hidden` (one the
/// caller may not read) is left out: the schema never names a type it cannot read.
pub(super) fn object_type(
    names: &Names,
    object_names: &BTreeMap<String, String>,
    hidden: &BTreeSet<String>,
) -> Object {
    let read = Need::On(names.model.name.clone(), Action::Read);
    let mut object = Object::new(&names.object)
        .description(format!(
            "Auto generated Headless CMS type: {}",
            names.model.name
        ))
        .field(json_field(
            "id",
            TypeRef::named_nn(TypeRef::STRING),
            read.clone(),
            "id",
        ))
        .field(guarded(
            "internal",
            TypeRef::named(INTERNAL_TYPE),
            read.clone(),
            |ctx| {
                // Lent from the parent, as edges lend their nodes: a stored object
                // answers its `internal` fields itself.
                let internal = node_of(&ctx).map(|node| match node {
                    Node::Stored(object) => Some(FieldValue::borrowed_any(object)),
                    Node::Tree(tree) => tree.get("internal").map(|i| FieldValue::borrowed_any(i)),
                });
                ready(&ctx, internal)
            },
        ));
    for property in &names.model.properties {
        if property
            .relation
            .as_ref()
            .is_some_and(|t| hidden.contains(t))
        {
            continue;
        }
        let field_name = &names.fields[&property.name];
        let ty = output_type(property, object_names);
        object = object.field(match &property.relation {
            Some(target) if object_names.contains_key(target) => {
                relation_field(field_name, ty, property, target)
            }
            _ => json_field(field_name, ty, read.clone(), &property.name),
        });
    }
    object
}

/// A relation: the related objects the caller may read, loaded in batches, in the
/// stored order; a type the caller may not read is a FORBIDDEN error at this path.
pub(super) fn relation_field(
    field_name: &str,
    ty: TypeRef,
    property: &Property,
    target: &str,
) -> Field {
    let key = property.name.clone();
    let target = target.to_owned();
    guarded(
        field_name,
        ty,
        Need::On(target.clone(), Action::Read),
        move |ctx| {
            let key = key.clone();
            let target = target.clone();
            FieldFuture::new(async move {
                let mut keys = node_of(&ctx)?.references(&key);
                keys.retain(|reference| reference.type_name == target);
                take_objects(&ctx, keys.len() as u64)?;
                let loader = ctx.data::<RelationLoader>()?;
                let loaded = loader
                    .load_many(keys.iter().cloned())
                    .await
                    .map_err(|err| {
                        tracing::error!(error = %err, "relation loader failed");
                        AppError::Internal("relation loader".into()).into_graphql()
                    })?;
                // Every copy counts, and is weighed before it is made.
                let found: Vec<&Arc<ObjectFields>> =
                    keys.iter().filter_map(|k| loaded.get(k)).collect();
                take_bytes(&ctx, found.iter().map(|object| object.weight()).sum())?;
                let items: Vec<FieldValue> = found
                    .into_iter()
                    .map(|object| FieldValue::owned_any(object.clone()))
                    .collect();
                Ok(Some(FieldValue::list(items)))
            })
        },
    )
}

pub(super) fn internal_type() -> Object {
    let mut object = Object::new(INTERNAL_TYPE);
    for (field, ty) in [
        ("status", TypeRef::STRING),
        ("createdAt", TypeRef::STRING),
        ("deletedAt", TypeRef::STRING),
        ("updatedAt", TypeRef::STRING),
        ("contentType", TypeRef::STRING),
        ("objectTitle", TypeRef::STRING),
        ("latestVersion", TypeRef::INT),
    ] {
        object = object.field(internal_field(field, ty));
    }
    object
}

/// A field of `internal`: made by a stored object on request, or read from a tree's.
fn internal_field(name: &'static str, ty: &str) -> Field {
    guarded(name, TypeRef::named(ty), Need::Key, move |ctx| {
        let value = match ctx.parent_value.downcast_ref::<ObjectFields>() {
            // `objectTitle` repeats title properties, so it is charged like them.
            Some(object) => match object.internal(name) {
                Some(Meta::Text(text)) => take_answer_bytes(&ctx, text.len() as u64)
                    .map(|()| Some(async_graphql::Value::String(text.into_owned()))),
                Some(Meta::Number(n)) => Ok(Some(async_graphql::Value::from(n))),
                None => Ok(None),
            },
            None => ctx
                .parent_value
                .try_downcast_ref::<Value>()
                .and_then(|tree| {
                    let value = tree.get(name).filter(|v| !v.is_null());
                    take_answer_bytes(&ctx, value.map_or(0, crate::content::json_size))?;
                    Ok(value.map(to_graphql))
                }),
        };
        ready(&ctx, value.map(|value| value.map(FieldValue::value)))
    })
}
