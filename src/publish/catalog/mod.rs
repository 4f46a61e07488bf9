//! Publishing a stage's catalogue to its S3 bucket (spec §9, with §16.9's weak spots fixed):
//! `plan` says what would change, `publish` changes it.
//!
//! ```text
//! s3://<bucket>/garden/<v2|default>/apps.json, tools.json     the catalogue (merge.rs)
//! s3://<bucket>/garden/<v2|default>/<images|app-garden-images>/<file>   previews
//! s3://<bucket>/garden/<v2|default>/registry.lock                the lock (lock.rs)
//! s3://<bucket>/kz-backups/<v2|default>/<UTC time>-<run>/<file>  the files a publish replaced
//! ```
//!
//! A publish takes the lock, reads what is published, merges (refusing conflicts unless
//! forced), writes the previews that differ, renews the lock, then writes each catalogue file
//! that changed, after a copy of its previous bytes under `kz-backups/`: one PUT per object,
//! `If-Match` on the tag it merged against (`If-None-Match: *` for a first publish), so a
//! reader sees each file old or new, never half, and a writer that bypassed the lock is caught.
//! Only the named keys are written; nothing published is ever deleted. The lock is released
//! on every way out (error, Ctrl-C via the `cancel` future).
//!
//! Nothing here reads the process environment: `Target::resolve` takes the settings (root
//! `.env` + the environment the CLI handed in).

pub mod lock;
pub mod merge;
pub mod range;
pub mod remote;
pub mod s3;

use crate::error::{Error, Result};
use crate::registry::{Catalogue, RepoVersion};
use crate::settings::Settings;
use md5::{Digest, Md5};
use serde::Serialize;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

pub use lock::{Holder, LockEvent};
pub use merge::{Conflict, EntryId, FileMerge, Update};
pub use s3::Store;

/// The lock's name inside the garden folder, the reference's (so a reference publisher and kz
/// exclude each other); `KAMIWAZA_REGISTRY_LOCK_NAME` changes it, as in the reference.
pub const LOCK_NAME: &str = "registry.lock";
/// Where replaced catalogue files are kept, in the bucket.
pub const BACKUP_PREFIX: &str = "kz-backups";
/// Previews larger than this are refused.
pub const MAX_PREVIEW: u64 = 10 * 1024 * 1024;

/// Where a stage's catalogue is published, and with which credentials.
#[derive(Clone, Debug)]
pub struct Target {
    pub stage: String,
    pub bucket: String,
    pub layout: RepoVersion,
    /// The AWS profile (`AWS_PROFILE_<STAGE>`); `None`: the AWS default credential chain.
    pub profile: Option<String>,
    /// A custom S3 endpoint (R2, MinIO, moto); addressed path-style.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub aws_config_file: Option<PathBuf>,
    pub aws_credentials_file: Option<PathBuf>,
    /// The lock's file name (`registry.lock`).
    pub lock_name: String,
}

impl Target {
    /// Resolve a stage's target from the settings (root `.env` + the environment):
    /// `AWS_PROFILE_<STAGE>` (else the AWS default chain), `KAMIWAZA_REGISTRY_BUCKET_<STAGE>`
    /// else `KAMIWAZA_REGISTRY_BUCKET`; the endpoint `KAMIWAZA_REGISTRY_ENDPOINT`, else the R2
    /// endpoint of `KAMIWAZA_REGISTRY_ACCOUNT_ID`, else `AWS_ENDPOINT_URL_S3` /
    /// `AWS_ENDPOINT_URL`, else AWS; the region `KAMIWAZA_REGISTRY_REGION`, else the profile's.
    pub fn resolve(settings: &Settings, stage: &str, layout: RepoVersion) -> Result<Target> {
        let upper = stage.to_ascii_uppercase().replace('-', "_");
        let var = |name: &str| settings.var(name).filter(|v| !v.trim().is_empty());
        let profile_var = format!("AWS_PROFILE_{upper}");
        let profile = var(&profile_var).map(|p| p.trim().to_owned());
        let bucket_var = format!("KAMIWAZA_REGISTRY_BUCKET_{upper}");
        let bucket = var(&bucket_var)
            .or_else(|| var("KAMIWAZA_REGISTRY_BUCKET"))
            .ok_or_else(|| Error::PublishSetting {
                message: format!("no bucket configured for stage `{stage}`"),
                hint: format!("set {bucket_var} or KAMIWAZA_REGISTRY_BUCKET"),
            })?;
        let endpoint = var("KAMIWAZA_REGISTRY_ENDPOINT")
            .map(str::to_owned)
            .or_else(|| {
                var("KAMIWAZA_REGISTRY_ACCOUNT_ID")
                    .map(|id| format!("https://{id}.r2.cloudflarestorage.com"))
            })
            .or_else(|| var("AWS_ENDPOINT_URL_S3").map(str::to_owned))
            .or_else(|| var("AWS_ENDPOINT_URL").map(str::to_owned));
        let home = var("HOME")
            .or_else(|| var("USERPROFILE"))
            .map(PathBuf::from);
        let aws_file = |var_name: &str, file: &str| {
            var(var_name)
                .map(PathBuf::from)
                .or_else(|| home.as_ref().map(|h| h.join(".aws").join(file)))
        };
        Ok(Target {
            stage: stage.to_owned(),
            bucket: bucket.trim().to_owned(),
            layout,
            profile,
            endpoint,
            region: var("KAMIWAZA_REGISTRY_REGION").map(str::to_owned),
            aws_config_file: aws_file("AWS_CONFIG_FILE", "config"),
            aws_credentials_file: aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials"),
            lock_name: var("KAMIWAZA_REGISTRY_LOCK_NAME")
                .filter(|n| !n.contains('/'))
                .unwrap_or(LOCK_NAME)
                .to_owned(),
        })
    }

