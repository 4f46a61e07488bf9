//! Retries for registry requests: a bounded number of attempts with exponential backoff on
//! server errors (5xx), 429, refused or reset connections and timeouts; never on other 4xx
//! answers (wrong credentials, unknown names), which another attempt cannot change.

use oci_client::errors::OciDistributionError;
use std::future::Future;
use std::time::Duration;

/// How hard to try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub attempts: u32,
    /// The wait before the second attempt; doubled each time after.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base: Duration::from_millis(500),
            max: Duration::from_secs(8),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `n` (1-based).
    pub fn delay(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1));
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// Whether another attempt may succeed.
pub fn is_transient(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => *code >= 500 || *code == 429,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| matches!(e.code, oci_client::errors::OciErrorCode::Toomanyrequests)),
        OciDistributionError::RequestError(r) => match r.status() {
            Some(status) => status.is_server_error() || status.as_u16() == 429,
            None => r.is_connect() || r.is_timeout() || r.is_request() || r.is_body(),
        },
        OciDistributionError::IoError(_) => true,
        _ => false,
    }
}

/// Run `op` until it succeeds, fails for good, or runs out of attempts. `on_retry` hears of
/// each retry (attempt number, wait) so the caller can count or report them.
pub async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    mut on_retry: impl FnMut(u32, Duration, &OciDistributionError),
    mut op: F,
) -> Result<T, OciDistributionError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, OciDistributionError>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < policy.attempts.max(1) && is_transient(&e) => {
                let wait = policy.delay(attempt);
                on_retry(attempt, wait, &e);
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(code: u16) -> OciDistributionError {
        OciDistributionError::ServerError {
            code,
            url: "http://r/v2/".into(),
            message: String::new(),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(100),
            max: Duration::from_millis(500),
        };
        let d: Vec<u128> = (1..=5).map(|n| p.delay(n).as_millis()).collect();
        assert_eq!(d, [100, 200, 400, 500, 500]);
    }

    #[test]
    fn what_is_transient() {
        assert!(is_transient(&server(503)));
        assert!(is_transient(&server(500)));
        assert!(is_transient(&server(429)));
        assert!(!is_transient(&server(404)));
        assert!(!is_transient(&OciDistributionError::UnauthorizedError {
            url: "u".into()
        }));
    }

    #[tokio::test]
    async fn retries_5xx_then_succeeds_and_stops_on_4xx() {
        let p = RetryPolicy {
            attempts: 4,
            base: Duration::from_millis(1),
            max: Duration::from_millis(2),
        };
        let mut calls = 0;
        let mut retries = 0;
        let ok = retry(
            &p,
            |_, _, _| retries += 1,
            || {
                calls += 1;
                let n = calls;
                async move {
                    if n < 3 {
                        Err(server(502))
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(ok.expect("third time"), 3);
        assert_eq!(retries, 2);

        let mut calls = 0;
        let err = retry(
            &p,
            |_, _, _| {},
            || {
                calls += 1;
                async { Err::<(), _>(server(401)) }
            },
        )
        .await;
        assert!(err.is_err());
        assert_eq!(calls, 1, "a 4xx is not retried");

        let mut calls = 0;
        let err = retry(
            &p,
            |_, _, _| {},
            || {
                calls += 1;
                async { Err::<(), _>(server(503)) }
            },
        )
        .await;
        assert!(err.is_err());
        assert_eq!(calls, 4, "bounded attempts");
    }
}
