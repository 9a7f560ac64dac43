//! `create/update/delete<Type>` with typed inputs, through the same services as REST.

use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputObject, InputValue, Object, ResolverContext, TypeRef,
};
use serde_json::{Map, Value};

use super::object_types::json_field;
use super::{JSON_SCALAR, Names, Visible, app_err, services, take_objects};
use crate::auth::Action;
use crate::content::definitions::Property;
use crate::content::definitions::model::SchemaType;
use crate::content::objects::{self};
use crate::content::refs::Reference;
use crate::graphql::guard::{Need, guarded};
use crate::graphql::naming::capitalized;

pub(super) fn input_type(property: &Property) -> TypeRef {
    if property.relation.is_some() {
        return TypeRef::named_list(TypeRef::STRING);
    }
    match property.schema_type {
        SchemaType::String => TypeRef::named(TypeRef::STRING),
        SchemaType::Number => TypeRef::named(TypeRef::FLOAT),
        SchemaType::Integer => TypeRef::named(TypeRef::INT),
        SchemaType::Boolean => TypeRef::named(TypeRef::BOOLEAN),
        SchemaType::Array if property.item_type == Some(SchemaType::String) => {
            TypeRef::named_list(TypeRef::STRING)
        }
        _ => TypeRef::named(JSON_SCALAR),
    }
}

pub(super) fn data_input(names: &Names) -> InputObject {
    let mut input = InputObject::new(names.derived("Input"))
        .field(InputValue::new("id", TypeRef::named(TypeRef::STRING)));
    for property in &names.model.properties {
        input = input.field(InputValue::new(
            &names.fields[&property.name],
            input_type(property),
        ));
    }
    input
}

/// The data of a mutation input, in the REST body shape.
pub(super) fn body_of(names: &Names, ctx: &ResolverContext<'_>) -> async_graphql::Result<Value> {
    let data = ctx.args.try_get("data")?.object()?;
    let mut body = Map::new();
    for (field, value) in data.iter() {
        let property = names
            .model
            .properties
            .iter()
            .find(|p| names.fields[&p.name] == field.as_str());
        let json = value.as_value().clone().into_json()?;
        match property {
            Some(p) => {
                let json = match (&p.relation, json) {
                    (Some(target), Value::Array(ids)) => Value::Array(
                        ids.iter()
                            .filter_map(Value::as_str)
                            .map(|id| Reference::new(target, id).to_item())
                            .collect(),
                    ),
                    (_, json) => json,
                };
                body.insert(p.name.clone(), json);
            }
            None => {
                body.insert(field.to_string(), json);
            }
        }
    }
    Ok(Value::Object(body))
}

/// What a write answers to a caller that may not read the type: the object's id alone.
pub(super) fn write_result(names: &Names) -> Object {
    Object::new(names.derived("WriteResult")).field(json_field(
        "id",
        TypeRef::named_nn(TypeRef::STRING),
        Need::Key,
        "id",
    ))
}

/// The mutations `visible` allows. A caller that may not read the type gets
/// `<type>WriteResult` back, and the services answer it with the id alone.
pub(super) fn mutations(names: &Names, visible: &Visible) -> Vec<Field> {
    let type_name = names.model.name.clone();
    let suffix = capitalized(&names.object);
    let written = if visible.read {
        TypeRef::named(&names.object)
    } else {
        TypeRef::named(names.derived("WriteResult"))
    };
    let mut fields = Vec::new();
    let shared = names.clone();
    let create = guarded(
        format!("create{suffix}"),
        written.clone(),
        Need::On(type_name.clone(), Action::Create),
        move |ctx| {
            let names = shared.clone();
            FieldFuture::new(async move {
                let (db, principal) = services(&ctx)?;
                take_objects(&ctx, 1)?;
                let body = body_of(&names, &ctx)?;
                let created = objects::create(db, principal, &names.model.name, &body)
                    .await
                    .map_err(app_err)?;
                Ok(Some(FieldValue::owned_any(created)))
            })
        },
    )
    .argument(InputValue::new(
        "data",
        TypeRef::named_nn(names.derived("Input")),
    ));
    let shared = names.clone();
    let update = guarded(
        format!("update{suffix}"),
        written,
        Need::On(type_name.clone(), Action::Update),
        move |ctx| {
            let names = shared.clone();
            FieldFuture::new(async move {
                let (db, principal) = services(&ctx)?;
                let id = ctx.args.try_get("id")?.string()?.to_owned();
                take_objects(&ctx, 1)?;
                let body = body_of(&names, &ctx)?;
                let updated = objects::update(db, principal, &names.model.name, &id, &body, true)
                    .await
                    .map_err(app_err)?;
                Ok(Some(FieldValue::owned_any(updated)))
            })
        },
    )
    .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::STRING)))
    .argument(InputValue::new(
        "data",
        TypeRef::named_nn(names.derived("Input")),
    ));
    let delete = guarded(
        format!("delete{suffix}"),
        TypeRef::named(TypeRef::BOOLEAN),
        Need::On(type_name.clone(), Action::Delete),
        move |ctx| {
            let type_name = type_name.clone();
            FieldFuture::new(async move {
                let (db, principal) = services(&ctx)?;
                let id = ctx.args.try_get("id")?.string()?.to_owned();
                objects::delete(db, principal, &type_name, &id)
                    .await
                    .map_err(app_err)?;
                Ok(Some(FieldValue::value(true)))
            })
        },
    )
    .argument(InputValue::new("id", TypeRef::named_nn(TypeRef::STRING)));
    for (allowed, field) in [
        (visible.create, create),
        (visible.update, update),
        (visible.delete, delete),
    ] {
        if allowed {
            fields.push(field);
        }
    }
    fields
}
