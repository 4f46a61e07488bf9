//! Property tests of the transform over random compose documents (issue 15): it never fails
//! or panics, its output parses, a second run changes nothing, every mount in the output
//! names a declared volume, and no two host folders share a volume. Deterministic (a fixed
//! seed), so a failure names the case that broke.

use super::{render, transform, Note, SyncContext};
use crate::settings::Settings;
use crate::yaml::{load, load_compose, LoadLimits, Node};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const MOUNTS: &[&str] = &[
    "./data:/data",
    "./data/:/var/lib/data",
    "\"${DIR:-./x}:/x\"",
    "\"${DIR:-/srv}:/srv:ro\"",
    "./app/src:/src",
    "./app/static:/static:ro",
    "~/.cache:/root/.cache",
    "/var/run/docker.sock:/var/run/docker.sock",
    "/lib/modules:/lib/modules:ro",
    "api_data:/persist",
    "/anon",
    "./a/config:/etc/config",
    "./b/config:/opt/config",
    "./models:/models:ro",
    "./app.conf:/etc/app.conf:ro",
    "{type: bind, source: ./lf, target: /lf}",
    "{type: bind, source: ./data, target: /data2, read_only: true}",
    "cache:/cache",
    "./logs:/logs",
];

fn random_doc(rng: &mut Rng) -> String {
    let mut doc = String::from("services:\n");
    let names = ["web", "api", "db", "worker", "data"];
    let count = 1 + rng.below(4);
    for name in names.iter().take(count) {
        doc.push_str(&format!("  {name}:\n    image: img/{name}\n"));
        if rng.below(2) == 0 {
            doc.push_str(&format!(
                "    build: {}\n",
                rng.pick(&[".", "./app", "./other"])
            ));
        }
        if rng.below(3) == 0 {
            doc.push_str("    container_name: fixed\n    ports: [53:53, \"8080:80\"]\n");
        }
        if rng.below(3) == 0 {
            doc.push_str("    environment:\n      DEBUG: yes\n");
        }
        let mounts = rng.below(6);
        if mounts > 0 {
            doc.push_str("    volumes:\n");
            for _ in 0..mounts {
                doc.push_str(&format!("    - {}\n", rng.pick(MOUNTS)));
            }
        }
    }
    if rng.below(2) == 0 {
        doc.push_str("volumes:\n  api_data:\n  cache:\n  web_data:\n  data:\n");
    } else {
        doc.push_str("volumes:\n  api_data:\n  cache:\n");
    }
    doc
}

fn sync(text: &str, ext: &Path, compose_mode: bool) -> (String, Vec<Note>) {
    let settings = Settings::default();
    let limits = LoadLimits::default();
    let doc = if compose_mode {
        load_compose(text, &limits)
    } else {
        load(text, &limits)
    }
    .expect("input parses")
    .expect("doc");
    let ctx = SyncContext {
        settings: &settings,
        extension_dir: "ext",
        extension_path: ext,
        version: Some("1.0.0"),
    };
    let synced = transform(&doc, &ctx).expect("transform");
    (render(&synced.doc), synced.notes)
}

fn check(out: &str, notes: &[Note]) -> Result<(), String> {
    let doc: Node = load(out, &LoadLimits::default())
        .map_err(|e| format!("output does not parse: {e}"))?
        .ok_or("empty output")?;
    let declared: BTreeSet<String> = doc
        .get("volumes")
        .and_then(Node::as_map)
        .map(|m| m.iter().filter_map(|(k, _)| k.py_str()).collect())
        .unwrap_or_default();
    for (_, svc) in doc
        .get("services")
        .and_then(Node::as_map)
        .ok_or("no services")?
    {
        for item in svc
            .get("volumes")
            .and_then(Node::as_seq)
            .into_iter()
            .flatten()
        {
            let source = match item.as_str() {
                Some(s) if s.contains(':') => s.split(':').next().unwrap_or("").to_owned(),
                Some(_) => continue,
                None => item
                    .get("source")
                    .and_then(Node::py_str)
                    .unwrap_or_default(),
            };
            if source.starts_with(['.', '/', '~', '$']) || !declared.contains(&source) {
                return Err(format!("mount source {source:?} is not a declared volume"));
            }
        }
    }
    let re = regex::Regex::new(r"bind mount `(.+?)` became named volume `(.+?)`").expect("re");
    let mut by_volume: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for note in notes {
        if let Some(cap) = re.captures(&note.message) {
            let source = super::mounts::split_unbraced(&cap[1])[0]
                .trim_end_matches('/')
                .to_owned();
            by_volume
                .entry(cap[2].to_owned())
                .or_default()
                .insert(source);
        }
    }
    if let Some((v, sources)) = by_volume.iter().find(|(_, s)| s.len() > 1) {
        return Err(format!("volume {v} holds {sources:?}"));
    }
    Ok(())
}

#[test]
fn random_compose_documents() {
    let tmp = tempfile::tempdir().expect("tmp");
    let ext = tmp.path();
    std::fs::write(ext.join("app.conf"), "x").expect("write");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for case in 0..400 {
        let input = random_doc(&mut rng);
        let (out, notes) = sync(&input, ext, true);
        if let Err(e) = check(&out, &notes) {
            panic!("case {case}: {e}\n--- input\n{input}--- output\n{out}");
        }
        // A second run over the output changes nothing (App Garden files are read as YAML 1.1
        // by the reference's tools; kz writes them so both readers agree).
        let (again, _) = sync(&out, ext, false);
        assert_eq!(
            again, out,
            "case {case}: not idempotent\n--- input\n{input}"
        );
        let (again, _) = sync(&out, ext, true);
        assert_eq!(again, out, "case {case}: not idempotent (compose reader)");
    }
}
