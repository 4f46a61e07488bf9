//! `.dockerignore` rules with Docker's semantics (moby/patternmatcher): patterns are cleaned
//! paths relative to the context, `*` and `?` stay within one path part, `**` spans parts, a
//! leading `!` re-includes, the last matching line wins, and a path is excluded when it or any of
//! its parent folders matches.

use regex::Regex;
use std::path::Path;

#[derive(Debug, Default)]
pub struct DockerIgnore {
    rules: Vec<(Regex, bool)>,
}

impl DockerIgnore {
    /// Read `<context>/.dockerignore`; a missing or unreadable file excludes nothing.
    pub fn for_context(context: &Path) -> DockerIgnore {
        std::fs::read_to_string(context.join(".dockerignore"))
            .map(|t| DockerIgnore::parse(&t))
            .unwrap_or_default()
    }

    pub fn parse(text: &str) -> DockerIgnore {
        let rules = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .filter_map(|line| {
                let (negate, pattern) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let cleaned = clean(pattern);
                (!cleaned.is_empty())
                    .then(|| Regex::new(&to_regex(&cleaned)).ok().map(|r| (r, negate)))?
            })
            .collect();
        DockerIgnore { rules }
    }

    /// Whether any rule re-includes (`!pattern`): then an excluded folder may still hold files
    /// that are sent, so a walk must enter it.
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|(_, negate)| *negate)
    }

    /// Whether `rel` (a `/`-separated path inside the context) is left out of the build context.
    pub fn excludes(&self, rel: &str) -> bool {
        let rel = clean(rel);
        let mut candidates = vec![rel.as_str()];
        candidates.extend(rel.match_indices('/').map(|(i, _)| &rel[..i]));
        let mut excluded = false;
        for (re, negate) in &self.rules {
            if candidates.iter().any(|c| re.is_match(c)) {
                excluded = !negate;
            }
        }
        excluded
    }
}

/// Lexically clean a relative pattern or path: no leading `/` or `./`, no `.` parts, `..` folded.
fn clean(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn to_regex(pattern: &str) -> String {
    let mut re = String::from("^");
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                if chars.get(i + 2) == Some(&'/') {
                    re.push_str("(?:.*/)?");
                    i += 3;
                } else {
                    re.push_str(".*");
                    i += 2;
                }
                continue;
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            '[' => match chars[i..].iter().position(|c| *c == ']') {
                Some(end) => {
                    let class: String = chars[i + 1..i + end].iter().collect();
                    let class = class
                        .strip_prefix('^')
                        .map_or(class.clone(), |c| format!("^{c}"));
                    re.push('[');
                    re.push_str(&class.replace('\\', "\\\\"));
                    re.push(']');
                    i += end + 1;
                    continue;
                }
                None => re.push_str("\\["),
            },
            '\\' if i + 1 < chars.len() => {
                re.push_str(&regex::escape(&chars[i + 1].to_string()));
                i += 2;
                continue;
            }
            c => re.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    re.push('$');
    re
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_semantics() {
        let ig =
            DockerIgnore::parse("# data\n/data\n*.log\n**/node_modules\n!keep.log\nsrc/*/tmp\n");
        assert!(ig.excludes("data"));
        assert!(ig.excludes("data/db.sqlite"));
        assert!(!ig.excludes("sub/data"));
        assert!(ig.excludes("x.log"));
        assert!(!ig.excludes("keep.log"));
        assert!(!ig.excludes("sub/x.log"));
        assert!(ig.excludes("a/b/node_modules/c"));
        assert!(ig.excludes("src/a/tmp/f"));
        assert!(!ig.excludes("src/a/b/tmp"));
        assert!(!ig.excludes("main.py"));
        assert!(ig.excludes("./data/"));
        assert!(ig.has_exceptions());
        assert!(!DockerIgnore::parse("*.log\n").has_exceptions());
    }
}
