//! The one constructor for schema fields. Every field states what it needs, and the
//! check runs before its resolver: no resolver exists without one.

use async_graphql::dynamic::{Field, FieldFuture, FieldValue, ResolverContext, TypeRef};

use crate::auth::{Action, Principal};
use crate::error::AppError;

/// What a field needs from the caller.
#[derive(Clone, Debug)]
pub enum Need {
    /// Any valid key of the account (shared types such as `flotiq___internal`).
    Key,
    /// Permission `action` on the content type.
    On(String, Action),
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
        match allowed {
            Ok(()) => resolver(ctx),
            Err(err) => {
                FieldFuture::new(async move { Err::<Option<FieldValue>, _>(err.into_graphql()) })
            }
        }
    })
}
