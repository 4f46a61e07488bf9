//! The fast lane's copies of shared material (tests/fixtures/SOURCES.md) are still what the
//! corpus and the spec hold: a changed corpus is noticed here, not by a fast test going stale.

use crate::harness::{corpus, fixtures};
use std::collections::BTreeMap;
use std::path::Path;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).expect("prefix");
            (
                rel.to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

#[test]
fn vendored_fixtures_equal_the_corpus_and_the_spec() {
    let corpus = corpus();
    let pairs = [
        (
            corpus.join("reference-outputs/synthetic/input"),
            fixtures().join("synthetic-input"),
        ),
        (
            corpus.join("../spec/synapse-examples"),
            fixtures().join("synapse-examples"),
        ),
    ];
    for (theirs, ours) in pairs {
        let (a, b) = (files(&theirs), files(&ours));
        assert!(!a.is_empty(), "{} is empty", theirs.display());
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{} and {} list different files",
            theirs.display(),
            ours.display()
        );
        for (name, bytes) in &a {
            assert!(
                &b[name] == bytes,
                "{name}: {} differs from {}",
                ours.display(),
                theirs.display()
            );
        }
    }
}
