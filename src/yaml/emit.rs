//! A port of PyYAML's `Emitter` + `Serializer` + `SafeRepresenter` for block-style output
//! (`default_flow_style=False`, `sort_keys=False`), byte for byte.
//!
//! The structure follows PyYAML 6 closely so that each rule can be checked against its source:
//! `represent` is `SafeRepresenter` + the `implicit` pair the `Serializer` computes, `analyze` is
//! `Emitter.analyze_scalar`, `choose_style` is `choose_scalar_style`, and the `write_*` methods
//! are the writers of the same name, keeping PyYAML's column and whitespace bookkeeping (columns
//! count characters, as Python does). Non-empty collections are always written in block style,
//! so the only flow collections are `[]` and `{}` and no scalar is ever written in flow context.

use std::fmt::Write as _;

use super::resolve::{is_implicit_str, py_float_repr};
use super::{Node, Value};

/// How to dump. `Default` is PyYAML's `yaml.dump(default_flow_style=False, sort_keys=False)`.
#[derive(Clone, Debug)]
pub struct DumpOptions {
    /// Request literal block style (`|`) for every string holding a newline, as sync-compose's
    /// representer does. PyYAML still falls back to double quotes when a literal is not allowed.
    pub literal_multiline: bool,
    /// Preferred line width (PyYAML `width`, default 80).
    pub width: usize,
    /// Indentation step (PyYAML `indent`, default 2).
    pub indent: usize,
    /// PyYAML `allow_unicode` (default false: non-ASCII is escaped in double quotes).
    pub allow_unicode: bool,
}

impl Default for DumpOptions {
    fn default() -> Self {
        DumpOptions { literal_multiline: false, width: 80, indent: 2, allow_unicode: false }
    }
}

/// Dump one document as PyYAML's `SafeDumper` does. The result ends with one `\n`, without
/// `---`. Like PyYAML, an open-ended document (a plain scalar at the root, or a final `|+`
/// literal) is closed with a `...` line.
pub fn dump(node: &Node, opts: &DumpOptions) -> String {
    let mut emitter = Emitter::new(opts);
    emitter.node(node, Context { root: true, ..Context::default() });
    // DocumentEnd, then StreamEnd.
    emitter.write_indent();
    if emitter.open_ended {
        emitter.write_indicator("...", true, false, false);
        emitter.write_indent();
    }
    emitter.out
}

/// A node as the serializer hands it to the emitter.
enum Event<'a> {
    Scalar(ScalarEvent<'a>),
    Sequence(&'a [Node]),
    Mapping(&'a [(Node, Node)]),
}

/// PyYAML's `ScalarEvent` for a represented value.
struct ScalarEvent<'a> {
    /// The scalar's text and its analysis.
    analysis: Analysis,
    /// The tag in its `!!` short form; `check_simple_key` counts its length.
    tag: &'a str,
    /// `implicit[0]`: the text, written plain, resolves back to the tag.
    plain_implicit: bool,
    /// `implicit[1]`: the tag is `str`, the default for quoted scalars.
    quoted_implicit: bool,
    /// The representer asked for literal block style.
    literal: bool,
}

/// What `SafeRepresenter` makes of a node, and what the `Serializer` says about its tag.
fn represent<'a>(node: &'a Node, opts: &DumpOptions) -> Event<'a> {
    let (text, tag) = match &node.value {
        Value::Seq(items) => return Event::Sequence(items),
        Value::Map(pairs) => return Event::Mapping(pairs),
        Value::Str(s) => {
            return Event::Scalar(ScalarEvent {
                analysis: analyze(s, opts.allow_unicode),
                tag: "!!str",
                plain_implicit: is_implicit_str(s),
                quoted_implicit: true,
                literal: opts.literal_multiline && s.contains('\n'),
            });
        }
        Value::Null => ("null".to_owned(), "!!null"),
        Value::Bool(b) => (if *b { "true" } else { "false" }.to_owned(), "!!bool"),
        Value::Int(i) => (i.to_string(), "!!int"),
        Value::Float(f) => (py_float_repr(*f), "!!float"),
    };
    // `str(int)`, `repr(float)`, `null`, `true` and `false` always resolve back to their tag.
    Event::Scalar(ScalarEvent {
        analysis: analyze(&text, opts.allow_unicode),
        tag,
        plain_implicit: true,
        quoted_implicit: false,
        literal: false,
    })
}

/// `Emitter.analyze_scalar`, reduced to what block context needs.
struct Analysis {
    /// The text as characters: PyYAML indexes and measures strings by code point.
    chars: Vec<char>,
    empty: bool,
    multiline: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
    allow_block: bool,
}

