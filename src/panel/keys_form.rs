//! A key card's form as submitted: its name, its rule rows (`type_N`, `read_N`,
//! `create_N`, `update_N`, `delete_N`; the script numbers new rows) and its limits
//! (`origins`, `networks`, `expires`), read back into what the key service takes. They
//! come back as sent, to show them again with an error.

use std::collections::BTreeMap;

use super::form::Form;
use crate::auth::Perms;
use crate::auth::access::KeyAccess;
use crate::auth::keys::KeyLimits;

const MAX_ROWS: usize = 500;
/// Row numbers the script hands out stay far below this.
const MAX_INDEX: usize = 1_000_000;

#[derive(Default)]
pub struct Draft {
    pub name: String,
    pub rows: Vec<(String, Perms)>,
    /// A rule field with a row number no page makes (a forged form).
    pub invalid_rows: bool,
    /// The key's limits as typed: origins and networks one per line, and the expiry as
    /// a `datetime-local` value in UTC (empty: never).
    pub origins: String,
    pub networks: String,
    pub expires: String,
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
    let text = |name: &str| form.get(name).unwrap_or_default().trim().to_owned();
    Draft {
        name: text("name"),
        rows: rows.into_values().collect(),
        invalid_rows,
        origins: text("origins"),
        networks: text("networks"),
        expires: text("expires"),
    }
}

impl Draft {
    /// The expiry and the limits, or what is wrong with them.
    pub fn limits(&self) -> Result<KeyLimits, Vec<String>> {
        let lines = |text: &str| text.lines().map(str::to_owned).collect::<Vec<_>>();
        let mut errors = Vec::new();
        let access = KeyAccess::parse(&lines(&self.origins), &lines(&self.networks))
            .map_err(|err| errors.extend(super::views::messages(&err)))
            .unwrap_or_default();
        let expires_at = match self.expires.as_str() {
            "" => None,
            text => {
                // `datetime-local` sends minutes, sometimes seconds.
                let parsed = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                    .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"));
                match parsed {
                    Ok(at) => Some(at.and_utc().timestamp_micros()),
                    Err(_) => {
                        errors.push(format!("The expiry '{text}' is not a date and time"));
                        None
                    }
                }
            }
        };
        if errors.is_empty() {
            Ok(KeyLimits { expires_at, access })
        } else {
            Err(errors)
        }
    }

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
