//! Admission of authenticated requests against their account's plan, without a
//! database write per request: each instance admits from its view of the shared count
//! (the database's window at the last sync plus what it admitted since), and a
//! background task flushes what it admitted and re-reads the window every interval.
//!
//! Overshoot bound: an instance's view is at most two flush intervals old when it
//! admits (older views are re-read before admitting), and another instance's counts
//! reach the database within one interval plus the flush itself. What an instance does
//! not see is therefore what the others admitted in the last `3F + d` (F = interval,
//! d = flush latency), and each instance admits at most `burst + rate * t` in any time
//! `t`. With N instances the total admitted stays within
//! `quota + (N - 1) * (burst + rate * (3F + d))`. One instance never overshoots.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;

use super::plans::{Plan, Plans};
use super::usage::{self, SECONDS_PER_DAY, WINDOW_DAYS, window_start};
use crate::error::{AppError, AppResult};

/// What a response tells the client about the account's 30-day allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the oldest day leaves the window (the next UTC midnight).
    pub reset: u64,
}

/// Where admission leaves the allowance for the response headers (see `app.rs`).
#[derive(Clone, Default)]
pub struct AllowanceSlot(Arc<Mutex<Option<Allowance>>>);

impl AllowanceSlot {
    fn set(&self, allowance: Option<Allowance>) {
        *self.0.lock().expect("allowance slot") = allowance;
    }

    pub fn get(&self) -> Option<Allowance> {
        *self.0.lock().expect("allowance slot")
    }
}

/// One account's state on this instance.
struct AccountMeter {
    plan: Arc<Plan>,
    /// Requests per day in the window, as the database held them at the last sync.
    stored: BTreeMap<i64, u64>,
    /// Requests admitted here and not yet written, per day.
    pending: BTreeMap<i64, u64>,
    synced_at: Option<Instant>,
    tokens: f64,
    refilled_at: Instant,
    used_at: Instant,
}

impl AccountMeter {
    fn used_in_window(&self, today: i64) -> u64 {
        let start = window_start(today);
        let stored: u64 = self.stored.range(start..).map(|(_, n)| n).sum();
        let pending: u64 = self.pending.range(start..).map(|(_, n)| n).sum();
        stored + pending
    }

    /// Seconds until enough old days have left the window for `requests` more.
    fn seconds_until_room(&self, today: i64, second: i64, requests: u64, limit: u64) -> u64 {
        let until_midnight = (SECONDS_PER_DAY - second) as u64;
        for ahead in 1..=WINDOW_DAYS {
            let start = window_start(today + ahead);
            let stored: u64 = self.stored.range(start..).map(|(_, n)| n).sum();
            let pending: u64 = self.pending.range(start..).map(|(_, n)| n).sum();
            if stored + pending + requests <= limit {
                return until_midnight + (ahead as u64 - 1) * SECONDS_PER_DAY as u64;
            }
        }
        until_midnight + (WINDOW_DAYS as u64 - 1) * SECONDS_PER_DAY as u64
    }

    fn refill(&mut self, now: Instant) {
        if let (Some(rate), Some(burst)) = (self.plan.requests_per_second, self.plan.burst_size()) {
            let elapsed = now.duration_since(self.refilled_at).as_secs_f64();
            self.tokens = (self.tokens + elapsed * rate).min(burst);
        }
        self.refilled_at = now;
    }
}

pub struct Meter {
    db: DatabaseConnection,
    plans: Arc<Plans>,
    flush_every: Duration,
    enabled: bool,
    accounts: Mutex<HashMap<String, Arc<tokio::sync::Mutex<AccountMeter>>>>,
}

/// An account idle this long is dropped from memory (its counts are in the database).
const IDLE: Duration = Duration::from_secs(600);

impl Meter {
    pub fn new(db: DatabaseConnection, plans: Arc<Plans>, flush_every: Duration) -> Self {
        Meter {
            db,
            plans,
            flush_every,
            enabled: true,
            accounts: Mutex::default(),
        }
    }

    /// A meter that admits everything and counts nothing (benchmarks compare against it).
    pub fn off(db: DatabaseConnection) -> Self {
        Meter {
            enabled: false,
            ..Meter::new(db, Arc::default(), Duration::from_secs(1))
        }
    }

    pub fn plans(&self) -> &Plans {
        &self.plans
    }

    fn meter_of(&self, account_id: &str) -> Arc<tokio::sync::Mutex<AccountMeter>> {
        let mut accounts = self.accounts.lock().expect("meter map");
        accounts
            .entry(account_id.to_owned())
            .or_insert_with(|| {
                let now = Instant::now();
                Arc::new(tokio::sync::Mutex::new(AccountMeter {
                    plan: self
                        .plans
                        .require(self.plans.default_plan())
                        .expect("default plan"),
                    stored: BTreeMap::new(),
                    pending: BTreeMap::new(),
                    synced_at: None,
                    tokens: 0.0,
                    refilled_at: now,
                    used_at: now,
                }))
            })
            .clone()
    }

