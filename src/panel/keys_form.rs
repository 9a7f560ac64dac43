//! A key card's form as submitted: its name and its rule rows (`type_N`, `read_N`,
//! `create_N`, `update_N`, `delete_N`; the script numbers new rows), read back into
//! what the key service takes. Rows come back as sent, to show them again with an error.

use std::collections::BTreeMap;

use super::form::Form;
use crate::auth::Perms;

const MAX_ROWS: usize = 500;
/// Row numbers the script hands out stay far below this.
const MAX_INDEX: usize = 1_000_000;

pub struct Draft {
    pub name: String,
    pub rows: Vec<(String, Perms)>,
    /// A rule field with a row number no page makes (a forged form).
    pub invalid_rows: bool,
}

pub fn read(form: &Form) -> Draft {
    let mut rows: BTreeMap<usize, (String, Perms)> = BTreeMap::new();
    let mut invalid_rows = false;
    for (field, value) in form.pairs() {
        let Some((kind, index)) = field.rsplit_once('_') else {
            continue;
        };
        if !matches!(kind, "type" | "read" | "create" | "update" | "delete") {
            continue;
        }
        let index = match index.parse::<usize>() {
            Ok(index) if index < MAX_INDEX => index,
            _ => {
                invalid_rows = true;
                continue;
            }
        };
        if rows.len() >= MAX_ROWS && !rows.contains_key(&index) {
            invalid_rows = true;
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
        invalid_rows,
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
        if self.invalid_rows {
            errors.push(format!(
                "The form holds rules this page did not make (at most {MAX_ROWS}); reload the page"
            ));
        }
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
