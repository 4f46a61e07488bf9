//! Merging the local catalogue file into the published one (spec §9.4, with its weak spots
//! fixed, §16.4 and §16.9). Per file (apps.json and tools.json separately), for each local
//! entry, against the published entries of the same `name`:
//!
//! - an identical published entry (same JSON value): **unchanged**, nothing to do (the
//!   reference fails "Cannot mutate existing version");
//! - none: **added** (appended);
//! - otherwise each published entry is compared by `kamiwaza_version` (v2; exact SemVer
//!   ranges, `range.rs`) and `version`:
//!   - disjoint ranges: the entries live side by side;
//!   - same range: newer version replaces; same version with other content or an older version
//!     is a conflict;
//!   - the local range wider (superset): replaces, unless its version is older (the reference
//!     accepts that downgrade);
//!   - narrower (subset) or partly overlapping: a conflict;
//!   - in v1 (no ranges) every published entry of the name counts as "same range".
//!
//!   Entries it replaces are **updated** (the first one's position keeps the new entry, the
//!   others are dropped); with no replacement and no conflict the entry is added alongside.
//! - `force` turns every conflict into a replacement of the overlapping entries.
//!
//! Published entries whose name no local entry has are kept where they are and reported as
//! **removed** (published, not in this workspace). Any conflict means the file is not written.

use super::range::{self, Relation};
use crate::registry::{to_python_json, RepoVersion};
use serde::Serialize;
use serde_json::Value;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// An entry as plans show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntryId {
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kamiwaza_version: Option<String>,
}

impl EntryId {
    fn of(entry: &Value) -> EntryId {
        let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_owned);
        EntryId {
            name: text("name").unwrap_or_default(),
            version: text("version").unwrap_or_default(),
            kamiwaza_version: text("kamiwaza_version"),
        }
    }
}

impl std::fmt::Display for EntryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.name, self.version)?;
        if let Some(k) = &self.kamiwaza_version {
            write!(f, " (kamiwaza {k})")?;
        }
        Ok(())
    }
}

/// An entry that replaces published ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Update {
    pub from: Vec<EntryId>,
    pub to: EntryId,
    /// Replaced only because of `--force`.
    pub forced: bool,
}

/// A local entry the rules refuse.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub entry: EntryId,
    pub reason: String,
}

/// One catalogue file merged.
#[derive(Clone, Debug, Serialize)]
pub struct FileMerge {
    pub file: String,
    pub added: Vec<EntryId>,
    pub updated: Vec<Update>,
    pub unchanged: Vec<EntryId>,
    /// Published, not in the workspace: kept.
    pub removed: Vec<EntryId>,
    pub conflicts: Vec<Conflict>,
    /// There is no published file yet.
    pub first: bool,
    /// The merged file's text (`json.dump(indent=2)`), when it differs from what is published
    /// and there is no conflict.
    #[serde(skip)]
    pub text: Option<String>,
}

/// What the published file holds, parsed.
pub fn parse_published(file: &str, bytes: &[u8]) -> Result<Vec<Value>, String> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("the published {file} is not valid JSON: {e}"))?;
    match value {
        Value::Array(items) => Ok(items),
        Value::Object(mut map) => match map.shift_remove("entries") {
            Some(Value::Array(items)) => Ok(items),
            _ => Err(format!(
                "the published {file} is an object without an `entries` list"
            )),
        },
        _ => Err(format!("the published {file} is not a list of entries")),
    }
}

enum Slot {
    Keep,
    Replace(Value),
    Drop,
}

enum Verdict {
    Ignore,
    Replace,
    Conflict(String),
}

