use super::*;
use std::str::FromStr;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn shards_cover_every_item_once_balanced_by_count() {
    for len in 0..23 {
        for n in 1..7 {
            let items: Vec<usize> = (0..len).collect();
            let mut seen = Vec::new();
            let mut sizes = Vec::new();
            for i in 1..=n {
                let part = Shard { index: i, count: n }.take(items.clone());
                sizes.push(part.len());
                seen.extend(part);
            }
            assert_eq!(seen, items, "len {len}, {n} shards");
            let (min, max) = (sizes.iter().min(), sizes.iter().max());
            assert!(max.zip(min).is_some_and(|(a, b)| a - b <= 1), "{sizes:?}");
        }
    }
}

#[test]
fn shard_syntax_is_checked() {
    assert_eq!(Shard::from_str("2/4"), Ok(Shard { index: 2, count: 4 }));
    for bad in ["0/4", "5/4", "1/0", "x/2", "2", "1/2/3", ""] {
        assert!(Shard::from_str(bad).is_err(), "{bad}");
    }
}

#[test]
fn env_keys_that_differ_and_the_ones_a_file_uses() {
    let before = "# c\nA=1\nB=2\nexport C=3\n";
    let after = "A=1\nB=20\nD=4\n";
    assert_eq!(changed_env_keys(before, after), set(&["B", "C", "D"]));
    let keys = set(&["B", "C", "D", "BB"]);
    let text = "image: x:${B:-1}\nenv: $C\nother: $DX ${BB}";
    assert_eq!(referenced_keys(text, &keys), set(&["B", "BB", "C"]));
}

#[test]
fn library_references_in_requirements_and_package_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ext = dir.path().join("apps/a");
    std::fs::create_dir_all(ext.join("backend")).expect("mkdir");
    std::fs::create_dir_all(ext.join("frontend/node_modules/x")).expect("mkdir");
    std::fs::write(
        ext.join("backend/requirements.txt"),
        "fastapi==0.1\n-e ../../../shared/python\nkamiwaza-auth @ file:///abs/lib\n",
    )
    .expect("write");
    std::fs::write(
        ext.join("frontend/package.json"),
        r#"{"dependencies": {"@k/auth": "file:../../../shared/typescript/auth", "react": "^18"}}"#,
    )
    .expect("write");
    std::fs::write(
        ext.join("frontend/node_modules/x/package.json"),
        r#"{"dependencies": {"y": "file:../../../../../elsewhere"}}"#,
    )
    .expect("write");
    let refs = library_refs(&ext);
    assert!(refs.contains(&dir.path().join("shared/python")), "{refs:?}");
    assert!(
        refs.contains(&dir.path().join("shared/typescript/auth")),
        "{refs:?}"
    );
    assert!(refs.contains(&PathBuf::from("/abs/lib")), "{refs:?}");
    assert!(
        !refs.iter().any(|r| r.ends_with("elsewhere")),
        "node_modules: {refs:?}"
    );
}

#[test]
fn first_under_matches_folders_not_prefixes() {
    let files = set(&["apps/ab/x", "apps/a/y", "kz.yaml"]);
    assert_eq!(first_under(&files, "apps/a"), Some("apps/a/y"));
    assert_eq!(first_under(&files, "apps/abc"), None);
    assert_eq!(first_under(&files, "apps/ab/"), Some("apps/ab/x"));
}
