//! The YAML loader: yaml-rust2 parser events → `Node` trees with marks, YAML 1.1 resolution,
//! anchors/aliases expanded (bounded), merge keys applied as PyYAML does.
//!
//! The contract is PyYAML's `yaml.safe_load` (checked differentially against PyYAML 6), with
//! deliberate differences: timestamps stay strings; unknown tags, and core tags whose value does
//! not convert, keep the untagged meaning instead of failing; `=` and `<<` as values are strings.
//!
//! yaml-rust2 parses YAML 1.2. Where it reads a text differently from PyYAML, the loader
//! corrects it: block scalars that end the text, marks (placed where PyYAML places them), tabs,
//! anchor names, duplicate anchors, empty keys, and continuation lines of quoted scalars and flow
//! collections that are not indented (those are parsed again from a reindented copy). Left as
//! they are: NEL, LS and PS are not line breaks, and a few malformed texts that one of the two
//! accepts and the other refuses.
//!
//! The tree is built from the parser's pull API with an explicit stack, so nothing here recurses
//! over the input's depth; `LoadLimits` bounds both the depth and the node count (aliases are
//! deep copies, so an alias bomb is stopped before it is expanded).

use std::borrow::Cow;
use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, Scanner, TScalarStyle, Token, TokenType};

use super::resolve::{resolve_plain, resolve_plain_as, Implicit, Scalars};
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
        LoadLimits {
            max_nodes: 1_000_000,
            max_depth: 256,
        }
    }
}

/// yaml-rust2's scanner refuses more than this many nested flow collections.
const FLOW_DEPTH_LIMIT: usize = 255;

/// Starts the text of the placeholder for a recursive alias: no loaded string holds a NUL.
const RECURSIVE: char = '\0';

/// yaml-rust2's complaints about lines of a quoted scalar or of a flow collection that are not
/// indented deeper than the enclosing block, which PyYAML does not require (see `load`).
const QUOTED_INDENT: &str = "invalid indentation in quoted scalar";
const FLOW_INDENT: &str = "invalid indentation";
const FLOW_SCALAR_INDENT: &str = "invalid indentation in flow construct";

/// How many lines or quoted scalars `load` reindents before it gives up.
const MAX_REINDENTS: usize = 64;

/// The namespace of the YAML 1.1 core tags (`!!str` is `tag:yaml.org,2002:str`).
const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// Load a single-document YAML text. `Ok(None)` when PyYAML's `safe_load` returns `None`: the
/// stream holds no document (empty file, only comments), or the document is null (`---`, `~`).
pub fn load(text: &str, limits: &LoadLimits) -> Result<Option<Node>, YamlError> {
    load_as(text, limits, Scalars::Yaml11)
}

/// `load` for a compose file: plain scalars resolve as Docker Compose (go-yaml v3) reads them
/// where it differs from YAML 1.1 (see `Scalars::Compose`).
pub fn load_compose(text: &str, limits: &LoadLimits) -> Result<Option<Node>, YamlError> {
    load_as(text, limits, Scalars::Compose)
}

/// `load` with an explicit scalar-resolution mode.
pub fn load_as(
    text: &str,
    limits: &LoadLimits,
    scalars: Scalars,
) -> Result<Option<Node>, YamlError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    check_characters(text)?;
    let mut text = Cow::Borrowed(text);
    let mut attempts = 0;
    loop {
        let error = match load_text(&text, limits, scalars) {
            Err(YamlError::Syntax { message, line, col }) => (message, Mark { line, col }),
            result => return result,
        };
        let fixed = match error.0.as_str() {
            _ if attempts >= MAX_REINDENTS => None,
            QUOTED_INDENT => reindent_quoted(&text, error.1),
            FLOW_INDENT | FLOW_SCALAR_INDENT => reindent_flow_line(&text, error.1.line),
            _ => None,
        };
        match fixed {
            Some(fixed) => text = Cow::Owned(fixed),
            None => {
                let (message, Mark { line, col }) = error;
                return Err(YamlError::Syntax { message, line, col });
            }
        }
        attempts += 1;
    }
}

/// `load` of a text with no BOM and no forbidden character.
fn load_text(text: &str, limits: &LoadLimits, scalars: Scalars) -> Result<Option<Node>, YamlError> {
    let mut source = Source::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut events = Events {
        parser: &mut parser,
        text,
        limits,
    };

    events.expect_stream_start()?;
    let (event, marker) = events.next_event()?;
    match event {
        Event::StreamEnd => return check_tabs(text, &[]).map(|()| None),
        Event::DocumentStart => {}
        _ => return Err(unexpected(marker)),
    }
    let mut builder = Builder::new(&mut source, limits, text.contains('\t'));
    builder.scalars = scalars;
    let root = builder.build(&mut events)?;
    let Builder {
        tab_spans,
        anchored,
        construct_error,
        recursive,
        ..
    } = builder;
    events.expect_single_document()?;
    if let Some(spans) = tab_spans {
        check_tabs(text, &spans)?;
    }
    if anchored > 0 {
        check_anchors(text)?;
    }
    // PyYAML constructs the document only once it is fully parsed.
    if let Some(error) = construct_error {
        return Err(error);
    }
    if recursive {
        check_recursion(&root)?;
    }
    Ok((!root.is_null()).then_some(root))
}

/// yaml-rust2 (YAML 1.2) wants the continuation lines of a multi-line quoted scalar indented
/// deeper than the enclosing block; PyYAML does not mind. Folding drops a continuation line's
/// leading blanks, so indenting them past the opening quote (at `mark`) keeps the value.
fn reindent_quoted(text: &str, mark: Mark) -> Option<String> {
    let start = Source::new(text).offset(mark)?;
    let quote = text[start..]
        .chars()
        .next()
        .filter(|c| matches!(c, '"' | '\''))?;
    let end = quoted_end(text, start);
    let body = &text[start..end];
    if body.len() < 2 || !body.ends_with(quote) {
        return None;
    }
    // A document marker inside is an error for PyYAML too.
    let marker = |line: &str| {
        (line.starts_with("---") || line.starts_with("..."))
            && line[3..].chars().next().is_none_or(|c| c.is_whitespace())
    };
    if body.split('\n').skip(1).any(marker) {
        return None;
    }
    let pad = format!("\n{}", " ".repeat(mark.col as usize));
    Some(format!(
        "{}{}{}",
        &text[..start],
        body.replace('\n', &pad),
        &text[end..]
    ))
}

