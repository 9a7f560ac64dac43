//! The error table rendered as GraphQL errors: the table's fixed message, its code in
//! `extensions.code`, and a refusal's field messages in `extensions.errors`.

use async_graphql::ErrorExtensions;

use crate::error::AppError;

pub trait IntoGraphql {
    fn into_graphql(self) -> async_graphql::Error;
}

impl IntoGraphql for AppError {
    fn into_graphql(self) -> async_graphql::Error {
        self.log_internal("graphql resolver failed");
        let code = self.code();
        let details = self.details();
        async_graphql::Error::new(self.message()).extend_with(|_, extensions| {
            extensions.set("code", code);
            if let Some(details) = details {
                extensions.set(
                    "errors",
                    async_graphql::Value::from_json(details).unwrap_or_default(),
                );
            }
        })
    }
}
