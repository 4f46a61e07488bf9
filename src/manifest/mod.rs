//! `kamiwaza.json`: loaded in its own key order (unknown keys kept), with a line index so
//! findings can point at the line of a field.

mod json_index;

pub use json_index::{JsonIndex, Span};

use crate::error::{Error, Result};
use crate::fsx;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "kamiwaza.json";

/// A parsed kamiwaza.json. `doc` may be any JSON value; rules report a non-object.
#[derive(Debug)]
pub struct Manifest {
    pub path: PathBuf,
    pub text: String,
    pub doc: Value,
    /// Built on first use: only findings and edits need positions.
    index: std::cell::OnceCell<JsonIndex>,
}

impl Manifest {
    /// Read and parse `path`. Errors carry the file and the line.
    pub fn load(path: &Path) -> Result<Manifest> {
        let text = fsx::read_text(path, fsx::MAX_TEXT_FILE)?;
        Manifest::parse(path, text)
    }

    pub fn parse(path: &Path, text: String) -> Result<Manifest> {
        let doc: Value = serde_json::from_str(&text).map_err(|e| Error::Json {
            path: path.to_owned(),
            line: e.line(),
            col: e.column(),
            message: strip_position(&e.to_string()),
        })?;
        Ok(Manifest {
            path: path.to_owned(),
            text,
            doc,
            index: std::cell::OnceCell::new(),
        })
    }

    pub fn object(&self) -> Option<&Map<String, Value>> {
        self.doc.as_object()
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        self.object()?.get(key)
    }

    pub fn str_field(&self, key: &str) -> Option<&str> {
        self.get(key)?.as_str()
    }

    /// The registry name (`name`), when it is a string.
    pub fn name(&self) -> Option<&str> {
        self.str_field("name")
    }

    pub fn version(&self) -> Option<&str> {
        self.str_field("version")
    }

    /// Line of a key path such as `version` or `tags/2`.
    pub fn line_of(&self, path: &str) -> Option<u32> {
        self.index().line(path)
    }

    pub fn span_of(&self, path: &str) -> Option<Span> {
        self.index().get(path)
    }

    fn index(&self) -> &JsonIndex {
        self.index.get_or_init(|| JsonIndex::build(&self.text))
    }
}

/// serde_json appends " at line L column C"; kz reports the position separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_and_errors() {
        let m = Manifest::parse(Path::new("k.json"), "{\"z\": 1, \"a\": 2}".into()).expect("ok");
        let keys: Vec<_> = m.object().expect("obj").keys().cloned().collect();
        assert_eq!(keys, ["z", "a"]);
        let err = Manifest::parse(Path::new("k.json"), "{\n  \"a\": 1,\n}".into()).unwrap_err();
        match err {
            Error::Json { line, .. } => assert_eq!(line, 3),
            other => panic!("unexpected {other:?}"),
        }
    }
}
