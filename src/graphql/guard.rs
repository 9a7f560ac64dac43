//! The one constructor for schema fields. Every field states what it needs, and the
//! check runs before its resolver: no resolver exists without one. A refused or failed
//! field resolves to null with its error reported at the field's path, so the rest of
//! the response is still delivered.

use async_graphql::Context;
use async_graphql::dynamic::{Field, FieldFuture, FieldValue, ResolverContext, TypeRef};

use std::sync::Arc;

use crate::auth::{Action, Principal};
use crate::error::AppError;
use crate::graphql::budget::ObjectBudget;
use crate::graphql::errors::IntoGraphql;

/// What a field needs from the caller.
#[derive(Clone, Debug)]
pub enum Need {
    /// Any valid key of the account (shared types such as `flotiq___internal`).
    Key,
    /// Permission `action` on the content type.
    On(String, Action),
}

/// Errors one HTTP request reports at most: a refusal met at every copy of a field
/// (a spent budget) would otherwise make an answer larger than the data it stands for.
pub const MAX_ERRORS_PER_REQUEST: u64 = 100;

fn report(ctx: &Context<'_>, error: async_graphql::Error) {
    let reported = ctx
        .data_opt::<Arc<ObjectBudget>>()
        .map_or(0, |budget| budget.count_error());
    let error = match reported {
        n if n < MAX_ERRORS_PER_REQUEST => error,
        MAX_ERRORS_PER_REQUEST => async_graphql::Error::new(format!(
            "More than {MAX_ERRORS_PER_REQUEST} fields failed; the errors of the others are left out"
        )),
        _ => return,
    };
    ctx.add_error(ctx.set_error_path(error.into_server_error(ctx.item.pos)));
}

/// A field answered without a future (most fields read their parent): its value, or
/// null with its error reported at its path.
pub fn ready<'a>(
    ctx: &ResolverContext<'a>,
    result: async_graphql::Result<Option<FieldValue<'a>>>,
) -> FieldFuture<'a> {
    match result {
        Ok(value) => FieldFuture::Value(value),
        Err(error) => {
            report(ctx.ctx, error);
            FieldFuture::Value(None)
        }
    }
}

pub fn guarded<F>(name: impl Into<String>, ty: impl Into<TypeRef>, need: Need, resolver: F) -> Field
where
    F: for<'a> Fn(ResolverContext<'a>) -> FieldFuture<'a> + Send + Sync + 'static,
{
    Field::new(name, ty, move |ctx| {
        let allowed = match (ctx.data_opt::<Principal>(), &need) {
            (None, _) => Err(AppError::Unauthorized),
            (Some(_), Need::Key) => Ok(()),
            (Some(principal), Need::On(content_type, action)) => {
                principal.require(content_type, *action)
            }
        };
        let field_ctx = ctx.ctx;
        if let Err(err) = allowed {
            report(field_ctx, err.into_graphql());
            return FieldFuture::Value(None);
        }
        match resolver(ctx) {
            FieldFuture::Future(future) => FieldFuture::Future(Box::pin(async move {
                match future.await {
                    Ok(value) => Ok(value),
                    Err(error) => {
                        report(field_ctx, error);
                        Ok(None)
                    }
                }
            })),
            value => value,
        }
    })
}
