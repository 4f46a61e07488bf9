//! The App Garden compose text as a stage publishes it (spec §5.3), and the images it deploys.
//!
//! A stage with a tag suffix (dev, stage) re-tags every `services.*.image` with
//! `imageref::stage_image` and re-dumps the document as the reference does (PyYAML's plain
//! `yaml.dump`: comments go, multi-line strings become quoted). A stage without a suffix (prod)
//! embeds the file as written, as the reference does, unless an image must change: the reference
//! publishes `:1.0.0-dev` images to prod (§16.7); kz re-tags them and then re-dumps like dev.

use super::Pins;
use crate::error::{Error, Result};
use crate::imageref::stage_image;
use crate::settings::{Settings, Stage};
use crate::yaml::{self, DumpOptions, Node, Value};
use std::path::Path;

/// A compose text ready for the catalogue.
#[derive(Debug)]
pub(crate) struct StagedCompose {
    /// The `compose_yml` value.
    pub(crate) text: String,
    /// `docker_images`: every service's image, in service order, duplicates kept.
    pub(crate) images: Vec<String>,
}

/// Stage the compose `text` (read from `path`, named in errors). Images in `pins` become
/// `repo:tag@digest`; `redump` re-dumps the text even when nothing changed (v3, as kz-ext does).
pub(crate) fn stage_compose(
    text: &str,
    path: &Path,
    settings: &Settings,
    stage: &Stage,
    pins: Option<&Pins>,
    redump: bool,
) -> Result<StagedCompose> {
    // Python reads text files with universal newlines; the verbatim text must match.
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let doc = yaml::load(&text, &yaml::LoadLimits::default()).map_err(|source| Error::Yaml {
        path: path.to_owned(),
        source,
    })?;
    let mut doc = doc.unwrap_or_else(|| Node::new(Value::Null));
    let changed = retag(&mut doc, settings, stage, pins);
    let images = images(&doc);
    let text = if stage.tag_suffix.is_empty() && !changed && !redump {
        text
    } else {
        yaml::dump(&doc, &DumpOptions::default())
    };
    Ok(StagedCompose { text, images })
}

/// The services of a compose document that are mappings.
fn services(doc: &Node) -> impl Iterator<Item = &Node> {
    doc.get("services")
        .and_then(Node::as_map)
        .into_iter()
        .flatten()
        .map(|(_, service)| service)
        .filter(|service| service.as_map().is_some())
}

/// Apply the stage rule (then the pin, if any) to every service image; whether any changed.
fn retag(doc: &mut Node, settings: &Settings, stage: &Stage, pins: Option<&Pins>) -> bool {
    let mut changed = false;
    let Some(services) = doc.get_mut("services").and_then(Node::as_map_mut) else {
        return false;
    };
    for (_, service) in services.iter_mut() {
        let Some(image) = service.get_mut("image") else {
            continue;
        };
        let Some(current) = image.as_str() else {
            continue;
        };
        let staged = pin(stage_image(settings, current, stage), pins);
        if staged != current {
            image.value = Value::Str(staged);
            changed = true;
        }
    }
    changed
}

/// `image@digest` when `pins` has one for `image` (and it is not pinned already).
pub(crate) fn pin(image: String, pins: Option<&Pins>) -> String {
    match pins.and_then(|p| p.get(&image)) {
        Some(digest) if !image.contains('@') => format!("{image}@{digest}"),
        _ => image,
    }
}

/// Every non-empty string `image` of the services, in order.
fn images(doc: &Node) -> Vec<String> {
    services(doc)
        .filter_map(|service| service.get("image")?.as_str())
        .filter(|image| !image.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staged(text: &str, stage: &str) -> StagedCompose {
        let settings = Settings::default();
        let stage = settings.stage(stage).expect("stage").clone();
        stage_compose(text, Path::new("c.yml"), &settings, &stage, None, false).expect("stage")
    }

    const TEXT: &str = "# comment\nservices:\n  web:\n    image: kamiwazaai/x-web:1.0.0\n    command: |\n      a\n      b\n  db:\n    image: postgres:16\n  side: {}\n";

    #[test]
    fn dev_re_tags_and_re_dumps() {
        let s = staged(TEXT, "dev");
        assert_eq!(
            s.text,
            "services:\n  web:\n    image: kamiwazaai/x-web:1.0.0-dev\n    command: 'a\n\n      b\n\n      '\n  db:\n    image: postgres:16\n  side: {}\n"
        );
        assert_eq!(s.images, ["kamiwazaai/x-web:1.0.0-dev", "postgres:16"]);
    }

    #[test]
    fn prod_keeps_the_text_unless_a_tag_changes() {
        let s = staged(&TEXT.replace('\n', "\r\n"), "prod");
        assert_eq!(s.text, TEXT);
        let dev_tagged = TEXT.replace("1.0.0", "1.0.0-dev");
        let s = staged(&dev_tagged, "prod");
        assert!(s
            .text
            .starts_with("services:\n  web:\n    image: kamiwazaai/x-web:1.0.0\n"));
        assert_eq!(s.images[0], "kamiwazaai/x-web:1.0.0");
    }

    #[test]
    fn pinned_images_carry_their_digest_and_v3_always_re_dumps() {
        let settings = Settings::default();
        let stage = settings.stage("prod").expect("stage").clone();
        let pins = Pins::from([("kamiwazaai/x-web:1.0.0".to_owned(), "sha256:ab".to_owned())]);
        let s = stage_compose(
            TEXT,
            Path::new("c.yml"),
            &settings,
            &stage,
            Some(&pins),
            false,
        )
        .expect("stage");
        assert_eq!(
            s.images,
            ["kamiwazaai/x-web:1.0.0@sha256:ab", "postgres:16"]
        );
        assert!(s.text.contains("image: kamiwazaai/x-web:1.0.0@sha256:ab\n"));
        let s =
            stage_compose(TEXT, Path::new("c.yml"), &settings, &stage, None, true).expect("stage");
        assert!(!s.text.contains("# comment"));
    }
}
