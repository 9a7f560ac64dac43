//! Failed sign-ins in a row, per email and per client address, in the database so that
//! every instance throttles alike. After `FREE_FAILURES` a subject waits before its next
//! attempt: 1 s, then twice as long after each further failure, up to 15 minutes.

use entity::login_failure;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter};

use crate::db::{Sql, now_micros};
use crate::error::AppResult;

pub const FREE_FAILURES: i32 = 5;
const MAX_WAIT_SECONDS: u64 = 15 * 60;
const FORGET_AFTER_MICROS: i64 = 24 * 3600 * 1_000_000;

/// The wait after `failures` failures in a row.
pub fn wait_after(failures: i32) -> u64 {
    if failures < FREE_FAILURES {
        return 0;
    }
    let doublings = (failures - FREE_FAILURES).min(20) as u32;
    (1u64 << doublings).min(MAX_WAIT_SECONDS)
}

/// Claims one attempt for every subject before the password is checked: refused with
/// the seconds left while any subject must still wait; otherwise counted at once as a
/// failure (cleared by `clear` when it succeeds). Claims are serialised (SQLite's write
/// lock, an advisory lock per subject on PostgreSQL), so guesses sent together are
/// counted one after the other instead of all passing the same check.
pub async fn claim(db: &DatabaseConnection, subjects: &[String]) -> AppResult<Option<u64>> {
    let txn = crate::db::begin_write(db).await?;
    for subject in subjects {
        crate::db::lock_name(&txn, &format!("sign-in#{subject}")).await?;
    }
    let rows = login_failure::Entity::find()
        .filter(login_failure::Column::Subject.is_in(subjects.iter().cloned()))
        .all(&txn)
        .await?;
    let now = now_micros();
    let left = rows
        .iter()
        .map(|row| {
            let until = row.last_at + (wait_after(row.failures) as i64) * 1_000_000;
            ((until - now).max(0) as u64).div_ceil(1_000_000)
        })
        .max()
        .unwrap_or(0);
    if left > 0 {
        return Ok(Some(left));
    }
    // Counts a day old are forgotten (the longest wait is 15 minutes), so made-up emails
    // do not pile up.
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::LastAt.lt(now - FORGET_AFTER_MICROS))
        .exec(&txn)
        .await?;
    for subject in subjects {
        let mut sql = Sql::new(txn.get_database_backend());
        sql.push("INSERT INTO login_failures (subject, failures, last_at) VALUES (")
            .bind(subject.clone())
            .push(", 1, ")
            .bind(now)
            .push(
                ") ON CONFLICT (subject) DO UPDATE SET \
                 failures = login_failures.failures + 1, last_at = excluded.last_at",
            );
        txn.execute_raw(sql.statement()).await?;
    }
    crate::db::commit(db, txn).await?;
    Ok(None)
}

pub async fn clear(db: &DatabaseConnection, subjects: &[String]) -> AppResult<()> {
    login_failure::Entity::delete_many()
        .filter(login_failure::Column::Subject.is_in(subjects.iter().cloned()))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::wait_after;

    #[test]
    fn waits_grow_after_the_free_failures_and_stop_at_fifteen_minutes() {
        assert_eq!(wait_after(4), 0);
        assert_eq!(wait_after(5), 1);
        assert_eq!(wait_after(6), 2);
        assert_eq!(wait_after(9), 16);
        assert_eq!(wait_after(40), 900);
    }
}
