//! The YAML loader: yaml-rust2 parser events → `Node` trees with marks, YAML 1.1 resolution,
//! anchors/aliases expanded (bounded), merge keys applied as PyYAML does.
//!
//! The result is what PyYAML's `yaml.safe_load` returns, with three deliberate differences:
//! timestamps stay strings, unknown tags (and tags whose value cannot be converted) fall back to
//! the untagged meaning instead of failing, and unhashable (collection) keys are accepted.
//!
//! The tree is built from the parser's pull API with an explicit stack, so nothing here recurses
//! over the input's depth; `LoadLimits` bounds both the depth and the node count (aliases are
//! deep copies, so an alias bomb is stopped before it is expanded).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::resolve::{resolve_plain, Implicit};
use super::{Mark, Node, Value, YamlError};

/// Bounds that keep hostile input (alias bombs, deep nesting) from exhausting memory or stack.
#[derive(Clone, Copy, Debug)]
pub struct LoadLimits {
    /// Most nodes the expanded document may hold (aliases count each time they are used).
    pub max_nodes: usize,
    /// Deepest nesting of collections.
    pub max_depth: usize,
}

impl Default for LoadLimits {
    fn default() -> Self {
        LoadLimits { max_nodes: 1_000_000, max_depth: 256 }
    }
}

/// yaml-rust2's scanner refuses more than this many nested flow collections.
const FLOW_DEPTH_LIMIT: usize = 255;

/// The namespace of the YAML 1.1 core tags (`!!str` is `tag:yaml.org,2002:str`).
const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// Load a single-document YAML text. `Ok(None)` when PyYAML's `safe_load` returns `None`: the
/// stream holds no document (empty file, only comments), or the document is null (`---`, `~`).
pub fn load(text: &str, limits: &LoadLimits) -> Result<Option<Node>, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_characters(text)?;
    let mut source = Source::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut events = Events { parser: &mut parser, text, limits };

    events.expect_stream_start()?;
    let (event, marker) = events.next_event()?;
    match event {
        Event::StreamEnd => return Ok(None),
        Event::DocumentStart => {}
        _ => return Err(unexpected(marker)),
    }
    let root = Builder::new(&mut source, limits).build(&mut events)?;
    let (event, marker) = events.next_event()?;
    if event != Event::DocumentEnd {
        return Err(unexpected(marker));
    }
    let (event, marker) = events.next_event()?;
    match event {
        Event::StreamEnd => Ok((!root.is_null()).then_some(root)),
        Event::DocumentStart => Err(YamlError::MultipleDocuments { count: 2 + events.count_rest() }),
        _ => Err(unexpected(marker)),
    }
}

