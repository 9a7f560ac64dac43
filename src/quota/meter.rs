//! Admission of authenticated requests against their account's plan, without a
//! database write per request: each instance admits from its view of the shared count
//! (the database's window at the last sync plus what it admitted since), and a
//! background task flushes what it admitted and re-reads the window every interval.
//!
//! Overshoot bound: when an instance admits, its view was read at most `2F + d` ago
//! (F = flush interval, d = the time a flush takes): a view older than 2F is re-read
//! first unless a sync is already refreshing it. Another instance's counts reach the
//! database within `F + d` of being admitted. What an instance does not see is therefore
//! what the others admitted in the last `3F + 2d`, and each instance admits at most
//! `burst + rate * t` in any time `t` (a burst below 10, the largest GraphQL batch,
//! counts as 10). With N instances the total admitted stays within
//! `quota + (N - 1) * (burst + rate * (3F + 2d))`. One instance never overshoots.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;

use super::QuotaOptions;
pub use super::allowance::{Allowance, AllowanceSlot};
use super::key_use::KeyUse;
use super::plans::{Plan, Plans};
use super::usage::{self, SECONDS_PER_DAY, WINDOW_DAYS, window_start};
use crate::error::{AppError, AppResult};

/// One account's counts and bucket on this instance. Admission only computes on it
/// under a short lock; database I/O happens outside that lock (see `Meter::sync`).
struct Counts {
    plan: Arc<Plan>,
    /// Requests per day in the window, as the database held them at the last sync.
    stored: BTreeMap<i64, u64>,
    /// Requests being written by the sync in progress, per day.
    in_flight: BTreeMap<i64, u64>,
    /// Requests admitted here and not yet handed to a sync, per day.
    pending: BTreeMap<i64, u64>,
    synced_at: Option<Instant>,
    tokens: f64,
    refilled_at: Instant,
    used_at: Instant,
}

impl Counts {
    /// Requests in the window that starts at `start`, as this instance knows them.
    fn used_from(&self, start: i64) -> u64 {
        [&self.stored, &self.in_flight, &self.pending]
            .iter()
            .map(|days| days.range(start..).map(|(_, n)| n).sum::<u64>())
            .sum()
    }

    /// Seconds until enough old days have left the window for `requests` more.
    fn seconds_until_room(&self, today: i64, second: i64, requests: u64, limit: u64) -> u64 {
        let until_midnight = (SECONDS_PER_DAY - second) as u64;
        let ahead = (1..WINDOW_DAYS)
            .find(|ahead| self.used_from(window_start(today + ahead)) + requests <= limit)
            .unwrap_or(WINDOW_DAYS);
        until_midnight + (ahead as u64 - 1) * SECONDS_PER_DAY as u64
    }

    fn refill(&mut self, now: Instant) {
        if let (Some(rate), Some(burst)) = (self.plan.requests_per_second, self.plan.burst_size()) {
            let elapsed = now.duration_since(self.refilled_at).as_secs_f64();
            self.tokens = (self.tokens + elapsed * rate).min(burst);
        }
        self.refilled_at = now;
    }

    fn is_fresh(&self, flush_every: Duration) -> bool {
        self.synced_at
            .is_some_and(|at| at.elapsed() < flush_every * 2)
    }

    /// Admits `requests` or says why not; `Err` carries the refusal.
    fn decide(&mut self, requests: u64) -> (Option<Allowance>, AppResult<()>) {
        let now = Instant::now();
        self.used_at = now;
        self.refill(now);
        let (today, second) = usage::utc_day_and_second();
        let used = self.used_from(window_start(today));
        let plan = self.plan.clone();
        let allowance = |used: u64| {
            plan.requests_per_30_days.map(|limit| Allowance {
                limit,
                remaining: limit.saturating_sub(used),
                reset: (SECONDS_PER_DAY - second) as u64,
            })
        };
        if let Some(limit) = plan.requests_per_30_days
            && used + requests > limit
        {
            let refusal = AppError::TooManyRequests {
                message: format!(
                    "API request quota exceeded: the plan allows {limit} requests per 30 days"
                ),
                retry_after: self.seconds_until_room(today, second, requests, limit),
            };
            return (allowance(used), Err(refusal));
        }
        // A batch larger than the burst waits for a full bucket and leaves it in debt,
        // rather than never fitting.
        let needed = (requests as f64).min(plan.burst_size().unwrap_or(f64::MAX));
        if let Some(rate) = plan.requests_per_second
            && self.tokens < needed
        {
            let wait = (needed - self.tokens) / rate;
            let refusal = AppError::TooManyRequests {
                message: format!("Rate limit exceeded: the plan allows {rate} requests per second"),
                retry_after: wait.ceil().max(1.0) as u64,
            };
            return (allowance(used), Err(refusal));
        }
        self.tokens -= requests as f64;
        *self.pending.entry(today).or_default() += requests;
        (allowance(used + requests), Ok(()))
    }
}