/// PyYAML's line break characters.
fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// What PyYAML's analyzer counts as whitespace around indicators.
fn is_blank(c: char) -> bool {
    matches!(c, '\0' | ' ' | '\t' | '\r') || is_break(c)
}

/// Characters PyYAML may write unescaped when `allow_unicode` is set.
fn is_printable_unicode(c: char) -> bool {
    (c == '\u{85}'
        || ('\u{A0}'..='\u{D7FF}').contains(&c)
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || ('\u{10000}'..'\u{10FFFF}').contains(&c))
        && c != '\u{FEFF}'
}

/// Whitespace facts `analyze_scalar` collects.
#[derive(Default)]
struct Spacing {
    leading: bool,
    trailing: bool,
    /// A space right after a line break.
    break_space: bool,
    /// A space right before a line break.
    space_break: bool,
}

fn analyze(text: &str, allow_unicode: bool) -> Analysis {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Analysis {
            chars,
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
            allow_block: false,
        };
    }
    let last = chars.len() - 1;
    let mut block_indicators = text.starts_with("---") || text.starts_with("...");
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut spacing = Spacing::default();
    let mut trailing_space = false;
    let mut preceded_by_whitespace = true;
    let mut followed_by_whitespace = chars.get(1).is_none_or(|&c| is_blank(c));
    let mut previous_space = false;
    let mut previous_break = false;

    for (index, &ch) in chars.iter().enumerate() {
        let indicator = if index == 0 {
            "#,[]{}&*!|>'\"%@`".contains(ch)
                || (matches!(ch, '?' | ':' | '-') && followed_by_whitespace)
        } else {
            (ch == ':' && followed_by_whitespace) || (ch == '#' && preceded_by_whitespace)
        };
        block_indicators |= indicator;

        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || (' '..='~').contains(&ch))
            && !(allow_unicode && is_printable_unicode(ch))
        {
            special_characters = true;
        }

        if ch == ' ' {
            spacing.leading |= index == 0;
            trailing_space |= index == last;
            spacing.break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(ch) {
            spacing.leading |= index == 0;
            spacing.trailing |= index == last;
            spacing.space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }

        preceded_by_whitespace = is_blank(ch);
        followed_by_whitespace = chars.get(index + 2).is_none_or(|&c| is_blank(c));
    }

    let mut allow_block_plain = !(spacing.leading || spacing.trailing || trailing_space);
    let mut allow_single_quoted = true;
    let mut allow_block = !trailing_space;
    if spacing.break_space {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if spacing.space_break || special_characters {
        allow_block_plain = false;
        allow_single_quoted = false;
        allow_block = false;
    }
    if line_breaks || block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        chars,
        empty: false,
        multiline: line_breaks,
        allow_block_plain,
        allow_single_quoted,
        allow_block,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// `Emitter.choose_scalar_style` outside flow context.
fn choose_style(event: &ScalarEvent<'_>, simple_key: bool) -> Style {
    let a = &event.analysis;
    if !event.literal
        && event.plain_implicit
        && !(simple_key && (a.empty || a.multiline))
        && a.allow_block_plain
    {
        return Style::Plain;
    }
    if event.literal {
        if !simple_key && a.allow_block {
            return Style::Literal;
        }
    } else if a.allow_single_quoted && !(simple_key && a.multiline) {
        return Style::SingleQuoted;
    }
    Style::DoubleQuoted
}

/// `expect_node`'s context flags that influence the output.
#[derive(Clone, Copy, Default)]
struct Context {
    root: bool,
    mapping: bool,
    simple_key: bool,
}

/// `check_simple_key`: a key is written inline when it is a short single-line scalar or an empty
/// collection. PyYAML counts the tag it would write (`!!str`) in the length.
fn check_simple_key(event: &Event<'_>) -> bool {
    match event {
        Event::Scalar(s) => {
            let a = &s.analysis;
            s.tag.len() + a.chars.len() < 128 && !a.empty && !a.multiline
        }
        Event::Sequence(items) => items.is_empty(),
        Event::Mapping(pairs) => pairs.is_empty(),
    }
}

struct Emitter<'o> {
    opts: &'o DumpOptions,
    out: String,
    best_indent: usize,
    best_width: usize,
    /// PyYAML's `indent`; `None` before the root node.
    indent: Option<usize>,
    /// Characters written since the last line break.
    column: usize,
    /// The last character written is whitespace.
    whitespace: bool,
    /// Only indentation (spaces, `-`, `?`, `:`) has been written on this line.
    indention: bool,
    /// The document needs a `...` end marker.
    open_ended: bool,
}