/// PyYAML's reader rejects control characters (yaml-rust2 would even read NUL as the end).
fn check_characters(text: &str) -> Result<(), YamlError> {
    let printable = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}')
            || matches!(c, '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    };
    let Some((offset, bad)) = text.char_indices().find(|&(_, c)| !printable(c)) else {
        return Ok(());
    };
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Err(YamlError::Syntax {
        message: format!(
            "unacceptable character #x{:04x}: special characters are not allowed",
            u32::from(bad)
        ),
        line: to_u32(before.matches('\n').count() + 1),
        col: to_u32(before[line_start..].chars().count() + 1),
    })
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// yaml-rust2 lines are 1-based, columns 0-based.
fn to_mark(marker: Marker) -> Mark {
    Mark { line: to_u32(marker.line()), col: to_u32(marker.col().saturating_add(1)) }
}

/// An event the parser's grammar rules out; reported as a syntax error rather than a panic.
fn unexpected(marker: Marker) -> YamlError {
    let mark = to_mark(marker);
    YamlError::Syntax {
        message: "unexpected YAML parser event".to_owned(),
        line: mark.line,
        col: mark.col,
    }
}

/// The parser's event stream, with scanner errors turned into `YamlError`s.
struct Events<'p, 't> {
    parser: &'p mut Parser<std::str::Chars<'t>>,
    text: &'t str,
    limits: &'p LoadLimits,
}

impl Events<'_, '_> {
    fn next_event(&mut self) -> Result<(Event, Marker), YamlError> {
        self.parser.next_token().map_err(|e| self.scan_error(&e))
    }

    fn expect_stream_start(&mut self) -> Result<(), YamlError> {
        match self.next_event()? {
            (Event::StreamStart, _) => Ok(()),
            (_, marker) => Err(unexpected(marker)),
        }
    }

    /// How many more documents follow (for the error message); stops at the first error.
    fn count_rest(&mut self) -> usize {
        let mut count = 0;
        loop {
            match self.parser.next_token() {
                Ok((Event::DocumentStart, _)) => count += 1,
                Ok((Event::StreamEnd, _)) | Err(_) => return count,
                Ok(_) => {}
            }
        }
    }

    fn scan_error(&self, error: &ScanError) -> YamlError {
        let mark = to_mark(*error.marker());
        match error.info() {
            "recursion limit exceeded" => YamlError::TooDeep {
                limit: self.limits.max_depth.min(FLOW_DEPTH_LIMIT),
                line: mark.line,
            },
            "while parsing node, found unknown anchor" => {
                YamlError::UnknownAlias { name: alias_name(self.text, mark), line: mark.line }
            }
            info => YamlError::Syntax { message: info.to_owned(), line: mark.line, col: mark.col },
        }
    }
}

/// The name of the alias whose `*` is at `mark`.
fn alias_name(text: &str, mark: Mark) -> String {
    let line = text.split('\n').nth(mark.line.saturating_sub(1) as usize).unwrap_or_default();
    let rest: String = line.chars().skip(mark.col.saturating_sub(1) as usize).collect();
    let name = rest.strip_prefix('*').unwrap_or(&rest);
    name.chars().take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c)).collect()
}

/// The source text by line, to correct the few marks yaml-rust2 places elsewhere than PyYAML.
struct Source<'t> {
    text: &'t str,
    ascii: bool,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Byte offset of each character of one non-ASCII line (the last one looked at).
    char_offsets: Option<(u32, Vec<usize>)>,
}

impl<'t> Source<'t> {
    fn new(text: &'t str) -> Self {
        let line_starts =
            std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Source { text, ascii: text.is_ascii(), line_starts, char_offsets: None }
    }

    /// Line `line` (1-based) without its line break.
    fn line(&self, line: u32) -> Option<&'t str> {
        let index = (line as usize).checked_sub(1)?;
        let start = *self.line_starts.get(index)?;
        let end = self.line_starts.get(index + 1).map_or(self.text.len(), |&e| e - 1);
        let text = self.text.get(start..end)?;
        Some(text.strip_suffix('\r').unwrap_or(text))
    }

    /// The line's text before column `col` (1-based) and from it on.
    fn split_at(&mut self, mark: Mark) -> Option<(&'t str, &'t str)> {
        let line = self.line(mark.line)?;
        let index = (mark.col as usize).checked_sub(1)?;
        let offset = if self.ascii || line.is_ascii() {
            index
        } else {
            if self.char_offsets.as_ref().is_none_or(|(l, _)| *l != mark.line) {
                let offsets = line.char_indices().map(|(i, _)| i).collect();
                self.char_offsets = Some((mark.line, offsets));
            }
            let offsets = &self.char_offsets.as_ref()?.1;
            offsets.get(index).copied().unwrap_or(line.len())
        };
        Some((line.get(..offset)?, line.get(offset..)?))
    }

    /// yaml-rust2 starts an indentless sequence (`key:` then `- a` at the key's indentation)
    /// at its first item; PyYAML at the `-`.
    fn sequence_start(&mut self, mark: Mark) -> Mark {
        let Some((before, after)) = self.split_at(mark) else { return mark };
        if after.starts_with(['-', '[']) {
            return mark;
        }
        let before = before.trim_end_matches([' ', '\t']);
        match before.strip_suffix('-') {
            Some(head) => Mark { line: mark.line, col: to_u32(head.chars().count() + 1) },
            None => mark,
        }
    }

    /// yaml-rust2 marks a block scalar at its first content line; PyYAML at its `|`/`>`
    /// header, which is on the closest non-blank line above.
    fn block_scalar_start(&mut self, mark: Mark) -> Mark {
        if let Some((_, after)) = self.split_at(mark) {
            if after.starts_with(['|', '>']) {
                return mark;
            }
        }
        let mut line = mark.line;
        while line > 1 {
            line -= 1;
            let Some(text) = self.line(line) else { break };
            if text.trim().is_empty() {
                continue;
            }
            return match block_indicator_col(text) {
                Some(col) => Mark { line, col },
                None => mark,
            };
        }
        mark
    }
}