/// An account's counts, and the lock that lets one sync at a time talk to the database.
#[derive(Default)]
struct AccountMeter {
    counts: Mutex<Option<Counts>>,
    syncing: tokio::sync::Mutex<()>,
}

pub struct Meter {
    db: DatabaseConnection,
    plans: Arc<Plans>,
    flush_every: Duration,
    enabled: bool,
    accounts: Mutex<HashMap<String, Arc<AccountMeter>>>,
    keys: KeyUse,
}

/// What a sync does: the flush writes what was admitted and re-reads; admission only
/// re-reads a stale view.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Refresh {
    WriteAndRead,
    ReadIfStale,
}

/// An account idle this long is dropped from memory (its counts are in the database).
const IDLE: Duration = Duration::from_secs(600);

fn add_to(days: &mut BTreeMap<i64, u64>, more: BTreeMap<i64, u64>) {
    for (day, requests) in more {
        *days.entry(day).or_default() += requests;
    }
}

impl Meter {
    /// A meter for these options; with `enabled: false` it admits everything and counts
    /// nothing (benchmarks compare against it).
    pub fn new(db: DatabaseConnection, options: QuotaOptions) -> Self {
        Meter {
            db,
            plans: options.plans,
            flush_every: options.flush_interval,
            enabled: options.enabled,
            accounts: Mutex::default(),
            keys: KeyUse::default(),
        }
    }

    /// A plan this instance knows, by name.
    pub fn plan(&self, name: &str) -> Option<Arc<Plan>> {
        self.plans.get(name)
    }

    fn meter_of(&self, account_id: &str) -> Arc<AccountMeter> {
        let mut accounts = self.accounts.lock().expect("meter map");
        // Known accounts (every request but an account's first) allocate nothing.
        if let Some(meter) = accounts.get(account_id) {
            return meter.clone();
        }
        accounts.entry(account_id.to_owned()).or_default().clone()
    }

    /// Counts `requests` of key `key_id` against its account, or refuses them all with
    /// 429. The allowance after the decision is left in `slot` for the response headers.
    pub async fn admit(
        self: &Arc<Self>,
        account_id: &str,
        key_id: &str,
        requests: u64,
        slot: Option<&AllowanceSlot>,
    ) -> AppResult<()> {
        if !self.enabled {
            return Ok(());
        }
        let meter = self.meter_of(account_id);
        loop {
            {
                let mut counts = meter.counts.lock().expect("account counts");
                // A view that is fresh, or that a sync in progress is refreshing, decides
                // at once: no request waits for a flush that is slow to write.
                let usable = |c: &&mut Counts| {
                    c.is_fresh(self.flush_every) || meter.syncing.try_lock().is_err()
                };
                if let Some(counts) = counts.as_mut().filter(usable) {
                    let (allowance, decision) = counts.decide(requests);
                    if let Some(slot) = slot {
                        slot.set(allowance);
                    }
                    if decision.is_ok() {
                        let today = usage::utc_day_and_second().0;
                        self.keys
                            .note(key_id, today, requests, crate::db::now_micros());
                    }
                    return decision;
                }
            }
            // Never loaded, or idle for a while: re-read the view first. Only reading, never
            // writing the pending counts (that is the flush's job): a read does not wait
            // for a writer that holds the count's row or SQLite's write lock. The sync runs
            // as its own task, so a client that hangs up cannot cut it in half.
            let (this, id, sync_meter) = (self.clone(), account_id.to_owned(), meter.clone());
            tokio::spawn(async move { this.sync(&id, &sync_meter, Refresh::ReadIfStale).await })
                .await
                .map_err(|err| AppError::Internal(format!("quota sync task: {err}")))??;
        }
    }

