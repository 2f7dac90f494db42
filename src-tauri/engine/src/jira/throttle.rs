//! Being fast and gentle with Jira: bounded concurrency that halves on a 429 and grows back
//! slowly (AIMD), a shared pause while Jira's `Retry-After` runs, and exponential backoff with
//! jitter for transient failures. Jira's rate limit, not bandwidth, decides how long a backup
//! takes, so the goal is to run right below it without tripping it repeatedly.

use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Concurrency bounds and backoff shape.
#[derive(Debug, Clone)]
pub struct ThrottleOptions {
    pub initial: usize,
    pub max: usize,
    /// First backoff step for transient failures; doubles per attempt.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

impl Default for ThrottleOptions {
    fn default() -> Self {
        Self {
            initial: 8,
            max: 24,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(60),
        }
    }
}

#[derive(Debug)]
struct State {
    limit: usize,
    in_flight: usize,
    successes: usize,
    paused_until: Option<Instant>,
}

/// Shared by every request of one run.
#[derive(Debug)]
pub struct Throttle {
    opts: ThrottleOptions,
    state: Mutex<State>,
    changed: Notify,
}

/// A slot to send one request; frees itself on drop.
pub struct Permit<'a>(&'a Throttle);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
        self.0.changed.notify_waiters();
    }
}

impl Throttle {
    pub fn new(opts: ThrottleOptions) -> Self {
        let limit = opts.initial.clamp(1, opts.max.max(1));
        Self {
            opts,
            state: Mutex::new(State {
                limit,
                in_flight: 0,
                successes: 0,
                paused_until: None,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current concurrency limit.
    pub fn limit(&self) -> usize {
        self.lock().limit
    }

    /// Waits for a free slot and for any rate-limit pause to end.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait_until = {
                let mut s = self.lock();
                let now = Instant::now();
                match s.paused_until {
                    Some(t) if t > now => Some(t),
                    _ => {
                        s.paused_until = None;
                        if s.in_flight < s.limit {
                            s.in_flight += 1;
                            return Permit(self);
                        }
                        None
                    }
                }
            };
            match wait_until {
                Some(t) => tokio::select! {
                    _ = tokio::time::sleep_until(t) => {}
                    _ = notified => {}
                },
                None => notified.await,
            }
        }
    }

    /// A success: after a run of them, allow one more request in flight.
    pub fn on_success(&self) {
        let mut s = self.lock();
        s.successes += 1;
        if s.successes >= s.limit * 4 && s.limit < self.opts.max {
            s.limit += 1;
            s.successes = 0;
            drop(s);
            self.changed.notify_waiters();
        }
    }

    /// Jira says less than 20 % of the budget is left: ease off by one.
    pub fn on_near_limit(&self) {
        let mut s = self.lock();
        s.successes = 0;
        if s.limit > 1 {
            s.limit -= 1;
        }
    }

    /// A 429 (or 503 with Retry-After): halve the concurrency and pause everyone for `wait`.
    pub fn on_rate_limited(&self, wait: Duration) {
        let mut s = self.lock();
        s.successes = 0;
        s.limit = (s.limit / 2).max(1);
        let until = Instant::now() + wait;
        if s.paused_until.is_none_or(|t| t < until) {
            s.paused_until = Some(until);
        }
    }

    /// The wait before retry number `attempt` (0-based) of a transient failure: exponential
    /// with "equal jitter" (half fixed, half random), so retries from many tasks spread out.
    /// `unit` is a random number in [0, 1).
    pub fn backoff(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self
            .opts
            .backoff_base
            .saturating_mul(2u32.saturating_pow(attempt.min(20)))
            .min(self.opts.backoff_cap);
        exp / 2 + exp.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
    }
}

/// How long Jira asked us to wait: `Retry-After` (seconds), else `Beta-Retry-After`.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    ["Retry-After", "Beta-Retry-After"].iter().find_map(|h| {
        headers
            .get(*h)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(3600.0)))
    })
}

/// Whether Jira flagged that less than 20 % of the rate budget is left.
pub fn near_limit(headers: &HeaderMap) -> bool {
    headers
        .get("X-RateLimit-NearLimit")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A small, fast random source for jitter (xorshift64*); not for anything secret.
#[derive(Debug)]
pub struct Jitter(Mutex<u64>);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(seed | 1))
    }

    /// A number in [0, 1).
    pub fn unit(&self) -> f64 {
        let mut x = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *x ^= *x >> 12;
        *x ^= *x << 25;
        *x ^= *x >> 27;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (v >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn opts(initial: usize, max: usize) -> ThrottleOptions {
        ThrottleOptions {
            initial,
            max,
            ..ThrottleOptions::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn never_more_in_flight_than_the_limit() {
        let t = Arc::new(Throttle::new(opts(3, 3)));
        let peak = Arc::new(Mutex::new((0usize, 0usize)));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (t, peak) = (t.clone(), peak.clone());
            tasks.push(tokio::spawn(async move {
                let _p = t.acquire().await;
                {
                    let mut g = peak.lock().unwrap();
                    g.0 += 1;
                    g.1 = g.1.max(g.0);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
                peak.lock().unwrap().0 -= 1;
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(peak.lock().unwrap().1, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_halves_and_pauses_everyone() {
        let t = Throttle::new(opts(8, 16));
        t.on_rate_limited(Duration::from_secs(5));
        assert_eq!(t.limit(), 4);
        let start = Instant::now();
        drop(t.acquire().await);
        assert!(
            start.elapsed() >= Duration::from_secs(5),
            "Retry-After must be honoured"
        );
        t.on_rate_limited(Duration::from_secs(1));
        t.on_rate_limited(Duration::from_secs(1));
        t.on_rate_limited(Duration::from_secs(1));
        assert_eq!(t.limit(), 1, "never below one");
    }

    #[test]
    fn successes_grow_the_limit_slowly_up_to_max_and_near_limit_eases_off() {
        let t = Throttle::new(opts(2, 3));
        for _ in 0..7 {
            t.on_success();
        }
        assert_eq!(t.limit(), 2);
        t.on_success();
        assert_eq!(t.limit(), 3);
        for _ in 0..100 {
            t.on_success();
        }
        assert_eq!(t.limit(), 3, "never above max");
        t.on_near_limit();
        assert_eq!(t.limit(), 2);
    }

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_cap() {
        let t = Throttle::new(ThrottleOptions::default());
        assert_eq!(t.backoff(0, 0.0), Duration::from_millis(250));
        assert_eq!(t.backoff(0, 1.0), Duration::from_millis(500));
        assert_eq!(t.backoff(3, 0.0), Duration::from_secs(2));
        assert_eq!(t.backoff(30, 1.0), Duration::from_secs(60));
    }

    #[test]
    fn headers() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert("Beta-Retry-After", "7".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert("Retry-After", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("Retry-After", "soon".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        assert!(!near_limit(&h));
        h.insert("X-RateLimit-NearLimit", "true".parse().unwrap());
        assert!(near_limit(&h));
    }

    #[test]
    fn jitter_is_in_range_and_varies() {
        let j = Jitter::new(42);
        let xs: Vec<f64> = (0..1000).map(|_| j.unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((0.4..0.6).contains(&mean), "{mean}");
    }
}
