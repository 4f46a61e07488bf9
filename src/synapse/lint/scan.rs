//! Rules over every node of the manifest, whatever its place: duplicate keys, template
//! placeholders left in, credentials (the label is readable by anyone who can pull the image),
//! and YAML 1.1 booleans written as yes/no/on/off.

use super::Sink;
use crate::validate::code;
use crate::yaml::{Node, Value};
use regex::Regex;
use std::sync::LazyLock;

/// `<slug>`, `<PORT>`, `<Human Label>`, `<team-or-email@…>`, and kz's own `{{name}}`.
pub(crate) static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"<[A-Za-z][^<>\n]{0,60}>|\{\{[^{}\n]{1,40}\}\}").expect("static regex")
});

/// Credential shapes (the kinds GitHub's and others' secret scanners look for).
pub(crate) static CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"AKIA[0-9A-Z]{16}|\bsk-[A-Za-z0-9_-]{16,}|\bgh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|\bxox[abposr]-[A-Za-z0-9-]{10,}|-----BEGIN [A-Z ]*PRIVATE KEY-----|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}",
    )
    .expect("static regex")
});

/// Key names that announce a secret.
pub(crate) fn secret_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('-', "_");
    [
        "password",
        "passwd",
        "secret",
        "token",
        "api_key",
        "apikey",
        "private_key",
        "access_key",
    ]
    .iter()
    .any(|s| n.contains(s))
}

pub(super) fn check(sink: &mut Sink, root: &Node, text: &str) {
    for (line, key) in duplicate_keys(text) {
        sink.push(
            "synapse/duplicate-key",
            line,
            format!(
                "the key {} appears twice in one mapping; parsers disagree on which one wins",
                code(&key)
            ),
        );
    }
    let lines: Vec<&str> = text.lines().collect();
    let mut stack: Vec<(&Node, String)> = vec![(root, String::new())];
    while let Some((node, path)) = stack.pop() {
        match &node.value {
            Value::Map(pairs) => {
                for (key, value) in pairs {
                    let name = key.py_str().unwrap_or_default();
                    let full = super::join_path(&path, &name);
                    placeholder(sink, key, &name);
                    if secret_name(&name) && has_value(value) {
                        sink.at(
                            "synapse/secret",
                            value,
                            format!(
                                "{} looks like a secret; anyone who can pull the image reads the \
                                 label: mount it from a read-only *.env file instead",
                                code(&full)
                            ),
                        );
                    } else {
                        credential(sink, value, &full);
                    }
                    stack.push((value, full));
                }
            }
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate().rev() {
                    let at = format!("{path}[{i}]");
                    credential(sink, item, &at);
                    stack.push((item, at));
                }
            }
            Value::Str(s) => placeholder(sink, node, s),
            Value::Bool(_) => yaml11(sink, node, &lines, &path),
            _ => {}
        }
    }
}

fn has_value(node: &Node) -> bool {
    match &node.value {
        Value::Str(s) => !s.trim().is_empty(),
        Value::Map(m) => !m.is_empty(),
        Value::Seq(s) => !s.is_empty(),
        _ => false,
    }
}

fn placeholder(sink: &mut Sink, node: &Node, text: &str) {
    if let Some(m) = PLACEHOLDER.find(text) {
        sink.at(
            "synapse/placeholder",
            node,
            format!(
                "the template placeholder {} is still here; fill it in",
                code(m.as_str())
            ),
        );
    }
}

/// A string value shaped like a credential (the value is never quoted back).
fn credential(sink: &mut Sink, node: &Node, path: &str) {
    if let Some(s) = node.as_str() {
        if CREDENTIAL.is_match(s) {
            sink.at(
                "synapse/secret",
                node,
                format!(
                    "{} holds what looks like a credential; anyone who can pull the image reads \
                     the label",
                    code(path)
                ),
            );
        }
    }
}

/// A boolean written `yes`, `no`, `on`, `off` (any case): YAML 1.1 readers see a boolean, YAML
/// 1.2 readers a string.
fn yaml11(sink: &mut Sink, node: &Node, lines: &[&str], path: &str) {
    let Some(line) = (node.mark.line as usize)
        .checked_sub(1)
        .and_then(|i| lines.get(i))
    else {
        return;
    };
    let token: String = line
        .chars()
        .skip(node.mark.col.saturating_sub(1) as usize)
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    let lower = token.to_ascii_lowercase();
    if ["yes", "no", "on", "off"].contains(&lower.as_str()) {
        sink.at(
            "synapse/yaml11-scalar",
            node,
            format!(
                "{} is `{token}`: a boolean for YAML 1.1 readers (PyYAML), text for YAML 1.2 \
                 ones; write true/false, or quote it if text is meant",
                code(path)
            ),
        );
    }
}

/// Keys repeated within one mapping, as (line, key), from the parser's events: the tree keeps
/// only the last value of a repeated key (as PyYAML does), so the text is read again.
fn duplicate_keys(text: &str) -> Vec<(u32, String)> {
    use yaml_rust2::parser::{Event, Parser};
    enum Frame {
        Map {
            keys: std::collections::HashSet<String>,
            want_key: bool,
        },
        Seq,
    }
    let mut found = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    // After a value completes, the mapping that holds it expects a key again (and vice versa).
    fn advance(stack: &mut [Frame]) {
        if let Some(Frame::Map { want_key, .. }) = stack.last_mut() {
            *want_key = !*want_key;
        }
    }
    while let Ok((event, mark)) = parser.next_token() {
        match event {
            Event::StreamEnd => break,
            // A mapping or list used as a key is left alone; it still takes the key's turn.
            Event::MappingStart(..) => {
                stack.push(Frame::Map {
                    keys: std::collections::HashSet::new(),
                    want_key: true,
                });
            }
            Event::SequenceStart(..) => stack.push(Frame::Seq),
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
                advance(&mut stack);
            }
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map {
                    keys,
                    want_key: true,
                }) = stack.last_mut()
                {
                    if !keys.insert(value.clone()) && value != "<<" {
                        found.push((u32::try_from(mark.line()).unwrap_or(0), value));
                    }
                }
                advance(&mut stack);
            }
            Event::Alias(_) => advance(&mut stack),
            _ => {}
        }
    }
    found
}