    /// Writes what this instance admitted and re-reads the plan and the shared window.
    /// Admissions go on meanwhile: what is being written counts as `in_flight` until the
    /// re-read window includes it. Counts that could not be written stay pending.
    async fn sync(&self, account_id: &str, meter: &AccountMeter, how: Refresh) -> AppResult<()> {
        let _one_at_a_time = meter.syncing.lock().await;
        let writing = {
            let mut counts = meter.counts.lock().expect("account counts");
            match counts.as_mut() {
                Some(c) if how == Refresh::ReadIfStale && c.is_fresh(self.flush_every) => {
                    return Ok(());
                }
                Some(_) if how == Refresh::ReadIfStale => BTreeMap::new(),
                Some(c) => {
                    let pending = std::mem::take(&mut c.pending);
                    add_to(&mut c.in_flight, pending);
                    c.in_flight.clone()
                }
                None => BTreeMap::new(),
            }
        };
        let result = self.write_and_read(account_id, &writing).await;
        let mut counts = meter.counts.lock().expect("account counts");
        let (plan_name, stored) = match result {
            Ok(read) => read,
            Err((err, unwritten)) => {
                if let Some(c) = counts.as_mut() {
                    // Days that were written are in the database now; the rest wait.
                    for (day, requests) in std::mem::take(&mut c.in_flight) {
                        let days = if unwritten.contains_key(&day) {
                            &mut c.pending
                        } else {
                            &mut c.stored
                        };
                        *days.entry(day).or_default() += requests;
                    }
                }
                return Err(err);
            }
        };
        let plan = self.plans.get(&plan_name).unwrap_or_else(|| {
            tracing::error!(plan = %plan_name, "account plan is not defined on this instance; applying the default plan");
            self.plans.require(self.plans.default_plan()).expect("default plan")
        });
        let now = Instant::now();
        let counts = counts.get_or_insert_with(|| Counts {
            plan: plan.clone(),
            stored: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            pending: BTreeMap::new(),
            synced_at: None,
            tokens: 0.0,
            refilled_at: now,
            used_at: now,
        });
        if counts.synced_at.is_none() || counts.plan != plan {
            // A new or changed plan starts with a full bucket.
            counts.tokens = plan.burst_size().unwrap_or(0.0);
            counts.refilled_at = now;
        }
        counts.plan = plan;
        counts.stored = stored;
        counts.in_flight.clear();
        counts.synced_at = Some(now);
        Ok(())
    }

    /// Adds `writing` to the database, then reads the plan and window back. On failure,
    /// returns what was not written.
    async fn write_and_read(
        &self,
        account_id: &str,
        writing: &BTreeMap<i64, u64>,
    ) -> Result<(String, BTreeMap<i64, u64>), (AppError, BTreeMap<i64, u64>)> {
        let mut unwritten = writing.clone();
        for (&day, &requests) in writing {
            if let Err(err) = usage::add(&self.db, account_id, day, requests).await {
                return Err((err.into(), unwritten));
            }
            unwritten.remove(&day);
        }
        let (today, _) = usage::utc_day_and_second();
        match usage::plan_and_window(&self.db, account_id, today).await {
            Ok(Some(read)) => Ok(read),
            Ok(None) => Err((
                AppError::Internal(format!("account {account_id} not found")),
                BTreeMap::new(),
            )),
            Err(err) => Err((err.into(), BTreeMap::new())),
        }
    }

    /// One flush pass: every account with unwritten counts is synced; idle ones are
    /// forgotten.
    pub async fn flush(&self) {
        let meters: Vec<(String, Arc<AccountMeter>)> = {
            let accounts = self.accounts.lock().expect("meter map");
            accounts
                .iter()
                .map(|(id, meter)| (id.clone(), meter.clone()))
                .collect()
        };
        for (account_id, meter) in meters {
            let has_pending = meter
                .counts
                .lock()
                .expect("account counts")
                .as_ref()
                .is_some_and(|c| !c.pending.is_empty());
            if has_pending
                && let Err(err) = self.sync(&account_id, &meter, Refresh::WriteAndRead).await
            {
                tracing::error!(error = %err, "flushing request counts failed; retrying next interval");
            }
        }
        if let Err(err) = self.keys.flush(&self.db).await {
            tracing::error!(error = %err, "writing key usage failed; retrying next interval");
        }
        let mut accounts = self.accounts.lock().expect("meter map");
        // Only entries nobody else holds: a request holding one could still admit into it.
        accounts.retain(|_, meter| {
            Arc::strong_count(meter) > 1
                || meter
                    .counts
                    .lock()
                    .expect("account counts")
                    .as_ref()
                    .is_some_and(|c| !c.pending.is_empty() || c.used_at.elapsed() < IDLE)
        });
    }

    /// Flushes every interval until `stop` resolves, then once more.
    pub async fn run(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        if !self.enabled {
            return;
        }
        let mut stop = std::pin::pin!(stop);
        let mut ticks = tokio::time::interval(self.flush_every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pruned_at: Option<Instant> = None;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = &mut stop => break,
            }
            self.flush().await;
            if pruned_at.is_none_or(|at| at.elapsed() > Duration::from_secs(3600)) {
                pruned_at = Some(Instant::now());
                let today = usage::utc_day_and_second().0;
                if let Err(err) = usage::prune(&self.db, today).await {
                    tracing::warn!(error = %err, "pruning old request counts failed");
                }
                if let Err(err) = super::key_use::prune(&self.db, today).await {
                    tracing::warn!(error = %err, "pruning old key usage failed");
                }
            }
        }
        self.flush().await;
    }
}
