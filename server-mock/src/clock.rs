//! Injectable wall clock. Production uses [`Clock::system`]; tests use
//! [`Clock::manual`] and [`Clock::advance`] to step over TTLs (magic links, sessions,
//! idempotency records) without sleeping.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// A cheaply clonable clock shared by the whole server.
#[derive(Clone)]
pub struct Clock(Arc<Inner>);

enum Inner {
    System,
    /// A manual clock: `offset` is added to the real time, so time still moves forward
    /// between calls (ordering of timestamps keeps working) while tests can jump ahead.
    Offset(Mutex<Duration>),
}

impl Clock {
    /// The real UTC clock.
    pub fn system() -> Self {
        Clock(Arc::new(Inner::System))
    }

    /// A clock that follows real time but can be advanced with [`Clock::advance`].
    pub fn manual() -> Self {
        Clock(Arc::new(Inner::Offset(Mutex::new(Duration::zero()))))
    }

    /// The current time (UTC).
    pub fn now(&self) -> DateTime<Utc> {
        match &*self.0 {
            Inner::System => Utc::now(),
            Inner::Offset(off) => {
                let off = *off.lock().unwrap_or_else(|e| e.into_inner());
                Utc::now() + off
            }
        }
    }

    /// Moves a manual clock forward by `by`. No effect on the system clock.
    pub fn advance(&self, by: std::time::Duration) {
        if let Inner::Offset(off) = &*self.0 {
            let mut g = off.lock().unwrap_or_else(|e| e.into_inner());
            *g += Duration::from_std(by).unwrap_or(Duration::zero());
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &*self.0 {
            Inner::System => f.write_str("Clock::System"),
            Inner::Offset(_) => f.write_str("Clock::Manual"),
        }
    }
}