/// Column (1-based) of the `|`/`>` that introduces a block scalar on `line`: the first one that
/// follows a blank and is followed only by indicators, then blanks or a comment.
fn block_indicator_col(line: &str) -> Option<u32> {
    let mut previous_blank = true;
    for (col, (offset, c)) in line.char_indices().enumerate() {
        if matches!(c, '|' | '>') && previous_blank {
            let rest = line[offset + 1..]
                .trim_start_matches(|c: char| c.is_ascii_digit() || c == '+' || c == '-');
            let blanks = rest.trim_start_matches([' ', '\t']);
            if blanks.is_empty() || (blanks.starts_with('#') && blanks.len() < rest.len()) {
                return Some(to_u32(col + 1));
            }
        }
        previous_blank = matches!(c, ' ' | '\t');
    }
    None
}

/// A tag, reduced to what the loader acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TagKind {
    /// No tag: plain scalars are resolved.
    Implicit,
    /// The non-specific `!`: a scalar is a string.
    NonSpecific,
    Str,
    Int,
    Float,
    Bool,
    Null,
    Merge,
    /// `!!map`, `!!seq`, `!!timestamp`, local tags…: the untagged meaning is kept.
    Other,
}

impl TagKind {
    fn of(tag: Option<&Tag>) -> Self {
        let Some(tag) = tag else { return TagKind::Implicit };
        if tag.handle.is_empty() && tag.suffix == "!" {
            return TagKind::NonSpecific;
        }
        let full = format!("{}{}", tag.handle, tag.suffix);
        match full.strip_prefix(CORE_TAG_PREFIX) {
            Some("str") => TagKind::Str,
            Some("int") => TagKind::Int,
            Some("float") => TagKind::Float,
            Some("bool") => TagKind::Bool,
            Some("null") => TagKind::Null,
            Some("merge") => TagKind::Merge,
            _ => TagKind::Other,
        }
    }
}

/// The value of a scalar, and whether it is the merge key `<<`.
fn scalar_value(text: String, style: TScalarStyle, tag: TagKind) -> (Value, bool) {
    let converted = match tag {
        TagKind::Str | TagKind::NonSpecific => Some(Value::Str(text.clone())),
        TagKind::Null => Some(Value::Null),
        TagKind::Merge => return (Value::Str(text), true),
        TagKind::Int => tagged_int(&text).map(Value::Int),
        TagKind::Float => tagged_float(&text).map(Value::Float),
        TagKind::Bool => tagged_bool(&text).map(Value::Bool),
        TagKind::Implicit | TagKind::Other => None,
    };
    match converted {
        Some(value) => (value, false),
        None if style == TScalarStyle::Plain => resolved_plain(text),
        None => (Value::Str(text), false),
    }
}

/// A plain scalar under YAML 1.1 implicit resolution.
fn resolved_plain(text: String) -> (Value, bool) {
    let value = match resolve_plain(&text) {
        Implicit::Null => Value::Null,
        Implicit::Bool(b) => Value::Bool(b),
        Implicit::Int(i) => Value::Int(i),
        Implicit::Float(f) => Value::Float(f),
        Implicit::Merge => return (Value::Str(text), true),
        Implicit::Timestamp | Implicit::ValueKey | Implicit::Str => Value::Str(text),
    };
    (value, false)
}

/// PyYAML's `construct_yaml_int`, for `!!int` (whose text may be quoted).
fn tagged_int(text: &str) -> Option<i128> {
    match resolve_plain(text) {
        Implicit::Int(i) => Some(i),
        _ => None,
    }
}