/// Indent line `line` of a flow collection past the end of the content line above it (so past
/// the enclosing block's indentation). Inside a flow collection, leading blanks are not content.
fn reindent_flow_line(text: &str, line: u32) -> Option<String> {
    let source = Source::new(text);
    let start = *source.line_starts.get((line as usize).checked_sub(1)?)?;
    let mut width = 0;
    for above in (1..line).rev().filter_map(|l| source.line(l)) {
        width = width.max(above.chars().count());
        let content = above.trim();
        if !content.is_empty() && !content.starts_with('#') {
            break;
        }
    }
    let current = source.line(line)?;
    let indent = current.len() - current.trim_start_matches(' ').len();
    let pad = (width + 1).checked_sub(indent).filter(|&pad| pad > 0)?;
    Some(format!(
        "{}{}{}",
        &text[..start],
        " ".repeat(pad),
        &text[start..]
    ))
}

/// PyYAML's reader rejects control characters (yaml-rust2 would even read NUL as the end).
fn check_characters(text: &str) -> Result<(), YamlError> {
    let printable = |c: char| {
        matches!(c, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}' | '\u{A0}'..='\u{D7FF}')
            || matches!(c, '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
    };
    match text.char_indices().find(|&(_, c)| !printable(c)) {
        None => Ok(()),
        Some((offset, bad)) => Err(syntax_at(
            text,
            offset,
            format!(
                "unacceptable character #x{:04x}: special characters are not allowed",
                u32::from(bad)
            ),
        )),
    }
}

/// A syntax error at byte `offset` of `text`.
fn syntax_at(text: &str, offset: usize, message: String) -> YamlError {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    YamlError::Syntax {
        message,
        line: to_u32(before.matches('\n').count() + 1),
        col: to_u32(before[line_start..].chars().count() + 1),
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// yaml-rust2 lines are 1-based, columns 0-based.
fn to_mark(marker: Marker) -> Mark {
    Mark {
        line: to_u32(marker.line()),
        col: to_u32(marker.col().saturating_add(1)),
    }
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

    /// The line of the next event, if it parses.
    fn peek_line(&mut self) -> Option<usize> {
        self.parser.peek().ok().map(|(_, marker)| marker.line())
    }

    fn expect_stream_start(&mut self) -> Result<(), YamlError> {
        match self.next_event()? {
            (Event::StreamStart, _) => Ok(()),
            (_, marker) => Err(unexpected(marker)),
        }
    }

    /// After the first document the stream must end, as in PyYAML's `get_single_node`.
    fn expect_single_document(&mut self) -> Result<(), YamlError> {
        let (event, marker) = self.next_event()?;
        if event != Event::DocumentEnd {
            return Err(unexpected(marker));
        }
        match self.next_event()? {
            (Event::StreamEnd, _) => Ok(()),
            (Event::DocumentStart, _) => Err(YamlError::MultipleDocuments {
                count: 2 + self.count_rest(),
            }),
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
            "while parsing node, found unknown anchor" => YamlError::UnknownAlias {
                name: alias_name(self.text, mark),
                line: mark.line,
            },
            info => YamlError::Syntax {
                message: info.to_owned(),
                line: mark.line,
                col: mark.col,
            },
        }
    }
}

/// The name of the alias whose `*` is at `mark`.
fn alias_name(text: &str, mark: Mark) -> String {
    let line = text
        .split('\n')
        .nth(mark.line.saturating_sub(1) as usize)
        .unwrap_or_default();
    let rest: String = line
        .chars()
        .skip(mark.col.saturating_sub(1) as usize)
        .collect();
    let name = rest.strip_prefix('*').unwrap_or(&rest);
    name.chars()
        .take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c))
        .collect()
}

/// The source text by line, to correct what yaml-rust2 does differently from PyYAML.
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
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Source {
            text,
            ascii: text.is_ascii(),
            line_starts,
            char_offsets: None,
        }
    }

    /// Line `line` (1-based) without its line break.
    fn line(&self, line: u32) -> Option<&'t str> {
        let index = (line as usize).checked_sub(1)?;
        let start = *self.line_starts.get(index)?;
        let end = self
            .line_starts
            .get(index + 1)
            .map_or(self.text.len(), |&e| e - 1);
        let text = self.text.get(start..end)?;
        Some(text.strip_suffix('\r').unwrap_or(text))
    }

    /// Byte offset of `mark` within its line.
    fn col_offset(&mut self, mark: Mark) -> Option<usize> {
        let line = self.line(mark.line)?;
        let index = (mark.col as usize).checked_sub(1)?;
        if self.ascii || line.is_ascii() {
            return Some(index.min(line.len()));
        }
        if self
            .char_offsets
            .as_ref()
            .is_none_or(|(l, _)| *l != mark.line)
        {
            let offsets = line.char_indices().map(|(i, _)| i).collect();
            self.char_offsets = Some((mark.line, offsets));
        }
        let offsets = &self.char_offsets.as_ref()?.1;
        Some(offsets.get(index).copied().unwrap_or(line.len()))
    }

    /// Byte offset of `mark` in the text.
    fn offset(&mut self, mark: Mark) -> Option<usize> {
        let line_start = *self.line_starts.get((mark.line as usize).checked_sub(1)?)?;
        Some(line_start + self.col_offset(mark)?)
    }

    /// The line's text before `mark`, and from it on.
    fn split_at(&mut self, mark: Mark) -> Option<(&'t str, &'t str)> {
        let line = self.line(mark.line)?;
        let offset = self.col_offset(mark)?;
        Some((line.get(..offset)?, line.get(offset..)?))
    }

    /// yaml-rust2 starts an indentless sequence (`key:` then `- a` at the key's indentation)
    /// after its first `- `; PyYAML at the `-`. Only a mapping value can be indentless.
    fn sequence_start(&mut self, mark: Mark, map_value: bool) -> Mark {
        let Some((before, _)) = self.split_at(mark).filter(|_| map_value) else {
            return mark;
        };
        let head = before.trim_end_matches([' ', '\t']).strip_suffix('-');
        match head.filter(|head| head.is_empty() || head.ends_with([' ', '\t'])) {
            Some(head) => Mark {
                line: mark.line,
                col: to_u32(head.chars().count() + 1),
            },
            None => mark,
        }
    }

    /// PyYAML starts a node at its properties (`&anchor !tag value`): the words that precede
    /// `mark` on its line and start with `&` or `!`.
    fn properties_start(&mut self, mark: Mark) -> Mark {
        let Some((mut before, _)) = self.split_at(mark) else {
            return mark;
        };
        let mut found = false;
        for _ in 0..2 {
            let trimmed = before.trim_end_matches([' ', '\t']);
            let word = trimmed
                .rfind([' ', '\t', '[', '{', ','])
                .map_or(0, |i| i + 1);
            if !trimmed[word..].starts_with(['&', '!']) {
                break;
            }
            found = true;
            before = &trimmed[..word];
        }
        if found {
            Mark {
                line: mark.line,
                col: to_u32(before.chars().count() + 1),
            }
        } else {
            mark
        }
    }

    /// Where PyYAML places a missing value: right after the `:` that follows its key, when
    /// that is on the key's line.
    fn after_value_indicator(&mut self, key: Mark) -> Option<Mark> {
        let (_, rest) = self.split_at(key)?;
        let skip = if rest.starts_with(['"', '\'']) {
            quoted_end(rest, 0)
        } else {
            0
        };
        let bytes = rest.as_bytes();
        let colon = (skip..bytes.len()).find(|&i| {
            bytes[i] == b':'
                && bytes
                    .get(i + 1)
                    .is_none_or(|b| matches!(b, b' ' | b'\t' | b',' | b'}' | b']'))
        })?;
        let col = key.col as usize + rest[..=colon].chars().count();
        Some(Mark {
            line: key.line,
            col: to_u32(col),
        })
    }

    /// Whether `mark` is on a block scalar's `|`/`>` header rather than on its content.
    fn is_block_header(&mut self, mark: Mark) -> bool {
        self.split_at(mark)
            .is_some_and(|(_, after)| after.starts_with(['|', '>']))
    }

    /// yaml-rust2 marks a block scalar at its first content line; PyYAML at its `|`/`>`
    /// header, which is on the closest non-blank line above.
    fn block_scalar_start(&mut self, mark: Mark) -> Mark {
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

    /// PyYAML reads a block scalar that reaches the end of the input differently from
    /// yaml-rust2: without content, a clipped scalar is empty and a kept one holds only the
    /// blank lines; a last line without a line break keeps none.
    /// `at_header`: the scalar has no content and yaml-rust2 marked it at its header, which it
    /// does when the text ends.
    fn fix_block_scalar_at_end(
        &mut self,
        value: &mut String,
        mark: Mark,
        next_line: usize,
        at_header: bool,
    ) {
        if at_header {
            // Nothing but blank lines until the end.
            let header = self.split_at(mark).map_or("", |(_, after)| after);
            let indicators: String = header
                .chars()
                .skip(1)
                .take_while(|c| c.is_ascii_digit() || matches!(c, '+' | '-'))
                .collect();
            let after_header = self.line_starts.get(mark.line as usize).copied();
            let breaks = after_header
                .and_then(|start| self.text.get(start..))
                .map_or(0, |rest| rest.matches('\n').count());
            *value = if indicators.contains('+') {
                "\n".repeat(breaks)
            } else {
                String::new()
            };
            return;
        }
        let last_line = self.line_starts.len();
        // yaml-rust2 ends a text without a final line break on the line after it, as if it
        // had one; the scalar reached the end if its next event is there.
        if self.text.ends_with('\n') || !value.ends_with('\n') || next_line <= last_line {
            return;
        }
        // The last line belongs to the scalar if it is indented as its content and ends it.
        let indent = mark.col.saturating_sub(1) as usize;
        let last = self.line(to_u32(last_line)).unwrap_or_default();
        let content = last.trim_start_matches(' ');
        if last.len() - content.len() >= indent && value[..value.len() - 1].ends_with(content) {
            value.pop();
        }
    }

    /// An empty key at a `:` is only valid in YAML 1.1 after an explicit `?`; yaml-rust2
    /// (YAML 1.2) also takes `: value` and `{: value}`.
    fn is_missing_key(&mut self, mark: Mark) -> bool {
        let Some((mut before, after)) = self.split_at(mark) else {
            return false;
        };
        if !after.starts_with(':') {
            return false;
        }
        let mut line = mark.line;
        loop {
            let text = strip_comment(before).trim_end_matches([' ', '\t']);
            if let Some(head) = text.strip_suffix('?') {
                return !(head.is_empty() || head.ends_with([' ', '\t', '{', '[', ',']));
            }
            if !text.is_empty() || line <= 1 {
                return true;
            }
            line -= 1;
            before = self.line(line).unwrap_or_default();
        }
    }
}

