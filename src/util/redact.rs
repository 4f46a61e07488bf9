//! The one redactor. Every credential kz knows (registry passwords and tokens, the Kamiwaza
//! password and token, AWS keys and session tokens, web-identity tokens) is registered once per
//! run, and everything kz prints (messages, errors, data on stdout, `--json`, GitHub annotations,
//! progress events, reports) passes through [`redact`] on its way out, whatever a server sent
//! back.
//!
//! A secret of at least [`MIN_SECRET`] characters is replaced wherever it appears: as it is,
//! JSON-escaped (as serde and as Python's `ensure_ascii` write it), URL-encoded (RFC 3986 and form
//! encoding) and base64-encoded (standard and URL-safe alphabets, at each of the three byte
//! alignments, so `base64("user:" + secret)` in a `Basic` header is caught without knowing the
//! user). Shorter secrets (moto's `test`) would blank out ordinary words, so they, and any
//! credential kz does not know, are redacted only as whole known fields: URL userinfo
//! (`https://user:***@host`), an `Authorization` value or a `Basic`/`Bearer` credential, and the
//! values of credential-named fields (`password=`, `"token": "..."`, `aws_secret_access_key = `).

use aho_corasick::{AhoCorasick, MatchKind};
use base64::Engine as _;
use regex::Regex;
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::{LazyLock, Mutex};

/// Shortest secret redacted wherever it appears; shorter ones only as whole fields.
pub const MIN_SECRET: usize = 6;

/// What a redacted value is replaced with.
pub const MASK: &str = "***";

/// A set of secrets and the matcher over all their encoded forms.
#[derive(Default)]
pub struct Redactor {
    secrets: BTreeSet<String>,
    /// Every form of every long secret, and the matcher over them (rebuilt after an `add`).
    needles: BTreeSet<String>,
    matcher: Option<AhoCorasick>,
}

impl Redactor {
    pub fn new() -> Self {
        Redactor::default()
    }

    /// Register a secret (and, when it is long enough, its encoded forms).
    pub fn add(&mut self, secret: &str) {
        let secret = secret.trim_matches(['\r', '\n']);
        if secret.is_empty() || !self.secrets.insert(secret.to_owned()) {
            return;
        }
        if secret.chars().count() >= MIN_SECRET {
            self.needles.extend(forms(secret));
            self.matcher = None;
        }
    }

    /// Whether any secret is known.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    fn matcher(&mut self) -> Option<&AhoCorasick> {
        if self.matcher.is_none() && !self.needles.is_empty() {
            self.matcher = AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&self.needles)
                .ok();
        }
        self.matcher.as_ref()
    }

    /// `text` with every known secret, in every form, and every credential field masked.
    pub fn redact<'a>(&mut self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        if let Some(matcher) = self.matcher() {
            if matcher.is_match(text) {
                out = Cow::Owned(matcher.replace_all(text, &vec![MASK; matcher.patterns_len()]));
            }
        }
        match redact_fields(&out) {
            Cow::Borrowed(_) => out,
            Cow::Owned(s) => Cow::Owned(s),
        }
    }
}

/// The forms a long secret can take in a server's answer.
fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_owned()];
    // JSON: as serde writes it, with `\/`, and ASCII-only as Python's json.dumps.
    if let Ok(json) = serde_json::to_string(secret) {
        let inner = &json[1..json.len() - 1];
        out.push(inner.to_owned());
        out.push(inner.replace('/', "\\/"));
        let mut ascii = String::new();
        for c in inner.chars() {
            if c.is_ascii() {
                ascii.push(c);
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    ascii.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
        out.push(ascii.clone());
        out.push(ascii.to_uppercase().replace("\\U", "\\u"));
    }
    // URL encodings: RFC 3986 (unreserved kept), everything but alphanumerics, and forms.
    const UNRESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    out.push(percent_encoding::utf8_percent_encode(secret, UNRESERVED).to_string());
    out.push(
        percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
            .to_string(),
    );
    out.push(form_urlencoded::byte_serialize(secret.as_bytes()).collect());
    // base64 at each alignment: the characters that depend on the secret's bytes alone.
    let bytes = secret.as_bytes();
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE,
    ] {
        out.push(engine.encode(bytes));
        for pad in 0..3usize {
            let mut buf = vec![0u8; pad];
            buf.extend_from_slice(bytes);
            let encoded = engine.encode(&buf);
            let start = (pad * 8).div_ceil(6);
            let end = ((pad + bytes.len()) * 8) / 6;
            if let Some(core) = encoded.get(start..end) {
                out.push(core.to_owned());
            }
        }
    }
    out.retain(|f| f.len() >= MIN_SECRET);
    out.sort();
    out.dedup();
    out
}

static USERINFO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/\s:@]*):([^/\s@]+)@").expect("userinfo regex")
});

static AUTH_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(\b(?:proxy-)?authorization\b["']?\s*[:=]\s*["']?)([^"'\r\n]+)"#)
        .expect("authorization regex")
});

