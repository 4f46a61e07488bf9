//! Identity tokens (`identitytoken` in config.json, or a helper's `<token>` user) are OAuth2
//! refresh tokens: like the docker CLI, kz trades one for an access token scoped to the
//! repository (`POST <realm>` with `grant_type=refresh_token`), where the registry's Bearer
//! challenge says. Neither token ever appears in an error.

use crate::secret::Secret;
use std::time::Duration;

/// A registry's `WWW-Authenticate: Bearer realm=…,service=…` challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub realm: String,
    pub service: Option<String>,
}

/// Parse a Bearer challenge (`None` for Basic or anything else).
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let rest = header.trim();
    let (scheme, params) = rest.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    let mut s = params.trim();
    while !s.is_empty() {
        let (key, after) = s.split_once('=')?;
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"')?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        match key.as_str() {
            "realm" => realm = Some(value.to_owned()),
            "service" => service = Some(value.to_owned()),
            _ => {}
        }
        s = tail.trim_start_matches(',').trim();
    }
    Some(Challenge {
        realm: realm?,
        service,
    })
}

/// Why an exchange failed, without any token in it.
#[derive(Debug)]
pub enum ExchangeError {
    /// The token server refused the refresh token (HTTP status).
    Refused(u16),
    /// It could not be reached or answered something else.
    Failed(String),
}

/// Trade `refresh` for an access token for `scope` at `challenge`'s realm.
pub async fn exchange(
    client: &reqwest::Client,
    challenge: &Challenge,
    scope: &str,
    refresh: &Secret,
) -> Result<String, ExchangeError> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "refresh_token")
        .append_pair("client_id", "kz")
        .append_pair("scope", scope)
        .append_pair("refresh_token", refresh.expose());
    if let Some(service) = &challenge.service {
        form.append_pair("service", service);
    }
    let response = client
        .post(&challenge.realm)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form.finish())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        // reqwest's message names the URL (the realm), never the body.
        .map_err(|e| ExchangeError::Failed(e.without_url().to_string()))?;
    let status = response.status();
    if status.is_client_error() {
        return Err(ExchangeError::Refused(status.as_u16()));
    }
    if !status.is_success() {
        return Err(ExchangeError::Failed(format!(
            "the token server answered {status}"
        )));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| ExchangeError::Failed(e.without_url().to_string()))?;
    let body: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| ExchangeError::Failed("the token server's answer is not JSON".into()))?;
    body.get("access_token")
        .or_else(|| body.get("token"))
        .and_then(|t| t.as_str())
        .map(str::to_owned)
        .ok_or_else(|| ExchangeError::Failed("the token server sent no access token".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="reg.example",scope="repository:a:pull""#
            ),
            Some(Challenge {
                realm: "https://auth.example/token".into(),
                service: Some("reg.example".into())
            })
        );
        assert_eq!(
            parse_challenge("bearer realm=http://x/t"),
            Some(Challenge {
                realm: "http://x/t".into(),
                service: None
            })
        );
        assert_eq!(parse_challenge(r#"Basic realm="kz""#), None);
        assert_eq!(parse_challenge("Bearer service=\"x\""), None);
    }
}
