//! Connections (`<type>Connection`, edges, page info), typed filters, and the root
//! list fields of the current and the legacy API.

use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, InputObject, InputValue, Object, ResolverContext, TypeRef,
};
use serde_json::{Value, json};

use super::{
    FILTER_TYPE, Names, app_err, arg_str, arg_u64, give_back_objects, services, take_bytes,
    take_objects,
};
use crate::auth::Action;
use crate::content::definitions::TypeModel;
use crate::content::filter::{
    FilterSpec, Ordering, conditions_of, equals_condition, parse_filters, parse_order,
};
use crate::content::objects::{self, ListParams, MAX_LIST_LIMIT, ObjectFields};
use crate::error::AppError;
use crate::graphql::errors::IntoGraphql;
use crate::graphql::guard::{Need, guarded, ready};
use crate::graphql::limits::DEFAULT_FIRST;

/// A page of objects as a connection's parent value.
pub(super) struct Connection {
    items: Vec<ObjectFields>,
    total: u64,
    has_next: bool,
}

pub(super) fn connection_types(names: &Names) -> [Object; 3] {
    let read = Need::On(names.model.name.clone(), Action::Read);
    let edge = Object::new(names.derived("Edge")).field(guarded(
        "node",
        TypeRef::named(&names.object),
        read.clone(),
        |ctx| {
            // The edge is its node: the same object, lent, not copied.
            let item = ctx
                .parent_value
                .try_downcast_ref::<ObjectFields>()
                .map(|item| Some(FieldValue::borrowed_any(item)));
            ready(&ctx, item)
        },
    ));
    let page_info = Object::new(names.derived("PageInfo")).field(guarded(
        "hasNextPage",
        TypeRef::named(TypeRef::BOOLEAN),
        read.clone(),
        |ctx| {
            let has_next = ctx.parent_value.try_downcast_ref::<bool>();
            ready(&ctx, has_next.map(|b| Some(FieldValue::value(*b))))
        },
    ));
    let connection = Object::new(names.derived("Connection"))
        .field(guarded(
            "edges",
            TypeRef::named_list(names.derived("Edge")),
            read.clone(),
            |ctx| {
                let edges = ctx.parent_value.try_downcast_ref::<Connection>().map(|c| {
                    Some(FieldValue::list(
                        c.items.iter().map(|item| FieldValue::borrowed_any(item)),
                    ))
                });
                ready(&ctx, edges)
            },
        ))
        .field(guarded(
            "pageInfo",
            TypeRef::named(names.derived("PageInfo")),
            read.clone(),
            |ctx| {
                let page_info = ctx.parent_value.try_downcast_ref::<Connection>();
                ready(
                    &ctx,
                    page_info.map(|c| Some(FieldValue::owned_any(c.has_next))),
                )
            },
        ))
        .field(guarded(
            "totalCount",
            TypeRef::named(TypeRef::INT),
            read,
            |ctx| {
                let total = ctx.parent_value.try_downcast_ref::<Connection>();
                ready(&ctx, total.map(|c| Some(FieldValue::value(c.total as i64))))
            },
        ));
    [connection, edge, page_info]
}

pub(super) fn filter_input(names: &Names) -> InputObject {
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

/// The filters of a typed filter input, as the same domain value REST builds.
pub(super) fn filter_specs(
    names: &Names,
    filter: &async_graphql::dynamic::ObjectAccessor<'_>,
) -> async_graphql::Result<Vec<FilterSpec>> {
    let mut specs = Vec::new();
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
        let value = |key: &str| -> async_graphql::Result<Option<Value>> {
            let Some(value) = spec.get(key).filter(|v| !v.is_null()) else {
                return Ok(None);
            };
            let text = value.string()?;
            // A JSON array (for `overlaps`, `equals` of several values) is passed as one.
            let parsed = serde_json::from_str::<Value>(text)
                .ok()
                .filter(Value::is_array);
            Ok(Some(parsed.unwrap_or_else(|| json!(text))))
        };
        specs.push(FilterSpec {
            path,
            op: spec.try_get("type")?.string()?.to_owned(),
            filter: value("filter")?,
            filter2: value("filter2")?,
        });
    }
    // In path order, as the REST JSON object is read: the same error comes first.
    specs.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(specs)
}

/// `post(id, field, value, first, offset, order_by, order_direction, filter)`.
pub(super) fn connection_root(names: &Names) -> Field {
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
                    Some(filter) => conditions_of(model, &filter_specs(&names, &filter.object()?)?)
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
                    ordering: list_order(&ctx, model)?,
                    filters,
                    ids: arg_str(&ctx, "id")?
                        .map(|id| vec![id.to_owned()])
                        .unwrap_or_default(),
                    hydrate: 0,
                };
                take_objects(&ctx, limit)?;
                let (page, weight) = objects::list_fields(db, principal, model, &params)
                    .await
                    .map_err(app_err)?;
                give_back_objects(&ctx, limit, page.count);
                take_bytes(&ctx, weight)?;
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
pub(super) fn legacy_roots(names: &Names) -> [Field; 2] {
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
                take_objects(&ctx, 1)?;
                let (page, weight) = objects::list_fields(db, principal, model, &params)
                    .await
                    .map_err(app_err)?;
                take_bytes(&ctx, weight)?;
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
                    offset: (page - 1)
                        .checked_mul(limit)
                        .filter(|o| *o <= i64::MAX as u64)
                        .ok_or_else(|| {
                            AppError::field("page", "This value is too large.").into_graphql()
                        })?,
                    ordering: list_order(&ctx, model)?,
                    filters,
                    ids: Vec::new(),
                    hydrate: 0,
                };
                take_objects(&ctx, params.limit)?;
                let (page, weight) = objects::list_fields(db, principal, model, &params)
                    .await
                    .map_err(app_err)?;
                give_back_objects(&ctx, params.limit, page.count);
                take_bytes(&ctx, weight)?;
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

/// `order_by` and `order_direction` of a list field, checked like REST's.
fn list_order(ctx: &ResolverContext<'_>, model: &TypeModel) -> async_graphql::Result<Ordering> {
    parse_order(
        model,
        arg_str(ctx, "order_by")?,
        arg_str(ctx, "order_direction")?,
        false,
    )
    .map_err(app_err)
}
