//! The core's typed errors. Each says what went wrong and where; the CLI renders them
//! (`error:` line, causes, `hint:`) and maps them to an exit code.

use crate::exit::ExitStatus;
use std::path::PathBuf;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` is larger than {limit} bytes")]
    TooLarge { path: PathBuf, limit: u64 },
    #[error("`{path}` is not valid UTF-8 (first bad byte at line {line})")]
    NotUtf8 { path: PathBuf, line: usize },
    #[error("`{path}` line {line}, column {col}: invalid JSON: {message}")]
    Json {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error("`{path}`: invalid YAML: {source}")]
    Yaml {
        path: PathBuf,
        #[source]
        source: crate::yaml::YamlError,
    },
    #[error("{message}")]
    Usage { message: String },
    #[error("`{container}` is not healthy: {reason}")]
    AppUnhealthy {
        container: String,
        reason: String,
        /// The container's last log lines.
        logs: String,
    },
    #[error("no kz workspace found from `{start}`")]
    NoWorkspace { start: PathBuf },
    #[error("no extension named `{name}` in this workspace")]
    UnknownExtension { name: String, known: Vec<String> },
    #[error("`{name}` is not a valid extension name: {reason}")]
    BadName { name: String, reason: String },
    #[error("`{path}` already exists")]
    Exists { path: PathBuf },
    #[error("`{path}`: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("`{path}`: `{field}` is `{value}`, which is not MAJOR.MINOR.PATCH")]
    BadVersion {
        path: PathBuf,
        field: String,
        value: String,
    },
    #[error("`{path}` is a symbolic link; kz does not follow symlinked extension folders")]
    Symlink { path: PathBuf },
    #[error("no registry to serve at `{path}`")]
    NoRegistry { path: PathBuf },
    #[error("cannot listen on {addr}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}`: {message}")]
    Certificate { path: PathBuf, message: String },
    #[error("cannot start the server runtime")]
    Runtime {
        #[source]
        source: std::io::Error,
    },
    #[error("{}; nothing was written", validation_summary(.report))]
    ValidationFailed {
        report: Box<crate::validate::Report>,
    },
    #[error("no stage named `{name}`")]
    UnknownStage { name: String, known: Vec<String> },
    #[error("another kz is writing `{path}`")]
    Busy { path: PathBuf },
    #[error("cannot reach the Docker engine at {host}")]
    EngineUnreachable {
        host: String,
        #[source]
        source: Box<bollard::errors::Error>,
    },
    #[error(transparent)]
    Kamiwaza(#[from] crate::kamiwaza::KamiwazaError),
    #[error(transparent)]
    Libs(#[from] crate::libs::LibsError),
    #[error("registry {registry}: cannot {doing}")]
    Registry {
        registry: String,
        doing: String,
        #[source]
        source: Box<oci_client::errors::OciDistributionError>,
    },
    #[error("registry {registry} refused the credentials ({credential}) to {doing}")]
    RegistryAuth {
        registry: String,
        doing: String,
        credential: &'static str,
    },
    #[error("registry {registry}: cannot get credentials: {message}")]
    Credentials { registry: String, message: String },
    #[error("building `{image}` failed{}: {message}{}", step_of(.step), log_block(.log))]
    BuildFailed {
        image: String,
        /// `Step 3/7 : RUN …`, the step that failed (classic builder).
        step: Option<String>,
        /// The output of the failing step, up to the error.
        log: Vec<String>,
        message: String,
    },
    #[error("image `{image}` is not in the local engine")]
    ImageMissing { image: String },
    /// A catalogue names an image (or a digest of it) the registry does not hold.
    #[error("{}", not_in_registry(missing))]
    NotInRegistry { missing: Vec<String> },
    #[error("{message}")]
    BadArgument { message: String, hint: String },
    #[error(
        "the engine cannot build {image} for {platform}: the image it made is for another platform"
    )]
    PlatformUnsupported { image: String, platform: String },
    #[error(
        "the engine cannot build {image} for {platform}: it runs {native} and has no emulator \
         for {platform} ({missing})"
    )]
    NoEmulator {
        image: String,
        platform: String,
        native: String,
        missing: String,
    },
    #[error("the Docker engine failed to {doing}")]
    Engine {
        doing: String,
        #[source]
        source: Box<bollard::errors::Error>,
    },
    #[error("{message}")]
    PublishSetting { message: String, hint: String },
    #[error("S3: cannot {doing}: {message}")]
    S3 { doing: String, message: String },
    #[error("`{url}`: {message}")]
    Published { url: String, message: String },
    #[error("the publish lock `{key}` is held by {holder}")]
    LockHeld { key: String, holder: String },
    #[error(
        "the publish lock `{key}` expired and was taken over; nothing of the catalogue was written"
    )]
    LockLost { key: String },
    #[error("{} conflict{} with the published catalogue; nothing was written:\n  {}",
        .conflicts.len(), if .conflicts.len() == 1 { "" } else { "s" }, .conflicts.join("\n  "))]
    MergeConflicts { conflicts: Vec<String> },
    #[error("interrupted")]
    Interrupted,
}

fn step_of(step: &Option<String>) -> String {
    step.as_ref()
        .map_or(String::new(), |s| format!(" at `{s}`"))
}

/// The failing step's output under the error line, each line indented.
fn log_block(log: &[String]) -> String {
    log.iter().map(|l| format!("\n  | {l}")).collect()
}

