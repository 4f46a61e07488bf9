//! `registry/*`: the catalogue gate of the reference's build-registry (spec §2.7), the check that
//! actually blocks publishing. It looks at every extension of the workspace and reports only for
//! the chosen ones.
//!
//! build-registry validates each entry; kz's metadata rules already cover every per-entry check
//! with the same or a stricter predicate, so the gate does not report them again:
//!
//! | build-registry check                                         | covered by                                                        |
//! |--------------------------------------------------------------|-------------------------------------------------------------------|
//! | keys `name`, `version`, `description`, `source_type`, `visibility` present | `metadata/required-field` (also `risk_tier`, `verified`) |
//! | tools: `image` key or a compose file (`compose_yml`)         | `metadata/tool-image-or-compose` (same predicate)                 |
//! | apps/services: docker-compose.appgarden.yml present, not blank | `metadata/appgarden-missing`, `metadata/appgarden-empty`        |
//! | `risk_tier`, if present, an int in 0..=2 (`true` passes there) | `metadata/field-type` (booleans refused) + `metadata/risk-tier`, all kinds |
//! | services: truthy `template_type` normalises to `service`     | `metadata/template-type` (an empty string is refused too)         |
//!
//! What only the gate sees is across extensions:
//!
//! * `registry/duplicate-preview`: the same raw `preview_image` in two extensions (the reference
//!   check), and — kz's addition — two different local paths with the same file name, which
//!   the catalogue copies to the same `images/<file name>`, so one overwrites the other;
//! * `registry/duplicate-name`: two extensions publishing one `name` into the same catalogue
//!   file (apps and services share apps.json, tools have tools.json); the registry merge keys
//!   entries by name, so one would replace the other.
//!
//! Extensions whose kamiwaza.json is missing or broken are left out, as build-registry skips
//! them; the metadata rules report those.

use super::{code, Finding, Sink};
use crate::manifest::{Manifest, FILE_NAME};
use crate::workspace::{Extension, Kind, Workspace};
use std::collections::HashMap;
use std::path::Path;

/// One extension as the catalogue sees it: only the fields the gate compares (so memory stays
/// flat however large the manifests are).
pub(crate) struct Entry<'w> {
    ext: &'w Extension,
    name: Option<(String, Option<u32>)>,
    /// The preview, unless absent or "no preview" (`""`, `"null"`), as build-registry reads it.
    preview: Option<(String, Option<u32>)>,
}

impl<'w> Entry<'w> {
    fn load(ext: &'w Extension) -> Option<Self> {
        Entry::from_manifest(ext, &Manifest::load(&ext.file(FILE_NAME)).ok()?)
    }

    /// The fields the gate compares, from a kamiwaza.json already read (`None` unless an object).
    pub(crate) fn from_manifest(ext: &'w Extension, manifest: &Manifest) -> Option<Self> {
        manifest.object()?;
        let field = |key: &str| {
            manifest
                .str_field(key)
                .map(|v| (v.to_owned(), manifest.line_of(key)))
        };
        let preview = field("preview_image").filter(|(p, _)| !p.is_empty() && p != "null");
        Some(Entry {
            ext,
            name: field("name"),
            preview,
        })
    }

    fn name(&self) -> Option<&str> {
        self.name.as_ref().map(|(n, _)| n.as_str())
    }

    fn preview(&self) -> Option<&str> {
        self.preview.as_ref().map(|(p, _)| p.as_str())
    }

    /// The file name the catalogue stores a local preview under; URLs are left as they are.
    fn preview_file_name(&self) -> Option<&str> {
        let p = self.preview().filter(|p| !p.contains("://"))?;
        Path::new(p).file_name()?.to_str()
    }

    fn catalogue(&self) -> &'static str {
        match self.ext.kind {
            Kind::App | Kind::Service => "apps.json",
            Kind::Tool => "tools.json",
        }
    }
}

/// Run the cross-extension checks for the `chosen` extensions of `ws`. `known` holds the entries
/// already read for the chosen extensions; the others are read here.
pub(crate) fn check_workspace<'w>(
    ws: &'w Workspace,
    chosen: &[&'w Extension],
    known: Vec<Entry<'w>>,
) -> Vec<Finding> {
    let chosen_paths: std::collections::HashSet<&Path> =
        chosen.iter().map(|e| e.path.as_path()).collect();
    let rest: Vec<&Extension> = ws
        .extensions
        .iter()
        .filter(|e| !chosen_paths.contains(e.path.as_path()))
        .collect();
    let mut entries = known;
    entries.extend(
        crate::par::map(&rest, |ext| Entry::load(ext))
            .into_iter()
            .flatten(),
    );
    let index = Index::build(&entries);
    let by_path: HashMap<&std::path::Path, &Entry<'_>> =
        entries.iter().map(|e| (e.ext.path.as_path(), e)).collect();
    let mut findings = Vec::new();
    for ext in chosen {
        let Some(me) = by_path.get(ext.path.as_path()).copied() else {
            continue;
        };
        let mut sink = Sink::new(ext, &ws.root);
        duplicate_name(&mut sink, me, &index);
        duplicate_preview(&mut sink, me, &index);
        findings.extend(sink.findings);
    }
    findings
}

