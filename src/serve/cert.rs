//! The server's TLS identity: a self-signed certificate made with rcgen on first use and kept
//! outside the served folder (`build/kz-serve/server.{pem,key}`, key 0600), so no request can
//! reach the private key. Later runs reuse it while it loads, its key matches, it is valid now and
//! it names every host asked for; otherwise it is replaced and the reason is reported.

use crate::error::{Error, Result};
use crate::fsx;
use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_rustls::rustls::client::danger::ServerCertVerifier;
use tokio_rustls::rustls::client::WebPkiServerVerifier;
use tokio_rustls::rustls::crypto::{ring, CryptoProvider};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use tokio_rustls::rustls::{CertificateError, RootCertStore, ServerConfig};

/// File names inside the certificate folder.
pub const CERT_FILE: &str = "server.pem";
pub const KEY_FILE: &str = "server.key";
/// How long a new certificate is valid.
const VALID_DAYS: i32 = 365;

/// A TLS server configuration ready for the listener.
#[derive(Clone)]
pub struct Tls {
    pub(crate) config: Arc<ServerConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").finish_non_exhaustive()
    }
}

/// What happened to the certificate files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CertAction {
    /// The existing files were good and are used as they are.
    Reused,
    /// There were none: new ones were made.
    Created,
    /// The existing ones could not be used (the reason) and were replaced.
    Replaced(String),
}

/// Where the certificate and key live and what was done with them.
#[derive(Clone, Debug)]
pub struct CertInfo {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub action: CertAction,
}

/// The names a certificate must cover: the loopback names, plus `host` when it is a specific name
/// or address (not a wildcard bind address such as `0.0.0.0` or `::`).
pub fn certificate_names(host: &str) -> Vec<String> {
    let mut names: Vec<String> = ["localhost", "127.0.0.1", "::1"].map(String::from).into();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let wildcard = host
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified());
    if !host.is_empty() && !wildcard && !names.iter().any(|n| n.eq_ignore_ascii_case(host)) {
        names.push(host.to_owned());
    }
    names
}

/// Load the certificate in `dir` if it is usable for `names`, or make a new one there.
pub fn load_or_create(dir: &Path, names: &[String]) -> Result<(Tls, CertInfo)> {
    let provider = Arc::new(ring::default_provider());
    let cert = dir.join(CERT_FILE);
    let key = dir.join(KEY_FILE);
    let action = if cert.exists() || key.exists() {
        match load(&cert, &key, names, &provider) {
            Ok(config) => {
                restrict(&key)?;
                let info = CertInfo {
                    cert,
                    key,
                    action: CertAction::Reused,
                };
                return Ok((Tls { config }, info));
            }
            Err(why) => CertAction::Replaced(why),
        }
    } else {
        CertAction::Created
    };
    let (cert_pem, key_pem) = generate(names).map_err(|e| Error::Certificate {
        path: cert.clone(),
        message: format!("cannot generate a self-signed certificate: {e}"),
    })?;
    create_private_dir(dir)?;
    write_private(&key, key_pem.as_bytes())?;
    fsx::write_atomic(&cert, cert_pem.as_bytes())?;
    let config = load(&cert, &key, names, &provider).map_err(|message| Error::Certificate {
        path: cert.clone(),
        message,
    })?;
    Ok((Tls { config }, CertInfo { cert, key, action }))
}

/// A new self-signed certificate (ECDSA P-256) for `names`, valid from yesterday (clock skew) for
/// [`VALID_DAYS`], as PEM text: (certificate, PKCS#8 private key).
fn generate(names: &[String]) -> Result<(String, String), String> {
    let mut params = CertificateParams::new(names.to_vec()).map_err(|e| e.to_string())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "localhost");
    dn.push(DnType::OrganizationName, "Kamiwaza extension registry (kz)");
    params.distinguished_name = dn;
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let from = today.yesterday().map_err(|e| e.to_string())?;
    let until = today
        .checked_add(jiff::Span::new().days(VALID_DAYS))
        .map_err(|e| e.to_string())?;
    let (y, m, d) = ymd(from)?;
    params.not_before = rcgen::date_time_ymd(y, m, d);
    let (y, m, d) = ymd(until)?;
    params.not_after = rcgen::date_time_ymd(y, m, d);
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// A civil date as rcgen's (year, month, day).
fn ymd(date: jiff::civil::Date) -> Result<(i32, u8, u8), String> {
    let month = u8::try_from(date.month()).map_err(|e| e.to_string())?;
    let day = u8::try_from(date.day()).map_err(|e| e.to_string())?;
    Ok((i32::from(date.year()), month, day))
}

