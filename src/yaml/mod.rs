//! YAML documents as PyYAML sees them: a loader that keeps line numbers and resolves plain
//! scalars with YAML 1.1 rules (`load`; `load_compose` reads compose files as Docker Compose's
//! go-yaml v3 does where the two differ, see `Scalars`), and an emitter that writes what PyYAML's `SafeDumper`
//! writes, byte for byte (`dump`). The reference tools are Python; their output is the contract.

mod emit;
mod load;
mod resolve;

pub use emit::{dump, DumpOptions};
pub use load::{load, load_as, load_compose, LoadLimits};
pub(crate) use resolve::python_repr;
pub use resolve::{resolve_plain, resolve_plain_as, Implicit, Scalars};

/// Where a node starts in its source file (1-based line and column).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mark {
    pub line: u32,
    pub col: u32,
}

/// One YAML node: a value plus where it came from. Nodes built by code carry `Mark::default()`.
#[derive(Clone, Debug)]
pub struct Node {
    pub value: Value,
    pub mark: Mark,
}

/// A YAML value after tag resolution, with mapping order kept (PyYAML dicts keep insertion order).
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// Why a YAML text could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum YamlError {
    #[error("{message} (line {line}, column {col})")]
    Syntax {
        message: String,
        line: u32,
        col: u32,
    },
    #[error("alias expansion exceeds {limit} nodes (line {line}); is this an alias bomb?")]
    TooManyNodes { limit: usize, line: u32 },
    #[error("nesting deeper than {limit} levels (line {line})")]
    TooDeep { limit: usize, line: u32 },
    #[error("unknown alias *{name} (line {line})")]
    UnknownAlias { name: String, line: u32 },
    #[error("merge key `<<` needs a mapping or a list of mappings (line {line})")]
    BadMerge { line: u32 },
    #[error("the file holds {count} YAML documents; one was expected")]
    MultipleDocuments { count: usize },
}

impl Node {
    pub fn new(value: Value) -> Self {
        Node {
            value,
            mark: Mark::default(),
        }
    }

    pub fn str(s: impl Into<String>) -> Self {
        Node::new(Value::Str(s.into()))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&Vec<(Node, Node)>> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut Vec<(Node, Node)>> {
        match &mut self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&Vec<Node>> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    /// Value of `key` in a mapping whose keys are strings (the last one wins, as in PyYAML).
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?
            .iter_mut()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// Python's `str()` of a scalar, as the reference scripts see it when they stringify.
    pub fn py_str(&self) -> Option<String> {
        Some(match &self.value {
            Value::Null => "None".to_owned(),
            Value::Bool(true) => "True".to_owned(),
            Value::Bool(false) => "False".to_owned(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => resolve::py_float_repr(*f),
            Value::Str(s) => s.clone(),
            Value::Seq(_) | Value::Map(_) => return None,
        })
    }

    /// A short human name for the node's type, for findings ("a list", "a mapping").
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Structural equality that ignores marks and mapping order (what `--check` compares when the
/// bytes differ but the meaning may not). Floats compare by value, as Python does.
pub fn same_data(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        #[allow(clippy::cast_precision_loss)]
        (Value::Int(x), Value::Float(y)) | (Value::Float(y), Value::Int(x)) => (*x as f64) == *y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_data(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    y.iter()
                        .any(|(k2, v2)| same_data(k, k2) && same_data(v, v2))
                })
        }
        _ => false,
    }
}
