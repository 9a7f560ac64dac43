//! A stored object as resolvers read it (GraphQL's parents): its stored text with the
//! place of each top-level value found in one pass, so that a field reads its own value
//! and nothing else is parsed, copied or built (a tree of every value, `internal`
//! formatted whether asked for or not, was a tenth of a rendered GraphQL page's CPU).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::value::RawValue;

use super::render::{Name, STATUS, stored_properties, title_parts};
use super::stored::StoredObject;
use crate::content::definitions::TypeModel;
use crate::error::{AppError, AppResult};
use crate::time::format_iso;

pub struct ObjectFields {
    row: StoredObject,
    /// Each stored property's name and where its value's text is in `row.data`.
    values: Vec<(Box<str>, Range<usize>)>,
    title: String,
    weight: u64,
}

/// A value of `internal`.
pub enum Meta<'a> {
    Text(Cow<'a, str>),
    Number(i64),
}

impl ObjectFields {
    pub fn new(model: &TypeModel, row: StoredObject) -> AppResult<Self> {
        let (values, title, weight) = {
            let stored = stored_properties(&row)?;
            let start = row.data.as_ptr() as usize;
            let values = stored
                .iter()
                .map(|(name, raw)| {
                    let at = (raw.get().as_ptr() as usize).wrapping_sub(start);
                    let range = at..at + raw.get().len();
                    match row.data.get(range.clone()) {
                        Some(_) => Ok((Box::from(name.0.as_ref()), range)),
                        None => Err(AppError::Internal("stored value outside its text".into())),
                    }
                })
                .collect::<AppResult<Vec<_>>>()?;
            // As a tree's `objectTitle`: the title properties that are strings.
            let title: Vec<String> = title_parts(model, &stored)
                .filter_map(|raw| serde_json::from_str::<String>(raw.get()).ok())
                .collect();
            (values, title.join(" "), weight_of(model, &row, &stored))
        };
        Ok(ObjectFields {
            row,
            values,
            title,
            weight,
        })
    }

    pub fn id(&self) -> &str {
        &self.row.object_id
    }

    /// The stored JSON text of property `name` (`None` when absent).
    pub fn stored(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(key, _)| key.as_ref() == name)
            .map(|(_, range)| &self.row.data[range.clone()])
    }

    /// What the object weighs in an answer (`render::weight`).
    pub fn weight(&self) -> u64 {
        self.weight
    }

    /// One field of `internal` that GraphQL's `flotiq___internal` has, by its name
    /// there, as a rendered object writes it (`render::internal`).
    pub fn internal(&self, name: &str) -> Option<Meta<'_>> {
        let text = |t: &'static str| Some(Meta::Text(Cow::Borrowed(t)));
        let time = |t: i64| Some(Meta::Text(Cow::Owned(format_iso(t))));
        match name {
            "contentType" => Some(Meta::Text(Cow::Borrowed(&self.row.content_type))),
            "createdAt" => time(self.row.created_at),
            "updatedAt" => time(self.row.updated_at),
            "deletedAt" => match self.row.deleted_at {
                Some(at) => time(at),
                None => text(""),
            },
            "latestVersion" => Some(Meta::Number(i64::from(self.row.version))),
            "objectTitle" => Some(Meta::Text(Cow::Borrowed(&self.title))),
            "status" => text(STATUS),
            _ => None,
        }
    }
}

/// What an object weighs in an answer, known before it is rendered: its stored text,
/// its title again (`internal.objectTitle` repeats the title properties), its id and
/// about what the rest of `internal` adds.
pub fn weight(model: Option<&TypeModel>, row: &StoredObject) -> u64 {
    let Some(model) = model.filter(|m| m.properties.iter().any(|p| p.title_part)) else {
        return untitled_weight(row);
    };
    match stored_properties(row) {
        Ok(stored) => weight_of(model, row, &stored),
        Err(_) => untitled_weight(row) + row.data.len() as u64,
    }
}

fn untitled_weight(row: &StoredObject) -> u64 {
    row.data.len() as u64 + 400 + row.object_id.len() as u64
}

/// `weight` of a row whose top level is already read.
fn weight_of(model: &TypeModel, row: &StoredObject, stored: &BTreeMap<Name<'_>, &RawValue>) -> u64 {
    let title: u64 = title_parts(model, stored)
        .map(|raw| raw.get().len() as u64 + 1)
        .sum();
    untitled_weight(row) + title
}