    /// Where the credentials come from, for messages (never a secret).
    pub fn credential_source(&self) -> String {
        match &self.profile {
            Some(p) => format!(
                "AWS profile `{p}` (AWS_PROFILE_{})",
                self.stage.to_ascii_uppercase().replace('-', "_")
            ),
            None => "the AWS default chain (environment keys, web identity, SSO and shared                      profile, container or instance role; AWS_PROFILE_<STAGE> unset)"
                .to_owned(),
        }
    }

    /// `garden/<dir>/`.
    pub fn prefix(&self) -> String {
        format!("garden/{}/", self.layout.garden_dir())
    }

    pub fn lock_key(&self) -> String {
        format!("{}{}", self.prefix(), self.lock_name)
    }

    /// `s3://bucket/garden/<dir>/`.
    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix())
    }
}

/// A preview to upload.
#[derive(Clone, Debug, Serialize)]
pub struct PreviewPlan {
    /// Missing or different in the bucket.
    pub upload: Vec<String>,
    pub unchanged: Vec<String>,
}

/// What a publish would change.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub stage: String,
    pub url: String,
    pub layout: String,
    /// tools.json, then apps.json: the order they are written in.
    pub files: Vec<FileMerge>,
    pub previews: PreviewPlan,
    #[serde(skip)]
    bases: Vec<Option<s3::Object>>,
    #[serde(skip)]
    preview_bytes: Vec<(String, Vec<u8>)>,
}

impl Plan {
    pub fn conflicts(&self) -> usize {
        self.files.iter().map(|f| f.conflicts.len()).sum()
    }

    /// Anything to write?
    pub fn has_changes(&self) -> bool {
        !self.previews.upload.is_empty() || self.files.iter().any(|f| f.text.is_some())
    }
}

/// Work out what publishing `local` would change, reading the bucket only.
pub async fn plan(store: &Store, target: &Target, local: &Catalogue, force: bool) -> Result<Plan> {
    let prefix = target.prefix();
    let mut files = Vec::new();
    let mut bases = Vec::new();
    for (name, text) in [
        ("tools.json", &local.tools_json),
        ("apps.json", &local.apps_json),
    ] {
        let local_entries = merge::parse_published(name, text.as_bytes())
            .map_err(|message| Error::invalid(name, message))?;
        let key = format!("{prefix}{name}");
        let base = store.get(&key).await?;
        let published = match &base {
            Some(obj) => Some(merge::parse_published(name, &obj.bytes).map_err(|message| {
                Error::Published {
                    url: format!("s3://{}/{key}", target.bucket),
                    message,
                }
            })?),
            None => None,
        };
        files.push(merge::merge(
            name,
            published,
            &local_entries,
            target.layout,
            force,
        ));
        bases.push(base);
    }
    let images = format!("{prefix}{}/", target.layout.images_dir());
    let published: std::collections::BTreeMap<String, String> = store
        .list(&images)
        .await?
        .into_iter()
        .map(|o| (o.key, s3::bare_etag(&o.etag).to_owned()))
        .collect();
    let mut previews = PreviewPlan {
        upload: Vec::new(),
        unchanged: Vec::new(),
    };
    let mut preview_bytes = Vec::new();
    for (source, name) in &local.previews {
        let bytes = read_preview(source)?;
        let md5 = hex(&Md5::digest(&bytes));
        if published.get(&format!("{images}{name}")) == Some(&md5) {
            previews.unchanged.push(name.clone());
        } else {
            previews.upload.push(name.clone());
            preview_bytes.push((name.clone(), bytes));
        }
    }
    Ok(Plan {
        stage: target.stage.clone(),
        url: target.url(),
        layout: target.layout.to_string(),
        files,
        previews,
        bases,
        preview_bytes,
    })
}

fn read_preview(path: &std::path::Path) -> Result<Vec<u8>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::read(path, e))?;
    if meta.len() > MAX_PREVIEW {
        return Err(Error::TooLarge {
            path: path.to_owned(),
            limit: MAX_PREVIEW,
        });
    }
    std::fs::read(path).map_err(|e| Error::read(path, e))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// How to publish.
