//! Builds an account's GraphQL schema from its content type definitions: one object
//! type per content type, and for the current API (`/api/v2/graphql`) one connection
//! root field per type, `search`, and mutations; for the legacy API (`/api/graphql`)
//! `<type>(id:)` and `<type>List(...)`. Every field is made by `guard::guarded`.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputObject, InputValue, Object, ResolverContext, Scalar,
    Schema, TypeRef, Union,
};
use sea_orm::DatabaseConnection;
use serde_json::{Map, Value, json};

use super::guard::{Need, guarded};
use super::loader::RelationLoader;
use super::naming::{capitalized, unique_names};
use crate::auth::{Action, Principal};
use crate::content::definition::{Property, TypeModel};
use crate::content::objects::{self, ListParams, MAX_LIST_LIMIT};
use crate::content::query::{equals_condition, parse_filters, parse_order};
use crate::content::search::{SearchParams, search};
use crate::error::AppError;

pub const INTERNAL_TYPE: &str = "flotiq___internal";
pub const FILTER_TYPE: &str = "FlotiqFieldFilterInput";
const JSON_SCALAR: &str = "JSON";
/// GraphQL type names taken before any content type is named.
const RESERVED_TYPES: &[&str] = &[
    "Query",
    "Mutation",
    "String",
    "Int",
    "Float",
    "Boolean",
    "ID",
    INTERNAL_TYPE,
    FILTER_TYPE,
    JSON_SCALAR,
    "SearchHit",
    "SearchResult",
    "SearchEdge",
];
/// Root field names of the current API that content types cannot take.
const RESERVED_ROOTS: &[&str] = &["search"];
pub const DEFAULT_FIRST: u64 = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `/api/v2/graphql`
    Current,
    /// `/api/graphql`
    Legacy,
}

/// Schema-wide options from the configuration.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    pub introspection: bool,
}

/// GraphQL names of one content type and its properties.
#[derive(Clone)]
struct Names {
    model: Arc<TypeModel>,
    object: String,
    root: String,
    /// property name → field name
    fields: BTreeMap<String, String>,
}

impl Names {
    fn derived(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.object)
    }
}

fn names_of(models: &[TypeModel]) -> Vec<Names> {
    let objects = unique_names(models.iter().map(|m| m.name.as_str()), RESERVED_TYPES);
    let roots = unique_names(models.iter().map(|m| m.name.as_str()), RESERVED_ROOTS);
    models
        .iter()
        .map(|model| Names {
            model: Arc::new(model.clone()),
            object: objects[&model.name].clone(),
            root: roots[&model.name].clone(),
            fields: unique_names(
                model.properties.iter().map(|p| p.name.as_str()),
                &["id", "internal"],
            ),
        })
        .collect()
}

fn to_graphql(value: &Value) -> async_graphql::Value {
    async_graphql::Value::from_json(value.clone()).unwrap_or(async_graphql::Value::Null)
}

fn app_err(err: AppError) -> async_graphql::Error {
    err.into_graphql()
}

/// A page of objects as a connection's parent value.
struct Connection {
    items: Vec<Value>,
    total: u64,
    has_next: bool,
}

/// A scalar read from the parent object (a rendered content object or part of one).
fn json_field(name: &str, ty: TypeRef, need: Need, key: &str) -> Field {
    let key = key.to_owned();
    guarded(name, ty, need, move |ctx| {
        let key = key.clone();
        FieldFuture::new(async move {
            let parent = ctx.parent_value.try_downcast_ref::<Value>()?;
            Ok(parent
                .get(&key)
                .filter(|v| !v.is_null())
                .map(|v| FieldValue::value(to_graphql(v))))
        })
    })
}

fn output_type(property: &Property, object_names: &BTreeMap<String, String>) -> TypeRef {
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
    match property.schema_type.as_str() {
        "string" => named(TypeRef::STRING),
        "number" => named(TypeRef::FLOAT),
        "integer" => named(TypeRef::INT),
        "boolean" => named(TypeRef::BOOLEAN),
        "array" if property.item_type.as_deref() == Some("string") => {
            TypeRef::named_list(TypeRef::STRING)
        }
        _ => named(JSON_SCALAR),
    }
}

