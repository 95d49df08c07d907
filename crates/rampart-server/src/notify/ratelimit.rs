//! A token bucket: `per_minute` deliveries in any minute, with bursts up to that many.

use std::time::Instant;

pub(crate) struct TokenBucket {
    capacity: f64,
    tokens: f64,
    per_second: f64,
    last: Instant,
}

impl TokenBucket {
    pub(crate) fn per_minute(n: u32) -> Self {
        let capacity = f64::from(n);
        Self {
            capacity,
            tokens: capacity,
            per_second: capacity / 60.0,
            last: Instant::now(),
        }
    }

    /// Takes a token if one is available.
    pub(crate) fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_capped_at_the_per_minute_rate() {
        let mut b = TokenBucket::per_minute(3);
        assert!(b.take() && b.take() && b.take());
        assert!(!b.take());
        let mut none = TokenBucket::per_minute(0);
        assert!(!none.take());
    }
}
