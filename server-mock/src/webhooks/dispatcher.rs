//! The webhook dispatcher: one background task per server ([`spawn`]) that fans outbox
//! events out into deliveries and sends the deliveries that are due.
//!
//! Each **cycle** is one database job: [`super::drain_outbox`] (at most
//! [`super::OUTBOX_BATCH`] rows), then [`crate::store::webhooks::claim_due`] of up to as
//! many due deliveries as there are free send permits, then the earliest future
//! `next_attempt_at`. Each claimed delivery is sent on its own task holding one of
//! [`MAX_CONCURRENT_SENDS`] permits (a semaphore), so slow receivers never block request
//! handling or each other beyond that bound; its attempt is recorded in one more job
//! ([`super::record_attempt`]).
//!
//! **When it runs.** After the commit of every request job that emitted an event
//! (`respond.rs` calls [`Dispatcher::events_committed`]), when an attempt scheduled a
//! retry or finished while every send permit was taken, when
//! an endpoint is created, and on a timer for the next scheduled retry (at most
//! [`MAX_SLEEP`] apart while deliveries are pending, so an advanced manual clock is
//! noticed). While no endpoint exists in any tenant it submits no job at all (the
//! events stay undispatched and are marked when the first endpoint appears; an endpoint
//! only receives events recorded after its creation), so a server without webhooks pays
//! nothing for them.
//!
//! **Durability.** Deliveries are rows: at start-up `lib.rs` makes deliveries that a
//! crash interrupted mid-send due again ([`crate::store::webhooks::resume_claimed`]) and
//! the first cycle resumes every due one; scheduled retries keep their time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::{RetryPolicy, Target, Trigger};
use crate::state::AppState;
use crate::store;
use crate::util::{fmt_ts, parse_ts};

/// Deliveries sent at the same time at most.
pub const MAX_CONCURRENT_SENDS: usize = 16;

/// Longest sleep while deliveries are pending.
pub const MAX_SLEEP: Duration = Duration::from_secs(1);

/// The dispatcher's handle in [`AppState`] (`state.webhooks`): wake-ups and the send
/// permits.
#[derive(Debug)]
pub struct Dispatcher {
    wake: Notify,
    subscribers: AtomicBool,
    permits: Arc<Semaphore>,
    /// The loop claimed as many deliveries as it had permits and waits for a send to end.
    waiting_for_permits: AtomicBool,
}

impl Dispatcher {
    /// A dispatcher; `subscribers` says whether any endpoint exists yet.
    pub fn new(subscribers: bool) -> Dispatcher {
        Dispatcher {
            wake: Notify::new(),
            subscribers: AtomicBool::new(subscribers),
            permits: Arc::new(Semaphore::new(MAX_CONCURRENT_SENDS)),
            waiting_for_permits: AtomicBool::new(false),
        }
    }

    /// Runs a cycle soon (wake-ups coalesce).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// A committed job recorded events: runs a cycle if anyone may receive them.
    pub fn events_committed(&self) {
        if self.subscribers.load(Ordering::Acquire) {
            self.wake();
        }
    }

    /// A receiver of events now exists (an endpoint was created): from now on every
    /// committed event runs a cycle.
    pub fn note_subscriber(&self) {
        self.subscribers.store(true, Ordering::Release);
        self.wake();
    }

    fn active(&self) -> bool {
        self.subscribers.load(Ordering::Acquire)
    }
}

/// What one cycle found.
struct Cycle {
    /// Outbox rows handled (a full batch means more are waiting).
    drained: usize,
    /// Claimed deliveries with their targets.
    claimed: Vec<Target>,
    /// Permits there were to claim with.
    free: usize,
    /// Earliest future automatic attempt.
    next_due: Option<String>,
}

/// Starts the dispatcher of `state` (one per server). Aborting the handle stops it and
/// its send tasks.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    tokio::spawn(run(state))
}

async fn run(state: AppState) {
    let policy = RetryPolicy::from_config(&state.config);
    let mut sends: JoinSet<()> = JoinSet::new();
    loop {
        while sends.try_join_next().is_some() {}
        if !state.webhooks.active() {
            state.webhooks.wake.notified().await;
            continue;
        }
        let free = state.webhooks.permits.available_permits();
        let now = state.clock.now();
        let cycle = state
            .db
            .call(move |c| {
                let now_iso = fmt_ts(now);
                let drained = super::drain_outbox(c, &now_iso, super::OUTBOX_BATCH)?;
                let mut claimed = Vec::new();
                if free > 0 {
                    for d in store::webhooks::claim_due(c, &now_iso, free as u32)? {
                        let id = d.id.clone();
                        match super::target(c, d)? {
                            Some((t, true)) => claimed.push(t),
                            _ => store::webhooks::fail_unsent(c, &id, "endpoint inactive")?,
                        }
                    }
                }
                Ok(Cycle {
                    drained,
                    claimed,
                    free,
                    next_due: store::webhooks::next_due(c)?,
                })
            })
            .await;
        let cycle = match cycle {
            Ok(c) => c,
            Err(_) => {
                tracing::error!("webhook dispatcher: database job failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let saturated = cycle.free == 0 || cycle.claimed.len() == cycle.free;
        // set before the sends start, so the first of them to end sees it
        state
            .webhooks
            .waiting_for_permits
            .store(saturated, Ordering::Release);
        for t in cycle.claimed {
            let state = state.clone();
            let policy = policy.clone();
            sends.spawn(async move { send_one(state, t, policy).await });
        }
        if cycle.drained as u32 >= super::OUTBOX_BATCH {
            continue;
        }
        // Sleep until woken, or until the next automatic attempt (capped). When every
        // permit is taken, a finishing send wakes the loop.
        let sleep = match cycle.next_due.as_deref().and_then(parse_ts) {
            Some(due) if !saturated => {
                let left = (due - state.clock.now()).to_std().unwrap_or(Duration::ZERO);
                Some(left.min(MAX_SLEEP))
            }
            _ => None,
        };
        match sleep {
            Some(d) => {
                tokio::select! {
                    _ = state.webhooks.wake.notified() => {}
                    _ = tokio::time::sleep(d) => {}
                }
            }
            None => state.webhooks.wake.notified().await,
        }
    }
}

/// Sends claimed delivery `t` (one permit), records the attempt and wakes the loop when
/// it has new work.
async fn send_one(state: AppState, t: Target, policy: RetryPolicy) {
    let permit = state.webhooks.permits.clone().acquire_owned().await;
    let result = super::send(&state, &t).await;
    let now = state.clock.now();
    let (tenant, id) = (t.delivery.tenant_id.clone(), t.delivery.id.clone());
    let recorded = state
        .db
        .call(move |c| {
            super::record_attempt(c, &tenant, &id, Trigger::Scheduled, &result, &policy, now)
        })
        .await;
    let rescheduled = match &recorded {
        Ok(d) => d.as_ref().is_some_and(|d| d.next_attempt_at.is_some()),
        Err(_) => {
            // the claim stays; the next start-up resumes it
            tracing::error!(delivery = %t.delivery.id, "webhook attempt could not be recorded");
            false
        }
    };
    drop(permit);
    // The loop needs a new cycle only when a retry time appeared (it may come before the
    // loop's timer) or when it waits for a permit (more deliveries may be due).
    let waiting = state
        .webhooks
        .waiting_for_permits
        .swap(false, Ordering::AcqRel);
    if rescheduled || waiting {
        state.webhooks.wake();
    }
}