/// PyYAML's `construct_yaml_float`: `_` dropped, `.inf`/`.nan`, base 60, else Python's `float`.
fn tagged_float(text: &str) -> Option<f64> {
    let cleaned = text.replace('_', "").to_lowercase();
    let (sign, digits) = match cleaned.strip_prefix('-') {
        Some(rest) => (-1.0, rest),
        None => (1.0, cleaned.strip_prefix('+').unwrap_or(&cleaned)),
    };
    let magnitude = match digits {
        ".inf" => f64::INFINITY,
        ".nan" => f64::NAN,
        _ if digits.contains(':') => {
            let mut total = 0.0;
            for part in digits.split(':') {
                total = total * 60.0 + part.trim().parse::<f64>().ok()?;
            }
            total
        }
        _ => digits.trim().parse::<f64>().ok()?,
    };
    Some(sign * magnitude)
}

/// PyYAML's `construct_yaml_bool`.
fn tagged_bool(text: &str) -> Option<bool> {
    match text.to_lowercase().as_str() {
        "yes" | "true" | "on" => Some(true),
        "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// A finished node on its way into its parent.
struct Item {
    node: Node,
    /// A `<<` key (plain, or tagged `!!merge`).
    merge_key: bool,
    /// An empty plain scalar (a missing value), which PyYAML places right after its key.
    empty: bool,
    /// Where the event was (for an alias, the `*`, not the anchored node).
    event_mark: Mark,
}

/// An anchored node, kept to be copied for each alias.
struct Anchored {
    node: Node,
    /// Nodes counted while it was built: what each copy adds to the total.
    size: usize,
    merge_key: bool,
}

/// A collection being built.
struct Frame {
    mark: Mark,
    anchor: usize,
    /// The node count before this collection started.
    nodes_before: usize,
    body: Body,
}

enum Body {
    Seq(Vec<Node>),
    Map(MapBody),
}

#[derive(Default)]
struct MapBody {
    /// Pairs brought in by `<<` keys, in PyYAML's `flatten_mapping` order.
    merged: Vec<(Node, Node)>,
    own: Vec<(Node, Node)>,
    /// A key waiting for its value.
    key: Option<Item>,
    /// A first key has been seen (it fixes the mapping's mark).
    keyed: bool,
}

/// Builds one document's tree from parser events, iteratively.
struct Builder<'a, 't> {
    source: &'a mut Source<'t>,
    limits: &'a LoadLimits,
    nodes: usize,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
}

impl<'a, 't> Builder<'a, 't> {
    fn new(source: &'a mut Source<'t>, limits: &'a LoadLimits) -> Self {
        Builder { source, limits, nodes: 0, stack: Vec::new(), anchors: HashMap::new() }
    }

    /// Consume the events of one node (the document's root) and return it.
    fn build(mut self, events: &mut Events<'_, '_>) -> Result<Node, YamlError> {
        loop {
            let (event, marker) = events.next_event()?;
            let mark = to_mark(marker);
            let item = match event {
                Event::Scalar(text, style, anchor, tag) => {
                    self.scalar(text, style, anchor, tag.as_ref(), mark)?
                }
                Event::Alias(id) => self.alias(id, mark, events.text)?,
                Event::SequenceStart(anchor, _) => {
                    let mark = self.source.sequence_start(mark);
                    self.open(Body::Seq(Vec::new()), anchor, mark)?;
                    continue;
                }
                Event::MappingStart(anchor, _) => {
                    self.open(Body::Map(MapBody::default()), anchor, mark)?;
                    continue;
                }
                Event::SequenceEnd | Event::MappingEnd => self.close(marker)?,
                _ => return Err(unexpected(marker)),
            };
            if let Some(root) = self.attach(item)? {
                return Ok(root);
            }
        }
    }

    fn count(&mut self, nodes: usize, mark: Mark) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(nodes);
        if self.nodes > self.limits.max_nodes {
            return Err(YamlError::TooManyNodes { limit: self.limits.max_nodes, line: mark.line });
        }
        Ok(())
    }

    fn scalar(
        &mut self,
        text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        mark: Mark,
    ) -> Result<Item, YamlError> {
        self.count(1, mark)?;
        let empty = text.is_empty() && style == TScalarStyle::Plain && tag.is_none();
        let node_mark = match style {
            TScalarStyle::Literal | TScalarStyle::Folded => self.source.block_scalar_start(mark),
            _ => mark,
        };
        let (value, merge_key) = scalar_value(text, style, TagKind::of(tag));
        let node = Node { value, mark: node_mark };
        if anchor != 0 {
            let anchored = Anchored { node: node.clone(), size: 1, merge_key };
            self.anchors.insert(anchor, anchored);
        }
        Ok(Item { node, merge_key, empty: empty && anchor == 0, event_mark: mark })
    }

    fn alias(&mut self, id: usize, mark: Mark, text: &str) -> Result<Item, YamlError> {
        let Some(size) = self.anchors.get(&id).map(|a| a.size) else {
            // Known to the parser but not finished: an alias inside its own anchor.
            return Err(YamlError::UnknownAlias { name: alias_name(text, mark), line: mark.line });
        };
        self.count(size, mark)?;
        let anchored = &self.anchors[&id];
        Ok(Item {
            node: anchored.node.clone(),
            merge_key: anchored.merge_key,
            empty: false,
            event_mark: mark,
        })
    }

    fn open(&mut self, body: Body, anchor: usize, mark: Mark) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(YamlError::TooDeep { limit: self.limits.max_depth, line: mark.line });
        }
        let nodes_before = self.nodes;
        self.count(1, mark)?;
        self.stack.push(Frame { mark, anchor, nodes_before, body });
        Ok(())
    }

    fn close(&mut self, marker: Marker) -> Result<Item, YamlError> {
        let frame = self.stack.pop().ok_or_else(|| unexpected(marker))?;
        let value = match frame.body {
            Body::Seq(items) => Value::Seq(items),
            Body::Map(MapBody { key: Some(_), .. }) => return Err(unexpected(marker)),
            Body::Map(MapBody { mut merged, own, .. }) => {
                merged.extend(own);
                Value::Map(dedupe(merged))
            }
        };
        let node = Node { value, mark: frame.mark };
        if frame.anchor != 0 {
            let size = self.nodes - frame.nodes_before;
            let anchored = Anchored { node: node.clone(), size, merge_key: false };
            self.anchors.insert(frame.anchor, anchored);
        }
        Ok(Item { node, merge_key: false, empty: false, event_mark: frame.mark })
    }

    /// Put a finished node into the collection being built; the root comes back out.
    fn attach(&mut self, mut item: Item) -> Result<Option<Node>, YamlError> {
        let Some(frame) = self.stack.last_mut() else { return Ok(Some(item.node)) };
        match &mut frame.body {
            Body::Seq(items) => items.push(item.node),
            Body::Map(map) => match map.key.take() {
                None => {
                    if !map.keyed {
                        // A block mapping's event sits at the first `:`; it starts at its key.
                        map.keyed = true;
                        frame.mark = earlier(frame.mark, item.event_mark);
                    }
                    map.key = Some(item);
                }
                Some(key) if key.merge_key => merge(&mut map.merged, item.node)?,
                Some(key) => {
                    if item.empty {
                        item.node.mark = key.event_mark;
                    }
                    map.own.push((key.node, item.node));
                }
            },
        }
        Ok(None)
    }
}

