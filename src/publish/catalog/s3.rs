//! The S3 bucket a stage's catalogue lives in, through the AWS SDK (aws-sdk-s3).
//!
//! With `AWS_PROFILE_<STAGE>` set, the client is built from explicit values only: that profile,
//! read from the profile files the `Target` names (`$HOME/.aws/config` and `credentials`, or
//! `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE` as the CLI handed them in); the profile
//! chain the SDK follows from there (static keys, `role_arn` + `source_profile` through STS) is
//! the AWS one. Without it, aws-config's default chain finds the credentials as AWS tools do
//! (and reads the process environment to do so). The region and endpoint are resolved in
//! `Target`. A custom endpoint (R2, MinIO, moto) is addressed path-style. S3 errors that are
//! about credentials name the source tried (`Target::credential_source`), never a value.
//!
//! Objects are small (catalogue files, previews) and written with one PUT each, so a reader
//! sees an object's old bytes or its new bytes, never part of either. Conditional writes
//! (`If-None-Match: *`, `If-Match: <etag>`) carry the lock and guard the catalogue files.

use super::Target;
use crate::error::{Error, Result};
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::meta::region::ProvideRegion;
use aws_config::profile::{ProfileFileCredentialsProvider, ProfileFileRegionProvider};
use aws_config::provider_config::ProviderConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use aws_sdk_s3::config::SharedCredentialsProvider;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use std::time::Duration;

/// The region used when neither the settings nor the profile name one (S3-compatible services
/// accept it; R2 also takes `auto`).
const DEFAULT_REGION: &str = "us-east-1";

/// A connected bucket.
#[derive(Clone, Debug)]
pub struct Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Where the credentials come from, for error messages.
    source: String,
}

/// An object read whole, with its entity tag.
#[derive(Clone, Debug)]
pub struct Object {
    pub bytes: Vec<u8>,
    pub etag: String,
    /// Seconds since the Unix epoch, as the server recorded it.
    pub last_modified: Option<i64>,
}

/// A listed object.
#[derive(Clone, Debug)]
pub struct Listed {
    pub key: String,
    pub etag: String,
}

/// The precondition of a write.
#[derive(Clone, Debug)]
pub enum Condition {
    None,
    /// Only if no object has the key (`If-None-Match: *`).
    Absent,
    /// Only if the object still has this entity tag (`If-Match`).
    Matches(String),
}

/// What a conditional write or delete came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Written {
    /// Done; the new entity tag (empty for a delete).
    Done(String),
    /// The precondition did not hold (412, or 409 when a concurrent conditional write won).
    Refused,
    /// The server does not support the condition (`NotImplemented`).
    Unsupported,
}