/// Entries grouped by the values that must be unique.
struct Index<'e, 'w> {
    names: HashMap<(&'static str, &'e str), Vec<&'e Entry<'w>>>,
    previews: HashMap<&'e str, Vec<&'e Entry<'w>>>,
    file_names: HashMap<&'e str, Vec<&'e Entry<'w>>>,
}

impl<'e, 'w> Index<'e, 'w> {
    fn build(entries: &'e [Entry<'w>]) -> Self {
        let mut index = Index {
            names: HashMap::new(),
            previews: HashMap::new(),
            file_names: HashMap::new(),
        };
        for e in entries {
            if let Some(name) = e.name() {
                index
                    .names
                    .entry((e.catalogue(), name))
                    .or_default()
                    .push(e);
            }
            if let Some(p) = e.preview() {
                index.previews.entry(p).or_default().push(e);
            }
            if let Some(f) = e.preview_file_name() {
                index.file_names.entry(f).or_default().push(e);
            }
        }
        index
    }
}

/// How many clashing extensions a message names before it says "and N more".
const NAMED: usize = 5;

/// The other entries of a group, as `apps/x, tools/y` (at most `NAMED`, then "and N more").
fn others(group: Option<&Vec<&Entry<'_>>>, me: &Entry<'_>) -> Vec<String> {
    let all: Vec<&&Entry<'_>> = group
        .into_iter()
        .flatten()
        .filter(|e| e.ext.path != me.ext.path)
        .collect();
    let mut named: Vec<String> = all.iter().take(NAMED).map(|e| e.ext.rel()).collect();
    if all.len() > NAMED {
        named.push(format!("{} more", all.len() - NAMED));
    }
    named
}

fn duplicate_name(sink: &mut Sink<'_>, me: &Entry<'_>, index: &Index<'_, '_>) {
    let Some(name) = me.name() else { return };
    let catalogue = me.catalogue();
    let clash = others(index.names.get(&(catalogue, name)), me);
    if clash.is_empty() {
        return;
    }
    let message = format!(
        "name {} is also used by {}; both publish to {catalogue}, where the name identifies the entry, so one would replace the other",
        code(name),
        clash.join(", ")
    );
    let line = me.name.as_ref().and_then(|(_, l)| *l);
    sink.push("registry/duplicate-name", FILE_NAME, line, message);
}

fn duplicate_preview(sink: &mut Sink<'_>, me: &Entry<'_>, index: &Index<'_, '_>) {
    let Some(preview) = me.preview() else { return };
    let line = me.preview.as_ref().and_then(|(_, l)| *l);
    let same = others(index.previews.get(preview), me);
    if !same.is_empty() {
        let message = format!(
            "preview_image {} is also used by {}; the catalogue build refuses duplicate preview images",
            code(preview),
            same.join(", ")
        );
        sink.push("registry/duplicate-preview", FILE_NAME, line, message);
        return;
    }
    let Some(file_name) = me.preview_file_name() else {
        return;
    };
    let clashing: Vec<&&Entry<'_>> = index
        .file_names
        .get(file_name)
        .into_iter()
        .flatten()
        .filter(|e| e.ext.path != me.ext.path)
        .collect();
    let mut clash: Vec<String> = clashing
        .iter()
        .take(NAMED)
        .map(|e| {
            format!(
                "{} ({})",
                e.ext.rel(),
                code(e.preview().unwrap_or_default())
            )
        })
        .collect();
    if clashing.len() > NAMED {
        clash.push(format!("{} more", clashing.len() - NAMED));
    }
    if clash.is_empty() {
        return;
    }
    let message = format!(
        "preview_image {} has the same file name as the preview of {}; the catalogue stores both as {}, so one overwrites the other: rename one",
        code(preview),
        clash.join(", "),
        code(&format!("images/{file_name}"))
    );
    sink.push("registry/duplicate-preview", FILE_NAME, line, message);
}

