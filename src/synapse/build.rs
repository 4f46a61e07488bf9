//! `kz build` for a Synapse app: one image from the app folder's Dockerfile, with the label
//! `io.synapse.app.manifest` = base64 of synapse-app.yaml's exact bytes, tagged
//! `<REGISTRY>/<NS>/<slug>:<version>` and `:latest`, as publish.sh does. The build itself is
//! `crate::build::build_target` (context, .dockerignore, content-hash skip, streamed log); this
//! module only decides what to build, and refuses an app whose manifest has errors.

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
    /// `<registry>/<ns>/<slug>:<version>`.
    pub reference: String,
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
/// [`Error::ValidationFailed`] when the lint finds errors, and when `runtime.image` is not the
/// reference kz is about to tag (the registry differing is only a warning in `kz validate`).
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
    let (Some(slug), Some(version)) = (manifest.name(), manifest.version()) else {
        return Err(Error::invalid(
            &path,
            "metadata.name and metadata.version are required",
        ));
    };
    let repository = target.repository(slug);
    let reference = format!("{repository}:{version}");
    let latest = format!("{repository}:latest");
    if manifest.image() != Some(reference.as_str()) {
        return Err(Error::invalid(
            &path,
            format!(
                "runtime.image is `{}`, but kz builds `{reference}` (REGISTRY={}, NS={}); make \
                 them agree",
                manifest.image().unwrap_or_default(),
                target.registry,
                target.namespace
            ),
        ));
    }
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
        extra: crate::build::BuildExtra::default(),
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
        latest,
        target: build,
        findings,
    })
}
