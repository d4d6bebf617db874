//! When to try a request again, and how long to wait first.
//!
//! Transient failures are retried: a network error, a timeout, `429 Too Many Requests` and
//! any `5xx`. Each wait doubles, with jitter so that many retries do not arrive together, up to
//! a ceiling; a `Retry-After` the server sends is honoured instead when it is longer, and when
//! it is beyond the ceiling the request gives up rather than hold a task that long. Anything
//! else (`4xx`) is final: trying again would not change the answer.

use std::time::{Duration, SystemTime};

use http::HeaderMap;

/// How many times to try and how long to wait between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included (at least one is made).
    pub attempts: u32,
    /// The wait before the second try; each later wait doubles.
    pub first_delay: Duration,
    /// The longest wait between two tries, also the longest `Retry-After` honoured.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Five tries over about a minute: 1, 2, 4 and 8 seconds (each between half and all of
    /// that), or what `Retry-After` asks up to a minute.
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_mins(1),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed try number `tried` (1 for the first), before jitter: doubled each
    /// time, never over `max_delay`.
    fn ceiling(&self, tried: u32) -> Duration {
        let factor = 2u32.saturating_pow(tried.saturating_sub(1));
        self.first_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The wait after failed try number `tried`, between half of its ceiling and all of it.
    pub(crate) fn backoff(&self, tried: u32) -> Duration {
        let ceiling = self.ceiling(tried);
        let half = ceiling / 2;
        let spread = u64::try_from(ceiling.saturating_sub(half).as_millis()).unwrap_or(u64::MAX);
        half + Duration::from_millis(fastrand::u64(0..=spread))
    }

    /// The wait before trying again after try number `tried` got `retry_after` (if the server
    /// sent one), or `None` to give up because the server asked for longer than `max_delay`.
    pub(crate) fn wait(&self, tried: u32, retry_after: Option<Duration>) -> Option<Duration> {
        match retry_after {
            Some(asked) if asked > self.max_delay => None,
            Some(asked) => Some(asked.max(self.backoff(tried))),
            None => Some(self.backoff(tried)),
        }
    }
}

/// A `Retry-After` header: a number of seconds, or an HTTP date (then the time until it, zero
/// if past).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(http::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(5),
        }
    }

    #[test]
    fn waits_double_with_jitter_up_to_the_ceiling() {
        for (tried, ceiling) in [(1, 1), (2, 2), (3, 4), (4, 5), (40, 5)] {
            let ceiling = Duration::from_secs(ceiling);
            assert_eq!(policy().ceiling(tried), ceiling);
            for _ in 0..50 {
                let wait = policy().backoff(tried);
                assert!(wait >= ceiling / 2 && wait <= ceiling, "{tried}: {wait:?}");
            }
        }
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_ceiling() {
        let asked = Duration::from_secs(3);
        assert!(policy().wait(1, Some(asked)).unwrap() >= asked);
        assert_eq!(policy().wait(1, Some(Duration::from_secs(6))), None);
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        let read = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(http::header::RETRY_AFTER, value.parse().unwrap());
            retry_after(&headers, now)
        };
        assert_eq!(read("120"), Some(Duration::from_mins(2)));
        assert_eq!(
            read("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(read("Wed, 21 Oct 2015 07:27:00 GMT"), Some(Duration::ZERO));
        assert_eq!(read("soon"), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
