//! `kz package --with-images` on the real engine: every image of the catalogue (docker_images
//! and extra_docker_images) saved with ONE multi-image save into
//! `garden/v2/docker-images/images.tar` (a layer shared by several images stored once) with
//! manifest.json and import-images.sh; the archive loads back into the engine; a missing image
//! fails the run naming it.

use crate::engine::build::BuildWs;
use bollard::query_parameters::{ImportImageOptions, RemoveImageOptions, TagImageOptions};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;

/// Two hand-written busybox tools (small images; no scaffold is edited), the second listing an
/// extra image.
fn workspace(test: &str) -> BuildWs {
    let b = BuildWs::empty(test);
    for t in ["a", "b"] {
        super::changed_ci::busybox_tool(&b, t);
    }
    let manifest = "tools/tool-b/kamiwaza.json";
    let text = b.ws.read(manifest).replacen(
        "\"version\": \"1.0.0\",",
        &format!(
            "\"version\": \"1.0.0\",\n  \"extra_docker_images\": [\"{}\"],",
            b.image("helper", "1.0.0")
        ),
        1,
    );
    b.ws.write(manifest, text);
    b.kz(&["sync-compose"]).code(0);
    b
}

/// name → bytes of every file in a .tar.gz.
fn unpack(path: &std::path::Path) -> BTreeMap<String, (u32, Vec<u8>)> {
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(path).expect("open"));
    let mut archive = tar::Archive::new(gz);
    let mut out = BTreeMap::new();
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let name = entry.path().expect("path").to_string_lossy().into_owned();
        let mode = entry.header().mode().expect("mode");
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read");
        out.insert(name, (mode, data));
    }
    out
}

/// The RepoTags of every image in a `docker save` archive (its manifest.json), sorted; how
/// many layers the images reference in all; how many layer files the archive holds.
fn saved_contents(image_tar: &[u8]) -> (Vec<String>, usize, usize) {
    let mut archive = tar::Archive::new(image_tar);
    let mut tags = None;
    let mut references = 0;
    let mut layers = 0;
    for entry in archive.entries().expect("entries") {
        let mut entry = entry.expect("entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        if path == "manifest.json" {
            let mut text = String::new();
            entry.read_to_string(&mut text).expect("read");
            let v: serde_json::Value = serde_json::from_str(&text).expect("json");
            references = v
                .as_array()
                .expect("images")
                .iter()
                .map(|i| i["Layers"].as_array().map_or(0, Vec::len))
                .sum();
            let mut all: Vec<String> = v
                .as_array()
                .expect("images")
                .iter()
                .flat_map(|i| i["RepoTags"].as_array().cloned().unwrap_or_default())
                .map(|t| t.as_str().unwrap_or_default().to_owned())
                .collect();
            all.sort();
            tags = Some(all);
        } else if path.ends_with("/layer.tar") {
            layers += 1;
        }
    }
    let tags = tags.expect("no manifest.json in the image archive");
    (tags, references, layers)
}

#[test]
fn images_are_packed_and_load_back() {
    let b = workspace("pkgimg");
    b.kz(&["build", "--all"]).code(0);
    let helper = b.image("helper", "1.0.0-dev");
    let (repo, tag) = helper.rsplit_once(':').expect("tag");
    b.engine
        .block_on(b.engine.docker().tag_image(
            "busybox:latest",
            Some(TagImageOptions {
                repo: Some(repo.to_owned()),
                tag: Some(tag.to_owned()),
            }),
        ))
        .expect("tag the extra image");
    b.kz(&["build-registry"]).code(0);
    let run = b.kz(&["package", "--with-images", "--out", "dist"]);
    run.code(0)
        .stderr_has("Saving 3 images in one archive")
        .stderr_has("Saved 3 images into images.tar");
    let archive = std::path::PathBuf::from(run.stdout.trim());
    let files = unpack(&archive);
    let dir = "kamiwaza-extension-registry/garden/v2/docker-images";
    let images = [
        b.image("helper", "1.0.0-dev"),
        b.image("tool-a", "1.0.0-dev"),
        b.image("tool-b", "1.0.0-dev"),
    ];
    let manifest: serde_json::Value =
        serde_json::from_slice(&files[&format!("{dir}/manifest.json")].1).expect("manifest");
    assert_eq!(manifest["total_images"], 3);
    let (_, data) = files
        .get(&format!("{dir}/images.tar"))
        .unwrap_or_else(|| panic!("images.tar missing from {:?}", files.keys()));
    let tar_files: Vec<&String> = files
        .keys()
        .filter(|k| k.starts_with(dir) && k.ends_with(".tar"))
        .collect();
    assert_eq!(
        tar_files.len(),
        1,
        "one archive for all images: {tar_files:?}"
    );
    let (tags, references, layers) = saved_contents(data);
    let mut want: Vec<String> = images.to_vec();
    want.sort();
    assert_eq!(tags, want);
    // busybox's layer is in all three images and stored once: 5 references, 3 layer files.
    assert!(
        layers < references,
        "shared layers stored once: {layers} layer files for {references} references"
    );
    let sha: String = Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(manifest["archive"]["file"], "images.tar");
    assert_eq!(manifest["archive"]["size"], data.len());
    assert_eq!(manifest["archive"]["sha256"], sha.as_str());
    for image in &images {
        let entry = &manifest["images"][image.as_str()];
        assert_eq!(entry["export"]["success"], true);
        assert_eq!(entry["export"]["file"], "images.tar");
    }
    let (mode, script) = &files[&format!("{dir}/import-images.sh")];
    assert_eq!(*mode, 0o755);
    assert!(String::from_utf8_lossy(script).contains("docker load -i"));
    assert!(
        files.contains_key("kamiwaza-extension-registry/garden/v2/tools.json"),
        "the catalogue is still packed"
    );

    // The saved archive is what `docker load` takes: remove the image, load it, find it again.
    let tool_a = &images[1];
    let before = b.engine.id(tool_a).expect("built");
    let saved = files[&format!("{dir}/images.tar")].1.clone();
    b.engine
        .block_on(b.engine.docker().remove_image(
            tool_a,
            Some(RemoveImageOptions {
                force: true,
                ..RemoveImageOptions::default()
            }),
            None,
        ))
        .expect("remove");
    assert!(b.engine.id(tool_a).is_none());
    b.engine.block_on(async {
        let mut load = b.engine.docker().import_image(
            ImportImageOptions::default(),
            bollard::body_full(saved.into()),
            None,
        );
        while let Some(item) = load.next().await {
            item.expect("load");
        }
    });
    assert_eq!(b.engine.id(tool_a), Some(before));
}

#[test]
fn a_missing_image_fails_naming_it() {
    let b = workspace("pkgmiss");
    b.kz(&["build", "tool-a"]).code(0);
    b.kz(&["build-registry"]).code(0);
    let run = b.kz(&["package", "--with-images", "--out", "dist"]);
    run.code(1)
        .stderr_has(&format!(
            "image `{}` is not in the local engine",
            b.image("helper", "1.0.0-dev")
        ))
        .stderr_has("hint: build it first with `kz build`");
    assert!(!b.ws.exists("dist"), "no archive written");
    let leftovers: Vec<_> = std::fs::read_dir(b.ws.path("build"))
        .expect("build/")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".kz-images-"))
        .collect();
    assert!(leftovers.is_empty(), "temporary image folder left behind");
}
