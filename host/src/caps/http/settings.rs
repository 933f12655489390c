//! `weir.http` in the workflow: what plugins may reach over HTTP, and how
//! hard. Nothing is granted by default; a connection's `hostPort` is
//! granted implicitly to a plugin that asks for HTTP.

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// Limits applied to every request of a run. Retries of 429 and 503 follow
/// the run's `weir.retry`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase", default)]
pub struct HttpSettings {
    /// `scheme://host[:port]` origins (`https://*.example.com` for
    /// subdomains) and address ranges (`10.0.0.0/8`) that lift the refusal
    /// of private addresses.
    pub allow: Vec<String>,
    /// Per attempt: connect, send, headers and the whole body.
    #[serde(rename = "timeoutSecs", deserialize_with = "at_least_a_second")]
    pub timeout: Duration,
    /// A response body larger than this fails the request.
    #[serde(rename = "maxResponseMib", deserialize_with = "mebibytes")]
    pub max_response_bytes: u64,
    /// Requests per second per origin; 0 means no limit.
    #[serde(deserialize_with = "not_negative")]
    pub rate_per_sec: f64,
    /// Requests an origin may take at once before the rate applies.
    #[serde(deserialize_with = "at_least_one")]
    pub burst: u32,
    /// Requests on the wire at once, for the whole run (`send-all` fans
    /// out up to this).
    #[serde(deserialize_with = "at_least_one")]
    pub max_in_flight: usize,
    /// Redirects followed per request.
    pub max_redirects: u32,
    /// A `Retry-After` longer than this is not waited for: the request
    /// fails (transient) at once.
    #[serde(rename = "maxRetryAfterSecs", deserialize_with = "seconds")]
    pub max_retry_after: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            allow: Vec::new(),
            timeout: Duration::from_secs(30),
            max_response_bytes: 32 << 20,
            // Enough for a latency-bound API answered concurrently; the
            // in-flight cap is what protects the server.
            rate_per_sec: 1000.0,
            burst: 100,
            max_in_flight: 64,
            max_redirects: 10,
            max_retry_after: Duration::from_secs(120),
        }
    }
}

// Values that make no sense are raised to the least that does, as weir's
// other limits are.

fn seconds<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(Duration::from_secs)
}

fn at_least_a_second<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    u64::deserialize(deserializer).map(|secs| Duration::from_secs(secs.max(1)))
}

fn mebibytes<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    u64::deserialize(deserializer).map(|mib| mib.saturating_mul(1 << 20))
}

fn not_negative<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    f64::deserialize(deserializer).map(|rate| rate.max(0.0))
}

fn at_least_one<'de, D, N>(deserializer: D) -> Result<N, D::Error>
where
    D: Deserializer<'de>,
    N: Deserialize<'de> + Ord + From<u8>,
{
    N::deserialize(deserializer).map(|n| n.max(N::from(1)))
}

#[cfg(test)]
mod tests {
    use super::HttpSettings;
    use std::time::Duration;

    #[test]
    fn keys_in_the_units_a_workflow_writes() {
        let yaml = "allow: [https://api.example.com]\ntimeoutSecs: 0\nmaxResponseMib: 2\nratePerSec: -1\nburst: 0\n\
                    maxInFlight: 0\nmaxRedirects: 0\nmaxRetryAfterSecs: 5\n";
        let s: HttpSettings = serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.allow, ["https://api.example.com"]);
        assert_eq!(s.timeout, Duration::from_secs(1));
        assert_eq!(s.max_response_bytes, 2 << 20);
        assert_eq!((s.rate_per_sec, s.burst, s.max_in_flight, s.max_redirects), (0.0, 1, 1, 0));
        assert_eq!(s.max_retry_after, Duration::from_secs(5));
        let unknown = serde_yaml::from_str::<HttpSettings>("timeout: 3\n").map(|_| ()).unwrap_err().to_string();
        assert!(unknown.contains("timeoutSecs"), "{unknown}");
    }
}