    /// Counts `requests` against the account, or refuses them all with 429. The
    /// allowance after the decision is left in `slot` for the response headers.
    pub async fn admit(
        &self,
        account_id: &str,
        requests: u64,
        slot: Option<&AllowanceSlot>,
    ) -> AppResult<()> {
        if !self.enabled {
            return Ok(());
        }
        let meter = self.meter_of(account_id);
        let mut meter = meter.lock().await;
        let stale = meter
            .synced_at
            .is_none_or(|at| at.elapsed() >= self.flush_every * 2);
        if stale {
            self.sync(account_id, &mut meter).await?;
        }
        let now = Instant::now();
        meter.used_at = now;
        meter.refill(now);
        let (today, second) = usage::utc_day_and_second();
        let plan = meter.plan.clone();
        let used = meter.used_in_window(today);
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
            if let Some(slot) = slot {
                slot.set(allowance(used));
            }
            return Err(AppError::TooManyRequests {
                message: format!(
                    "API request quota exceeded: the plan allows {limit} requests per 30 days"
                ),
                retry_after: meter.seconds_until_room(today, second, requests, limit),
            });
        }
        if let Some(rate) = plan.requests_per_second
            && meter.tokens < requests as f64
        {
            if let Some(slot) = slot {
                slot.set(allowance(used));
            }
            let wait = (requests as f64 - meter.tokens) / rate;
            return Err(AppError::TooManyRequests {
                message: format!("Rate limit exceeded: the plan allows {rate} requests per second"),
                retry_after: wait.ceil().max(1.0) as u64,
            });
        }
        meter.tokens -= requests as f64;
        *meter.pending.entry(today).or_default() += requests;
        if let Some(slot) = slot {
            slot.set(allowance(used + requests));
        }
        Ok(())
    }

    /// Writes what this instance admitted and re-reads the plan and the shared window.
    /// Counts that could not be written stay pending for the next attempt.
    async fn sync(&self, account_id: &str, meter: &mut AccountMeter) -> AppResult<()> {
        let mut unwritten = std::mem::take(&mut meter.pending);
        while let Some((&day, &requests)) = unwritten.iter().next() {
            if let Err(err) = usage::add(&self.db, account_id, day, requests).await {
                for (day, requests) in unwritten {
                    *meter.pending.entry(day).or_default() += requests;
                }
                return Err(err.into());
            }
            unwritten.remove(&day);
            *meter.stored.entry(day).or_default() += requests;
        }
        let (today, _) = usage::utc_day_and_second();
        let (plan_name, stored) = usage::plan_and_window(&self.db, account_id, today)
            .await?
            .ok_or_else(|| AppError::Internal(format!("account {account_id} not found")))?;
        let plan = self.plans.get(&plan_name).unwrap_or_else(|| {
            tracing::error!(plan = %plan_name, "account plan is not defined on this instance; applying the default plan");
            self.plans.require(self.plans.default_plan()).expect("default plan")
        });
        if meter.synced_at.is_none() || meter.plan != plan {
            // A new or changed plan starts with a full bucket.
            meter.tokens = plan.burst_size().unwrap_or(0.0);
            meter.refilled_at = Instant::now();
        }
        meter.plan = plan;
        meter.stored = stored;
        meter.synced_at = Some(Instant::now());
        Ok(())
    }

    /// One flush pass: every account with unwritten counts is synced; idle ones are
    /// forgotten.
    pub async fn flush(&self) {
        let meters: Vec<(String, Arc<tokio::sync::Mutex<AccountMeter>>)> = {
            let accounts = self.accounts.lock().expect("meter map");
            accounts
                .iter()
                .map(|(id, meter)| (id.clone(), meter.clone()))
                .collect()
        };
        for (account_id, meter) in meters {
            let mut meter = meter.lock().await;
            if !meter.pending.is_empty()
                && let Err(err) = self.sync(&account_id, &mut meter).await
            {
                tracing::error!(error = %err, "flushing request counts failed; retrying next interval");
            }
        }
        let mut accounts = self.accounts.lock().expect("meter map");
        // Only entries nobody else holds: a request holding one could still admit into it.
        accounts.retain(|_, meter| {
            Arc::strong_count(meter) > 1
                || meter.try_lock().map_or(true, |m| {
                    !m.pending.is_empty() || m.used_at.elapsed() < IDLE
                })
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
                if let Err(err) = usage::prune(&self.db, usage::utc_day_and_second().0).await {
                    tracing::warn!(error = %err, "pruning old request counts failed");
                }
            }
        }
        self.flush().await;
    }
}