/// A server configuration from the files, or why they cannot be used.
fn load(
    cert: &Path,
    key: &Path,
    names: &[String],
    provider: &Arc<CryptoProvider>,
) -> std::result::Result<Arc<ServerConfig>, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| format!("the certificate cannot be read ({e})"))?;
    let leaf = chain
        .first()
        .ok_or_else(|| "the certificate file holds no certificate".to_owned())?;
    let private = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("the private key cannot be read ({e})"))?;
    let mut roots = RootCertStore::empty();
    roots
        .add(leaf.clone())
        .map_err(|e| format!("the certificate is malformed ({e})"))?;
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| format!("the certificate cannot be checked ({e})"))?;
    let now = UnixTime::now();
    for name in names {
        let server_name = ServerName::try_from(name.as_str())
            .map_err(|e| format!("`{name}` is not a host name ({e})"))?;
        verifier
            .verify_server_cert(leaf, chain.get(1..).unwrap_or(&[]), &server_name, &[], now)
            .map_err(|e| describe(&e, name))?;
    }
    let mut config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, private))
        .map_err(|e| format!("the certificate and key do not go together ({e})"))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn describe(err: &tokio_rustls::rustls::Error, name: &str) -> String {
    use tokio_rustls::rustls::Error as E;
    match err {
        E::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => "the certificate has expired".to_owned(),
        E::InvalidCertificate(
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
        ) => "the certificate is not valid yet".to_owned(),
        E::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => format!("the certificate does not name `{name}`"),
        other => format!("the certificate is not usable for `{name}` ({other})"),
    }
}

/// Make the folder (0700 on Unix: it holds a private key).
fn create_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::write(dir, e))?;
    }
    Ok(())
}

/// Write a secret atomically; the file is 0600 from its creation (a temp file) to its rename.
fn write_private(path: &Path, contents: &[u8]) -> Result<()> {
    crate::fsx::write_private(path, contents)?;
    restrict(path)
}

/// Keep the key readable by its owner only (a reused key may have been loosened by hand).
fn restrict(key: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(key).map_err(|e| Error::read(key, e))?;
        if meta.permissions().mode() & 0o777 != 0o600 {
            std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::write(key, e))?;
        }
    }
    #[cfg(not(unix))]
    let _ = key;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        certificate_names("127.0.0.1")
    }

    #[test]
    fn names_cover_loopback_and_a_specific_host() {
        assert_eq!(
            certificate_names("0.0.0.0"),
            ["localhost", "127.0.0.1", "::1"]
        );
        assert_eq!(certificate_names("::"), ["localhost", "127.0.0.1", "::1"]);
        assert_eq!(
            certificate_names("[::1]"),
            ["localhost", "127.0.0.1", "::1"]
        );
        assert_eq!(
            certificate_names("registry.lan"),
            ["localhost", "127.0.0.1", "::1", "registry.lan"]
        );
        assert_eq!(
            certificate_names("10.0.0.5"),
            ["localhost", "127.0.0.1", "::1", "10.0.0.5"]
        );
    }

    #[test]
    fn created_then_reused_then_replaced_when_broken_or_short_of_a_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let certs = dir.path().join("kz-serve");
        let (_, first) = load_or_create(&certs, &names()).expect("create");
        assert_eq!(first.action, CertAction::Created);
        let pem = std::fs::read(&first.cert).expect("cert");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&first.key)
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let (_, second) = load_or_create(&certs, &names()).expect("reuse");
        assert_eq!(second.action, CertAction::Reused);
        assert_eq!(std::fs::read(&second.cert).expect("cert"), pem);

        let (_, third) = load_or_create(&certs, &certificate_names("registry.lan")).expect("new");
        assert_eq!(
            third.action,
            CertAction::Replaced("the certificate does not name `registry.lan`".to_owned())
        );

        std::fs::write(&third.key, "garbage").expect("break");
        let (_, fourth) = load_or_create(&certs, &names()).expect("replace");
        assert!(
            matches!(&fourth.action, CertAction::Replaced(why) if why.contains("private key")),
            "{:?}",
            fourth.action
        );
    }

    #[test]
    fn an_expired_certificate_is_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut params = CertificateParams::new(names()).expect("params");
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        let key = KeyPair::generate().expect("key");
        let cert = params.self_signed(&key).expect("cert");
        std::fs::write(dir.path().join(CERT_FILE), cert.pem()).expect("write");
        std::fs::write(dir.path().join(KEY_FILE), key.serialize_pem()).expect("write");
        let (_, info) = load_or_create(dir.path(), &names()).expect("replace");
        assert_eq!(
            info.action,
            CertAction::Replaced("the certificate has expired".to_owned())
        );
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_, info) = load_or_create(dir.path(), &names()).expect("create");
        let other = KeyPair::generate().expect("key");
        std::fs::write(&info.key, other.serialize_pem()).expect("swap key");
        let (_, again) = load_or_create(dir.path(), &names()).expect("replace");
        assert!(
            matches!(&again.action, CertAction::Replaced(why) if why.contains("do not go together")),
            "{:?}",
            again.action
        );
    }
}