#[cfg(test)]
mod tests {
    use crate::validate::testutil::{manifest, rules_of, Fixture};

    fn with_preview(name: &str, preview: &str) -> String {
        let value = format!("\"{preview}\"");
        manifest(name, &[("preview_image", Some(value.as_str()))])
    }

    #[test]
    fn duplicate_raw_preview_is_reported_for_each_chosen_extension() {
        let f = Fixture::new();
        f.app(
            "apps/a",
            &with_preview("app-a", "https://info.kamiwaza.ai/x.png"),
        );
        f.app(
            "apps/b",
            &with_preview("app-b", "https://info.kamiwaza.ai/x.png"),
        );
        f.app(
            "apps/c",
            &with_preview("app-c", "https://info.kamiwaza.ai/y.png"),
        );
        let report = f.report();
        assert_eq!(
            rules_of(&report, "apps/a", "registry/"),
            ["registry/duplicate-preview"]
        );
        assert_eq!(
            rules_of(&report, "apps/b", "registry/"),
            ["registry/duplicate-preview"]
        );
        assert!(rules_of(&report, "apps/c", "registry/").is_empty());
        let finding = report
            .findings
            .iter()
            .find(|f| f.extension == "apps/a" && f.rule.starts_with("registry/"));
        let finding = finding.expect("finding");
        assert!(finding.message.contains("apps/b"), "{}", finding.message);
        assert_eq!(finding.line, Some(10));
    }

    #[test]
    fn only_chosen_extensions_are_reported_but_all_are_considered() {
        let f = Fixture::new();
        f.app("apps/a", &with_preview("app-a", "/garden/x.png"));
        f.tool("tools/tool-b", &with_preview("tool-b", "/garden/x.png"));
        let ws = f.workspace();
        let chosen: Vec<_> = ws.extensions.iter().filter(|e| e.dir_name == "a").collect();
        let report = crate::validate::validate(&ws, &chosen, &crate::settings::Settings::default());
        assert_eq!(
            rules_of(&report, "apps/a", "registry/"),
            ["registry/duplicate-preview"]
        );
        assert!(rules_of(&report, "tools/tool-b", "").is_empty());
    }

    #[test]
    fn same_file_name_in_different_folders_collides_in_the_catalogue() {
        let f = Fixture::new();
        f.app("apps/a", &with_preview("app-a", "images/icon.png"));
        f.write("apps/a/images/icon.png", "png");
        f.app("apps/b", &with_preview("app-b", "assets/icon.png"));
        f.write("apps/b/assets/icon.png", "png");
        let report = f.report();
        assert_eq!(
            rules_of(&report, "apps/a", "registry/"),
            ["registry/duplicate-preview"]
        );
        assert_eq!(
            rules_of(&report, "apps/b", "registry/"),
            ["registry/duplicate-preview"]
        );
        // URLs are not copied by file name
        let g = Fixture::new();
        g.app(
            "apps/a",
            &with_preview("app-a", "https://info.kamiwaza.ai/a/icon.png"),
        );
        g.app(
            "apps/b",
            &with_preview("app-b", "https://info.kamiwaza.ai/b/icon.png"),
        );
        assert!(rules_of(&g.report(), "apps/a", "registry/").is_empty());
    }

    #[test]
    fn null_and_empty_previews_are_no_previews() {
        let f = Fixture::new();
        f.app("apps/a", &with_preview("app-a", "null"));
        f.app("apps/b", &with_preview("app-b", "null"));
        assert!(rules_of(&f.report(), "apps/a", "registry/").is_empty());
    }

    #[test]
    fn duplicate_names_per_catalogue_file() {
        let f = Fixture::new();
        f.app("apps/a", &manifest("same", &[]));
        f.service("services/b", &manifest("same", &[]));
        f.tool("tools/c", &manifest("same", &[]));
        let report = f.report();
        assert_eq!(
            rules_of(&report, "apps/a", "registry/"),
            ["registry/duplicate-name"]
        );
        assert_eq!(
            rules_of(&report, "services/b", "registry/"),
            ["registry/duplicate-name"]
        );
        // tools.json is another file
        assert!(rules_of(&report, "tools/c", "registry/").is_empty());
    }

    #[test]
    fn broken_manifests_are_left_to_the_metadata_rules() {
        let f = Fixture::new();
        f.app("apps/a", "{ not json");
        f.app("apps/b", "[1, 2]");
        let report = f.report();
        assert!(rules_of(&report, "apps/a", "registry/").is_empty());
        assert!(rules_of(&report, "apps/b", "registry/").is_empty());
    }
}
