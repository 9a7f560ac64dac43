//! The SQL of one search: its conditions (words, read scope, types, filters), its
//! score and its order, for the SQLite full-text index or PostgreSQL's tsvector.

use super::SearchParams;
use crate::auth::Principal;
use crate::auth::principal::ReadScope;
use crate::content::scope::push_live;
use crate::db::Sql;
use migration::scope_token;

pub(super) struct Plan<'a> {
    pub(super) principal: &'a Principal,
    pub(super) params: &'a SearchParams,
    pub(super) words: Option<Vec<String>>,
    pub(super) types: ReadScope,
}

impl Plan<'_> {
    /// Full-text index matching is used unless specific fields were asked for.
    pub(super) fn uses_index(&self) -> bool {
        self.words.is_some() && self.params.fields.is_empty()
    }

    /// Answered from the SQLite full-text index alone, without reading each hit's row:
    /// the index holds everything the query states (words, account, types, live).
    pub(super) fn index_alone(&self) -> bool {
        self.uses_index()
            && self.params.filters.is_empty()
            && self
                .params
                .order_by
                .as_deref()
                .unwrap_or_default()
                .is_empty()
    }

    /// The FTS5 query: each word quoted and bound to the `body` column, so FTS5
    /// operators (NEAR, AND, *, -, :, parentheses) in client text are inert and client
    /// words never match the `scope` column. `scoped` adds the caller's account and
    /// readable types as tokens of that column, for plans that read no rows.
    pub(super) fn fts_query(&self, scoped: bool) -> String {
        let quoted = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
        let mut terms: Vec<String> = self
            .words
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|w| format!("body : {}", quoted(w)))
            .collect();
        if !scoped {
            return terms.join(" AND ");
        }
        terms.push(format!(
            "scope : {}",
            quoted(&scope_token('a', self.principal.account_id()))
        ));
        if let ReadScope::Only(types) = &self.types {
            let any: Vec<String> = types
                .iter()
                .map(|t| format!("scope : {}", quoted(&scope_token('t', t))))
                .collect();
            terms.push(if any.is_empty() {
                // No readable type: a token no object's scope holds.
                "scope : \"n\"".to_owned()
            } else {
                format!("({})", any.join(" OR "))
            });
        }
        terms.join(" AND ")
    }

    fn push_text(sql: &mut Sql, name: &str) {
        if sql.is_postgres() {
            sql.push("(o.data ->> ").json_path(name).push(")");
        } else {
            sql.push("CAST(json_extract(o.data, ")
                .json_path(name)
                .push(") AS TEXT)");
        }
    }

    pub(super) fn push_score(&self, sql: &mut Sql) {
        if self.uses_index() {
            if sql.is_postgres() {
                sql.push("CAST(ts_rank(o.search, plainto_tsquery('simple', ")
                    .bind(self.words.as_deref().unwrap_or_default().join(" "))
                    .push(")) AS DOUBLE PRECISION)");
            } else {
                // The scope column weighs nothing: only the words rank.
                sql.push("-bm25(content_search, 1.0, 0.0)");
            }
        } else if let Some(words) = &self.words {
            // Boosted count of (field, word) matches.
            sql.push("CAST((0");
            for (field, boost) in &self.params.fields {
                for word in words {
                    sql.push(" + CASE WHEN ");
                    Self::push_text(sql, field);
                    sql.push(if sql.is_postgres() {
                        " ILIKE "
                    } else {
                        " LIKE "
                    })
                    .bind(like_pattern(word));
                    sql.push(" ESCAPE '\\' THEN ")
                        .bind(*boost)
                        .push(" ELSE 0 END");
                }
            }
            sql.push(") AS DOUBLE PRECISION)");
        } else {
            sql.push("CAST(1 AS DOUBLE PRECISION)");
        }
    }

    /// `FROM ... WHERE ...` shared by the page, the count and the aggregations;
    /// `extra_from` adds a table (the aggregation's items) before `WHERE`.
    pub(super) fn push_from_where(&self, sql: &mut Sql, extra_from: Option<&str>) {
        if self.uses_index() && !sql.is_postgres() {
            // CROSS JOIN fixes the order: the index finds the hits, then each hit's row
            // is fetched, instead of probing the index once per row.
            sql.push(
                " FROM content_search CROSS JOIN content_objects o ON o.pk = content_search.rowid",
            );
        } else {
            sql.push(" FROM content_objects o");
        }
        if let Some(aggregate) = extra_from {
            if sql.is_postgres() {
                sql.push(", LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(o.data -> ")
                    .json_path(aggregate)
                    .push(") = 'array' THEN o.data -> ")
                    .json_path(aggregate)
                    .push(" ELSE jsonb_build_array(o.data -> ")
                    .json_path(aggregate)
                    .push(") END) AS item(value)");
            } else {
                sql.push(", json_each(o.data, ")
                    .json_path(aggregate)
                    .push(") AS item");
            }
        }
        sql.push(" WHERE ");
        push_live(sql, "o.", self.principal.account_id(), None, &self.types);
        if self.uses_index() {
            if sql.is_postgres() {
                sql.push(" AND o.search @@ plainto_tsquery('simple', ")
                    .bind(self.words.as_deref().unwrap_or_default().join(" "))
                    .push(")");
            } else {
                sql.push(" AND content_search MATCH ")
                    .bind(self.fts_query(false));
            }
        } else if let Some(words) = &self.words {
            // Every word must appear in one of the requested fields.
            for word in words {
                sql.push(" AND (1 = 0");
                for (field, _) in &self.params.fields {
                    sql.push(" OR ");
                    Self::push_text(sql, field);
                    sql.push(if sql.is_postgres() {
                        " ILIKE "
                    } else {
                        " LIKE "
                    })
                    .bind(like_pattern(word))
                    .push(" ESCAPE '\\'");
                }
                sql.push(")");
            }
        }
        for (name, value) in &self.params.filters {
            sql.push(" AND ");
            Self::push_text(sql, name);
            sql.push(" = ").bind(value.clone());
        }
        if extra_from.is_some() {
            sql.push(" AND item.value IS NOT NULL");
            if !sql.is_postgres() {
                sql.push(" AND item.type NOT IN ('object', 'array')");
            }
        }
    }

    /// `, <key> AS sort_key` for the `order_by` the caller asked for, selected beside the
    /// score so that the page can be ordered outside the statement that finds the hits.
    pub(super) fn push_sort_key(&self, sql: &mut Sql) {
        match self.order_by() {
            None => {}
            Some("internal.createdAt") => {
                sql.push(", o.created_at AS sort_key");
            }
            Some("internal.updatedAt") => {
                sql.push(", o.updated_at AS sort_key");
            }
            Some("id") => {
                sql.push(", o.object_id AS sort_key");
            }
            Some(name) => {
                sql.push(", ");
                if sql.is_postgres() {
                    sql.push("(o.data -> ").json_path(name).push(")");
                } else {
                    sql.push("json_extract(o.data, ").json_path(name).push(")");
                }
                sql.push(" AS sort_key");
            }
        }
    }

    /// The order of hits selected with `pk`, `score` and `push_sort_key`'s key: best
    /// score first, then the requested key, then the order of storage.
    pub(super) fn push_order(&self, sql: &mut Sql) {
        sql.push(" ORDER BY score DESC");
        if self.order_by().is_some() {
            sql.push(if self.params.descending {
                ", sort_key DESC"
            } else {
                ", sort_key ASC"
            });
        }
        sql.push(", pk ASC");
    }

    fn order_by(&self) -> Option<&str> {
        self.params
            .order_by
            .as_deref()
            .map(|o| o.trim_end_matches(".keyword"))
            .filter(|o| !o.is_empty())
    }
}

fn like_pattern(word: &str) -> String {
    format!("%{}%", crate::db::like_escape(word))
}
