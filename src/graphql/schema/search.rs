//! The `search` root field and its union of all object types.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_graphql::dynamic::{Field, FieldFuture, FieldValue, InputValue, Object, TypeRef, Union};
use serde_json::Value;

use super::{
    Names, app_err, arg_str, arg_u64, give_back_objects, services, take_bytes, take_objects,
};
use crate::auth::{Action, Principal};
use crate::content::models::Models;
use crate::content::objects::MAX_LIST_LIMIT;
use crate::content::search::SearchPage;
use crate::content::search::{SearchParams, search};
use crate::error::AppError;
use crate::graphql::errors::IntoGraphql;
use crate::graphql::guard::{Need, guarded};
use crate::graphql::limits::DEFAULT_FIRST;

/// `search(q, content_type, first, offset)`: hits across the readable types.
pub(super) fn search_types(all: &[Names]) -> (Field, Vec<async_graphql::dynamic::Type>) {
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
                    let hit = ctx.parent_value.try_downcast_ref::<FoundHit>()?;
                    Ok(Some(FieldValue::value(hit.score)))
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
                    let hit = ctx.parent_value.try_downcast_ref::<FoundHit>()?;
                    let content_type = hit.content_type.as_str();
                    let principal = ctx.data::<Principal>()?;
                    // The search service only returns readable types; checked again per node.
                    principal
                        .require(content_type, Action::Read)
                        .map_err(app_err)?;
                    let object = by_type.get(content_type).cloned().unwrap_or_default();
                    Ok(Some(
                        FieldValue::borrowed_any(&hit.object).with_type(object),
                    ))
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
                    let found = ctx.parent_value.try_downcast_ref::<Found>()?;
                    Ok(Some(FieldValue::value(found.total_count)))
                })
            },
        ))
        .field(guarded(
            "edges",
            TypeRef::named_list("SearchEdge"),
            Need::Key,
            |ctx| {
                FieldFuture::new(async move {
                    let found = ctx.parent_value.try_downcast_ref::<Found>()?;
                    Ok(Some(FieldValue::list(
                        found.hits.iter().map(|hit| FieldValue::borrowed_any(hit)),
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
            take_objects(&ctx, limit)?;
            let result = search(db, principal, ctx.data::<Arc<Models>>()?, &params)
                .await
                .map_err(app_err)?;
            give_back_objects(&ctx, limit, result.data.len() as u64);
            take_bytes(&ctx, crate::content::json_size(&result))?;
            Ok(Some(FieldValue::owned_any(Found::from_page(result)?)))
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

/// A search's page as its GraphQL fields read it: each hit's object parsed once, here,
/// however many aliases of `node` read it.
struct Found {
    total_count: u64,
    hits: Vec<FoundHit>,
}

struct FoundHit {
    score: f64,
    content_type: String,
    object: Value,
}

impl Found {
    fn from_page(page: SearchPage) -> async_graphql::Result<Found> {
        let hits = page
            .data
            .into_iter()
            .map(|hit| {
                let object = serde_json::from_str(hit.object.get()).map_err(|err| {
                    AppError::Internal(format!("search hit: {err}")).into_graphql()
                })?;
                Ok(FoundHit {
                    score: hit.score,
                    content_type: hit.content_type,
                    object,
                })
            })
            .collect::<async_graphql::Result<_>>()?;
        Ok(Found {
            total_count: page.total_count,
            hits,
        })
    }
}