/// Merge `local` into `published` (`None`: no published file yet).
pub fn merge(
    file: &str,
    published: Option<Vec<Value>>,
    local: &[Value],
    layout: RepoVersion,
    force: bool,
) -> FileMerge {
    let first = published.is_none();
    let remote = published.unwrap_or_default();
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, entry) in remote.iter().enumerate() {
        if let Some(name) = entry.get("name").and_then(Value::as_str) {
            by_name.entry(name).or_default().push(i);
        }
    }
    let mut slots: Vec<Slot> = remote.iter().map(|_| Slot::Keep).collect();
    let mut appended = Vec::new();
    let mut out = FileMerge {
        file: file.to_owned(),
        added: Vec::new(),
        updated: Vec::new(),
        unchanged: Vec::new(),
        removed: Vec::new(),
        conflicts: Vec::new(),
        first,
        text: None,
    };
    let local_names: BTreeSet<&str> = local
        .iter()
        .filter_map(|e| e.get("name").and_then(Value::as_str))
        .collect();
    for entry in local {
        let id = EntryId::of(entry);
        let same_name = by_name.get(id.name.as_str()).map_or(&[][..], Vec::as_slice);
        if same_name.iter().any(|&i| remote[i] == *entry) {
            out.unchanged.push(id);
            continue;
        }
        if same_name.is_empty() {
            appended.push(entry.clone());
            out.added.push(id);
            continue;
        }
        let verdicts: Vec<(usize, Verdict)> = same_name
            .iter()
            .map(|&i| (i, judge(entry, &remote[i], layout)))
            .collect();
        let conflicts: Vec<String> = verdicts
            .iter()
            .filter_map(|(_, v)| match v {
                Verdict::Conflict(reason) => Some(reason.clone()),
                _ => None,
            })
            .collect();
        if !conflicts.is_empty() && !force {
            out.conflicts.push(Conflict {
                entry: id,
                reason: conflicts.join("; "),
            });
            continue;
        }
        let replaced: Vec<usize> = verdicts
            .iter()
            .filter(|(_, v)| !matches!(v, Verdict::Ignore))
            .map(|(i, _)| *i)
            .collect();
        match replaced.split_first() {
            Some((&head, rest)) => {
                slots[head] = Slot::Replace(entry.clone());
                for &i in rest {
                    slots[i] = Slot::Drop;
                }
                out.updated.push(Update {
                    from: replaced.iter().map(|&i| EntryId::of(&remote[i])).collect(),
                    to: id,
                    forced: !conflicts.is_empty(),
                });
            }
            None => {
                appended.push(entry.clone());
                out.added.push(id);
            }
        }
    }
    for entry in &remote {
        let id = EntryId::of(entry);
        if !local_names.contains(id.name.as_str()) {
            out.removed.push(id);
        }
    }
    let changed = first || !out.added.is_empty() || !out.updated.is_empty();
    if out.conflicts.is_empty() && changed {
        let mut merged: Vec<Value> = Vec::with_capacity(remote.len() + appended.len());
        for (entry, slot) in remote.into_iter().zip(slots) {
            match slot {
                Slot::Keep => merged.push(entry),
                Slot::Replace(new) => merged.push(new),
                Slot::Drop => {}
            }
        }
        merged.extend(appended);
        out.text = Some(to_python_json(&Value::Array(merged)));
    }
    out
}