fn earlier(a: Mark, b: Mark) -> Mark {
    if (b.line, b.col) < (a.line, a.col) {
        b
    } else {
        a
    }
}

/// PyYAML's `flatten_mapping` for one `<<: value`: a mapping's pairs, or those of a list of
/// mappings with the later mappings first (so that, the last value winning, earlier ones
/// take precedence).
fn merge(merged: &mut Vec<(Node, Node)>, value: Node) -> Result<(), YamlError> {
    let bad = YamlError::BadMerge { line: value.mark.line };
    match value.value {
        Value::Map(pairs) => merged.extend(pairs),
        Value::Seq(items) => {
            if !items.iter().all(|item| matches!(item.value, Value::Map(_))) {
                return Err(bad);
            }
            for item in items.into_iter().rev() {
                if let Value::Map(pairs) = item.value {
                    merged.extend(pairs);
                }
            }
        }
        _ => return Err(bad),
    }
    Ok(())
}

/// Python dict semantics for a list of pairs: a repeated key keeps the position of its first
/// occurrence and the value of its last.
fn dedupe(pairs: Vec<(Node, Node)>) -> Vec<(Node, Node)> {
    let firsts = first_occurrences(&pairs);
    if firsts.iter().enumerate().all(|(i, &first)| i == first) {
        return pairs;
    }
    let mut out: Vec<(Node, Node)> = Vec::with_capacity(pairs.len());
    let mut slot = vec![0; pairs.len()];
    for (i, (key, value)) in pairs.into_iter().enumerate() {
        let first = firsts[i];
        if first == i {
            slot[i] = out.len();
            out.push((key, value));
        } else {
            out[slot[first]].1 = value;
        }
    }
    out
}