impl Store {
    /// Build the client for `target`. No request is made yet.
    pub async fn connect(target: &Target) -> Result<Store> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let mut files = EnvConfigFiles::builder();
        if let Some(path) = &target.aws_config_file {
            files = files.with_file(EnvConfigFileKind::Config, path);
        }
        if let Some(path) = &target.aws_credentials_file {
            files = files.with_file(EnvConfigFileKind::Credentials, path);
        }
        let files = files.build();
        let provider_config = ProviderConfig::without_region()
            .with_http_client(http.clone())
            .with_region(Some(Region::new(DEFAULT_REGION)));
        let (region, credentials) = match &target.profile {
            Some(profile) => {
                let region = match &target.region {
                    Some(region) => region.clone(),
                    None => {
                        let provider = ProfileFileRegionProvider::builder()
                            .profile_name(profile)
                            .profile_files(files.clone())
                            .configure(&provider_config)
                            .build();
                        let from_profile = ProvideRegion::region(&provider).await;
                        from_profile.map_or_else(|| DEFAULT_REGION.to_owned(), |r| r.to_string())
                    }
                };
                let credentials = ProfileFileCredentialsProvider::builder()
                    .profile_name(profile)
                    .profile_files(files)
                    .configure(&provider_config.with_region(Some(Region::new(region.clone()))))
                    .build();
                (region, SharedCredentialsProvider::new(credentials))
            }
            None => {
                // The AWS default chain (aws-config): environment keys and session token, web
                // identity (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN through STS), the shared
                // profile (SSO, process, role chains), ECS/EKS container credentials, IMDS. It
                // reads the process environment, as every AWS tool does.
                let base = ProviderConfig::default().with_http_client(http.clone());
                let region = match &target.region {
                    Some(region) => region.clone(),
                    None => aws_config::environment::EnvironmentVariableRegionProvider::new()
                        .region()
                        .await
                        .map_or_else(|| DEFAULT_REGION.to_owned(), |r| r.to_string()),
                };
                let chain_config = base.with_region(Some(Region::new(region.clone())));
                let credentials = DefaultCredentialsChain::builder()
                    .configure(chain_config)
                    .build()
                    .await;
                (region, SharedCredentialsProvider::new(credentials))
            }
        };
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .credentials_provider(credentials)
            .http_client(http)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(60))
                    .build(),
            );
        if let Some(endpoint) = &target.endpoint {
            config = config.endpoint_url(endpoint).force_path_style(true);
        }
        Ok(Store {
            client: aws_sdk_s3::Client::from_conf(config.build()),
            bucket: target.bucket.clone(),
            source: target.credential_source(),
        })
    }

    /// Read an object whole; `None` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Object>> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(err) if status(&err) == Some(404) && err.code() != Some("NoSuchBucket") => {
                return Ok(None)
            }
            Err(err) => {
                return Err(s3_error(
                    format!("read s3://{}/{key}", self.bucket),
                    &err,
                    &self.source,
                ))
            }
        };
        let etag = out.e_tag().unwrap_or_default().to_owned();
        let last_modified = out.last_modified().map(|t| t.secs());
        let bytes = out.body.collect().await.map_err(|e| Error::S3 {
            doing: format!("read s3://{}/{key}", self.bucket),
            message: e.to_string(),
        })?;
        Ok(Some(Object {
            bytes: bytes.into_bytes().to_vec(),
            etag,
            last_modified,
        }))
    }

    /// Write an object whole, under a precondition.
    pub async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        condition: &Condition,
    ) -> Result<Written> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(ByteStream::from(bytes));
        match condition {
            Condition::None => {}
            Condition::Absent => req = req.if_none_match("*"),
            Condition::Matches(etag) => req = req.if_match(etag),
        }
        match req.send().await {
            Ok(out) => Ok(Written::Done(out.e_tag().unwrap_or_default().to_owned())),
            Err(err) if refused(&err) => Ok(Written::Refused),
            Err(err) => Err(s3_error(
                format!("write s3://{}/{key}", self.bucket),
                &err,
                &self.source,
            )),
        }
    }

    /// Delete an object if it still has entity tag `etag`. A server that does not support
    /// conditional deletes says `NotImplemented`; then the caller checks and deletes plainly.
    pub async fn delete(&self, key: &str, etag: Option<&str>) -> Result<Written> {
        let mut req = self.client.delete_object().bucket(&self.bucket).key(key);
        if let Some(etag) = etag {
            req = req.if_match(etag);
        }
        match req.send().await {
            Ok(_) => Ok(Written::Done(String::new())),
            Err(err) if refused(&err) => Ok(Written::Refused),
            Err(err) if status(&err) == Some(404) && err.code() != Some("NoSuchBucket") => {
                Ok(Written::Refused)
            }
            Err(err) if etag.is_some() && err.code() == Some("NotImplemented") => {
                Ok(Written::Unsupported)
            }
            Err(err) => Err(s3_error(
                format!("delete s3://{}/{key}", self.bucket),
                &err,
                &self.source,
            )),
        }
    }

    /// Every object under `prefix`, in key order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<Listed>> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|err| {
                s3_error(
                    format!("list s3://{}/{prefix}", self.bucket),
                    &err,
                    &self.source,
                )
            })?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    out.push(Listed {
                        key: key.to_owned(),
                        etag: object.e_tag().unwrap_or_default().to_owned(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}

fn status<E, R: HttpStatus>(err: &SdkError<E, R>) -> Option<u16> {
    err.raw_response().map(HttpStatus::code)
}

/// The HTTP status of a raw response (a trait only so `status` is generic over the SDK's
/// response type).
trait HttpStatus {
    fn code(&self) -> u16;
}

impl HttpStatus for aws_sdk_s3::config::http::HttpResponse {
    fn code(&self) -> u16 {
        self.status().as_u16()
    }
}

fn refused<E, R: HttpStatus>(err: &SdkError<E, R>) -> bool {
    matches!(status(err), Some(412 | 409))
}

/// The service's error code and message when it answered (`AccessDenied: Access Denied`),
/// else the chain of causes (`dispatch failure: … connection refused`), without debug dumps.
fn s3_error<E, R>(doing: String, err: &SdkError<E, R>, source: &str) -> Error
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug + HttpStatus + 'static,
{
    let message = match (err.code(), status(err)) {
        (Some(code), status) => {
            let status = status.map(|s| format!(" (HTTP {s})")).unwrap_or_default();
            match err.message() {
                Some(text) => format!("{code}: {text}{status}"),
                None => format!("{code}{status}"),
            }
        }
        (None, Some(status)) => format!("HTTP {status}"),
        (None, None) => {
            let mut parts: Vec<String> = Vec::new();
            let mut next: Option<&(dyn std::error::Error + 'static)> = Some(err);
            while let Some(e) = next {
                let text = e.to_string();
                if !parts.iter().any(|p| p.contains(&text)) {
                    parts.push(text);
                }
                next = e.source();
            }
            parts.join(": ")
        }
    };
    const CREDENTIAL_CODES: [&str; 5] = [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "ExpiredToken",
        "InvalidToken",
    ];
    let about_credentials = err.code().is_some_and(|c| CREDENTIAL_CODES.contains(&c))
        || message.to_ascii_lowercase().contains("credential");
    let message = if about_credentials {
        format!("{message} (credentials from {source})")
    } else {
        message
    };
    Error::S3 { doing, message }
}

/// The entity tag without its quotes.
pub fn bare_etag(etag: &str) -> &str {
    etag.trim_matches('"')
}