#[derive(Clone, Debug)]
pub struct Options {
    /// Replace conflicting published entries (downgrades, same version with other content,
    /// narrowed or partly overlapping ranges).
    pub force: bool,
    /// How long to wait for another publisher's lock.
    pub lock_timeout: Duration,
    /// How long the lock holds without renewal.
    pub lock_ttl: Duration,
    /// Who publishes (the lock's content); `acquired_at`/`expires_at` are filled in.
    pub holder: Holder,
}

/// Progress of a publish, for the CLI to show.
#[derive(Clone, Debug)]
pub enum Event {
    Lock(LockEvent),
    Locked(String),
    Uploaded(String),
    BackedUp(String),
    /// The lock could not be released (it expires on its own).
    NotReleased(String),
}

/// What a publish did.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub plan: Plan,
    pub uploaded: Vec<String>,
    pub backups: Vec<String>,
}

/// Publish `local` to `target`: lock, merge, upload, release (see the module notes). `cancel`
/// resolving (Ctrl-C) stops the work between requests with `Error::Interrupted`; the lock is
/// released either way.
pub async fn publish(
    store: &Store,
    target: &Target,
    local: &Catalogue,
    opts: &Options,
    on_event: &(dyn Fn(Event) + Send + Sync),
    cancel: impl Future<Output = ()>,
) -> Result<Report> {
    tokio::pin!(cancel);
    let lock_event = |e: LockEvent| on_event(Event::Lock(e));
    let lock_key = target.lock_key();
    let mut lock = tokio::select! {
        held = lock::acquire(
            store,
            &lock_key,
            opts.holder.clone(),
            opts.lock_ttl,
            opts.lock_timeout,
            &lock_event,
        ) => held?,
        () = &mut cancel => return Err(Error::Interrupted),
    };
    on_event(Event::Locked(format!(
        "s3://{}/{}",
        target.bucket,
        target.lock_key()
    )));
    let result = tokio::select! {
        done = upload(store, target, local, opts, &mut lock, on_event) => done,
        () = &mut cancel => Err(Error::Interrupted),
    };
    match lock.release(store).await {
        Ok(true) => {}
        Ok(false) => on_event(Event::NotReleased(
            "it had expired and another publisher took it over".to_owned(),
        )),
        Err(e) => on_event(Event::NotReleased(format!(
            "{e} (it expires on its own at the time it names)"
        ))),
    }
    result
}

async fn upload(
    store: &Store,
    target: &Target,
    local: &Catalogue,
    opts: &Options,
    lock: &mut lock::Lock,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> Result<Report> {
    let plan = plan(store, target, local, opts.force).await?;
    if plan.conflicts() > 0 {
        return Err(Error::MergeConflicts {
            conflicts: plan
                .files
                .iter()
                .flat_map(|f| {
                    f.conflicts
                        .iter()
                        .map(move |c| format!("{}: {}: {}", f.file, c.entry, c.reason))
                })
                .collect(),
        });
    }
    let prefix = target.prefix();
    let images = format!("{prefix}{}/", target.layout.images_dir());
    let mut uploaded = Vec::new();
    let mut backups = Vec::new();
    for (name, bytes) in &plan.preview_bytes {
        let key = format!("{images}{name}");
        let content_type = crate::serve::content_type::content_type(std::path::Path::new(name));
        store
            .put(&key, bytes.clone(), content_type, &s3::Condition::None)
            .await?;
        on_event(Event::Uploaded(key.clone()));
        uploaded.push(key);
    }
    if plan.files.iter().all(|f| f.text.is_none()) {
        return Ok(Report {
            plan,
            uploaded,
            backups,
        });
    }
    lock.renew(store).await?;
    let run = format!(
        "{}-{}",
        jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ"),
        short_id(&lock.holder().id)
    );
    for (file, base) in plan.files.iter().zip(&plan.bases) {
        let Some(text) = &file.text else { continue };
        let key = format!("{prefix}{}", file.file);
        let condition = match base {
            Some(obj) => {
                let backup = format!(
                    "{BACKUP_PREFIX}/{}/{run}/{}",
                    target.layout.garden_dir(),
                    file.file
                );
                store
                    .put(
                        &backup,
                        obj.bytes.clone(),
                        "application/json",
                        &s3::Condition::None,
                    )
                    .await?;
                on_event(Event::BackedUp(backup.clone()));
                backups.push(backup);
                s3::Condition::Matches(obj.etag.clone())
            }
            None => s3::Condition::Absent,
        };
        match store
            .put(
                &key,
                text.clone().into_bytes(),
                "application/json",
                &condition,
            )
            .await?
        {
            s3::Written::Done(_) => {}
            _ => {
                return Err(Error::Published {
                    url: format!("s3://{}/{key}", target.bucket),
                    message: "changed by someone else while kz held the lock; nothing of it \
                              was overwritten, publish again"
                        .to_owned(),
                })
            }
        }
        on_event(Event::Uploaded(key.clone()));
        uploaded.push(key);
    }
    Ok(Report {
        plan,
        uploaded,
        backups,
    })
}

fn short_id(id: &str) -> String {
    id.chars()
        .filter(char::is_ascii_alphanumeric)
        .rev()
        .take(8)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}