fn input_type(property: &Property) -> TypeRef {
    if property.relation.is_some() {
        return TypeRef::named_list(TypeRef::STRING);
    }
    match property.schema_type.as_str() {
        "string" => TypeRef::named(TypeRef::STRING),
        "number" => TypeRef::named(TypeRef::FLOAT),
        "integer" => TypeRef::named(TypeRef::INT),
        "boolean" => TypeRef::named(TypeRef::BOOLEAN),
        "array" if property.item_type.as_deref() == Some("string") => {
            TypeRef::named_list(TypeRef::STRING)
        }
        _ => TypeRef::named(JSON_SCALAR),
    }
}

/// The object type of one content type.
fn object_type(names: &Names, object_names: &BTreeMap<String, String>) -> Object {
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
                FieldFuture::new(async move {
                    let parent = ctx.parent_value.try_downcast_ref::<Value>()?;
                    Ok(parent.get("internal").cloned().map(FieldValue::owned_any))
                })
            },
        ));
    for property in &names.model.properties {
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
fn relation_field(field_name: &str, ty: TypeRef, property: &Property, target: &str) -> Field {
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
                let parent = ctx.parent_value.try_downcast_ref::<Value>()?;
                let prefix = format!("/api/v1/content/{target}/");
                let keys: Vec<(String, String)> = parent
                    .get(&key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|item| {
                        item.get("dataUrl")?
                            .as_str()?
                            .strip_prefix(&prefix)
                            .map(str::to_owned)
                    })
                    .map(|id| (target.clone(), id))
                    .collect();
                let loader = ctx.data::<DataLoader<RelationLoader>>()?;
                let loaded = loader
                    .load_many(keys.iter().cloned())
                    .await
                    .map_err(|err| {
                        tracing::error!(error = %err, "relation loader failed");
                        AppError::Internal("relation loader".into()).into_graphql()
                    })?;
                let items: Vec<FieldValue> = keys
                    .iter()
                    .filter_map(|k| loaded.get(k).cloned())
                    .map(FieldValue::owned_any)
                    .collect();
                Ok(Some(FieldValue::list(items)))
            })
        },
    )
}

fn connection_types(names: &Names) -> [Object; 3] {
    let read = Need::On(names.model.name.clone(), Action::Read);
    let edge = Object::new(names.derived("Edge")).field(guarded(
        "node",
        TypeRef::named(&names.object),
        read.clone(),
        |ctx| {
            FieldFuture::new(async move {
                let item = ctx.parent_value.try_downcast_ref::<Value>()?;
                Ok(Some(FieldValue::owned_any(item.clone())))
            })
        },
    ));
    let page_info = Object::new(names.derived("PageInfo")).field(guarded(
        "hasNextPage",
        TypeRef::named(TypeRef::BOOLEAN),
        read.clone(),
        |ctx| {
            FieldFuture::new(async move {
                let has_next = *ctx.parent_value.try_downcast_ref::<bool>()?;
                Ok(Some(FieldValue::value(has_next)))
            })
        },
    ));
    let connection = Object::new(names.derived("Connection"))
        .field(guarded(
            "edges",
            TypeRef::named_list(names.derived("Edge")),
            read.clone(),
            |ctx| {
                FieldFuture::new(async move {
                    let connection = ctx.parent_value.try_downcast_ref::<Connection>()?;
                    Ok(Some(FieldValue::list(
                        connection.items.iter().cloned().map(FieldValue::owned_any),
                    )))
                })
            },
        ))
        .field(guarded(
            "pageInfo",
            TypeRef::named(names.derived("PageInfo")),
            read.clone(),
            |ctx| {
                FieldFuture::new(async move {
                    let connection = ctx.parent_value.try_downcast_ref::<Connection>()?;
                    Ok(Some(FieldValue::owned_any(connection.has_next)))
                })
            },
        ))
        .field(guarded(
            "totalCount",
            TypeRef::named(TypeRef::INT),
            read,
            |ctx| {
                FieldFuture::new(async move {
                    let connection = ctx.parent_value.try_downcast_ref::<Connection>()?;
                    Ok(Some(FieldValue::value(connection.total as i64)))
                })
            },
        ));
    [connection, edge, page_info]
}

