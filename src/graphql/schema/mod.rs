//! Builds an account's GraphQL schema from its content type definitions: one object
//! type per content type, and for the current API (`/api/v2/graphql`) one connection
//! root field per type, `search`, and mutations; for the legacy API (`/api/graphql`)
//! `<type>(id:)` and `<type>List(...)`. Every field is made by `guard::guarded`.
//! One submodule per family of types: objects, connections (and the legacy lists),
//! mutations, search.

mod connections;
mod mutations;
mod node;
mod object_types;
mod search;

use connections::{connection_root, connection_types, filter_input, legacy_roots};
use mutations::{data_input, mutations, write_result};
use node::{Node, node_of, to_graphql};
use object_types::{internal_type, object_type};
use search::search_types;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_graphql::dynamic::{
    FieldFuture, FieldValue, InputObject, InputValue, Object, ResolverContext, Scalar, Schema,
    TypeRef,
};

use crate::auth::{Action, Principal};
use crate::content::definitions::TypeModel;
use crate::db::Db;
use crate::error::AppError;
use crate::graphql::budget::ObjectBudget;
use crate::graphql::errors::IntoGraphql;
use crate::graphql::guard::{Need, guarded};
use crate::graphql::naming::unique_names;

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

/// Property name → GraphQL field name, for the properties of one content type.
pub fn field_names(model: &TypeModel) -> BTreeMap<String, String> {
    unique_names(
        model.properties.iter().map(|p| p.name.as_str()),
        &["id", "internal"],
    )
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
            fields: field_names(model),
        })
        .collect()
}

/// A first query over the first of `models` for GraphiQL (the current API): its id and
/// up to three plain properties of five objects, so that a newcomer presses run and
/// sees their content. Anonymous: GraphiQL keeps sending a named operation's name after
/// the editor's text is replaced by another query.
pub fn first_query(models: &[TypeModel]) -> Option<String> {
    use crate::content::definitions::SchemaType;
    let names = names_of(models).into_iter().next()?;
    let plain = names
        .model
        .properties
        .iter()
        .filter(|p| p.relation.is_none())
        .filter(|p| {
            matches!(
                p.schema_type,
                SchemaType::String | SchemaType::Number | SchemaType::Integer | SchemaType::Boolean
            )
        })
        .take(3)
        .map(|p| names.fields[&p.name].as_str());
    let fields: Vec<&str> = std::iter::once("id").chain(plain).collect();
    Some(format!(
        "# The first five objects of {}. Press the run button (or Ctrl-Enter).\n{{\n  {}(first: 5) {{\n    edges {{\n      node {{\n        {}\n      }}\n    }}\n  }}\n}}\n",
        names.model.name,
        names.root,
        fields.join("\n        ")
    ))
}

fn app_err(err: AppError) -> async_graphql::Error {
    err.into_graphql()
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

/// Takes `objects` from the request's object budget before they are loaded.
fn take_objects(ctx: &ResolverContext<'_>, objects: u64) -> async_graphql::Result<()> {
    ctx.data::<Arc<ObjectBudget>>()?
        .take(objects)
        .map_err(app_err)
}

/// Takes the size of objects about to be handed to their fields.
fn take_bytes(ctx: &ResolverContext<'_>, bytes: u64) -> async_graphql::Result<()> {
    ctx.data::<Arc<ObjectBudget>>()?
        .take_bytes(bytes)
        .map_err(app_err)
}

/// Takes the size of a value about to be answered.
fn take_answer_bytes(ctx: &ResolverContext<'_>, bytes: u64) -> async_graphql::Result<()> {
    ctx.data::<Arc<ObjectBudget>>()?
        .take_answer_bytes(bytes)
        .map_err(app_err)
}

/// Gives back what a page took but did not fill.
fn give_back_objects(ctx: &ResolverContext<'_>, taken: u64, used: u64) {
    if let Ok(budget) = ctx.data::<Arc<ObjectBudget>>() {
        budget.give_back(taken.saturating_sub(used));
    }
}

fn services<'a>(ctx: &'a ResolverContext<'_>) -> async_graphql::Result<(&'a Db, &'a Principal)> {
    Ok((ctx.data::<Db>()?, ctx.data::<Principal>()?))
}

/// What one caller may see of each type, decided by `Principal::can` alone.
struct Visible {
    read: bool,
    create: bool,
    update: bool,
    delete: bool,
}

impl Visible {
    fn of(principal: &Principal, type_name: &str) -> Self {
        let can = |action| principal.can(type_name, action);
        Visible {
            read: can(Action::Read),
            create: can(Action::Create),
            update: can(Action::Update),
            delete: can(Action::Delete),
        }
    }
}

/// The schema of an account's content types (in definition order) as `principal` sees
/// it: object types, root fields and relations only for the types it may read, and
/// mutations only for what it may create, update or delete; a write it may not read
/// back returns `<type>WriteResult { id }`. Names are given over all the account's
/// types, so a type has the same GraphQL name for every key.
pub fn build(
    models: &[TypeModel],
    flavor: Flavor,
    options: Options,
    principal: &Principal,
) -> Result<Schema, String> {
    let all = names_of(models);
    let readable: Vec<Names> = all
        .iter()
        .filter(|n| principal.can(&n.model.name, Action::Read))
        .cloned()
        .collect();
    let object_names: BTreeMap<String, String> = readable
        .iter()
        .map(|n| (n.model.name.clone(), n.object.clone()))
        .collect();
    let hidden: BTreeSet<String> = all
        .iter()
        .filter(|n| !object_names.contains_key(&n.model.name))
        .map(|n| n.model.name.clone())
        .collect();
    let mut query = Object::new("Query");
    let mut mutation = Object::new("Mutation");
    let mut has_mutations = false;
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
        let visible = Visible::of(principal, &names.model.name);
        if visible.read {
            types.push(object_type(names, &object_names, &hidden).into());
        }
        match flavor {
            Flavor::Current => {
                if visible.read {
                    query = query.field(connection_root(names));
                    types.extend(connection_types(names).map(Into::into));
                    types.push(filter_input(names).into());
                }
                if visible.create || visible.update {
                    types.push(data_input(names).into());
                }
                if (visible.create || visible.update) && !visible.read {
                    types.push(write_result(names).into());
                }
                for field in mutations(names, &visible) {
                    mutation = mutation.field(field);
                    has_mutations = true;
                }
            }
            Flavor::Legacy if visible.read => {
                for field in legacy_roots(names) {
                    query = query.field(field);
                }
            }
            Flavor::Legacy => {}
        }
    }
    if flavor == Flavor::Current && !readable.is_empty() {
        let (field, search_types) = search_types(&readable);
        query = query.field(field);
        types.extend(search_types);
    }
    if readable.is_empty() {
        // A schema needs one query field; a caller without readable types gets an empty answer.
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
        .limit_depth(crate::graphql::limits::MAX_SCHEMA_DEPTH)
        .disable_suggestions();
    if !options.introspection {
        builder = builder.disable_introspection();
    }
    builder.finish().map_err(|err| err.to_string())
}

/// GraphQL field names of every relation property of these types.
pub fn relation_field_names(models: &[TypeModel]) -> std::collections::HashSet<String> {
    names_of(models)
        .iter()
        .flat_map(|names| {
            names
                .model
                .properties
                .iter()
                .filter(|p| p.relation.is_some())
                .map(|p| names.fields[&p.name].clone())
        })
        .collect()
}
