//! `kz build` for a Synapse app: one image from the app folder's Dockerfile, with the label
//! `io.synapse.app.manifest` = base64 of synapse-app.yaml's exact bytes, tagged with
//! `runtime.image` (`<registry>/<ns>/<slug>:<version>`) and its `:latest`, as publish.sh does.
//! `runtime.image` is the one source of the name: `REGISTRY`/`NS` disagreeing with it are
//! warnings from the lint. The build itself is
//! `crate::build::build_target` (context, .dockerignore, content-hash skip, streamed log); this
//! module only decides what to build, and refuses an app whose manifest has errors.

use super::lint::split_image;
use super::{label, lint, AppManifest, Target, FILE_NAME, LABEL};
use crate::build::{BuildTarget, Dockerfile, Origin};
use crate::error::Error;
use crate::validate::{Report, Severity};
use std::collections::BTreeMap;
use std::path::Path;

/// An app ready to build.
#[derive(Clone, Debug)]
pub struct AppBuild {
    pub manifest: AppManifest,
    /// `runtime.image`: `<registry>/<ns>/<slug>:<version>`.
    pub reference: String,
    /// The registry host of `runtime.image` (where `kz publish` pushes).
    pub registry: String,
    /// `<registry>/<ns>/<slug>:latest`.
    pub latest: String,
    pub target: BuildTarget,
    /// Warnings and infos the lint found (errors stop `plan`).
    pub findings: Report,
}

impl AppBuild {
    /// The labels the image gets: the manifest, base64 of the file's bytes.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([(LABEL.to_owned(), label::encode(self.manifest.bytes()))])
    }
}

/// Plan the build of the app in `dir` (`display` names it in findings). Fails with
/// [`Error::ValidationFailed`] when the lint finds errors (a `runtime.image` whose tag is not
/// the version or whose name is not the slug among them). `target` (REGISTRY/NS) only adds
/// warnings when it disagrees with `runtime.image`.
pub fn plan(dir: &Path, display: &str, target: &Target) -> Result<AppBuild, Error> {
    let findings = lint::check_app(dir, display, target);
    let report = Report {
        extensions: 0,
        synapse_apps: 1,
        findings,
    };
    if report.errors() > 0 {
        return Err(Error::ValidationFailed {
            report: Box::new(report),
        });
    }
    let path = dir.join(FILE_NAME);
    let manifest = AppManifest::load(&path)?;
    let (Some(slug), Some(image)) = (manifest.name(), manifest.image()) else {
        return Err(Error::invalid(
            &path,
            "metadata.name and runtime.image are required",
        ));
    };
    let parts = match split_image(image) {
        Some(parts) if !image.contains('@') => parts,
        _ => {
            return Err(Error::invalid(
                &path,
                format!(
                    "runtime.image `{image}` is not `<registry>/<namespace>/<name>:<version>` \
                     (no digest): kz tags the image it builds with it"
                ),
            ))
        }
    };
    let reference = image.to_owned();
    let repository = image.rsplit_once(':').map_or(image, |(r, _)| r);
    let latest = format!("{repository}:latest");
    let registry = parts.registry.to_owned();
    let build = BuildTarget {
        extension: display.to_owned(),
        service: slug.to_owned(),
        tags: vec![reference.clone(), latest.clone()],
        context: dir.to_owned(),
        dockerfile: Dockerfile::Path(dir.join("Dockerfile")),
        args: BTreeMap::new(),
        target: None,
        origin: Origin {
            file: path.clone(),
            line: 1,
        },
    };
    let findings = Report {
        findings: report
            .findings
            .into_iter()
            .filter(|f| f.severity != Severity::Error)
            .collect(),
        ..report
    };
    Ok(AppBuild {
        manifest,
        reference,
        registry,
        latest,
        target: build,
        findings,
    })
}