/// `line` up to its comment, if any (a `#` at the start or after a blank).
fn strip_comment(line: &str) -> &str {
    let mut previous_blank = true;
    for (offset, c) in line.char_indices() {
        if c == '#' && previous_blank {
            return &line[..offset];
        }
        previous_blank = matches!(c, ' ' | '\t');
    }
    line
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
    /// The non-specific `!`: PyYAML resolves the scalar as if it were plain, even quoted.
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
        let Some(tag) = tag else {
            return TagKind::Implicit;
        };
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
fn scalar_value(
    text: String,
    style: TScalarStyle,
    tag: TagKind,
    scalars: Scalars,
) -> (Value, bool) {
    let converted = match tag {
        TagKind::Str => Some(Value::Str(text.clone())),
        TagKind::Null => Some(Value::Null),
        TagKind::Merge => return (Value::Str(text), true),
        TagKind::NonSpecific => return resolved_plain(text, scalars),
        TagKind::Int => tagged_int(&text).map(Value::Int),
        TagKind::Float => tagged_float(&text).map(Value::Float),
        TagKind::Bool => tagged_bool(&text).map(Value::Bool),
        TagKind::Implicit | TagKind::Other => None,
    };
    match converted {
        Some(value) => (value, false),
        None if style == TScalarStyle::Plain => resolved_plain(text, scalars),
        None => (Value::Str(text), false),
    }
}

/// A plain scalar under YAML 1.1 implicit resolution.
fn resolved_plain(text: String, scalars: Scalars) -> (Value, bool) {
    let value = match resolve_plain_as(&text, scalars) {
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
    /// An empty untagged plain scalar: a missing key or value.
    empty: bool,
    /// Where the event was (for an alias, the `*`, not the anchored node).
    event_mark: Mark,
}

impl Item {
    fn new(node: Node, event_mark: Mark) -> Self {
        Item {
            node,
            merge_key: false,
            empty: false,
            event_mark,
        }
    }
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
    /// A `<<` merged a recursive alias (see `RECURSIVE`) of this name.
    recursive: Option<String>,
}

/// Builds one document's tree from parser events, iteratively.
struct Builder<'a, 't> {
    source: &'a mut Source<'t>,
    limits: &'a LoadLimits,
    nodes: usize,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    /// How many nodes carried an anchor.
    anchored: usize,
    /// Byte ranges of quoted and block scalars, where PyYAML accepts tabs (collected only
    /// when the text has tabs).
    tab_spans: Option<Vec<(usize, usize)>>,
    /// The start of the last block scalar, whose span ends at the next event.
    open_block: Option<usize>,
    /// The first bad merge, reported after syntax errors as PyYAML does.
    construct_error: Option<YamlError>,
    /// An alias stood for a node that contains it (see `RECURSIVE`).
    recursive: bool,
    /// How plain scalars resolve.
    scalars: Scalars,
}

impl<'a, 't> Builder<'a, 't> {
    fn new(source: &'a mut Source<'t>, limits: &'a LoadLimits, tabs: bool) -> Self {
        let tab_spans = tabs.then(Vec::new);
        Builder {
            source,
            limits,
            nodes: 0,
            stack: Vec::new(),
            anchors: HashMap::new(),
            anchored: 0,
            tab_spans,
            scalars: Scalars::Yaml11,
            open_block: None,
            construct_error: None,
            recursive: false,
        }
    }

    /// Consume the events of one node (the document's root) and return it.
    fn build(&mut self, events: &mut Events<'_, '_>) -> Result<Node, YamlError> {
        loop {
            let (event, marker) = events.next_event()?;
            let mark = to_mark(marker);
            self.close_block_span(Some(mark));
            let item = match event {
                Event::Scalar(text, style, anchor, tag) => {
                    self.scalar(text, style, anchor, tag.as_ref(), mark, events)?
                }
                Event::Alias(id) => self.alias(id, mark, events.text)?,
                Event::SequenceStart(anchor, tag) => {
                    let mark = self.source.sequence_start(mark, self.in_map_value());
                    self.open(Body::Seq(Vec::new()), anchor, tag.is_some(), mark)?;
                    continue;
                }
                Event::MappingStart(anchor, tag) => {
                    self.open(Body::Map(MapBody::default()), anchor, tag.is_some(), mark)?;
                    continue;
                }
                Event::SequenceEnd | Event::MappingEnd => self.close(marker)?,
                _ => return Err(unexpected(marker)),
            };
            if let Some(root) = self.attach(item)? {
                self.close_block_span(None);
                return Ok(root);
            }
        }
    }

    fn count(&mut self, nodes: usize, mark: Mark) -> Result<(), YamlError> {
        self.nodes = add_nodes(self.nodes, nodes, self.limits, mark)?;
        Ok(())
    }

    /// Correct a block scalar's text and mark (see `Source`); returns the mark.
    fn block_scalar(
        &mut self,
        text: &mut String,
        mark: Mark,
        events: &mut Events<'_, '_>,
    ) -> Result<Mark, YamlError> {
        let content = !text.chars().all(|c| c == '\n');
        if content && mark.col == 1 && self.stack.is_empty() {
            // PyYAML indents a block scalar's content at least one column, even at the root.
            let message = "expected '<document start>', but found a scalar".to_owned();
            return Err(YamlError::Syntax {
                message,
                line: mark.line,
                col: mark.col,
            });
        }
        let at_header = !content && self.source.is_block_header(mark);
        if let Some(next_line) = events.peek_line() {
            self.source
                .fix_block_scalar_at_end(text, mark, next_line, at_header);
        }
        let start = if at_header {
            mark
        } else {
            self.source.block_scalar_start(mark)
        };
        if self.tab_spans.is_some() {
            self.open_block = self.source.offset(start);
        }
        Ok(start)
    }

    /// Record a quoted scalar for the tab check.
    fn quoted_span(&mut self, mark: Mark) {
        if self.tab_spans.is_none() {
            return;
        }
        if let Some(start) = self.source.offset(mark) {
            let end = quoted_end(self.source.text, start);
            self.push_tab_span(start, end);
        }
    }

    /// End the span of a block scalar at the mark of the event after it (`None`: the end).
    fn close_block_span(&mut self, next: Option<Mark>) {
        if let Some(start) = self.open_block.take() {
            let end = next.and_then(|m| self.source.offset(m));
            self.push_tab_span(start, end.unwrap_or(self.source.text.len()));
        }
    }

    fn push_tab_span(&mut self, start: usize, end: usize) {
        if let Some(spans) = &mut self.tab_spans {
            spans.push((start, end));
        }
    }

    fn scalar(
        &mut self,
        mut text: String,
        style: TScalarStyle,
        anchor: usize,
        tag: Option<&Tag>,
        mark: Mark,
        events: &mut Events<'_, '_>,
    ) -> Result<Item, YamlError> {
        self.count(1, mark)?;
        let mut node_mark = match style {
            TScalarStyle::Literal | TScalarStyle::Folded => {
                self.block_scalar(&mut text, mark, events)?
            }
            TScalarStyle::Plain => mark,
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
                self.quoted_span(mark);
                mark
            }
        };
        if anchor != 0 || tag.is_some() {
            node_mark = self.source.properties_start(node_mark);
        }
        let empty = text.is_empty() && style == TScalarStyle::Plain && tag.is_none();
        let (value, merge_key) = scalar_value(text, style, TagKind::of(tag), self.scalars);
        let node = Node {
            value,
            mark: node_mark,
        };
        if anchor != 0 {
            self.anchored += 1;
            let anchored = Anchored {
                node: node.clone(),
                size: 1,
                merge_key,
            };
            self.anchors.insert(anchor, anchored);
        }
        let empty = empty && anchor == 0;
        // A key's mark fixes its mapping's: the properties included, unless the key is missing.
        let event_mark = if empty { mark } else { node_mark };
        Ok(Item {
            node,
            merge_key,
            empty,
            event_mark,
        })
    }

    fn alias(&mut self, id: usize, mark: Mark, text: &str) -> Result<Item, YamlError> {
        if let Some(anchored) = self.anchors.get(&id) {
            // Check the size before copying: an alias bomb stops here.
            self.nodes = add_nodes(self.nodes, anchored.size, self.limits, mark)?;
            let mut item = Item::new(anchored.node.clone(), mark);
            item.merge_key = anchored.merge_key;
            return Ok(item);
        }
        // Known to the parser but not finished: an alias inside its own anchor.
        self.count(1, mark)?;
        let value = if self.is_self_merge(id) {
            // PyYAML merges the mapping into itself, which changes nothing: merge `{}`.
            Value::Map(Vec::new())
        } else {
            // A recursive structure, which a tree cannot hold. PyYAML builds it; it is only
            // an error if it survives (a later duplicate key may replace it).
            self.recursive = true;
            Value::Str(format!("{RECURSIVE}{}", alias_name(text, mark)))
        };
        Ok(Item::new(Node { value, mark }, mark))
    }

    /// Whether the next node is the value of a mapping's key.
    fn in_map_value(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame {
                body: Body::Map(MapBody { key: Some(_), .. }),
                ..
            })
        )
    }

    /// Whether an alias to anchor `id` is (part of) the value of a `<<` key of the very
    /// mapping that anchor is on.
    fn is_self_merge(&self, id: usize) -> bool {
        let merging = |frame: &Frame| {
            frame.anchor == id
                && matches!(&frame.body, Body::Map(MapBody { key: Some(key), .. }) if key.merge_key)
        };
        match self.stack.as_slice() {
            [.., map, Frame {
                body: Body::Seq(_), ..
            }] if merging(map) => true,
            [.., map] => merging(map),
            [] => false,
        }
    }

    /// Start a collection; `tagged`: it has a tag.
    fn open(
        &mut self,
        body: Body,
        anchor: usize,
        tagged: bool,
        mark: Mark,
    ) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            let limit = self.limits.max_depth;
            return Err(YamlError::TooDeep {
                limit,
                line: mark.line,
            });
        }
        let nodes_before = self.nodes;
        self.count(1, mark)?;
        // A block collection starts at its first entry; a flow one at its anchor or tag.
        let flow = self
            .source
            .split_at(mark)
            .is_some_and(|(_, after)| after.starts_with(['[', '{']));
        let mark = if flow && (anchor != 0 || tagged) {
            self.source.properties_start(mark)
        } else {
            mark
        };
        self.stack.push(Frame {
            mark,
            anchor,
            nodes_before,
            body,
        });
        Ok(())
    }

    fn close(&mut self, marker: Marker) -> Result<Item, YamlError> {
        let frame = self.stack.pop().ok_or_else(|| unexpected(marker))?;
        let value = match frame.body {
            Body::Seq(items) => Value::Seq(items),
            Body::Map(MapBody { key: Some(_), .. }) => return Err(unexpected(marker)),
            Body::Map(MapBody {
                recursive: Some(name),
                ..
            }) => Value::Str(format!("{RECURSIVE}{name}")),
            Body::Map(MapBody {
                mut merged, own, ..
            }) => {
                merged.extend(own);
                Value::Map(dedupe(merged))
            }
        };
        let node = Node {
            value,
            mark: frame.mark,
        };
        if frame.anchor != 0 {
            self.anchored += 1;
            let size = self.nodes - frame.nodes_before;
            let anchored = Anchored {
                node: node.clone(),
                size,
                merge_key: false,
            };
            self.anchors.insert(frame.anchor, anchored);
        }
        Ok(Item::new(node, frame.mark))
    }

    /// Put a finished node into the collection being built; the root comes back out.
    fn attach(&mut self, item: Item) -> Result<Option<Node>, YamlError> {
        let Some(frame) = self.stack.last_mut() else {
            return Ok(Some(item.node));
        };
        match &mut frame.body {
            Body::Seq(items) => items.push(item.node),
            Body::Map(map) => match map.key.take() {
                None => self.attach_key(item)?,
                Some(key) => self.attach_value(key, item),
            },
        }
        Ok(None)
    }

    /// A mapping's next key. PyYAML refuses a missing one (which YAML 1.2 allows) and, when
    /// constructing, a list or a mapping.
    fn attach_key(&mut self, key: Item) -> Result<(), YamlError> {
        let mark = key.event_mark;
        if key.empty && self.source.is_missing_key(mark) {
            let message = "found ':' without a key (an empty key needs '?')".to_owned();
            return Err(YamlError::Syntax {
                message,
                line: mark.line,
                col: mark.col,
            });
        }
        if matches!(key.node.value, Value::Seq(_) | Value::Map(_)) {
            let message = "found unhashable key (a list or a mapping)".to_owned();
            let error = YamlError::Syntax {
                message,
                line: mark.line,
                col: mark.col,
            };
            self.construct_error.get_or_insert(error);
        }
        if let Some(Frame {
            mark: map_mark,
            body: Body::Map(map),
            ..
        }) = self.stack.last_mut()
        {
            if !map.keyed {
                // A block mapping's event sits at the first `:`; it starts at its key.
                map.keyed = true;
                *map_mark = earlier(*map_mark, mark);
            }
            map.key = Some(key);
        }
        Ok(())
    }

    /// A mapping's value: a pair, or the pairs a `<<` key merges.
    fn attach_value(&mut self, key: Item, mut value: Item) {
        if value.empty {
            // A missing value: yaml-rust2 marks it at the next token.
            let mark = self.source.after_value_indicator(key.event_mark);
            value.node.mark = mark.unwrap_or(key.event_mark);
        }
        let Some(Frame {
            body: Body::Map(map),
            ..
        }) = self.stack.last_mut()
        else {
            return;
        };
        if !key.merge_key {
            map.own.push((key.node, value.node));
        } else if let Some(name) = recursive_alias(&value.node) {
            // Merging a mapping that contains this one: not representable either.
            map.recursive.get_or_insert_with(|| name.to_owned());
        } else if let Err(error) = merge(&mut map.merged, value.node) {
            self.construct_error.get_or_insert(error);
        }
    }
}