impl<'o> Emitter<'o> {
    fn new(opts: &'o DumpOptions) -> Self {
        let best_indent = if (2..10).contains(&opts.indent) { opts.indent } else { 2 };
        let best_width = if opts.width > best_indent * 2 { opts.width } else { 80 };
        Emitter {
            opts,
            out: String::new(),
            best_indent,
            best_width,
            indent: None,
            column: 0,
            whitespace: true,
            indention: true,
            open_ended: false,
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indent = match self.indent {
            None if flow => Some(self.best_indent),
            None => Some(0),
            Some(indent) if !indentless => Some(indent + self.best_indent),
            unchanged => unchanged,
        };
    }

    // Nodes.

    fn node(&mut self, node: &Node, ctx: Context) {
        let event = represent(node, self.opts);
        self.event(&event, ctx);
    }

    fn event(&mut self, event: &Event<'_>, ctx: Context) {
        match event {
            Event::Scalar(scalar) => self.scalar(scalar, ctx),
            Event::Sequence([]) => self.empty_flow_collection("[", "]"),
            Event::Mapping([]) => self.empty_flow_collection("{", "}"),
            Event::Sequence(items) => self.block_sequence(items, ctx),
            Event::Mapping(pairs) => self.block_mapping(pairs),
        }
    }

    fn scalar(&mut self, event: &ScalarEvent<'_>, ctx: Context) {
        let style = choose_style(event, ctx.simple_key);
        // `process_tag`: the tag is implied unless the chosen style changes how it resolves.
        let implicit =
            if style == Style::Plain { event.plain_implicit } else { event.quoted_implicit };
        if !implicit {
            self.write_indicator(event.tag, true, false, false);
        }
        let saved = self.indent;
        self.increase_indent(true, false);
        let text = &event.analysis.chars;
        let split = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(text, split, ctx.root),
            Style::SingleQuoted => self.write_single_quoted(text, split),
            Style::DoubleQuoted => self.write_double_quoted(text, split),
            Style::Literal => self.write_literal(text),
        }
        self.indent = saved;
    }

