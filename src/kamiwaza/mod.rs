//! The template API of a running Kamiwaza (reference §10): `kz kamiwaza push` and
//! `kz kamiwaza list`.
//!
//! - `connection.rs`: where the API is and who logs in (KAMIWAZA_API_URL, KAMIWAZA_USERNAME,
//!   KAMIWAZA_PASSWORD from the environment or the root `.env`, else `~/.kamiwaza/config.yaml`),
//!   TLS verified unless `--insecure`; the password is a `Secret` that never prints.
//! - `client.rs`: the HTTP calls (reqwest on rustls/ring): token login, Bearer + cookie, JSON.
//! - `template.rs`: the registry entry of an extension, the payload cleaning of §10, and the
//!   push decision (create, update, unchanged, refused).
//!
//! Nothing here prints or reads the process environment; the CLI hands values in.

mod client;
mod connection;
mod template;

pub use client::Client;
pub use connection::{Connection, Secret, DEFAULT_API_URL};
pub use template::{
    clean_payload, find_entry, list, prepare, push, sync, template_type, Action, Prepared, Pushed,
    RegistryEntry,
};

use std::path::PathBuf;

/// What can go wrong talking to Kamiwaza. Messages never hold the password or the token.
#[derive(Debug, thiserror::Error)]
pub enum KamiwazaError {
    #[error("no Kamiwaza {what} given")]
    Missing { what: &'static str },
    #[error("`{path}`: {message}")]
    Config { path: PathBuf, message: String },
    #[error("`{url}` is not a usable Kamiwaza API URL: {message}")]
    BadUrl { url: String, message: String },
    #[error("`{path}`: cannot use it as a CA certificate: {message}")]
    CaCert { path: PathBuf, message: String },
    #[error("cannot set up the HTTP client")]
    Client {
        #[source]
        source: reqwest::Error,
    },
    #[error("cannot reach Kamiwaza at {url}")]
    Unreachable {
        url: String,
        tls: bool,
        #[source]
        source: reqwest::Error,
    },
    #[error("Kamiwaza refused the login of `{username}` at {url} (HTTP {status})")]
    LoginRefused {
        url: String,
        username: String,
        status: u16,
    },
    #[error("Kamiwaza refused to {doing} (HTTP {status}): the token was not accepted")]
    Unauthorized { doing: String, status: u16 },
    #[error("Kamiwaza failed to {doing}: HTTP {status} from {url}{}", detail_suffix(.detail))]
    Api {
        doing: String,
        url: String,
        status: u16,
        detail: String,
    },
    #[error("Kamiwaza answered {doing} with something unexpected: {message}")]
    BadResponse { doing: String, message: String },
    #[error("no {kind} template with id `{id}` on Kamiwaza ({listed} listed)")]
    UnknownTemplateId {
        id: String,
        kind: &'static str,
        listed: usize,
    },
    #[error("no registry file to push from: looked for {}", .looked.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(" and "))]
    NoRegistryFile { looked: Vec<PathBuf> },
    #[error("template `{name}` not found in {}", .looked.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(" or "))]
    NotInRegistry { name: String, looked: Vec<PathBuf> },
    #[error("`{path}`: the entry of `{name}` has {problem}")]
    BadEntry {
        path: PathBuf,
        name: String,
        problem: String,
    },
    #[error(
        "Kamiwaza already has `{name}` {remote} (id {id}); {local} from the registry is {relation}"
    )]
    NotNewer {
        name: String,
        id: String,
        remote: String,
        local: String,
        relation: String,
    },
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

impl KamiwazaError {
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            KamiwazaError::Missing { .. } => format!(
                "set KAMIWAZA_USERNAME and KAMIWAZA_PASSWORD (environment or the root .env), or \
                 `username:` and `password:` in ~/.kamiwaza/config.yaml; KAMIWAZA_API_URL says \
                 where the API is (default {DEFAULT_API_URL})"
            ),
            KamiwazaError::Unreachable { tls: true, .. } => {
                "the server's certificate is not trusted: set KAMIWAZA_CA_CERT to the PEM file of \
                 its CA, or pass --insecure to skip verification"
                    .to_owned()
            }
            KamiwazaError::Unreachable { .. } => {
                "is Kamiwaza running there? KAMIWAZA_API_URL sets the address (…/api)".to_owned()
            }
            KamiwazaError::LoginRefused { .. } | KamiwazaError::Unauthorized { .. } => {
                "check KAMIWAZA_USERNAME and KAMIWAZA_PASSWORD (or ~/.kamiwaza/config.yaml)"
                    .to_owned()
            }
            KamiwazaError::UnknownTemplateId { .. } => {
                "`kz kamiwaza list` shows the templates and their ids".to_owned()
            }
            KamiwazaError::NoRegistryFile { .. } | KamiwazaError::NotInRegistry { .. } => {
                "run `kz build-registry` to rebuild the registry".to_owned()
            }
            KamiwazaError::NotNewer { id, .. } => format!(
                "bump the version (`kz bump NAME patch`, then `kz build-registry`), or pass \
                 --template-id {id} to replace it anyway"
            ),
            _ => return None,
        })
    }

    pub fn exit_status(&self) -> crate::exit::ExitStatus {
        use crate::exit::ExitStatus;
        match self {
            KamiwazaError::NotNewer { .. } => ExitStatus::Failure,
            KamiwazaError::Client { .. }
            | KamiwazaError::Unreachable { .. }
            | KamiwazaError::Api { .. }
            | KamiwazaError::BadResponse { .. } => ExitStatus::Environment,
            _ => ExitStatus::Usage,
        }
    }
}
