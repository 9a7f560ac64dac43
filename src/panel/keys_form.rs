//! A key card's form as submitted: its name and its rule rows (`type_N`, `read_N`,
//! `create_N`, `update_N`, `delete_N`; the script numbers new rows), read back into
//! what the key service takes. Rows come back as sent, to show them again with an error.

use std::collections::BTreeMap;

use super::form::Form;
use crate::auth::Perms;

const MAX_ROWS: usize = 500;

pub struct Draft {
    pub name: String,
    pub rows: Vec<(String, Perms)>,
}

pub fn read(form: &Form) -> Draft {
    let mut rows: BTreeMap<usize, (String, Perms)> = BTreeMap::new();
    for (field, value) in form.pairs() {
        let Some((kind, index)) = field.rsplit_once('_') else {
            continue;
        };
        let Ok(index) = index.parse::<usize>() else {
            continue;
        };
        if rows.len() >= MAX_ROWS && !rows.contains_key(&index) {
            continue;
        }
        let row = rows.entry(index).or_default();
        match kind {
            "type" => row.0 = value.trim().to_owned(),
            "read" => row.1.read = true,
            "create" => row.1.create = true,
            "update" => row.1.update = true,
            "delete" => row.1.delete = true,
            _ => {}
        }
    }
    Draft {
        name: form.get("name").unwrap_or_default().trim().to_owned(),
        rows: rows.into_values().collect(),
    }
}

impl Draft {
    /// The rules, or what is wrong with them: a row without a type, a type twice.
    pub fn rules(
        &self,
        label_of: impl Fn(&str) -> String,
    ) -> Result<BTreeMap<String, Perms>, Vec<String>> {
        let mut rules = BTreeMap::new();
        let mut errors = Vec::new();
        for (type_name, perms) in &self.rows {
            if type_name.is_empty() {
                errors.push("Choose a content type in every rule, or remove the rule".to_owned());
            } else if rules.insert(type_name.clone(), *perms).is_some() {
                errors.push(format!(
                    "The content type '{}' has more than one rule",
                    label_of(type_name)
                ));
            }
        }
        errors.dedup();
        if errors.is_empty() {
            Ok(rules)
        } else {
            Err(errors)
        }
    }
}