fn validation_summary(report: &crate::validate::Report) -> String {
    let n = report.errors();
    format!(
        "validation found {n} error{}",
        if n == 1 { "" } else { "s" }
    )
}

impl Error {
    pub fn read(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Read {
            path: path.into(),
            source,
        }
    }

    pub fn write(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Write {
            path: path.into(),
            source,
        }
    }

    pub fn invalid(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The error and its causes on one line (`a: b: c`), for JSON output and tables.
    pub fn one_line(&self) -> String {
        let mut s = self.to_string();
        let mut src = std::error::Error::source(self);
        while let Some(cause) = src {
            s.push_str(": ");
            s.push_str(&cause.to_string());
            src = cause.source();
        }
        s
    }

    /// A hint shown under the error, when there is something useful to suggest.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::NoWorkspace { .. } => Some(
                "run kz inside a folder holding apps/, services/ or tools/ (or a kz.yaml), \
                 or in a Synapse app folder (holding synapse-app.yaml), or pass --root <dir>"
                    .to_owned(),
            ),
            Error::UnknownExtension { known, .. } if !known.is_empty() => {
                Some(format!("known extensions: {}", known.join(", ")))
            }
            Error::Exists { .. } => Some("pick another name or remove the folder first".to_owned()),
            Error::TooLarge { .. } => {
                Some("kz reads manifest and compose files up to 4 MiB".to_owned())
            }
            Error::NoRegistry { .. } => Some("build it first with `kz build-registry`".to_owned()),
            Error::Listen { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse => {
                Some("another program uses that port; pick another with --port".to_owned())
            }
            Error::UnknownStage { known, .. } => Some(format!(
                "known stages: {} (kz.yaml `stages` defines more)",
                known.join(", ")
            )),
            Error::Busy { .. } => {
                Some("wait for the other run to finish, then try again".to_owned())
            }
            Error::ImageMissing { .. } => {
                Some("build it first with `kz build` (or pull it)".to_owned())
            }
            Error::NotInRegistry { .. } => Some(
                "push the images first (`kz publish --images-only --stage <S>`)".to_owned(),
            ),
            Error::PublishSetting { hint, .. } => Some(hint.clone()),
            Error::S3 { .. } => Some(
                "check the stage's AWS profile (AWS_PROFILE_<STAGE>), its bucket \
                 (KAMIWAZA_REGISTRY_BUCKET[_<STAGE>]) and endpoint (KAMIWAZA_REGISTRY_ENDPOINT)"
                    .to_owned(),
            ),
            Error::LockHeld { .. } => Some(
                "wait for that publish to finish (--lock-timeout SECS waits for it); a lock \
                 left by a killed run is taken over once it expires"
                    .to_owned(),
            ),
            Error::MergeConflicts { .. } => Some(
                "bump the versions (`kz bump NAME patch`), or replace the published entries \
                 with --force"
                    .to_owned(),
            ),
            Error::EngineUnreachable { .. } => Some(
                "start the engine (`dockerd`, or Docker Desktop) or point DOCKER_HOST at one"
                    .to_owned(),
            ),
            Error::Kamiwaza(e) => e.hint(),
            Error::Libs(e) => e.hint(),
            Error::BadArgument { hint, .. } => Some(hint.clone()),
            Error::NoEmulator { .. } => Some(
                "install the emulators on the engine's host (Debian: qemu-user-static with \
                 binfmt-support, or `docker run --privileged tonistiigi/binfmt --install all`), \
                 or leave the platform out"
                    .to_owned(),
            ),
            Error::PlatformUnsupported { .. } => Some(
                "RUN steps for another architecture need emulation (qemu/binfmt) on the engine \
                 host, and FROM images must exist for that platform; or leave it out of --platforms"
                    .to_owned(),
            ),
            Error::RegistryAuth { registry, .. } => Some(format!(
                "log in with `docker login {registry}` (kz reads the docker CLI's config.json, \
                 DOCKER_CONFIG, credsStore and credHelpers)"
            )),
            Error::Registry { .. } => Some(
                "transient failures (5xx, timeouts) were retried; check the registry and try again"
                    .to_owned(),
            ),
            _ => None,
        }
    }

    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Write { .. }
            | Error::Listen { .. }
            | Error::Certificate { .. }
            | Error::Runtime { .. }
            | Error::Busy { .. }
            | Error::EngineUnreachable { .. }
            | Error::Engine { .. }
            | Error::Registry { .. }
            | Error::Credentials { .. }
            | Error::PlatformUnsupported { .. }
            | Error::NoEmulator { .. }
            | Error::S3 { .. }
            | Error::Published { .. }
            | Error::LockHeld { .. }
            | Error::LockLost { .. } => ExitStatus::Environment,
            Error::MergeConflicts { .. } => ExitStatus::Failure,
            Error::Interrupted => ExitStatus::Interrupted,
            Error::Kamiwaza(e) => e.exit_status(),
            Error::Libs(e) => e.exit_status(),
            Error::ValidationFailed { .. }
            | Error::BuildFailed { .. }
            | Error::ImageMissing { .. }
            | Error::NotInRegistry { .. }
            | Error::AppUnhealthy { .. } => ExitStatus::Failure,
            _ => ExitStatus::Usage,
        }
    }
}

fn not_in_registry(missing: &[String]) -> String {
    match missing {
        [one] => format!("the registry does not hold {one}"),
        many => format!(
            "the registry does not hold {} images: {}",
            many.len(),
            many.join(", ")
        ),
    }
}
