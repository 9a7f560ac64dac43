//! The parsed model of a content type: what object validation, filters, ordering and
//! the GraphQL schema work from. Built from a stored definition by `validate::model_of`.

use serde_json::Value;

/// An enum with the names definitions spell its values with.
macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),*
        }

        impl $name {
            /// Every name, in the order Flotiq's messages list them.
            pub const NAMES: &'static [&'static str] = &[$($text),*];

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),*
                }
            }
        }
    };
}

named_enum! {
    /// A property's JSON Schema `type`.
    SchemaType {
        Array => "array",
        Boolean => "boolean",
        Integer => "integer",
        Null => "null",
        Number => "number",
        Object => "object",
        String => "string",
    }
}

named_enum! {
    /// A property's `inputType` in the meta definition (how editors show it).
    InputType {
        Text => "text",
        Textarea => "textarea",
        TextMarkdown => "textMarkdown",
        Richtext => "richtext",
        Email => "email",
        Radio => "radio",
        Select => "select",
        DateTime => "dateTime",
        Custom => "custom",
        Number => "number",
        Checkbox => "checkbox",
        Datasource => "datasource",
        Object => "object",
        Geo => "geo",
        SimpleList => "simpleList",
        Block => "block",
    }
}

impl InputType {
    /// Whether this input type can edit values of `schema` (`multiple`: a select of
    /// several values).
    pub fn fits(self, schema: SchemaType, multiple: bool) -> bool {
        use InputType as I;
        match self {
            I::Text
            | I::Textarea
            | I::TextMarkdown
            | I::Richtext
            | I::Email
            | I::Radio
            | I::DateTime => schema == SchemaType::String,
            I::Select if multiple => schema == SchemaType::Array,
            I::Select => schema == SchemaType::String,
            I::Number => matches!(schema, SchemaType::Number | SchemaType::Integer),
            I::Checkbox => schema == SchemaType::Boolean,
            I::Datasource | I::Object | I::SimpleList => schema == SchemaType::Array,
            I::Geo | I::Block => schema == SchemaType::Object,
            I::Custom => true,
        }
    }
}

/// One property of a content type, as validation and queries need it.
#[derive(Clone, Debug)]
pub struct Property {
    pub name: String,
    pub schema_type: SchemaType,
    pub input_type: InputType,
    pub unique: bool,
    /// Target type of a relation (`inputType: datasource`).
    pub relation: Option<String>,
    /// Allowed values of a `select` or `radio` field.
    pub options: Option<Vec<String>>,
    pub title_part: bool,
    /// `type` of the items of an array property, when it has one.
    pub item_type: Option<SchemaType>,
    pub required: bool,
}

impl Property {
    pub fn is_numeric(&self) -> bool {
        matches!(self.schema_type, SchemaType::Number | SchemaType::Integer)
    }
    pub fn is_array(&self) -> bool {
        self.schema_type == SchemaType::Array
    }
}

/// A validated definition.
#[derive(Clone, Debug)]
pub struct TypeModel {
    pub name: String,
    pub properties: Vec<Property>,
    /// The JSON Schema objects of this type are checked against.
    pub object_schema: Value,
    /// `object_schema` compiled on first use, shared by the model's clones (the
    /// account's models are kept per schema revision, so once per revision, not per object).
    pub compiled: CompiledSchema,
}

/// A model's `object_schema` compiled, once (`TypeModel::validator`).
#[derive(Clone, Debug, Default)]
pub struct CompiledSchema(std::sync::Arc<std::sync::OnceLock<Option<jsonschema::Validator>>>);

impl TypeModel {
    /// The validator of `object_schema`, compiled on first use; `None` if it does not
    /// compile.
    pub fn validator(&self) -> Option<&jsonschema::Validator> {
        self.compiled
            .0
            .get_or_init(|| jsonschema::validator_for(&self.object_schema).ok())
            .as_ref()
    }

    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }
}

/// A property name as definitions allow them (`[a-zA-Z0-9_]+`), safe inside a JSON path.
pub fn is_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
