//! Is a string a valid image reference? Docker's grammar
//! (`[host[:port]/]path[:tag][@algorithm:hex]`), split with `ImageRef::parse` so kz reads a
//! reference the same way everywhere. Unlike the reference scripts' regexes this accepts
//! registry ports and digests and rejects upper-case repositories, which Docker refuses to pull.

use crate::imageref::ImageRef;
use regex::Regex;
use std::sync::LazyLock;

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid constant regex")
}

static HOST: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]+)?$",
    )
});
static COMPONENT: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$"));
static TAG: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"));
static DIGEST: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}$"));
static SHA256: LazyLock<Regex> = LazyLock::new(|| re(r"^sha256:[0-9a-f]{64}$"));

/// Why `image` is not a valid reference, or `None` when it is.
pub(crate) fn problem(image: &str) -> Option<String> {
    if image.is_empty() {
        return Some("it is empty".to_owned());
    }
    if image.chars().any(char::is_whitespace) {
        return Some("it contains whitespace".to_owned());
    }
    let r = ImageRef::parse(image);
    if let Some(host) = &r.registry {
        if !HOST.is_match(host) {
            return Some(format!(
                "registry {} is not a host name with an optional port",
                super::code(host)
            ));
        }
    }
    repository_problem(&r.repository)
        .or_else(|| r.tag.as_deref().and_then(tag_problem))
        .or_else(|| r.digest.as_deref().and_then(digest_problem))
}

fn repository_problem(repo: &str) -> Option<String> {
    if repo.is_empty() {
        return Some("it has no repository name".to_owned());
    }
    let bad = repo.split('/').find(|c| !COMPONENT.is_match(c))?;
    if COMPONENT.is_match(&bad.to_ascii_lowercase()) {
        return Some(format!(
            "repository {} must be lowercase",
            super::code(repo)
        ));
    }
    Some(format!(
        "repository part {} may hold only lowercase letters and digits joined by `.`, `_`, `__` or `-`",
        super::code(bad)
    ))
}

fn tag_problem(tag: &str) -> Option<String> {
    (!TAG.is_match(tag)).then(|| {
        format!(
            "tag {} must start with a letter, digit or `_` and hold at most 128 letters, digits, `_`, `.` and `-`",
            super::code(tag)
        )
    })
}

fn digest_problem(digest: &str) -> Option<String> {
    let ok = DIGEST.is_match(digest) && (!digest.starts_with("sha256:") || SHA256.is_match(digest));
    (!ok).then(|| {
        format!(
            "digest {} is not `sha256:` followed by 64 lowercase hex digits",
            super::code(digest)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn accepts_docker_references() {
        let hex = "a".repeat(64);
        for ok in [
            "nginx".to_owned(),
            "nginx:1.25".to_owned(),
            "kamiwazaai/x:1.0.0".to_owned(),
            "ghcr.io/org/x:1.0".to_owned(),
            "localhost:5000/x:1".to_owned(),
            "Registry.Example.com:5000/foo/bar:1.0".to_owned(),
            "[::1]:5000/x".to_owned(),
            "localhost:1.2.3".to_owned(),
            "my_org/a__b/c-d--e:v1.0.0-dev".to_owned(),
            format!("x:latest@sha256:{hex}"),
            format!("x@sha256:{hex}"),
        ] {
            assert_eq!(problem(&ok), None, "{ok}");
        }
    }

    #[test]
    fn rejects_broken_references() {
        for (bad, why) in [
            ("", "empty"),
            ("a b", "whitespace"),
            ("Kamiwazaai/X:1.0", "lowercase"),
            ("Registry.Example.com:5000/Foo/Bar:1.0", "lowercase"),
            ("x:-bad", "tag"),
            ("x:", "tag"),
            ("a//b", "repository part"),
            ("/x", "repository part"),
            ("kamiwazaai/edge-app-digest@sha256:1.2.3", "digest"),
            ("x@sha256:ABC", "digest"),
            ("bad_host:5000/x", "registry"),
            ("${IMAGE:-x}:1", "repository part"),
        ] {
            let got = problem(bad).unwrap_or_default();
            assert!(got.contains(why), "{bad}: {got}");
        }
    }
}