fn filter_input(names: &Names) -> InputObject {
    let mut input = InputObject::new(names.derived("FilterInput"))
        .field(InputValue::new("id", TypeRef::named(FILTER_TYPE)));
    for property in &names.model.properties {
        input = input.field(InputValue::new(
            &names.fields[&property.name],
            TypeRef::named(FILTER_TYPE),
        ));
    }
    input
}

fn data_input(names: &Names) -> InputObject {
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

/// The REST `filters` JSON for a typed filter input.
fn filters_json(
    names: &Names,
    filter: &async_graphql::dynamic::ObjectAccessor<'_>,
) -> async_graphql::Result<String> {
    let mut filters = Map::new();
    for (field, spec) in filter.iter() {
        let property = names
            .model
            .properties
            .iter()
            .find(|p| names.fields[&p.name] == field.as_str());
        let path = match property {
            Some(p) if p.relation.is_some() => format!("{}[*].dataUrl", p.name),
            Some(p) => p.name.clone(),
            None => "id".to_owned(),
        };
        let spec = spec.object()?;
        let mut condition = Map::new();
        condition.insert("type".into(), json!(spec.try_get("type")?.string()?));
        for key in ["filter", "filter2"] {
            if let Some(value) = spec.get(key).filter(|v| !v.is_null()) {
                let text = value.string()?;
                // A JSON array (for `overlaps`, `equals` of several values) is passed as one.
                let parsed = serde_json::from_str::<Value>(text)
                    .ok()
                    .filter(Value::is_array);
                condition.insert(key.into(), parsed.unwrap_or_else(|| json!(text)));
            }
        }
        filters.insert(path, Value::Object(condition));
    }
    Ok(Value::Object(filters).to_string())
}

fn arg_u64(ctx: &ResolverContext<'_>, name: &str, default: u64) -> async_graphql::Result<u64> {
    match ctx.args.get(name) {
        Some(value) if !value.is_null() => {
            let number = value.i64()?;
            u64::try_from(number).map_err(|_| {
                AppError::field(name, "This value should be 0 or more.").into_graphql()
            })
        }
        _ => Ok(default),
    }
}

fn arg_str<'a>(ctx: &'a ResolverContext<'_>, name: &str) -> async_graphql::Result<Option<&'a str>> {
    match ctx.args.get(name) {
        Some(value) if !value.is_null() => Ok(Some(value.string()?)),
        _ => Ok(None),
    }
}

fn services<'a>(
    ctx: &'a ResolverContext<'_>,
) -> async_graphql::Result<(&'a DatabaseConnection, &'a Principal)> {
    Ok((ctx.data::<DatabaseConnection>()?, ctx.data::<Principal>()?))
}

