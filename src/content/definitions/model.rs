//! The parsed model of a content type: what object validation, filters, ordering and
//! the GraphQL schema work from. Built from a stored definition by `validate::model_of`.

use serde_json::Value;

/// One property of a content type, as validation and queries need it.
#[derive(Clone, Debug)]
pub struct Property {
    pub name: String,
    pub schema_type: String,
    pub input_type: String,
    pub unique: bool,
    /// Target type of a relation (`inputType: datasource`).
    pub relation: Option<String>,
    /// Allowed values of a `select` or `radio` field.
    pub options: Option<Vec<String>>,
    pub title_part: bool,
    /// `type` of the items of an array property, when it has one.
    pub item_type: Option<String>,
    pub required: bool,
}

impl Property {
    pub fn is_numeric(&self) -> bool {
        self.schema_type == "number" || self.schema_type == "integer"
    }
    pub fn is_array(&self) -> bool {
        self.schema_type == "array"
    }
}

/// A validated definition.
#[derive(Clone, Debug)]
pub struct TypeModel {
    pub name: String,
    pub properties: Vec<Property>,
    /// The JSON Schema objects of this type are checked against.
    pub object_schema: Value,
}

impl TypeModel {
    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| p.name == name)
    }
}

/// A property name as definitions allow them (`[a-zA-Z0-9_]+`), safe inside a JSON path.
pub fn is_name(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