    fn empty_flow_collection(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn block_sequence(&mut self, items: &[Node], ctx: Context) {
        let saved = self.indent;
        let indentless = ctx.mapping && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::default());
        }
        self.indent = saved;
    }

    fn block_mapping(&mut self, pairs: &[(Node, Node)]) {
        let saved = self.indent;
        self.increase_indent(false, false);
        let in_mapping = Context { mapping: true, ..Context::default() };
        for (key, value) in pairs {
            self.write_indent();
            let key_event = represent(key, self.opts);
            if check_simple_key(&key_event) {
                self.event(&key_event, Context { simple_key: true, ..in_mapping });
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.event(&key_event, in_mapping);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, in_mapping);
        }
        self.indent = saved;
    }

    // Low-level writers.

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        whitespace: bool,
        indention: bool,
    ) {
        if !self.whitespace && need_whitespace {
            self.out.push(' ');
            self.column += 1;
        }
        self.out.push_str(indicator);
        self.column += indicator.chars().count();
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention
            || self.column > indent
            || (self.column == indent && !self.whitespace)
        {
            self.write_line_break('\n');
        }
        if self.column < indent {
            self.whitespace = true;
            self.out.extend(std::iter::repeat_n(' ', indent - self.column));
            self.column = indent;
        }
    }

    fn write_line_break(&mut self, br: char) {
        self.out.push(br);
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
    }

    /// Write `text[start..end]` and advance the column (nothing when the range is empty).
    fn write_slice(&mut self, text: &[char], start: usize, end: usize) {
        if let Some(slice) = text.get(start..end) {
            self.out.extend(slice);
            self.column += slice.len();
        }
    }

    fn write_line_breaks(&mut self, text: &[char], start: usize, end: usize) {
        for &br in text.get(start..end).unwrap_or_default() {
            self.write_line_break(br);
        }
    }

    // Scalar writers.

    fn write_plain(&mut self, text: &[char], split: bool, root: bool) {
        if root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.out.push(' ');
            self.column += 1;
        }
        self.whitespace = false;
        self.indention = false;
        // Plain scalars never hold line breaks (`analyze` forbids them), only spaces to fold at.
        let mut spaces = false;
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.best_width && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write_slice(text, start, end);
                    }
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ') {
                self.write_slice(text, start, end);
                start = end;
            }
            spaces = ch == Some(' ');
        }
    }

    fn write_single_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > self.best_width
                        && split
                        && start != 0
                        && end != text.len()
                    {
                        self.write_indent();
                    } else {
                        self.write_slice(text, start, end);
                    }
                    start = end;
                }
            } else if breaks {
                if ch.is_none_or(|c| !is_break(c)) {
                    if text.get(start) == Some(&'\n') {
                        self.write_line_break('\n');
                    }
                    self.write_line_breaks(text, start, end);
                    self.write_indent();
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || c == '\'' || is_break(c)) && start < end {
                self.write_slice(text, start, end);
                start = end;
            }
            if ch == Some('\'') {
                self.out.push_str("''");
                self.column += 2;
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = is_break(c);
            }
        }
        self.write_indicator("'", false, false, false);
    }

    fn needs_escape(&self, c: char) -> bool {
        matches!(c, '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}')
            || !((' '..='~').contains(&c)
                || (self.opts.allow_unicode
                    && (('\u{A0}'..='\u{D7FF}').contains(&c)
                        || ('\u{E000}'..='\u{FFFD}').contains(&c))))
    }

    fn write_escape(&mut self, c: char) {
        let short = match c {
            '\0' => Some('0'),
            '\u{7}' => Some('a'),
            '\u{8}' => Some('b'),
            '\t' => Some('t'),
            '\n' => Some('n'),
            '\u{B}' => Some('v'),
            '\u{C}' => Some('f'),
            '\r' => Some('r'),
            '\u{1B}' => Some('e'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            '\u{85}' => Some('N'),
            '\u{A0}' => Some('_'),
            '\u{2028}' => Some('L'),
            '\u{2029}' => Some('P'),
            _ => None,
        };
        let before = self.out.len();
        let code = u32::from(c);
        // Writing to a `String` cannot fail.
        let _ = match short {
            Some(e) => write!(self.out, "\\{e}"),
            None if code <= 0xFF => write!(self.out, "\\x{code:02X}"),
            None if code <= 0xFFFF => write!(self.out, "\\u{code:04X}"),
            None => write!(self.out, "\\U{code:08X}"),
        };
        // Escapes are ASCII: bytes are characters.
        self.column += self.out.len() - before;
    }

    fn write_double_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("\"", true, false, false);
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if ch.is_none_or(|c| self.needs_escape(c)) {
                if start < end {
                    self.write_slice(text, start, end);
                    start = end;
                }
                if let Some(c) = ch {
                    self.write_escape(c);
                    start = end + 1;
                }
            }
            // Fold at a space, or after an escape, once past the width; `\` ends the line and
            // a leading space on the next one is escaped so it is not taken as indentation.
            if 0 < end
                && end + 1 < text.len()
                && (ch == Some(' ') || start >= end)
                && self.column + end > self.best_width + start
                && split
            {
                if start < end {
                    self.write_slice(text, start, end);
                    start = end;
                }
                self.out.push('\\');
                self.column += 1;
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if text.get(start) == Some(&' ') {
                    self.out.push('\\');
                    self.column += 1;
                }
            }
        }
        self.write_indicator("\"", false, false, false);
    }

    /// `determine_block_hints`: an indentation indicator when the text starts with a space or
    /// a break, then `-` (strip) without a final break or `+` (keep) with several.
    fn block_hints(&self, text: &[char]) -> String {
        let mut hints = String::new();
        if let (Some(&first), Some(&last)) = (text.first(), text.last()) {
            if first == ' ' || is_break(first) {
                hints.push_str(&self.best_indent.to_string());
            }
            if !is_break(last) {
                hints.push('-');
            } else if text.len() == 1 || text.get(text.len() - 2).is_some_and(|&c| is_break(c))
            {
                hints.push('+');
            }
        }
        hints
    }

    fn write_literal(&mut self, text: &[char]) {
        let hints = self.block_hints(text);
        self.write_indicator(&format!("|{hints}"), true, false, false);
        if hints.ends_with('+') {
            self.open_ended = true;
        }
        self.write_line_break('\n');
        let mut breaks = true;
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if breaks {
                if ch.is_none_or(|c| !is_break(c)) {
                    self.write_line_breaks(text, start, end);
                    if ch.is_some() {
                        self.write_indent();
                    }
                    start = end;
                }
            } else if ch.is_none_or(is_break) {
                // PyYAML does not advance the column here; a line break always follows.
                self.out.extend(text.get(start..end).unwrap_or_default());
                if ch.is_none() {
                    self.write_line_break('\n');
                }
                start = end;
            }
            if let Some(c) = ch {
                breaks = is_break(c);
            }
        }
    }
}
