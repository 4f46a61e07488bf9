//! A line index over JSON text: for every key path (`version`, `tags/0`, `env_defaults/URL`) the
//! line it sits on and the byte range of its value. serde_json has no spans; findings need lines,
//! and `kz bump` edits one value in place so the rest of the file stays exactly as written.

use std::collections::HashMap;

/// Where one value sits in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// 1-based line of the key (or of the element, in arrays).
    pub line: u32,
    /// Byte range of the value.
    pub start: usize,
    pub end: usize,
}

/// Key paths of a JSON document mapped to spans. Built only from text serde_json accepted.
#[derive(Debug, Default)]
pub struct JsonIndex {
    spans: HashMap<String, Span>,
}

impl JsonIndex {
    pub fn build(text: &str) -> Self {
        let mut scanner = Scanner {
            b: text.as_bytes(),
            pos: 0,
            line: 1,
            spans: HashMap::new(),
        };
        scanner.skip_ws();
        scanner.value("", 1);
        JsonIndex {
            spans: scanner.spans,
        }
    }

    pub fn get(&self, path: &str) -> Option<Span> {
        self.spans.get(path).copied()
    }

    pub fn line(&self, path: &str) -> Option<u32> {
        self.get(path).map(|s| s.line)
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    line: u32,
    spans: HashMap<String, Span>,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
        }
        self.pos += 1;
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.bump();
        }
    }

    /// Scan one value starting at `pos`; record its span under `path` (when not the root).
    fn value(&mut self, path: &str, line: u32) {
        let start = self.pos;
        match self.peek() {
            Some(b'{') => self.object(path),
            Some(b'[') => self.array(path),
            Some(b'"') => {
                self.string();
            }
            Some(_) => {
                while matches!(self.peek(), Some(c) if !b",]} \t\r\n".contains(&c)) {
                    self.bump();
                }
            }
            None => return,
        }
        if !path.is_empty() {
            self.spans.entry(path.to_owned()).or_insert(Span {
                line,
                start,
                end: self.pos,
            });
        }
    }

    fn object(&mut self, path: &str) {
        self.bump();
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'}') | None => break,
                Some(b',') => {
                    self.bump();
                    continue;
                }
                _ => {}
            }
            let line = self.line;
            let key = self.string();
            self.skip_ws();
            if self.peek() == Some(b':') {
                self.bump();
            }
            self.skip_ws();
            let child = join(path, &key);
            // JSON keeps the last duplicate; so does the index.
            self.spans.remove(&child);
            self.value(&child, line);
        }
        self.bump();
    }

    fn array(&mut self, path: &str) {
        self.bump();
        let mut i = 0usize;
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b']') | None => break,
                Some(b',') => {
                    self.bump();
                    continue;
                }
                _ => {}
            }
            let line = self.line;
            self.value(&join(path, &i.to_string()), line);
            i += 1;
        }
        self.bump();
    }

    /// Scan a string literal and return its decoded text (escapes decoded through serde_json).
    fn string(&mut self) -> String {
        let start = self.pos;
        self.bump();
        while let Some(c) = self.peek() {
            match c {
                b'\\' => {
                    self.bump();
                    self.bump();
                }
                b'"' => {
                    self.bump();
                    break;
                }
                _ => self.bump(),
            }
        }
        let raw = std::str::from_utf8(&self.b[start..self.pos]).unwrap_or("");
        serde_json::from_str::<String>(raw).unwrap_or_default()
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}/{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_spans() {
        let text = "{\n  \"name\": \"a\",\n  \"tags\": [\n    \"x\",\n    1\n  ],\n  \"o\": {\"k\\\"q\": true}\n}";
        let idx = JsonIndex::build(text);
        assert_eq!(idx.line("name"), Some(2));
        assert_eq!(idx.line("tags"), Some(3));
        assert_eq!(idx.line("tags/1"), Some(5));
        assert_eq!(idx.line("o/k\"q"), Some(7));
        let span = idx.get("name").expect("name");
        assert_eq!(&text[span.start..span.end], "\"a\"");
        assert_eq!(idx.line("missing"), None);
    }
}
