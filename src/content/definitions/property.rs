//! One property of a definition: its schema and its meta definition (input type,
//! relation target, options), checked with Flotiq's messages, and its model.

use serde_json::{Map, Value, json};

use super::model::{InputType, Property, SchemaType, is_name};
use super::schema::PROPS;
use crate::error::FieldErrors;

const RESERVED: &[&str] = &[
    "id",
    "_id",
    "_index",
    "_type",
    "_source",
    "_score",
    "_routing",
    "_version",
    "_shards",
    "objectType",
    "internal",
];

/// What one property is checked against besides its own schema and config.
pub(super) struct PropertyContext<'a> {
    pub(super) type_name: &'a str,
    pub(super) order: &'a [&'a str],
    pub(super) configs: &'a Map<String, Value>,
    pub(super) type_exists: &'a dyn Fn(&str) -> bool,
}

/// One property's schema and meta definition; its model unless its config is missing.
pub(super) fn check_property(
    prop: &String,
    prop_schema: &Value,
    context: &PropertyContext<'_>,
    errors: &mut FieldErrors,
) -> Option<Property> {
    let mut add =
        |path: &str, message: String| errors.entry(path.to_owned()).or_default().push(message);
    let (name, order, configs, type_exists) = (
        context.type_name,
        context.order,
        context.configs,
        context.type_exists,
    );
    let path = format!("{PROPS}.{prop}");
    if !is_name(prop) {
        add(
            &path,
            "Invalid value. Only a-z, A-Z, 0-9 and _ are allowed".into(),
        );
    }
    if RESERVED.contains(&prop.as_str()) {
        add(&path, format!("Property name {prop} not allowed"));
    }
    let schema_type = prop_schema
        .get("type")
        .and_then(Value::as_str)
        .and_then(SchemaType::parse);
    if schema_type.is_none() {
        add(
            &format!("{path}.type"),
            format!(
                "Does not have a value in the enumeration {}",
                json!(SchemaType::NAMES)
            ),
        );
    }
    if !order.contains(&prop.as_str()) {
        add(
            "metaDefinition.order",
            format!("Property name {prop} not existing in the order"),
        );
    }
    let Some(config) = configs.get(prop) else {
        add(
            "metaDefinition.propertiesConfig",
            format!("Property name {prop} not existing in meta definition"),
        );
        return None;
    };
    let config_path = format!("metaDefinition.propertiesConfig.{prop}");
    for required in ["label", "inputType", "unique"] {
        if config.get(required).is_none() {
            add(
                &format!("{config_path}.{required}"),
                format!("The property {required} is required"),
            );
        }
    }
    // Present but not a known name (or not a string at all): the enumeration error.
    let input_type = config.get("inputType").map(|value| {
        (
            value.as_str().unwrap_or_default(),
            value.as_str().and_then(InputType::parse),
        )
    });
    let multiple = config
        .get("multiple")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    match (input_type, schema_type) {
        (Some((_, None)), _) => add(
            &format!("{config_path}.inputType"),
            format!(
                "Does not have a value in the enumeration {}",
                json!(InputType::NAMES)
            ),
        ),
        // A property whose schema type is unknown fits only a custom input.
        (Some((_, Some(input))), schema)
            if input != InputType::Custom
                && !schema.is_some_and(|schema| input.fits(schema, multiple)) =>
        {
            add(
                &format!("{config_path}.inputType"),
                format!("Wrong meta type for type of {prop}"),
            )
        }
        _ => {}
    }
    // Only reached with a value when the definition is valid; refused otherwise.
    let input_type = input_type.and_then(|(_, t)| t).unwrap_or(InputType::Custom);
    let relation = config
        .pointer("/validation/relationContenttype")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .map(str::to_owned);
    if input_type == InputType::Datasource {
        match &relation {
            None => add(
                &format!("{config_path}.validation.relationContenttype"),
                format!("You have to specify type of relation for {prop}"),
            ),
            Some(target) if target != name && !type_exists(target) => add(
                &format!("{config_path}.validation.relationContenttype"),
                format!("Content type {target} does not exist"),
            ),
            _ => {}
        }
    }
    let options = matches!(input_type, InputType::Select | InputType::Radio)
        .then(|| config_options(config))
        .flatten();
    Some(Property {
        name: prop.clone(),
        schema_type: schema_type.unwrap_or(SchemaType::Null),
        input_type,
        unique: config
            .get("unique")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        relation: (input_type == InputType::Datasource)
            .then_some(relation)
            .flatten(),
        options,
        title_part: config
            .get("isTitlePart")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        item_type: prop_schema
            .pointer("/items/type")
            .and_then(Value::as_str)
            .and_then(SchemaType::parse),
        required: false,
    })
}

fn config_options(config: &Value) -> Option<Vec<String>> {
    let use_labels = config
        .get("useOptionsWithLabels")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if use_labels {
        let items = config.get("optionsWithLabels")?.as_array()?;
        return Some(
            items
                .iter()
                .filter_map(|o| o.get("value")?.as_str().map(str::to_owned))
                .collect(),
        );
    }
    let items = config.get("options")?.as_array()?;
    Some(
        items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
    )
}
