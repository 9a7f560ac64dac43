//! Per-request loader of related objects. It is created for one request with that
//! request's principal, so every batch it runs carries the caller's read scope; one
//! query per batch, whatever the number of parents.
//!
//! Batches wait on no timer. async-graphql resolves the fields of a page's objects in
//! one task, polling every one of them in one pass; the first relation field of a pass
//! opens a batch whose load first yields once, so that by the time it runs every field
//! of the pass has added its keys. (async-graphql's `DataLoader` waits on a Tokio
//! timer even with a zero delay, which rounds up to the next millisecond: measured, a
//! nested query with one client took 4.1 ms, of which about 1.8 ms per relation level
//! was that wait.) The batch is a shared future: any of its waiters drives it, so a
//! field dropped mid-way (a sibling's error) leaves the others served.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use crate::auth::Principal;
use crate::content::hydrate::load;
use crate::content::models::Models;
use crate::content::objects::ObjectFields;
use crate::content::refs::Reference;
use crate::db::Db;
use crate::error::AppError;

/// What a batch loaded, by reference: each object shared by every reference to it
/// (its weight is counted for every copy).
pub type Loaded = Result<Arc<HashMap<Reference, Arc<ObjectFields>>>, Arc<AppError>>;

pub struct RelationLoader {
    source: Arc<Source>,
    open: Arc<Mutex<Option<Batch>>>,
}

struct Source {
    db: Db,
    principal: Principal,
    models: Arc<Models>,
}

/// The batch that keys are still being added to.
#[derive(Clone)]
struct Batch {
    keys: Arc<Mutex<BTreeSet<Reference>>>,
    loaded: Shared<BoxFuture<'static, Loaded>>,
}

impl RelationLoader {
    pub fn new(db: Db, principal: Principal, models: Arc<Models>) -> Self {
        RelationLoader {
            source: Arc::new(Source {
                db,
                principal,
                models,
            }),
            open: Arc::new(Mutex::new(None)),
        }
    }

    /// The objects these references name that the caller may read (with every other
    /// key of the same batch).
    pub async fn load_many(&self, keys: impl IntoIterator<Item = Reference>) -> Loaded {
        let batch = {
            let mut open = self.open.lock().map_err(|_| poisoned())?;
            let batch = open.get_or_insert_with(|| self.new_batch()).clone();
            batch.keys.lock().map_err(|_| poisoned())?.extend(keys);
            batch
        };
        batch.loaded.await
    }

    fn new_batch(&self) -> Batch {
        let keys: Arc<Mutex<BTreeSet<Reference>>> = Arc::default();
        let (source, open, batch_keys) = (self.source.clone(), self.open.clone(), keys.clone());
        let loaded = async move {
            // Every field polled in this pass adds its keys before the batch closes.
            NextPoll::default().await;
            let keys = {
                let mut open = open.lock().map_err(|_| poisoned())?;
                // Keys added from now on open the next batch.
                if open
                    .as_ref()
                    .is_some_and(|batch| Arc::ptr_eq(&batch.keys, &batch_keys))
                {
                    *open = None;
                }
                std::mem::take(&mut *batch_keys.lock().map_err(|_| poisoned())?)
            };
            let loaded = load(&source.db, &source.principal, &keys, &source.models.by_name)
                .await
                .map_err(Arc::new)?;
            Ok(Arc::new(
                loaded
                    .into_iter()
                    .map(|(key, object)| (key, Arc::new(object)))
                    .collect(),
            ))
        };
        Batch {
            keys,
            loaded: loaded.boxed().shared(),
        }
    }
}

/// Ready once the task that polled it has been polled again after everything else
/// runnable ran: Tokio defers a `yield_now` wake until the worker's current poll is
/// over. `yield_now` alone would not do: it is ready on its second poll, and the
/// batch's other waiters poll it again within the same pass.
#[derive(Default)]
struct NextPoll {
    woken: Arc<Woken>,
    started: bool,
}

#[derive(Default)]
struct Woken {
    done: std::sync::atomic::AtomicBool,
    waker: Mutex<Option<std::task::Waker>>,
}

impl std::task::Wake for Woken {
    fn wake(self: Arc<Self>) {
        self.done.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(waker) = self.waker.lock().ok().and_then(|mut w| w.take()) {
            waker.wake();
        }
    }
}

impl std::future::Future for NextPoll {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.woken.done.load(std::sync::atomic::Ordering::SeqCst) {
            return std::task::Poll::Ready(());
        }
        if let Ok(mut waker) = self.woken.waker.lock() {
            *waker = Some(cx.waker().clone());
        }
        if !self.started {
            self.started = true;
            let waker = std::task::Waker::from(self.woken.clone());
            let mut yielding = std::pin::pin!(tokio::task::yield_now());
            // Pending: the deferred wake reaches `Woken` once this poll is over.
            let _ = yielding
                .as_mut()
                .poll(&mut std::task::Context::from_waker(&waker));
        }
        std::task::Poll::Pending
    }
}

fn poisoned() -> Arc<AppError> {
    Arc::new(AppError::Internal("relation batch lock".into()))
}
