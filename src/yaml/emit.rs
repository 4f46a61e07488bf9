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
use std::iter;

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
        DumpOptions {
            literal_multiline: false,
            width: 80,
            indent: 2,
            allow_unicode: false,
        }
    }
}

/// Dump one document as PyYAML's `SafeDumper` does. The result ends with one `\n`, without
/// `---`. Like PyYAML, an open-ended document (a plain scalar at the root, or a final `|+`
/// literal) is closed with a `...` line.
pub fn dump(node: &Node, opts: &DumpOptions) -> String {
    let mut emitter = Emitter::new(opts);
    emitter.node(node, Context::Root);
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
    Scalar(ScalarEvent),
    Sequence(&'a [Node]),
    Mapping(&'a [(Node, Node)]),
}

/// PyYAML's `ScalarEvent` for a represented value.
struct ScalarEvent {
    /// The scalar's text and its analysis.
    analysis: Analysis,
    /// The tag in its `!!` short form; `check_simple_key` counts its length.
    tag: &'static str,
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

/// `analyze_scalar`'s "unicode characters": non-ASCII that `allow_unicode` lets through.
fn is_unicode_printable(c: char) -> bool {
    (c == '\u{85}'
        || ('\u{A0}'..='\u{D7FF}').contains(&c)
        || ('\u{E000}'..='\u{FFFD}').contains(&c)
        || ('\u{10000}'..'\u{10FFFF}').contains(&c))
        && c != '\u{FEFF}'
}

/// Whether a plain scalar would be read back as something else because of an indicator: a
/// document marker, a leading indicator character, `- `, `? `, `: ` at the start, or `: ` / ` #`
/// inside.
fn has_block_indicator(text: &str, chars: &[char]) -> bool {
    if text.starts_with("---") || text.starts_with("...") {
        return true;
    }
    let mut preceded_by_whitespace = true;
    for (index, &ch) in chars.iter().enumerate() {
        let followed_by_whitespace = chars.get(index + 1).is_none_or(|&c| is_blank(c));
        let indicator = if index == 0 {
            "#,[]{}&*!|>'\"%@`".contains(ch)
                || (matches!(ch, '?' | ':' | '-') && followed_by_whitespace)
        } else {
            (ch == ':' && followed_by_whitespace) || (ch == '#' && preceded_by_whitespace)
        };
        if indicator {
            return true;
        }
        preceded_by_whitespace = is_blank(ch);
    }
    false
}

fn analyze(text: &str, allow_unicode: bool) -> Analysis {
    let chars: Vec<char> = text.chars().collect();
    let Some(last) = chars.len().checked_sub(1) else {
        return Analysis {
            chars,
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
            allow_block: false,
        };
    };
    let mut line_breaks = false;
    let mut special_characters = false;
    // Important whitespace: at either end, and a space just after or before a line break.
    let mut leading_blank = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;

    for (index, &ch) in chars.iter().enumerate() {
        let printable =
            ch == '\n' || (' '..='~').contains(&ch) || (allow_unicode && is_unicode_printable(ch));
        special_characters |= !printable;
        let (space, line_break) = (ch == ' ', is_break(ch));
        line_breaks |= line_break;
        if space || line_break {
            leading_blank |= index == 0;
            trailing_space |= space && index == last;
            trailing_break |= line_break && index == last;
            break_space |= space && previous_break;
            space_break |= line_break && previous_space;
        }
        previous_space = space;
        previous_break = line_break;
    }

    let mut allow_block_plain = !(leading_blank || trailing_space || trailing_break);
    let mut allow_single_quoted = true;
    let mut allow_block = !trailing_space;
    if break_space {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if space_break || special_characters {
        allow_block_plain = false;
        allow_single_quoted = false;
        allow_block = false;
    }
    if line_breaks || has_block_indicator(text, &chars) {
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
fn choose_style(event: &ScalarEvent, simple_key: bool) -> Style {
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

/// Where `expect_node` is called from; PyYAML's `root_context`, `sequence_context`,
/// `mapping_context` and `simple_key_context` flags (a simple key is in a mapping too).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    Sequence,
    /// A mapping value, or a key written in the `? key` form.
    Mapping,
    SimpleKey,
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
        let best_indent = if (2..10).contains(&opts.indent) {
            opts.indent
        } else {
            2
        };
        let best_width = if opts.width > best_indent * 2 {
            opts.width
        } else {
            80
        };
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

    fn scalar(&mut self, event: &ScalarEvent, ctx: Context) {
        let simple_key = ctx == Context::SimpleKey;
        let style = choose_style(event, simple_key);
        // `process_tag`: the tag is implied unless the chosen style changes how it resolves.
        let implicit = if style == Style::Plain {
            event.plain_implicit
        } else {
            event.quoted_implicit
        };
        if !implicit {
            self.write_indicator(event.tag, true, false, false);
        }
        let saved = self.indent;
        self.increase_indent(true, false);
        let text = &event.analysis.chars;
        let split = !simple_key;
        match style {
            Style::Plain => self.write_plain(text, split, ctx == Context::Root),
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
        let indentless = matches!(ctx, Context::Mapping | Context::SimpleKey) && !self.indention;
        self.increase_indent(false, indentless);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(item, Context::Sequence);
        }
        self.indent = saved;
    }

    fn block_mapping(&mut self, pairs: &[(Node, Node)]) {
        let saved = self.indent;
        self.increase_indent(false, false);
        for (key, value) in pairs {
            self.write_indent();
            let key_event = represent(key, self.opts);
            if check_simple_key(&key_event) {
                self.event(&key_event, Context::SimpleKey);
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.event(&key_event, Context::Mapping);
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(value, Context::Mapping);
        }
        self.indent = saved;
    }

    // Low-level writers.

    /// Write an indicator (`-`, `:`, `'`, ...), after a space unless one is already there or
    /// `need_whitespace` is false; `whitespace` and `indention` describe what it leaves behind.
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

    /// Start a new line unless only indentation has been written, then pad to the indent.
    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break('\n');
        }
        if self.column < indent {
            self.whitespace = true;
            let padding = indent - self.column;
            self.out.extend(iter::repeat_n(' ', padding));
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

    /// Write the line breaks `text[start..end]` as they are.
    fn write_line_breaks(&mut self, text: &[char], start: usize, end: usize) {
        for &br in text.get(start..end).unwrap_or_default() {
            self.write_line_break(br);
        }
    }

    // Scalar writers.

    /// A plain scalar, folded at a single space once past the width (when `split`).
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

    /// A single-quoted scalar: `'` doubled, folded at a single inner space once past the width,
    /// line breaks written with an extra empty line (a lone break would fold to a space).
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

    /// Characters `write_double_quoted` escapes: quotes, backslash, breaks other than `\n`, the
    /// BOM, and everything outside printable ASCII (or outside the BMP's printable range under
    /// `allow_unicode`; astral characters are escaped even then).
    fn needs_escape(&self, c: char) -> bool {
        let special = matches!(
            c,
            '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}'
        );
        let unicode = self.opts.allow_unicode
            && (('\u{A0}'..='\u{D7FF}').contains(&c) || ('\u{E000}'..='\u{FFFD}').contains(&c));
        special || !((' '..='~').contains(&c) || unicode)
    }

    /// `\n`-style short escapes where YAML has one, else `\xXX`, `\uXXXX` or `\UXXXXXXXX`.
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

    /// A double-quoted scalar with PyYAML's escapes (`write_escape`), folded with `\` line
    /// continuations.
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
            } else if text.iter().rev().nth(1).is_none_or(|&c| is_break(c)) {
                hints.push('+');
            }
        }
        hints
    }

    /// A literal block scalar (`|`, with `block_hints`), one indented line per text line.
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

#[cfg(test)]
mod tests {
    //! Expected outputs are PyYAML 6.0.3's, generated with `yaml.dump(data, Dumper=SafeDumper,
    //! default_flow_style=False, sort_keys=False, ...)` (sync-compose's dumper for `literal()`).

    use super::*;
    use pretty_assertions::assert_eq;

    fn s(text: &str) -> Node {
        Node::str(text)
    }

    fn int(i: i128) -> Node {
        Node::new(Value::Int(i))
    }

    fn float(f: f64) -> Node {
        Node::new(Value::Float(f))
    }

    fn boolean(b: bool) -> Node {
        Node::new(Value::Bool(b))
    }

    fn null() -> Node {
        Node::new(Value::Null)
    }

    fn seq<const N: usize>(items: [Node; N]) -> Node {
        Node::new(Value::Seq(items.into()))
    }

    fn map<const N: usize>(pairs: [(Node, Node); N]) -> Node {
        Node::new(Value::Map(pairs.into()))
    }

    /// sync-compose's dumper: literal block style for strings holding a newline.
    fn literal() -> DumpOptions {
        DumpOptions {
            literal_multiline: true,
            ..DumpOptions::default()
        }
    }

    fn check(node: &Node, opts: &DumpOptions, lines: &[&str]) {
        let expected: String = lines.iter().map(|line| format!("{line}\n")).collect();
        assert_eq!(dump(node, opts), expected);
    }

    /// The probe of sync-compose's dumper (reference-outputs/misc/yaml-style-probe.txt).
    #[test]
    fn probe() {
        check(
            &map([
                (s("a"), s("x\ny\n")),
                (s("b"), s("x\ny")),
                (s("c"), s("x\ny\n\n")),
                (s("d"), s("naïve")),
                (s("e"), seq([s(&"word ".repeat(25))])),
                (s("f"), s("  lead\nx\n")),
                (s("g"), s("on")),
                (s("h"), s("")),
                (s("i"), s("~")),
                (s("j"), s("0755")),
                (s("k"), s("1e3")),
                (s("l"), s("a: b")),
                (s("m"), s("- x")),
                (s("n"), boolean(true)),
                (s("o"), s("*star")),
                (s("p"), s("#h")),
                (s("q"), s("line one \nline two")),
            ]),
            &literal(),
            &[
                "a: |",
                "  x",
                "  y",
                "b: |-",
                "  x",
                "  y",
                "c: |+",
                "  x",
                "  y",
                "",
                "d: \"na\\xEFve\"",
                "e:",
                "- 'word word word word word word word word word word word word word word word word",
                "  word word word word word word word word word '",
                "f: |2",
                "    lead",
                "  x",
                "g: 'on'",
                "h: ''",
                "i: '~'",
                "j: '0755'",
                "k: 1e3",
                "l: 'a: b'",
                "m: '- x'",
                "n: true",
                "o: '*star'",
                "p: '#h'",
                "q: \"line one \\nline two\"",
            ],
        );
    }

    /// A plain scalar at the root gets PyYAML's `...` document end; quoted ones do not.
    #[test]
    fn root_scalars_are_open_ended() {
        check(&s("x"), &DumpOptions::default(), &["x", "..."]);
        check(&int(1), &DumpOptions::default(), &["1", "..."]);
        check(&null(), &DumpOptions::default(), &["null", "..."]);
        check(&float(2.5), &DumpOptions::default(), &["2.5", "..."]);
        check(&boolean(true), &DumpOptions::default(), &["true", "..."]);
        check(&s(""), &DumpOptions::default(), &["''"]);
        check(&s("yes"), &DumpOptions::default(), &["'yes'"]);
        check(&s("a b"), &DumpOptions::default(), &["a b", "..."]);
        check(&seq([]), &DumpOptions::default(), &["[]"]);
        check(&map([]), &DumpOptions::default(), &["{}"]);
    }

    /// Indentless sequences under keys, nested sequences, mappings in sequences, `[]` and `{}`.
    #[test]
    fn collections() {
        check(
            &map([(
                s("services"),
                map([(
                    s("web"),
                    map([
                        (s("ports"), seq([s("80:80"), int(8080)])),
                        (s("env"), map([])),
                        (s("cmd"), seq([])),
                    ]),
                )]),
            )]),
            &DumpOptions::default(),
            &[
                "services:",
                "  web:",
                "    ports:",
                "    - 80:80",
                "    - 8080",
                "    env: {}",
                "    cmd: []",
            ],
        );
        check(
            &seq([
                seq([s("a"), s("b")]),
                seq([]),
                seq([seq([s("c")])]),
                map([(s("k"), s("v")), (s("l"), seq([s("x")]))]),
                map([]),
            ]),
            &DumpOptions::default(),
            &[
                "- - a", "  - b", "- []", "- - - c", "- k: v", "  l:", "  - x", "- {}",
            ],
        );
        check(
            &map([(
                s("a"),
                seq([map([
                    (s("b"), seq([int(1), int(2)])),
                    (s("c"), map([(s("d"), null())])),
                ])]),
            )]),
            &DumpOptions::default(),
            &["a:", "- b:", "  - 1", "  - 2", "  c:", "    d: null"],
        );
        check(
            &map([
                (
                    s("a"),
                    seq([map([
                        (s("b"), seq([int(1), int(2)])),
                        (s("c"), map([(s("d"), null())])),
                    ])]),
                ),
                (s("e"), seq([seq([s("f")])])),
            ]),
            &DumpOptions {
                literal_multiline: false,
                width: 80,
                indent: 4,
                allow_unicode: false,
            },
            &[
                "a:",
                "-   b:",
                "    - 1",
                "    - 2",
                "    c:",
                "        d: null",
                "e:",
                "-   - f",
            ],
        );
    }

    /// Non-string keys, and the `? key` form for long, empty, multi-line or collection keys.
    #[test]
    fn keys() {
        check(
            &map([
                (int(1), s("yes")),
                (null(), s("null")),
                (float(1.5), s("f")),
                (s(&"x".repeat(122)), s("simple")),
                (s(&"y".repeat(123)), s("complex")),
            ]),
            &DumpOptions::default(),
            &[
                "1: 'yes'",
                "null: 'null'",
                "1.5: f",
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx: simple",
                "? yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy",
                ": complex",
            ],
        );
        check(
            &map([(s(""), s("empty")), (s("a\nb"), s("multi"))]),
            &DumpOptions::default(),
            &["? ''", ": empty", "? 'a", "", "  b'", ": multi"],
        );
        check(
            &map([(s("a\nb"), s("multi")), (s(&"é".repeat(122)), int(1))]),
            &literal(),
            &[
                "? |-",
                "  a",
                "  b",
                ": multi",
                "\"\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\\xE9\": 1",
            ],
        );
        check(
            &map([
                (seq([]), s("empty seq key")),
                (seq([s("a"), s("b")]), s("seq key")),
            ]),
            &DumpOptions::default(),
            &["[]: empty seq key", "? - a", "  - b", ": seq key"],
        );
    }

    /// Strings that would resolve to another type are quoted; look-alikes stay plain.
    #[test]
    fn yaml11_words_are_quoted() {
        check(
            &seq([
                s("yes"),
                s("No"),
                s("ON"),
                s("off"),
                s("y"),
                s("n"),
                s("true"),
                s("null"),
                s("Null"),
                s("~"),
                s("0755"),
                s("08"),
                s("0x1F"),
                s("0b_"),
                s("1_000"),
                s("22:22"),
                s("3000:3000"),
                s("1e3"),
                s("1.0e+3"),
                s(".5"),
                s(".inf"),
                s(".NaN"),
                s("<<"),
                s("="),
                s("2024-01-02"),
                s("2024-1-2"),
                s("2001-12-14 21:59:43.10 -5"),
                s("512M"),
                s("9999999999999999999999999999999999999999"),
            ]),
            &DumpOptions::default(),
            &[
                "- 'yes'",
                "- 'No'",
                "- 'ON'",
                "- 'off'",
                "- y",
                "- n",
                "- 'true'",
                "- 'null'",
                "- 'Null'",
                "- '~'",
                "- '0755'",
                "- 08",
                "- '0x1F'",
                "- '0b_'",
                "- '1_000'",
                "- '22:22'",
                "- 3000:3000",
                "- 1e3",
                "- '1.0e+3'",
                "- '.5'",
                "- '.inf'",
                "- '.NaN'",
                "- '<<'",
                "- '='",
                "- '2024-01-02'",
                "- 2024-1-2",
                "- '2001-12-14 21:59:43.10 -5'",
                "- 512M",
                "- '9999999999999999999999999999999999999999'",
            ],
        );
    }

    /// Leading indicators, `: ` and ` #` inside, document markers, surrounding spaces.
    #[test]
    fn indicators() {
        check(
            &seq([
                s("- x"),
                s("-x"),
                s("-"),
                s("? x"),
                s("?x"),
                s(": x"),
                s(":x"),
                s("x:"),
                s("x: y"),
                s("x:y"),
                s("x #y"),
                s("x#y"),
                s("#x"),
                s(","),
                s("[x]"),
                s("{x}"),
                s("&a"),
                s("*a"),
                s("!t"),
                s("|"),
                s(">"),
                s("'"),
                s("\""),
                s("%"),
                s("@"),
                s("`"),
                s("---"),
                s("--- x"),
                s("..."),
                s(" lead"),
                s("trail "),
                s("it's"),
                s("a, b"),
                s("a[0]"),
                s("${HOST_PORT:-3001}:${CONTAINER_PORT:-3001}"),
            ]),
            &DumpOptions::default(),
            &[
                "- '- x'",
                "- -x",
                "- '-'",
                "- '? x'",
                "- ?x",
                "- ': x'",
                "- :x",
                "- 'x:'",
                "- 'x: y'",
                "- x:y",
                "- 'x #y'",
                "- x#y",
                "- '#x'",
                "- ','",
                "- '[x]'",
                "- '{x}'",
                "- '&a'",
                "- '*a'",
                "- '!t'",
                "- '|'",
                "- '>'",
                "- ''''",
                "- '\"'",
                "- '%'",
                "- '@'",
                "- '`'",
                "- '---'",
                "- '--- x'",
                "- '...'",
                "- ' lead'",
                "- 'trail '",
                "- it's",
                "- a, b",
                "- a[0]",
                "- ${HOST_PORT:-3001}:${CONTAINER_PORT:-3001}",
            ],
        );
    }

    /// Ints and floats as Python writes them.
    #[test]
    fn numbers() {
        check(
            &seq([
                int(0),
                int(-7),
                int(170141183460469231731687303715884105727),
                float(1.0),
                float(-0.0),
                float(3.8),
                float(1e+16),
                float(1.5e+16),
                float(1e-05),
                float(0.0001),
                float(123456789.123),
                float(665966212644480.2),
                float(f64::INFINITY),
                float(f64::NEG_INFINITY),
                float(f64::NAN),
            ]),
            &DumpOptions::default(),
            &[
                "- 0",
                "- -7",
                "- 170141183460469231731687303715884105727",
                "- 1.0",
                "- -0.0",
                "- 3.8",
                "- 1.0e+16",
                "- 1.5e+16",
                "- 1.0e-05",
                "- 0.0001",
                "- 123456789.123",
                "- 665966212644480.2",
                "- .inf",
                "- -.inf",
                "- .nan",
            ],
        );
    }

    /// Double-quoted escapes, ASCII-only and with `allow_unicode`.
    #[test]
    fn escapes() {
        check(
            &map([
                (s("a"), s("tab\there")),
                (s("b"), s("bell\u{7} nul\0 esc\u{1B} del\u{7F}")),
                (s("c"), s("naïve € 😀")),
                (
                    s("d"),
                    s("nbsp\u{A0} nel\u{85} ls\u{2028} ps\u{2029} bom\u{FEFF}"),
                ),
                (s("e"), s("back\\slash \"quote\"")),
                (s("f"), s("cr\r\n")),
                (s("g"), s("\u{10FFFF}")),
            ]),
            &DumpOptions::default(),
            &[
                "a: \"tab\\there\"",
                "b: \"bell\\a nul\\0 esc\\e del\\x7F\"",
                "c: \"na\\xEFve \\u20AC \\U0001F600\"",
                "d: \"nbsp\\_ nel\\N ls\\L ps\\P bom\\uFEFF\"",
                "e: back\\slash \"quote\"",
                "f: \"cr\\r\\n\"",
                "g: \"\\U0010FFFF\"",
            ],
        );
        check(
            &map([
                (s("c"), s("naïve € 😀")),
                (s("d"), s("nbsp\u{A0} nel\u{85} ls\u{2028} bom\u{FEFF}")),
                (s("g"), s("\u{10FFFF}")),
            ]),
            &DumpOptions {
                literal_multiline: false,
                width: 80,
                indent: 2,
                allow_unicode: true,
            },
            &[
                "c: naïve € 😀",
                "d: \"nbsp\u{A0} nel\\N ls\\L bom\\uFEFF\"",
                "g: \"\\U0010FFFF\"",
            ],
        );
    }

    /// Long plain, single- and double-quoted scalars fold at spaces past the width.
    #[test]
    fn folding() {
        check(
            &map([
                (s("plain"), s("lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem ipsum dolor sit amet")),
                (s("single"), s(&"it's ".repeat(30))),
                (s("double"), s("tab\t word word word word word word word word word word word word word word word word word word word word word word word word word word word word word word ")),
                (s("spaces"), s(&"a    b ".repeat(20))),
                (s("keep"), s(&"x".repeat(100))),
            ]),
            &DumpOptions::default(),
            &[
                "plain: lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem ipsum dolor sit",
                "  amet lorem ipsum dolor sit amet lorem ipsum dolor sit amet lorem ipsum dolor sit",
                "  amet lorem ipsum dolor sit amet lorem ipsum dolor sit amet",
                "single: 'it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s",
                "  it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s it''s",
                "  it''s it''s it''s '",
                "double: \"tab\\t word word word word word word word word word word word word word word\\",
                "  \\ word word word word word word word word word word word word word word word word \"",
                "spaces: 'a    b a    b a    b a    b a    b a    b a    b a    b a    b a    b a    b",
                "  a    b a    b a    b a    b a    b a    b a    b a    b a    b '",
                "keep: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            ],
        );
        check(
            &map([
                (s("plain"), s(&"lorem ipsum dolor sit amet ".repeat(3))),
                (s("double"), s(&"naïve café ".repeat(8))),
            ]),
            &DumpOptions {
                literal_multiline: false,
                width: 30,
                indent: 4,
                allow_unicode: false,
            },
            &[
                "plain: 'lorem ipsum dolor sit amet",
                "    lorem ipsum dolor sit amet lorem",
                "    ipsum dolor sit amet '",
                "double: \"na\\xEFve caf\\xE9 na\\xEF\\",
                "    ve caf\\xE9 na\\xEFve caf\\xE9\\",
                "    \\ na\\xEFve caf\\xE9 na\\xEFve\\",
                "    \\ caf\\xE9 na\\xEFve caf\\xE9 na\\xEF\\",
                "    ve caf\\xE9 na\\xEFve caf\\xE9 \"",
            ],
        );
    }

    /// Multi-line strings: quoted by default, literal when asked unless a trailing space forbids it.
    #[test]
    fn multiline_strings() {
        check(
            &map([
                (s("two"), s("line one\nline two\n")),
                (s("blank"), s("a\n\nb")),
                (s("lead"), s("\nx")),
                (s("space"), s(" x\ny")),
                (s("trailing"), s("x \ny")),
                (s("indented"), s("a\n b\n")),
                (s("long"), s("server {\n  listen 8080;\n  location / { proxy_pass http://$host; }\n}\n")),
            ]),
            &DumpOptions::default(),
            &[
                "two: 'line one",
                "",
                "  line two",
                "",
                "  '",
                "blank: 'a",
                "",
                "",
                "  b'",
                "lead: '",
                "",
                "  x'",
                "space: ' x",
                "",
                "  y'",
                "trailing: \"x \\ny\"",
                "indented: \"a\\n b\\n\"",
                "long: \"server {\\n  listen 8080;\\n  location / { proxy_pass http://$host; }\\n}\\n\"",
            ],
        );
        check(
            &map([
                (s("two"), s("line one\nline two\n")),
                (s("blank"), s("a\n\nb")),
                (s("lead"), s("\nx")),
                (s("space"), s(" x\ny")),
                (s("trailing"), s("x \ny")),
                (s("tab"), s("a\tb\nc")),
                (s("keep"), s("x\n\n")),
                (s("only"), s("\n")),
                (s("nested"), seq([map([(s("k"), s("a\nb\n"))])])),
            ]),
            &literal(),
            &[
                "two: |",
                "  line one",
                "  line two",
                "blank: |-",
                "  a",
                "",
                "  b",
                "lead: |2-",
                "",
                "  x",
                "space: |2-",
                "   x",
                "  y",
                "trailing: \"x \\ny\"",
                "tab: \"a\\tb\\nc\"",
                "keep: |+",
                "  x",
                "",
                "only: |2+",
                "",
                "nested:",
                "- k: |",
                "    a",
                "    b",
            ],
        );
        check(
            &map([(s("keep"), s("x\n\n")), (s("lead"), s("\nx"))]),
            &DumpOptions {
                literal_multiline: true,
                width: 80,
                indent: 4,
                allow_unicode: false,
            },
            &["keep: |+", "    x", "", "lead: |4-", "", "    x"],
        );
    }

    /// A final `|+` literal leaves the document open: PyYAML ends it with `...`.
    #[test]
    fn keep_literal_at_end_is_open_ended() {
        check(
            &map([(s("a"), s("x\n\n"))]),
            &literal(),
            &["a: |+", "  x", "", "..."],
        );
        check(&s("x\n\n"), &literal(), &["|+", "  x", "", "..."]);
    }
}