/// `total + nodes`, unless that exceeds the limit.
fn add_nodes(
    total: usize,
    nodes: usize,
    limits: &LoadLimits,
    mark: Mark,
) -> Result<usize, YamlError> {
    let total = total.saturating_add(nodes);
    if total > limits.max_nodes {
        return Err(YamlError::TooManyNodes {
            limit: limits.max_nodes,
            line: mark.line,
        });
    }
    Ok(total)
}

fn earlier(a: Mark, b: Mark) -> Mark {
    if (b.line, b.col) < (a.line, a.col) {
        b
    } else {
        a
    }
}

/// Byte offset just past the quoted scalar that starts at `start` (at its quote).
fn quoted_end(text: &str, start: usize) -> usize {
    let bytes = text.as_bytes();
    let Some(&quote) = bytes.get(start) else {
        return start;
    };
    let mut i = start + 1;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            _ if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// PyYAML's `flatten_mapping` for one `<<: value`: a mapping's pairs, or those of a list of
/// mappings with the later mappings first (so that, the last value winning, earlier ones
/// take precedence).
fn merge(merged: &mut Vec<(Node, Node)>, value: Node) -> Result<(), YamlError> {
    let bad = YamlError::BadMerge {
        line: value.mark.line,
    };
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
    let keys: Vec<Option<KeyRepr<'_>>> = pairs
        .iter()
        .map(|(key, _)| KeyRepr::of(&key.value))
        .collect();
    let mut firsts: Vec<usize> = (0..pairs.len()).collect();
    if pairs.len() <= LINEAR_MAX {
        for (i, key) in keys.iter().enumerate().filter(|(_, key)| key.is_some()) {
            if let Some(j) = (0..i).find(|&j| firsts[j] == j && keys[j] == *key) {
                firsts[i] = j;
            }
        }
    } else {
        let mut seen: HashMap<&KeyRepr<'_>, usize> = HashMap::with_capacity(pairs.len());
        for (i, key) in keys.iter().enumerate() {
            if let Some(key) = key {
                firsts[i] = *seen.entry(key).or_insert(i);
            }
        }
    }
    firsts
}

/// A scalar key as a Python dict sees it: `True == 1 == 1.0`; PyYAML builds every `.nan` as
/// the same object, so NaN keys collapse too.
#[derive(Debug, PartialEq, Eq, Hash)]
enum KeyRepr<'v> {
    Null,
    Int(i128),
    Float(u64),
    Nan,
    Str(&'v str),
}

impl<'v> KeyRepr<'v> {
    /// `None` for collections (which PyYAML refuses as keys: they equal nothing here).
    fn of(value: &'v Value) -> Option<Self> {
        Some(match value {
            Value::Null => KeyRepr::Null,
            Value::Bool(b) => KeyRepr::Int(i128::from(*b)),
            Value::Int(i) => KeyRepr::Int(*i),
            Value::Float(f) if f.is_nan() => KeyRepr::Nan,
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
    // 2^127: integral floats strictly inside (-2^127, 2^127) convert exactly.
    const BOUND: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;
    #[allow(clippy::cast_possible_truncation)]
    (f.fract() == 0.0 && f.abs() < BOUND).then_some(f as i128)
}

/// The name of the recursive alias `node` stands for (see `RECURSIVE`), if it does; a list
/// holding one counts too, for a merge.
fn recursive_alias(node: &Node) -> Option<&str> {
    match &node.value {
        Value::Str(s) => s.strip_prefix(RECURSIVE),
        Value::Seq(items) => items.iter().find_map(|item| match &item.value {
            Value::Str(s) => s.strip_prefix(RECURSIVE),
            _ => None,
        }),
        _ => None,
    }
}

/// A recursive alias that is still in the tree (see `RECURSIVE`) cannot be represented.
fn check_recursion(root: &Node) -> Result<(), YamlError> {
    let mut pending = vec![root];
    while let Some(node) = pending.pop() {
        match &node.value {
            Value::Str(s) => {
                if let Some(name) = s.strip_prefix(RECURSIVE) {
                    let name = name.to_owned();
                    return Err(YamlError::UnknownAlias {
                        name,
                        line: node.mark.line,
                    });
                }
            }
            Value::Seq(items) => pending.extend(items),
            Value::Map(pairs) => pending.extend(pairs.iter().flat_map(|(k, v)| [k, v])),
            _ => {}
        }
    }
    Ok(())
}

/// PyYAML only accepts tabs inside quoted and block scalars and comments: anywhere else (as
/// separation, after a value, in a plain scalar) its scanner stops with an error.
fn check_tabs(text: &str, spans: &[(usize, usize)]) -> Result<(), YamlError> {
    let in_span = |offset: usize| {
        let next = spans.partition_point(|&(start, _)| start <= offset);
        next > 0 && offset < spans[next - 1].1
    };
    for (offset, _) in text.match_indices('\t') {
        if in_span(offset) {
            continue;
        }
        let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[line_start..offset];
        let comment = line.char_indices().any(|(i, c)| {
            c == '#' && (i == 0 || line[..i].ends_with([' ', '\t'])) && !in_span(line_start + i)
        });
        if !comment {
            return Err(syntax_at(
                text,
                offset,
                "found character '\\t' that cannot start any token".to_owned(),
            ));
        }
    }
    Ok(())
}

/// Whether PyYAML's scanner accepts the anchor yaml-rust2 read as `name`. PyYAML stops the
/// name at its first other character, which must be one that may follow an anchor (then it
/// reads the rest differently, which is not an error).
fn is_pyyaml_anchor(name: &str) -> bool {
    let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    match name.char_indices().find(|&(_, c)| !valid(c)) {
        None => true,
        Some((0, _)) => false,
        Some((_, c)) => matches!(c, '?' | ':' | ',' | ']' | '}' | '%' | '@' | '`'),
    }
}

/// PyYAML's scanner takes only letters, digits, `-` and `_` in anchor names, and its composer
/// refuses an anchor defined twice in a document; yaml-rust2 allows more characters and lets
/// the second definition win. Anchor names are only in the scanner's tokens.
fn check_anchors(text: &str) -> Result<(), YamlError> {
    let mut seen: HashMap<String, Marker> = HashMap::new();
    let mut content = false;
    for Token(marker, token) in Scanner::new(text.chars()) {
        match token {
            TokenType::Anchor(name) => {
                content = true;
                let mark = to_mark(marker);
                let message = if !is_pyyaml_anchor(&name) {
                    format!("anchor '{name}' may only hold letters, digits, '-' and '_'")
                } else if let Some(first) = seen.insert(name.clone(), marker) {
                    let first = to_mark(first);
                    format!(
                        "found duplicate anchor '{name}'; first occurrence at line {}, column {}",
                        first.line, first.col
                    )
                } else {
                    continue;
                };
                return Err(YamlError::Syntax {
                    message,
                    line: mark.line,
                    col: mark.col,
                });
            }
            TokenType::DocumentStart if content => break,
            TokenType::DocumentEnd => break,
            TokenType::StreamStart(_)
            | TokenType::VersionDirective(..)
            | TokenType::TagDirective(..)
            | TokenType::DocumentStart => {}
            _ => content = true,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn try_load(text: &str) -> Result<Option<Node>, YamlError> {
        load(text, &LoadLimits::default())
    }

    fn load_ok(text: &str) -> Node {
        try_load(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .unwrap_or_else(|| panic!("{text:?}: no document"))
    }

    fn load_err(text: &str) -> YamlError {
        match try_load(text) {
            Ok(node) => panic!("{text:?} loaded: {node:?}"),
            Err(error) => error,
        }
    }

    /// A compact, typed rendering: strings quoted, numbers and the rest bare.
    fn show(node: &Node) -> String {
        match &node.value {
            Value::Null => "null".to_owned(),
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format!("{f:?}"),
            Value::Str(s) => format!("{s:?}"),
            Value::Seq(items) => {
                let items: Vec<String> = items.iter().map(show).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Map(pairs) => {
                let pairs: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{}: {}", show(k), show(v)))
                    .collect();
                format!("{{{}}}", pairs.join(", "))
            }
        }
    }

    fn shown(text: &str) -> String {
        show(&load_ok(text))
    }

    /// Every node's mark, in document order (key before value).
    fn marks(node: &Node) -> Vec<(u32, u32)> {
        let mut out = vec![(node.mark.line, node.mark.col)];
        match &node.value {
            Value::Seq(items) => items.iter().for_each(|n| out.extend(marks(n))),
            Value::Map(pairs) => pairs.iter().for_each(|(k, v)| {
                out.extend(marks(k));
                out.extend(marks(v));
            }),
            _ => {}
        }
        out
    }

    #[test]
    fn plain_scalars_resolve_as_yaml_1_1() {
        let text = "a: yes\nb: Off\nc: 0755\nd: 0x1F\ne: 1_000\nf: 22:22\ng: 1.5\nh: 1e3\n\
                    i: ~\nj:\nk: 2024-01-02\nl: 08\nm: -.inf\nn: 8080:80\no: y\n";
        assert_eq!(
            shown(text),
            r#"{"a": true, "b": false, "c": 493, "d": 31, "e": 1000, "f": 1342, "g": 1.5, "h": "1e3", "i": null, "j": null, "k": "2024-01-02", "l": "08", "m": -inf, "n": "8080:80", "o": "y"}"#
        );
    }

    #[test]
    fn quoted_and_block_scalars_are_strings() {
        let text = "a: 'yes'\nb: \"123\"\nc: |\n  1\nd: >-\n  true\n  false\ne: \"\\t\\u00e9\"\n";
        assert_eq!(
            shown(text),
            r#"{"a": "yes", "b": "123", "c": "1\n", "d": "true false", "e": "\té"}"#
        );
    }

    #[test]
    fn explicit_tags_are_honoured_and_unknown_ones_ignored() {
        let text = "a: !!str 1\nb: !!int '12'\nc: !!float 1\nd: !!bool 'on'\ne: !!null x\n\
                    f: !custom 7\ng: ! '12'\nh: !!str\ni: !!int 0x10\nj: !!float 1e5\n\
                    k: !!map {x: 1}\nl: !!int nope\n";
        assert_eq!(
            shown(text),
            r#"{"a": "1", "b": 12, "c": 1.0, "d": true, "e": null, "f": 7, "g": 12, "h": "", "i": 16, "j": 100000.0, "k": {"x": 1}, "l": "nope"}"#
        );
    }

    #[test]
    fn merge_and_value_indicators_as_values_are_strings() {
        assert_eq!(
            shown("a: <<\nb: =\n'<<': {x: 1}\n"),
            r#"{"a": "<<", "b": "=", "<<": {"x": 1}}"#
        );
    }

    #[test]
    fn marks_match_pyyaml() {
        let text = "top:\n  key: value\n  list:\n  - a\n  - 'b'\n  lit: |\n    text\n  empty:\n  \
                    flow: [1, {x: 2}]\n  tagged: !!str 3\n";
        // Taken from PyYAML's `compose`: 1-based line and column of every node.
        let expected = [
            (1, 1),
            (1, 1),
            (2, 3),
            (2, 3),
            (2, 8),
            (3, 3),
            (4, 3),
            (4, 5),
            (5, 5),
            (6, 3),
            (6, 8),
            (8, 3),
            (8, 9),
            (9, 3),
            (9, 9),
            (9, 10),
            (9, 13),
            (9, 14),
            (9, 17),
            (10, 3),
            (10, 11),
        ];
        assert_eq!(marks(&load_ok(text)), expected);
    }

    #[test]
    fn marks_count_characters_and_survive_crlf_and_bom() {
        let node = load_ok("\u{feff}é: [ü, x]\r\nb:\r\n  - y\r\n");
        assert_eq!(
            marks(&node),
            [
                (1, 1),
                (1, 1),
                (1, 4),
                (1, 5),
                (1, 8),
                (2, 1),
                (3, 3),
                (3, 5)
            ]
        );
        assert_eq!(show(&node), r#"{"é": ["ü", "x"], "b": ["y"]}"#);
    }

    #[test]
    fn aliases_are_deep_copies() {
        let node = load_ok("a: &x {k: [1, 2]}\nb: *x\nc: &s str\nd: *s\n");
        assert_eq!(
            show(&node),
            r#"{"a": {"k": [1, 2]}, "b": {"k": [1, 2]}, "c": "str", "d": "str"}"#
        );
        // The copy keeps the anchored node's marks, as PyYAML's shared node does.
        let b = node.get("b").expect("b");
        assert_eq!((b.mark.line, b.mark.col), (1, 4));
    }

    #[test]
    fn merge_keys_follow_pyyaml_order() {
        let text = "a: &a {x: 1, y: 2}\nb: &b {y: 3, z: 4}\nc:\n  <<: [*a, *b]\n  w: 0\n  x: 9\n\
                    d:\n  <<: *a\n  y: 5\n";
        let node = load_ok(text);
        // Earlier mappings of a list win, positions come from the reversed list, own keys last.
        assert_eq!(
            show(node.get("c").expect("c")),
            r#"{"y": 2, "z": 4, "x": 9, "w": 0}"#
        );
        assert_eq!(show(node.get("d").expect("d")), r#"{"x": 1, "y": 5}"#);
    }

    #[test]
    fn merges_nest_and_repeat() {
        let text =
            "base: &base {x: 1}\nmid: &mid\n  <<: *base\n  y: 2\ntop:\n  z: 0\n  <<: *mid\n  \
                    <<: {x: 5, q: 6}\n";
        assert_eq!(
            show(load_ok(text).get("top").expect("top")),
            r#"{"x": 5, "y": 2, "q": 6, "z": 0}"#
        );
        // A mapping merging itself changes nothing.
        assert_eq!(shown("a: &a\n  x: 1\n  <<: *a\n"), r#"{"a": {"x": 1}}"#);
    }

    #[test]
    fn bad_merges_fail() {
        assert!(matches!(
            load_err("a:\n  <<: 1\n"),
            YamlError::BadMerge { line: 2 }
        ));
        assert!(matches!(
            load_err("a:\n  <<: [{x: 1}, 2]\n"),
            YamlError::BadMerge { line: 2 }
        ));
        assert!(matches!(
            load_err("a:\n  <<:\n"),
            YamlError::BadMerge { .. }
        ));
    }

    #[test]
    fn duplicate_keys_keep_first_position_and_last_value() {
        assert_eq!(shown("a: 1\nb: 2\na: 3\n"), r#"{"a": 3, "b": 2}"#);
        // Python dict keys: 1 == 1.0 == True, but "1" is another key.
        assert_eq!(
            shown("1: a\n1.0: b\ntrue: c\n'1': d\n"),
            r#"{1: "c", "1": "d"}"#
        );
        assert_eq!(
            shown("~: a\nnull: b\n.nan: c\n.NaN: d\n"),
            r#"{null: "b", NaN: "d"}"#
        );
        let many: String = (0..40).map(|i| format!("k{}: {i}\n", i % 20)).collect();
        let node = load_ok(&many);
        assert_eq!(node.as_map().map(Vec::len), Some(20));
        assert_eq!(node.get("k3").map(show), Some("23".to_owned()));
    }

    #[test]
    fn collection_keys_are_refused_like_pyyaml() {
        assert!(matches!(
            load_err("? [a]\n: b\n"),
            YamlError::Syntax { line: 1, .. }
        ));
        assert!(matches!(
            load_err("{{a: 1}: b}\n"),
            YamlError::Syntax { .. }
        ));
    }

    #[test]
    fn alias_bomb_fails_fast() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..40 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let start = Instant::now();
        let error = load_err(&text);
        assert!(
            matches!(
                error,
                YamlError::TooManyNodes {
                    limit: 1_000_000,
                    ..
                }
            ),
            "{error}"
        );
        // Milliseconds in release; debug builds are slower.
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn node_limit_counts_alias_copies() {
        // 1 root + a, [ ] and 3 items + b, [ ] and 3 copies of 4 nodes = 20.
        let text = "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n";
        assert!(load(
            text,
            &LoadLimits {
                max_nodes: 20,
                max_depth: 8
            }
        )
        .is_ok());
        let tight = LoadLimits {
            max_nodes: 19,
            max_depth: 8,
        };
        assert!(matches!(
            load(text, &tight),
            Err(YamlError::TooManyNodes { limit: 19, line: 2 })
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let block_maps: String = (0..300).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        let texts = [
            "[".repeat(100_000),
            "{a: ".repeat(100_000),
            format!("{}x", "- ".repeat(100_000)),
            block_maps,
        ];
        for text in &texts {
            let error = load_err(text);
            assert!(matches!(error, YamlError::TooDeep { .. }), "{error}");
        }
        let nested = format!("{}{}", "[".repeat(10), "]".repeat(10));
        assert!(matches!(
            load(
                &nested,
                &LoadLimits {
                    max_nodes: 100,
                    max_depth: 5
                }
            ),
            Err(YamlError::TooDeep { limit: 5, line: 1 })
        ));
    }

    #[test]
    fn several_documents_are_refused() {
        assert!(matches!(
            load_err("a: 1\n---\nb: 2\n"),
            YamlError::MultipleDocuments { count: 2 }
        ));
        assert!(matches!(
            load_err("--- a\n--- b\n--- c\n"),
            YamlError::MultipleDocuments { count: 3 }
        ));
        assert_eq!(shown("--- a\n...\n# done\n"), r#""a""#);
    }

    #[test]
    fn empty_and_null_documents_are_none() {
        for text in [
            "",
            "\u{feff}",
            "# only\n# comments\n",
            "---\n",
            "--- ~\n...\n",
            "null\n",
        ] {
            assert!(matches!(try_load(text), Ok(None)), "{text:?}");
        }
    }

    #[test]
    fn syntax_errors_carry_a_one_based_position() {
        let YamlError::Syntax { message, line, col } = load_err("a: b: c\n") else {
            panic!("not a syntax error")
        };
        assert_eq!((line, col), (1, 5));
        assert!(
            message.contains("mapping values are not allowed"),
            "{message}"
        );
        assert!(matches!(
            load_err("a: [1, 2\nb: 3\n"),
            YamlError::Syntax { line: 2, .. }
        ));
        assert!(matches!(
            load_err("a: \u{7}\n"),
            YamlError::Syntax {
                line: 1,
                col: 4,
                ..
            }
        ));
        // YAML 1.1 needs `?` for an empty key.
        assert!(matches!(
            load_err("a: 1\n: v\n"),
            YamlError::Syntax {
                line: 2,
                col: 1,
                ..
            }
        ));
        assert_eq!(shown("? \n: v\n"), r#"{null: "v"}"#);
    }

    #[test]
    fn aliases_must_be_defined_once_and_before_use() {
        assert!(matches!(
            load_err("a: *nope\n"),
            YamlError::UnknownAlias { ref name, line: 1 } if name == "nope"
        ));
        assert!(matches!(
            load_err("a: &a [*a]\n"),
            YamlError::UnknownAlias { ref name, .. } if name == "a"
        ));
        let YamlError::Syntax { message, line, .. } = load_err("a: &x 1\nb: &x 2\n") else {
            panic!("not a syntax error")
        };
        assert!(message.contains("duplicate anchor"), "{message}");
        assert_eq!(line, 2);
    }

    #[test]
    fn tabs_only_where_pyyaml_takes_them() {
        assert_eq!(
            shown("a: 'x\ty'\nb: |\n  \tz\n# \tc\nc: d # \t\n"),
            r#"{"a": "x\ty", "b": "\tz\n", "c": "d"}"#
        );
        for text in ["a: 1\t\n", "a: b\tc\n", "a:\n\t- b\n", "- [1,\t2]\n"] {
            assert!(
                matches!(try_load(text), Err(YamlError::Syntax { .. })),
                "{text:?}"
            );
        }
    }

    #[test]
    fn block_scalars_at_the_end_of_the_text() {
        assert_eq!(shown("a: |\n  x"), r#"{"a": "x"}"#);
        assert_eq!(shown("a: |\n  x\n  "), r#"{"a": "x\n"}"#);
        assert_eq!(shown("a: |\n"), r#"{"a": ""}"#);
        assert_eq!(shown("a: |+\n\n"), r#"{"a": "\n"}"#);
        assert_eq!(shown("a: >\n  x\n  y"), r#"{"a": "x y"}"#);
        assert_eq!(shown("a: |-\n  x\n   "), r#"{"a": "x\n "}"#);
        assert_eq!(shown("--- |\n text\n"), r#""text\n""#);
        assert!(matches!(
            load_err("--- |\ntext\n"),
            YamlError::Syntax { line: 2, .. }
        ));
    }

    #[test]
    fn continuation_lines_need_no_indentation() {
        assert_eq!(shown("a:\n  b: \"x\n  y\"\n"), r#"{"a": {"b": "x y"}}"#);
        assert_eq!(shown("a:\n  b: 'x\ny'\n"), r#"{"a": {"b": "x y"}}"#);
        assert_eq!(
            shown("a:\n  b: [1,\n  2]\nc: {x: 1,\ny: 2}\n"),
            r#"{"a": {"b": [1, 2]}, "c": {"x": 1, "y": 2}}"#
        );
    }

    #[test]
    fn random_input_never_panics() {
        const PIECES: [&str; 40] = [
            " ",
            "  ",
            "\n",
            "\r\n",
            "\t",
            "- ",
            ":",
            ": ",
            "? ",
            "#",
            "&a ",
            "*a",
            "!!str ",
            "!x ",
            "|",
            ">-",
            "'",
            "\"",
            "\\",
            "[",
            "]",
            "{",
            "}",
            ",",
            "---\n",
            "...\n",
            "<<: ",
            "a",
            "1",
            "yes",
            "~",
            "é",
            "\u{2028}",
            "\u{feff}",
            "@",
            "%YAML 1.1\n",
            "\n  ",
            "x: ",
            "[*a, *a]",
            "\u{7f}",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let limits = LoadLimits {
            max_nodes: 1_000,
            max_depth: 32,
        };
        for _ in 0..20_000 {
            let len = next() % 40;
            let text: String = if next() % 4 == 0 {
                let bytes: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                (0..len)
                    .map(|_| PIECES[(next() % PIECES.len() as u64) as usize])
                    .collect()
            };
            // Any result will do; returning at all is the point.
            let _ = load(&text, &limits);
        }
    }
}