/// For each pair, the index of the first pair with an equal key.
fn first_occurrences(pairs: &[(Node, Node)]) -> Vec<usize> {
    const LINEAR_MAX: usize = 16;
    let mut firsts: Vec<usize> = (0..pairs.len()).collect();
    if pairs.len() <= LINEAR_MAX {
        for i in 1..pairs.len() {
            if let Some(j) = (0..i).find(|&j| firsts[j] == j && py_eq(&pairs[j].0, &pairs[i].0)) {
                firsts[i] = j;
            }
        }
        return firsts;
    }
    let mut seen: HashMap<KeyRepr<'_>, usize> = HashMap::with_capacity(pairs.len());
    let mut collections: Vec<usize> = Vec::new();
    for (i, (key, _)) in pairs.iter().enumerate() {
        match KeyRepr::of(&key.value) {
            Some(KeyRepr::Unique) => {}
            Some(repr) => firsts[i] = *seen.entry(repr).or_insert(i),
            None => match collections.iter().find(|&&j| py_eq(&pairs[j].0, key)) {
                Some(&j) => firsts[i] = j,
                None => collections.push(i),
            },
        }
    }
    firsts
}

/// A scalar key as Python hashes it: `True == 1 == 1.0`, `nan` equals nothing.
#[derive(Debug, PartialEq, Eq, Hash)]
enum KeyRepr<'v> {
    Null,
    Int(i128),
    Float(u64),
    Str(&'v str),
    Unique,
}

impl<'v> KeyRepr<'v> {
    /// `None` for collections.
    fn of(value: &'v Value) -> Option<Self> {
        Some(match value {
            Value::Null => KeyRepr::Null,
            Value::Bool(b) => KeyRepr::Int(i128::from(*b)),
            Value::Int(i) => KeyRepr::Int(*i),
            Value::Float(f) if f.is_nan() => KeyRepr::Unique,
            Value::Float(f) => match float_as_int(*f) {
                Some(i) => KeyRepr::Int(i),
                None => KeyRepr::Float(f.to_bits()),
            },
            Value::Str(s) => KeyRepr::Str(s),
            Value::Seq(_) | Value::Map(_) => return None,
        })
    }
}

/// The integer equal to `f`, if there is one in range.
fn float_as_int(f: f64) -> Option<i128> {
    // 2^127: the floats strictly inside (-2^127, 2^127) convert exactly when integral.
    const BOUND: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    #[allow(clippy::cast_possible_truncation)]
    (f.fract() == 0.0 && f.abs() < BOUND).then(|| f as i128)
}

/// Python's `==` between two loaded values (numbers compare across bool, int and float).
fn py_eq(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| py_eq(p, q)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| y.iter().any(|(k2, v2)| py_eq(k, k2) && py_eq(v, v2)))
        }
        (Value::Seq(_) | Value::Map(_), _) | (_, Value::Seq(_) | Value::Map(_)) => false,
        (x, y) => match (KeyRepr::of(x), KeyRepr::of(y)) {
            (Some(KeyRepr::Unique), _) | (_, Some(KeyRepr::Unique)) => false,
            (p, q) => p == q,
        },
    }
}