/// What the local entry does to one published entry of the same name.
fn judge(local: &Value, published: &Value, layout: RepoVersion) -> Verdict {
    let l = EntryId::of(local);
    let p = EntryId::of(published);
    let relation = match layout {
        RepoVersion::V1 => Relation::Same,
        // kz-ext 1.3.0 (RegistryBuilder.merge_into_registry): without a range on the new entry,
        // one entry per name; a published entry without a range counts as universal (replaced).
        RepoVersion::V3 if l.kamiwaza_version.is_none() || p.kamiwaza_version.is_none() => {
            Relation::Same
        }
        RepoVersion::V2 | RepoVersion::V3 => {
            let Some(lc) = &l.kamiwaza_version else {
                return Verdict::Conflict("a v2 catalogue needs `kamiwaza_version`".to_owned());
            };
            let Some(pc) = &p.kamiwaza_version else {
                return Verdict::Conflict(format!(
                    "the published {} has no `kamiwaza_version`",
                    p.version
                ));
            };
            let lset = match range::parse(lc) {
                Ok(set) => set,
                Err(e) => return Verdict::Conflict(format!("kamiwaza_version: {e}")),
            };
            let pset = match range::parse(pc) {
                Ok(set) => set,
                Err(e) => {
                    return Verdict::Conflict(format!(
                        "the published {}'s kamiwaza_version `{pc}`: {e}",
                        p.version
                    ))
                }
            };
            lset.relation(&pset)
        }
    };
    if relation == Relation::Disjoint {
        return Verdict::Ignore;
    }
    let order = match (
        range::parse_version(&l.version),
        range::parse_version(&p.version),
    ) {
        (Some(a), Some(b)) => a.cmp(&b),
        (None, _) => return Verdict::Conflict(format!("`{}` is not a version", l.version)),
        (_, None) => {
            return Verdict::Conflict(format!("the published `{}` is not a version", p.version))
        }
    };
    let ranges = || {
        format!(
            "`{}` -> `{}`",
            p.kamiwaza_version.as_deref().unwrap_or(""),
            l.kamiwaza_version.as_deref().unwrap_or("")
        )
    };
    match (relation, order) {
        (_, Ordering::Less) if matches!(relation, Relation::Same | Relation::Superset) => {
            Verdict::Conflict(format!(
                "cannot downgrade from {} to {}",
                p.version, l.version
            ))
        }
        (Relation::Same, Ordering::Equal) => Verdict::Conflict(format!(
            "version {} is already published with other content; bump the version",
            p.version
        )),
        (Relation::Same | Relation::Superset, _) => Verdict::Replace,
        (Relation::Subset, _) => Verdict::Conflict(format!(
            "cannot narrow kamiwaza_version {} of the published {}",
            ranges(),
            p.version
        )),
        _ => Verdict::Conflict(format!(
            "kamiwaza_version {} partly overlaps the published {}; resolve by hand",
            ranges(),
            p.version
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn e(name: &str, version: &str, k: &str) -> Value {
        json!({"name": name, "version": version, "kamiwaza_version": k, "x": 1})
    }

    fn order(m: &FileMerge) -> Vec<(String, String)> {
        let text = m.text.as_deref().expect("merged text");
        let items: Vec<Value> = serde_json::from_str(text).expect("json");
        items
            .iter()
            .map(|v| {
                let id = EntryId::of(v);
                (id.name, id.version)
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    fn remote() -> Vec<Value> {
        vec![
            e("a", "1.0.0", ">=0.9.0"),
            e("b", "2.0.0", ">=0.9.0"),
            e("c", "1.0.0", ">=0.8.0,<0.9.0"),
        ]
    }

    #[test]
    fn identical_republish_is_a_no_op() {
        let m = merge(
            "apps.json",
            Some(remote()),
            &remote(),
            RepoVersion::V2,
            false,
        );
        assert_eq!(m.unchanged.len(), 3);
        assert!(m.conflicts.is_empty() && m.added.is_empty() && m.updated.is_empty());
        assert!(m.text.is_none(), "nothing to write");
    }

    #[test]
    fn upgrade_replaces_in_place_and_new_entries_are_appended() {
        let local = vec![e("a", "1.1.0", ">=0.9.0"), e("new", "0.1.0", ">=0.9.0")];
        let m = merge("apps.json", Some(remote()), &local, RepoVersion::V2, false);
        assert_eq!(m.updated.len(), 1);
        assert_eq!(m.updated[0].from[0].version, "1.0.0");
        assert_eq!(m.added[0].name, "new");
        let removed: Vec<&str> = m.removed.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(removed, ["b", "c"]);
        assert_eq!(
            order(&m),
            pairs(&[
                ("a", "1.1.0"),
                ("b", "2.0.0"),
                ("c", "1.0.0"),
                ("new", "0.1.0")
            ])
        );
    }

    #[test]
    fn disjoint_ranges_live_side_by_side() {
        let local = vec![e("c", "2.0.0", ">=0.9.0")];
        let m = merge("apps.json", Some(remote()), &local, RepoVersion::V2, false);
        assert_eq!(m.added.len(), 1);
        assert_eq!(
            order(&m),
            pairs(&[
                ("a", "1.0.0"),
                ("b", "2.0.0"),
                ("c", "1.0.0"),
                ("c", "2.0.0")
            ])
        );
    }

    #[test]
    fn downgrades_mutations_narrowing_and_partial_overlap_are_conflicts() {
        let cases = [
            (
                e("a", "0.9.0", ">=0.9.0"),
                "cannot downgrade from 1.0.0 to 0.9.0",
            ),
            (e("a", "0.9.0", ">=0.8.0"), "cannot downgrade"), // superset, older (reference: accepted)
            (
                json!({"name": "a", "version": "1.0.0", "kamiwaza_version": ">=0.9.0", "x": 2}),
                "already published with other content",
            ),
            (e("b", "3.0.0", ">=1.0.0"), "cannot narrow"),
            (e("c", "3.0.0", ">=0.8.5,<0.9.5"), "partly overlaps"),
        ];
        for (local, want) in cases {
            let m = merge(
                "apps.json",
                Some(remote()),
                std::slice::from_ref(&local),
                RepoVersion::V2,
                false,
            );
            assert_eq!(m.conflicts.len(), 1, "{local}");
            assert!(
                m.conflicts[0].reason.contains(want),
                "{}",
                m.conflicts[0].reason
            );
            assert!(m.text.is_none());
            // --force replaces what overlaps
            let m = merge(
                "apps.json",
                Some(remote()),
                std::slice::from_ref(&local),
                RepoVersion::V2,
                true,
            );
            assert!(m.conflicts.is_empty());
            assert_eq!(m.updated.len(), 1, "{local}");
            assert!(m.updated[0].forced);
        }
    }

    #[test]
    fn widening_with_a_newer_or_equal_version_replaces() {
        // the reference case "b widening (superset) same version -> REPLACE"
        let local = vec![e("b", "2.0.0", ">=0.8.0")];
        let m = merge("apps.json", Some(remote()), &local, RepoVersion::V2, false);
        assert_eq!(m.updated.len(), 1);
        assert!(!m.updated[0].forced);
        // >=3.0.0 vs >=4.0.0 was "same" to the reference's sampling; it is a superset
        let published = vec![e("d", "1.0.0", ">=4.0.0")];
        let m = merge(
            "apps.json",
            Some(published),
            &[e("d", "1.0.1", ">=3.0.0")],
            RepoVersion::V2,
            false,
        );
        assert_eq!(m.updated.len(), 1);
    }

    #[test]
    fn v2_needs_ranges_and_v1_compares_versions_only() {
        let bare = json!({"name": "a", "version": "2.0.0"});
        let m = merge(
            "apps.json",
            Some(remote()),
            std::slice::from_ref(&bare),
            RepoVersion::V2,
            false,
        );
        assert!(m.conflicts[0].reason.contains("kamiwaza_version"));
        let v1_remote = vec![
            json!({"name": "z", "version": "1.0.0"}),
            json!({"name": "a", "version": "1.0.0"}),
        ];
        let m = merge(
            "apps.json",
            Some(v1_remote.clone()),
            &[bare],
            RepoVersion::V1,
            false,
        );
        assert_eq!(order(&m), pairs(&[("z", "1.0.0"), ("a", "2.0.0")]));
        let older = json!({"name": "a", "version": "0.9.0"});
        let m = merge(
            "apps.json",
            Some(v1_remote),
            &[older],
            RepoVersion::V1,
            false,
        );
        assert!(m.conflicts[0].reason.contains("downgrade"));
    }

    #[test]
    fn v3_takes_entries_without_ranges_as_one_per_name() {
        // kz-ext 1.3.0: no range on the new entry → one per name; none on the published → universal.
        let bare = json!({"name": "a", "version": "2.0.0"});
        let m = merge(
            "apps.json",
            Some(remote()),
            std::slice::from_ref(&bare),
            RepoVersion::V3,
            false,
        );
        assert!(m.conflicts.is_empty(), "{:?}", m.conflicts);
        assert_eq!(m.updated.len(), 1);
        let published = vec![json!({"name": "a", "version": "1.0.0"})];
        let m = merge(
            "apps.json",
            Some(published),
            &[e("a", "1.1.0", ">=0.9.0")],
            RepoVersion::V3,
            false,
        );
        assert_eq!(order(&m), pairs(&[("a", "1.1.0")]));
        let m = merge(
            "apps.json",
            Some(remote()),
            &[e("a", "0.9.0", ">=0.9.0")],
            RepoVersion::V3,
            false,
        );
        assert!(m.conflicts[0].reason.contains("downgrade"));
    }

    #[test]
    fn first_publish_writes_even_an_empty_file() {
        let m = merge("tools.json", None, &[], RepoVersion::V2, false);
        assert_eq!(m.text.as_deref(), Some("[]"));
        assert!(m.first);
    }

    #[test]
    fn published_file_shapes() {
        assert_eq!(parse_published("a", b"[]").expect("list").len(), 0);
        assert_eq!(
            parse_published("a", br#"{"entries": [{"name": "x"}]}"#)
                .expect("entries")
                .len(),
            1
        );
        assert!(parse_published("a", b"{").is_err());
        assert!(parse_published("a", b"3").is_err());
    }
}
