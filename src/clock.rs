//! The service's notion of "now". Production reads the system clock; tests move it forward to
//! reach expiry without sleeping.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound, Utc};

/// The system clock plus an offset that only tests change.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    /// Now, to the microsecond: the precision both databases keep, so what is stored reads back
    /// unchanged.
    pub fn now(&self) -> DateTime<Utc> {
        (Utc::now() + Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed)))
            .trunc_subsecs(6)
    }

    /// Now, as stored in `Timestamp` columns (UTC, no zone).
    pub fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }

    /// Moves this clock, and every clone of it, forward.
    pub fn advance(&self, by: Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}