/// `post(id, field, value, first, offset, order_by, order_direction, filter)`.
fn connection_root(names: &Names) -> Field {
    let shared = names.clone();
    guarded(
        &names.root,
        TypeRef::named(names.derived("Connection")),
        Need::On(names.model.name.clone(), Action::Read),
        move |ctx| {
            let names = shared.clone();
            FieldFuture::new(async move {
                let (db, principal) = services(&ctx)?;
                let model = &names.model;
                let mut filters = match ctx.args.get("filter").filter(|f| !f.is_null()) {
                    Some(filter) => parse_filters(model, &filters_json(&names, &filter.object()?)?)
                        .map_err(app_err)?,
                    None => Vec::new(),
                };
                if let (Some(field), Some(value)) =
                    (arg_str(&ctx, "field")?, arg_str(&ctx, "value")?)
                {
                    let property = model
                        .properties
                        .iter()
                        .find(|p| names.fields[&p.name] == field)
                        .map(|p| p.name.as_str())
                        .unwrap_or(field);
                    filters
                        .push(equals_condition(model, property, &json!(value)).map_err(app_err)?);
                }
                let limit = arg_u64(&ctx, "first", DEFAULT_FIRST)?.min(MAX_LIST_LIMIT);
                let offset = arg_u64(&ctx, "offset", 0)?;
                let params = ListParams {
                    page: offset.checked_div(limit).unwrap_or(0) + 1,
                    limit,
                    offset,
                    ordering: parse_order(
                        model,
                        arg_str(&ctx, "order_by")?,
                        arg_str(&ctx, "order_direction")?,
                        false,
                    )
                    .map_err(app_err)?,
                    filters,
                    ids: arg_str(&ctx, "id")?
                        .map(|id| vec![id.to_owned()])
                        .unwrap_or_default(),
                    hydrate: 0,
                };
                let page = objects::list(db, principal, &model.name, &params)
                    .await
                    .map_err(app_err)?;
                let has_next = offset + page.count < page.total_count;
                Ok(Some(FieldValue::owned_any(Connection {
                    items: page.data,
                    total: page.total_count,
                    has_next,
                })))
            })
        },
    )
    .argument(InputValue::new("id", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new("field", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new("value", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new("first", TypeRef::named(TypeRef::INT)))
    .argument(InputValue::new("offset", TypeRef::named(TypeRef::INT)))
    .argument(InputValue::new("order_by", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new(
        "order_direction",
        TypeRef::named(TypeRef::STRING),
    ))
    .argument(InputValue::new(
        "filter",
        TypeRef::named(names.derived("FilterInput")),
    ))
}

/// Legacy `post(id:)` and `postList(page, limit, order_by, order_direction, filter)`.
fn legacy_roots(names: &Names) -> [Field; 2] {
    let read = Need::On(names.model.name.clone(), Action::Read);
    let shared = names.clone();
    let single = guarded(
        &names.root,
        TypeRef::named(&names.object),
        read.clone(),
        move |ctx| {
            let names = shared.clone();
            FieldFuture::new(async move {
                let (db, principal) = services(&ctx)?;
                let model = &names.model;
                let mut filters = Vec::new();
                if let (Some(field), Some(value)) =
                    (arg_str(&ctx, "field")?, arg_str(&ctx, "value")?)
                {
                    filters.push(equals_condition(model, field, &json!(value)).map_err(app_err)?);
                }
                let id = arg_str(&ctx, "id")?.map(str::to_owned);
                if id.is_none() && filters.is_empty() {
                    return Err(AppError::field("id", "Give id, or field and value").into_graphql());
                }
                let params = ListParams {
                    page: 1,
                    limit: 1,
                    offset: 0,
                    ordering: parse_order(model, None, None, false).map_err(app_err)?,
                    filters,
                    ids: id.into_iter().collect(),
                    hydrate: 0,
                };
                let page = objects::list(db, principal, &model.name, &params)
                    .await
                    .map_err(app_err)?;
                Ok(page.data.into_iter().next().map(FieldValue::owned_any))
            })
        },
    )
    .argument(InputValue::new("id", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new("field", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new("value", TypeRef::named(TypeRef::STRING)));
    let shared = names.clone();
    let list = guarded(
        format!("{}List", names.root),
        TypeRef::named_list(&names.object),
        read,
        move |ctx| {
            let names = shared.clone();
            FieldFuture::new(async move {
                let (db, principal) = services(&ctx)?;
                let model = &names.model;
                let page = arg_u64(&ctx, "page", 1)?.max(1);
                let limit = arg_u64(&ctx, "limit", 20)?.min(MAX_LIST_LIMIT);
                let filters = match arg_str(&ctx, "filter")?.filter(|f| !f.trim().is_empty()) {
                    Some(raw) => parse_filters(model, raw).map_err(app_err)?,
                    None => Vec::new(),
                };
                let params = ListParams {
                    page,
                    limit,
                    offset: (page - 1) * limit,
                    ordering: parse_order(
                        model,
                        arg_str(&ctx, "order_by")?,
                        arg_str(&ctx, "order_direction")?,
                        false,
                    )
                    .map_err(app_err)?,
                    filters,
                    ids: Vec::new(),
                    hydrate: 0,
                };
                let page = objects::list(db, principal, &model.name, &params)
                    .await
                    .map_err(app_err)?;
                Ok(Some(FieldValue::list(
                    page.data.into_iter().map(FieldValue::owned_any),
                )))
            })
        },
    )
    .argument(InputValue::new("page", TypeRef::named(TypeRef::INT)))
    .argument(InputValue::new("limit", TypeRef::named(TypeRef::INT)))
    .argument(InputValue::new("order_by", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new(
        "order_direction",
        TypeRef::named(TypeRef::STRING),
    ))
    .argument(InputValue::new("filter", TypeRef::named(TypeRef::STRING)));
    [single, list]
}

/// The data of a mutation input, in the REST body shape.
fn body_of(names: &Names, ctx: &ResolverContext<'_>) -> async_graphql::Result<Value> {
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
                            .map(|id| json!({"type": "internal", "dataUrl": format!("/api/v1/content/{target}/{id}")}))
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

fn mutations(names: &Names) -> [Field; 3] {
    let type_name = names.model.name.clone();
    let suffix = capitalized(&names.object);
    let shared = names.clone();
    let create = guarded(
        format!("create{suffix}"),
        TypeRef::named(&names.object),
        Need::On(type_name.clone(), Action::Create),
        move |ctx| {
            let names = shared.clone();
            FieldFuture::new(async move {
                let (db, principal) = services(&ctx)?;
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
        TypeRef::named(&names.object),
        Need::On(type_name.clone(), Action::Update),
        move |ctx| {
            let names = shared.clone();
            FieldFuture::new(async move {
                let (db, principal) = services(&ctx)?;
                let id = ctx.args.try_get("id")?.string()?.to_owned();
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
    [create, update, delete]
}

/// `search(q, content_type, first, offset)`: hits across the readable types.
fn search_types(all: &[Names]) -> (Field, Vec<async_graphql::dynamic::Type>) {
    let mut union = Union::new("SearchHit");
    for names in all {
        union = union.possible_type(&names.object);
    }
    let by_type: Arc<BTreeMap<String, String>> = Arc::new(
        all.iter()
            .map(|n| (n.model.name.clone(), n.object.clone()))
            .collect(),
    );
    let edge = Object::new("SearchEdge")
        .field(guarded(
            "score",
            TypeRef::named(TypeRef::FLOAT),
            Need::Key,
            |ctx| {
                FieldFuture::new(async move {
                    let hit = ctx.parent_value.try_downcast_ref::<Value>()?;
                    Ok(hit.get("score").map(|s| FieldValue::value(to_graphql(s))))
                })
            },
        ))
        .field(guarded(
            "node",
            TypeRef::named("SearchHit"),
            Need::Key,
            move |ctx| {
                let by_type = by_type.clone();
                FieldFuture::new(async move {
                    let hit = ctx.parent_value.try_downcast_ref::<Value>()?;
                    let item = hit.get("item").cloned().unwrap_or_default();
                    let content_type = item
                        .pointer("/internal/contentType")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let principal = ctx.data::<Principal>()?;
                    // The search service only returns readable types; checked again per node.
                    principal
                        .require(content_type, Action::Read)
                        .map_err(app_err)?;
                    let object = by_type.get(content_type).cloned().unwrap_or_default();
                    Ok(Some(FieldValue::owned_any(item).with_type(object)))
                })
            },
        ));
    let result = Object::new("SearchResult")
        .field(guarded(
            "totalCount",
            TypeRef::named(TypeRef::INT),
            Need::Key,
            |ctx| {
                FieldFuture::new(async move {
                    let result = ctx.parent_value.try_downcast_ref::<Value>()?;
                    Ok(result
                        .get("total_count")
                        .map(|t| FieldValue::value(to_graphql(t))))
                })
            },
        ))
        .field(guarded(
            "edges",
            TypeRef::named_list("SearchEdge"),
            Need::Key,
            |ctx| {
                FieldFuture::new(async move {
                    let result = ctx.parent_value.try_downcast_ref::<Value>()?;
                    let hits = result
                        .get("data")
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default();
                    Ok(Some(FieldValue::list(
                        hits.into_iter().map(FieldValue::owned_any),
                    )))
                })
            },
        ));
    let field = guarded("search", TypeRef::named("SearchResult"), Need::Key, |ctx| {
        FieldFuture::new(async move {
            let (db, principal) = services(&ctx)?;
            let limit = arg_u64(&ctx, "first", DEFAULT_FIRST)?.clamp(1, MAX_LIST_LIMIT);
            let offset = arg_u64(&ctx, "offset", 0)?;
            let content_types = match ctx.args.get("content_type").filter(|v| !v.is_null()) {
                Some(list) => list
                    .list()?
                    .iter()
                    .map(|v| v.string().map(str::to_owned))
                    .collect::<async_graphql::Result<_>>()?,
                None => Vec::new(),
            };
            let params = SearchParams {
                q: arg_str(&ctx, "q")?.unwrap_or_default().to_owned(),
                content_types,
                page: offset / limit + 1,
                limit,
                offset,
                ..Default::default()
            };
            let result = search(db, principal, &params).await.map_err(app_err)?;
            Ok(Some(FieldValue::owned_any(result)))
        })
    })
    .argument(InputValue::new("q", TypeRef::named(TypeRef::STRING)))
    .argument(InputValue::new(
        "content_type",
        TypeRef::named_list(TypeRef::STRING),
    ))
    .argument(InputValue::new("first", TypeRef::named(TypeRef::INT)))
    .argument(InputValue::new("offset", TypeRef::named(TypeRef::INT)));
    (field, vec![union.into(), edge.into(), result.into()])
}

fn internal_type() -> Object {
    let mut object = Object::new(INTERNAL_TYPE);
    for field in [
        "status",
        "createdAt",
        "deletedAt",
        "updatedAt",
        "contentType",
        "objectTitle",
    ] {
        object = object.field(json_field(
            field,
            TypeRef::named(TypeRef::STRING),
            Need::Key,
            field,
        ));
    }
    object.field(json_field(
        "latestVersion",
        TypeRef::named(TypeRef::INT),
        Need::Key,
        "latestVersion",
    ))
}

/// The schema for an account's content types (in definition order).
pub fn build(models: &[TypeModel], flavor: Flavor, options: Options) -> Result<Schema, String> {
    let all = names_of(models);
    let object_names: BTreeMap<String, String> = all
        .iter()
        .map(|n| (n.model.name.clone(), n.object.clone()))
        .collect();
    let mut query = Object::new("Query");
    let mut mutation = Object::new("Mutation");
    let mut types: Vec<async_graphql::dynamic::Type> = vec![
        internal_type().into(),
        Scalar::new(JSON_SCALAR)
            .description("Any JSON value")
            .into(),
        InputObject::new(FILTER_TYPE)
            .field(InputValue::new("type", TypeRef::named_nn(TypeRef::STRING)))
            .field(InputValue::new("filter", TypeRef::named(TypeRef::STRING)))
            .field(InputValue::new("filter2", TypeRef::named(TypeRef::STRING)))
            .into(),
    ];
    for names in &all {
        types.push(object_type(names, &object_names).into());
        match flavor {
            Flavor::Current => {
                query = query.field(connection_root(names));
                types.extend(connection_types(names).map(Into::into));
                types.push(filter_input(names).into());
                types.push(data_input(names).into());
                for field in mutations(names) {
                    mutation = mutation.field(field);
                }
            }
            Flavor::Legacy => {
                for field in legacy_roots(names) {
                    query = query.field(field);
                }
            }
        }
    }
    let has_mutations = flavor == Flavor::Current && !all.is_empty();
    if flavor == Flavor::Current && !all.is_empty() {
        let (field, search_types) = search_types(&all);
        query = query.field(field);
        types.extend(search_types);
    }
    if all.is_empty() {
        // A schema needs one query field; an account without types gets an empty answer.
        query = query.field(guarded(
            "contentTypes",
            TypeRef::named_nn_list_nn(TypeRef::STRING),
            Need::Key,
            |_| {
                FieldFuture::new(
                    async move { Ok(Some(FieldValue::list(Vec::<FieldValue>::new()))) },
                )
            },
        ));
    }
    let mut builder =
        Schema::build("Query", has_mutations.then_some("Mutation"), None).register(query);
    if has_mutations {
        builder = builder.register(mutation);
    }
    for ty in types {
        builder = builder.register(ty);
    }
    builder = builder
        .limit_depth(super::limits::MAX_SCHEMA_DEPTH)
        .disable_suggestions();
    if !options.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish().map_err(|err| err.to_string())
}