static SCHEME_CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(Basic|Bearer|BASIC|BEARER|basic|bearer)(\s+)([A-Za-z0-9+/_.~\-]{8,}=*)")
        .expect("scheme regex")
});

static FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)(\b(?:password|passwd|secret|client_secret|token|access_token|refresh_token|id_token|identitytoken|registrytoken|aws_secret_access_key|aws_session_token|aws_security_token|secretaccesskey|sessiontoken|x-amz-security-token|kamiwaza_password)\b["']?\s*[:=]\s*["']?)([^"'&\s,;}\]]+)"#,
    )
    .expect("field regex")
});

/// Credential fields masked whatever their value: URL userinfo, `Authorization` values, `Basic` /
/// `Bearer` credentials and credential-named fields.
fn redact_fields(text: &str) -> Cow<'_, str> {
    let mut out = Cow::Borrowed(text);
    for (re, replacement) in [
        (&*USERINFO, "${1}${2}:***@"),
        (&*AUTH_VALUE, "${1}***"),
        (&*FIELD, "${1}***"),
    ] {
        if re.is_match(&out) {
            out = Cow::Owned(re.replace_all(&out, replacement).into_owned());
        }
    }
    // `Basic <credential>` / `Bearer <credential>` outside a header: the credential must look
    // like one (a digit or a base64/JWT punctuation mark), so "basic authentication" stays.
    if SCHEME_CREDENTIAL.is_match(&out) {
        let replaced = SCHEME_CREDENTIAL.replace_all(&out, |caps: &regex::Captures<'_>| {
            let credential = &caps[3];
            if credential.contains(|c: char| c.is_ascii_digit() || "+/=._-~".contains(c)) {
                format!("{}{}***", &caps[1], &caps[2])
            } else {
                caps[0].to_owned()
            }
        });
        out = Cow::Owned(replaced.into_owned());
    }
    out
}

static GLOBAL: LazyLock<Mutex<Redactor>> = LazyLock::new(|| Mutex::new(Redactor::new()));

/// Register a credential with the run's redactor. `Secret::new` calls this, so every password
/// and token kz holds is registered the moment it is read.
pub fn register(secret: &str) {
    if let Ok(mut r) = GLOBAL.lock() {
        r.add(secret);
    }
}

/// `text` as it may be shown: every registered secret and every credential field masked.
pub fn redact(text: &str) -> Cow<'_, str> {
    match GLOBAL.lock() {
        Ok(mut r) => match r.redact(text) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(s) => Cow::Owned(s),
        },
        // A poisoned lock: print nothing that could hold a secret unmasked.
        Err(_) => Cow::Owned(MASK.to_owned()),
    }
}

/// Register every credential found in `vars` (the environment, or the settings' variables):
/// values of credential-named variables, passwords in URL userinfo, the web-identity token file
/// (`AWS_WEB_IDENTITY_TOKEN_FILE`) and the keys of the AWS profile files (`AWS_SHARED_CREDENTIALS_FILE`,
/// `AWS_CONFIG_FILE`, else under `HOME/.aws/`). Files are read through the file-opening policy
/// (regular files only, bounded); one that cannot be read is skipped.
pub fn register_from_vars(vars: &std::collections::BTreeMap<String, String>) {
    use std::path::PathBuf;
    for (name, value) in vars {
        if is_secret_name(name) {
            register(value);
        }
        if value.contains("://") {
            if let Some(caps) = USERINFO.captures(value) {
                register(&caps[3]);
                if let Ok(decoded) = percent_encoding::percent_decode_str(&caps[3]).decode_utf8() {
                    register(&decoded);
                }
            }
        }
    }
    let file = |var: &str, default: &str| -> Option<PathBuf> {
        match vars.get(var).filter(|v| !v.is_empty()) {
            Some(p) => Some(PathBuf::from(p)),
            None => vars
                .get("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(default)),
        }
    };
    let read = |path: &std::path::Path| {
        crate::util::open::read_regular(path, crate::util::open::MAX_SMALL_FILE)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    };
    if let Some(path) = vars
        .get("AWS_WEB_IDENTITY_TOKEN_FILE")
        .filter(|v| !v.is_empty())
    {
        if let Some(token) = read(std::path::Path::new(path)) {
            register(token.trim());
        }
    }
    for path in [
        file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials"),
        file("AWS_CONFIG_FILE", ".aws/config"),
    ]
    .into_iter()
    .flatten()
    {
        let Some(text) = read(&path) else { continue };
        for line in text.lines() {
            if let Some((key, value)) = line.split_once('=') {
                if is_secret_name(key.trim()) {
                    register(value.trim());
                }
            }
        }
    }
}

/// Names of variables whose values are credentials.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "CREDENTIAL",
        "PRIVATE_KEY",
        "API_KEY",
        "ACCESS_KEY",
    ]
    .iter()
    .any(|part| upper.contains(part))
}

#[cfg(test)]
#[path = "redact_tests.rs"]
mod tests;
