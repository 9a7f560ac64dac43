//! The floor of async-graphql 7's dynamic executor under the paired benchmark's nested
//! query (25 posts, six scalars each, their category and author with three each): the
//! same selection over a schema whose resolvers do no work at all (every value is lent
//! from memory, answered with `FieldFuture::Value`), executed and serialised in this
//! thread, no HTTP and no database. What it costs per query is what any server built on
//! this executor pays before it reads a byte of data: it bounds rendered GraphQL on this
//! machine. `cargo bench --bench graphql_floor`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::Value;
use async_graphql::dynamic::{
    Field, FieldFuture, FieldValue, Object, ResolverContext, Schema, TypeRef,
};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One object: its scalar fields by name, and its related objects by field name.
struct Item {
    scalars: Vec<(&'static str, Value)>,
    related: Vec<(&'static str, Arc<Item>)>,
}

fn item_of<'a>(ctx: &ResolverContext<'a>) -> &'a Item {
    match ctx.parent_value.downcast_ref::<Item>() {
        Some(item) => item,
        None => ctx
            .parent_value
            .downcast_ref::<Arc<Item>>()
            .expect("an item"),
    }
}

/// An object type whose scalars and relations read the parent item, as our content
/// object types do.
fn object(
    name: &str,
    scalars: &[(&'static str, &str)],
    related: &[(&'static str, &str)],
) -> Object {
    let mut object = Object::new(name);
    for &(field, ty) in scalars {
        object = object.field(Field::new(field, TypeRef::named(ty), move |ctx| {
            let item = item_of(&ctx);
            let value = item
                .scalars
                .iter()
                .find(|(n, _)| *n == field)
                .map(|(_, v)| v.clone());
            FieldFuture::Value(value.map(FieldValue::value))
        }));
    }
    for &(field, ty) in related {
        object = object.field(Field::new(field, TypeRef::named(ty), move |ctx| {
            let item = item_of(&ctx);
            let related = item
                .related
                .iter()
                .find(|(n, _)| *n == field)
                .map(|(_, r)| r);
            FieldFuture::Value(related.map(|r| FieldValue::borrowed_any(r)))
        }));
    }
    object
}

fn schema(posts: Arc<Vec<Item>>) -> Schema {
    let post = object(
        "Post",
        &[
            ("id", TypeRef::STRING),
            ("title", TypeRef::STRING),
            ("slug", TypeRef::STRING),
            ("body", TypeRef::STRING),
            ("views", TypeRef::INT),
            ("published", TypeRef::BOOLEAN),
        ],
        &[("category", "Category"), ("author", "Author")],
    );
    let category = object(
        "Category",
        &[
            ("id", TypeRef::STRING),
            ("title", TypeRef::STRING),
            ("slug", TypeRef::STRING),
        ],
        &[],
    );
    let author = object(
        "Author",
        &[
            ("id", TypeRef::STRING),
            ("name", TypeRef::STRING),
            ("email", TypeRef::STRING),
        ],
        &[],
    );
    let edge = Object::new("PostEdge").field(Field::new("node", TypeRef::named("Post"), |ctx| {
        FieldFuture::Value(Some(FieldValue::borrowed_any(item_of(&ctx))))
    }));
    let connection = Object::new("PostConnection").field(Field::new(
        "edges",
        TypeRef::named_list("PostEdge"),
        |ctx| {
            let posts = ctx
                .parent_value
                .downcast_ref::<Arc<Vec<Item>>>()
                .expect("posts");
            FieldFuture::Value(Some(FieldValue::list(
                posts.iter().map(|p| FieldValue::borrowed_any(p)),
            )))
        },
    ));
    let query = Object::new("Query").field(Field::new(
        "post",
        TypeRef::named("PostConnection"),
        move |_| FieldFuture::Value(Some(FieldValue::owned_any(posts.clone()))),
    ));
    Schema::build("Query", None, None)
        .register(query)
        .register(connection)
        .register(edge)
        .register(post)
        .register(category)
        .register(author)
        .finish()
        .expect("schema")
}

fn text(s: String) -> Value {
    Value::String(s)
}

fn posts() -> Vec<Item> {
    (0..25)
        .map(|i| Item {
            scalars: vec![
                ("id", text(format!("post-{i}"))),
                ("title", text(format!("Post number {i} about things"))),
                ("slug", text(format!("post-number-{i}"))),
                ("body", text("Lorem ipsum dolor sit amet, ".repeat(20))),
                ("views", Value::Number(i.into())),
                ("published", Value::Boolean(i % 2 == 0)),
            ],
            related: vec![
                (
                    "category",
                    Arc::new(Item {
                        scalars: vec![
                            ("id", text(format!("category-{i}"))),
                            ("title", text(format!("Category {i}"))),
                            ("slug", text(format!("category-{i}"))),
                        ],
                        related: vec![],
                    }),
                ),
                (
                    "author",
                    Arc::new(Item {
                        scalars: vec![
                            ("id", text(format!("author-{i}"))),
                            ("name", text(format!("Author {i}"))),
                            ("email", text(format!("author{i}@example.com"))),
                        ],
                        related: vec![],
                    }),
                ),
            ],
        })
        .collect()
}

/// Median time of one execution and serialisation of `query`, over rounds of a second.
async fn per_query(schema: &Schema, query: &str) -> (Duration, usize) {
    let mut rounds = Vec::new();
    let mut size = 0;
    for _ in 0..5 {
        let started = Instant::now();
        let mut runs = 0u32;
        while started.elapsed() < Duration::from_millis(1000) {
            let response = schema.execute(query).await;
            assert!(response.errors.is_empty(), "{:?}", response.errors);
            size = serde_json::to_vec(&response).expect("json").len();
            runs += 1;
        }
        rounds.push(started.elapsed() / runs);
    }
    rounds.sort();
    (rounds[rounds.len() / 2], size)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let schema = schema(Arc::new(posts()));
    println!("async-graphql 7 dynamic executor, resolvers that do no work, one thread:");
    println!("| query | fields resolved | µs per query | queries/s per core |");
    println!("|---|---:|---:|---:|");
    for (label, fields, query) in [
        ("`{ __typename }`", 1, "{ __typename }"),
        (
            "25 posts, `id` only",
            1 + 25 * 3,
            "{ post { edges { node { id } } } }",
        ),
        (
            "25 posts nested (the paired query)",
            1 + 25 * (2 + 6 + 2 + 6),
            "{ post { edges { node { id title slug body views published category { id title slug } author { id name email } } } } }",
        ),
    ] {
        let (time, size) = runtime.block_on(per_query(&schema, query));
        let micros = time.as_secs_f64() * 1e6;
        println!(
            "| {label} | {fields} | {micros:.1} | {:.0} |  ({size} bytes)",
            1e6 / micros
        );
    }
}
