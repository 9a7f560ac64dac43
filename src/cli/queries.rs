//! `contentgate queries ...`: the account's persisted GraphQL documents.

use super::{Failure, account_id, open, print_json};
use crate::config::{GlobalArgs, QueriesCommand};
use crate::persisted::PersistedDocuments;

pub(super) async fn run(global: &GlobalArgs, command: QueriesCommand) -> Result<(), Failure> {
    // Read every file before opening anything, so a bad one stores nothing.
    let documents = match &command {
        QueriesCommand::Add { files } if files.is_empty() => {
            return Err(Failure(
                "name at least one file holding a GraphQL document".into(),
                2,
            ));
        }
        QueriesCommand::Add { files } => files
            .iter()
            .map(|file| {
                let text = std::fs::read_to_string(file)
                    .map_err(|err| Failure(format!("cannot read {}: {err}", file.display()), 1))?;
                let limit = crate::graphql::limits::MAX_DOCUMENT_BYTES;
                if text.len() > limit {
                    let name = file.display();
                    return Err(Failure(
                        format!("{name} is larger than {limit} bytes, the limit of any document"),
                        1,
                    ));
                }
                async_graphql::parser::parse_query(&text).map_err(|err| {
                    Failure(
                        format!("{} is not a GraphQL document: {err}", file.display()),
                        1,
                    )
                })?;
                Ok((file.display().to_string(), text))
            })
            .collect::<Result<Vec<_>, Failure>>()?,
        QueriesCommand::List => Vec::new(),
    };
    let (keys, _) = open(global).await?;
    let account = account_id(&keys, global).await?;
    let store = PersistedDocuments::default();
    match command {
        QueriesCommand::Add { .. } => {
            let mut stored = Vec::new();
            for (file, text) in documents {
                let hash = store.store(&keys.db, &account, &text).await?;
                stored.push(serde_json::json!({"file": file, "sha256Hash": hash}));
            }
            print_json(global, &stored);
        }
        QueriesCommand::List => {
            print_json(global, &PersistedDocuments::list(&keys.db, &account).await?)
        }
    }
    Ok(())
}
