//! YAML written the way PyYAML's `SafeDumper` writes it, so the files we pack are the files
//! charmcraft packs.
//!
//! charmcraft writes `config.yaml` and `actions.yaml` with `yaml.safe_dump(model)` (keys sorted)
//! and `manifest.yaml` with `yaml.dump(data, Dumper=SafeDumper, sort_keys=False)`, after
//! registering a string representer that writes multi-line strings as literal blocks (`|`).
//! PyYAML's defaults then decide the rest: block style (empty collections in flow style, `{}` and
//! `[]`), two-space indentation with sequences inside mappings not indented, lines folded past
//! column 80, non-ASCII text escaped in double quotes, and a string quoted whenever PyYAML would
//! read it back as something else (`'24.04'`, `'yes'`, `'null'`, `''`).
//!
//! This is the subset of PyYAML's emitter that a charm's files need: mappings with string keys,
//! sequences, strings, integers, floats, booleans and null, no anchors, no tags. What it writes
//! is checked against PyYAML itself in `crates/charmkit-cli/tests/pyyaml.rs` (where PyYAML is installed) and
//! against vectors PyYAML wrote.

use std::fmt;

use serde_norway::Value;

mod scalar;

pub use scalar::float_repr;
use scalar::{analyze, choose_style, scalar, simple_key, Scalar, Style};

/// How a mapping's keys are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOrder {
    /// Sorted, as `yaml.safe_dump` does by default.
    Sorted,
    /// As the mapping holds them, as `sort_keys=False` does.
    AsGiven,
}

/// Why a value cannot be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpError(String);

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DumpError {}

/// Writes `value` as one YAML document, as PyYAML's `SafeDumper` does with charmcraft's string
/// representer.
pub fn dump(value: &Value, order: KeyOrder) -> Result<String, DumpError> {
    let mut e = Emitter {
        out: String::new(),
        column: 0,
        whitespace: true,
        indention: true,
        open_ended: false,
        indent: None,
        indents: Vec::new(),
        order,
    };
    e.node(value, Context::Root)?;
    // The end of the (implicit) document, then of the stream.
    e.write_indent();
    if e.open_ended {
        e.write_indicator("...", true, false, false);
        e.write_indent();
    }
    Ok(e.out)
}

/// PyYAML's `best_width` and `best_indent`.
const WIDTH: usize = 80;
const INDENT: usize = 2;

/// Where a node sits; PyYAML's `root_context`, `sequence_context`, `mapping_context` and
/// `simple_key_context`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    SequenceItem,
    MappingValue,
    MappingKey,
}

struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    open_ended: bool,
    indent: Option<usize>,
    indents: Vec<Option<usize>>,
    order: KeyOrder,
}

impl Emitter {
    fn node(&mut self, value: &Value, ctx: Context) -> Result<(), DumpError> {
        match value {
            Value::Mapping(m) if m.is_empty() => {
                self.empty_flow("{", "}");
                Ok(())
            }
            Value::Sequence(s) if s.is_empty() => {
                self.empty_flow("[", "]");
                Ok(())
            }
            Value::Mapping(m) => {
                let mut entries: Vec<(&Value, &Value)> = m.iter().collect();
                if entries.iter().any(|(k, _)| !k.is_string()) {
                    return Err(DumpError("a mapping key that is not a string".into()));
                }
                if self.order == KeyOrder::Sorted {
                    entries.sort_by(|a, b| a.0.as_str().cmp(&b.0.as_str()));
                }
                self.increase_indent(false, false);
                for (k, v) in entries {
                    self.write_indent();
                    let key = scalar(k)?;
                    if !simple_key(&key) {
                        return Err(DumpError(format!(
                            "the key {:?} is not a simple key (empty, multi-line or too long)",
                            key.text.iter().collect::<String>()
                        )));
                    }
                    self.scalar(&key, Context::MappingKey)?;
                    self.write_indicator(":", false, false, false);
                    self.node(v, Context::MappingValue)?;
                }
                self.indent = self.indents.pop().flatten();
                Ok(())
            }
            Value::Sequence(items) => {
                let indentless = ctx == Context::MappingValue && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, Context::SequenceItem)?;
                }
                self.indent = self.indents.pop().flatten();
                Ok(())
            }
            other => {
                let s = scalar(other)?;
                self.scalar(&s, ctx)
            }
        }
    }

    /// An empty collection: PyYAML writes it in flow style.
    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.write_indicator(close, false, false, false);
    }

    fn scalar(&mut self, s: &Scalar, ctx: Context) -> Result<(), DumpError> {
        self.increase_indent(true, false);
        let a = analyze(&s.text);
        let simple_key = ctx == Context::MappingKey;
        let style = choose_style(s, &a, simple_key);
        if style != Style::Plain && !s.is_str {
            // Integers, floats, booleans and null are always plain; a tag would be needed.
            return Err(DumpError(format!(
                "cannot write {:?} untagged",
                s.text.iter().collect::<String>()
            )));
        }
        let split = !simple_key;
        match style {
            Style::Plain => self.write_plain(&s.text, split, ctx == Context::Root),
            Style::SingleQuoted => self.write_single_quoted(&s.text, split),
            Style::DoubleQuoted => self.write_double_quoted(&s.text, split),
            Style::Literal => self.write_literal(&s.text),
        }
        self.indent = self.indents.pop().flatten();
        Ok(())
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        self.indent = match self.indent {
            None if flow => Some(INDENT),
            None => Some(0),
            Some(i) if !indentless => Some(i + INDENT),
            Some(i) => Some(i),
        };
    }

    fn write(&mut self, data: &str) {
        self.column += data.chars().count();
        self.out.push_str(data);
    }

    fn write_indicator(
        &mut self,
        indicator: &str,
        need_whitespace: bool,
        whitespace: bool,
        indention: bool,
    ) {
        if !self.whitespace && need_whitespace {
            self.write(" ");
        }
        self.write(indicator);
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
        self.open_ended = false;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.unwrap_or(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.write_line_break();
        }
        if self.column < indent {
            self.whitespace = true;
            let pad = " ".repeat(indent - self.column);
            self.write(&pad);
        }
    }

    fn write_line_break(&mut self) {
        self.whitespace = true;
        self.indention = true;
        self.column = 0;
        self.out.push('\n');
    }

    fn write_chars(&mut self, chars: &[char]) {
        let s: String = chars.iter().collect();
        self.write(&s);
    }

    fn write_plain(&mut self, text: &[char], split: bool, root: bool) {
        if root {
            self.open_ended = true;
        }
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;
        // Never a line break here: a string with one is a literal block or double-quoted.
        debug_assert!(!text.contains(&'\n'));
        let mut spaces = false;
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > WIDTH && split {
                        self.write_indent();
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if matches!(ch, None | Some(' ')) {
                self.write_chars(&text[start..end]);
                start = end;
            }
            spaces = ch == Some(' ');
        }
    }

    fn write_single_quoted(&mut self, text: &[char], split: bool) {
        // Never a line break here either (see write_plain).
        debug_assert!(!text.contains(&'\n'));
        self.write_indicator("'", true, false, false);
        let mut spaces = false;
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end
                        && self.column > WIDTH
                        && split
                        && start != 0
                        && end != text.len()
                    {
                        self.write_indent();
                    } else {
                        self.write_chars(&text[start..end]);
                    }
                    start = end;
                }
            } else if matches!(ch, None | Some(' ') | Some('\'')) && start < end {
                self.write_chars(&text[start..end]);
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            spaces = ch == Some(' ');
        }
        self.write_indicator("'", false, false, false);
    }

    fn write_double_quoted(&mut self, text: &[char], split: bool) {
        self.write_indicator("\"", true, false, false);
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            let escape = match ch {
                None => true,
                Some(c) => {
                    matches!(
                        c,
                        '"' | '\\' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}'
                    ) || !(' '..='~').contains(&c)
                }
            };
            if escape {
                if start < end {
                    self.write_chars(&text[start..end]);
                    start = end;
                }
                if let Some(c) = ch {
                    let data = match c {
                        '\0' => "\\0".to_string(),
                        '\u{7}' => "\\a".to_string(),
                        '\u{8}' => "\\b".to_string(),
                        '\t' => "\\t".to_string(),
                        '\n' => "\\n".to_string(),
                        '\u{b}' => "\\v".to_string(),
                        '\u{c}' => "\\f".to_string(),
                        '\r' => "\\r".to_string(),
                        '\u{1b}' => "\\e".to_string(),
                        '"' => "\\\"".to_string(),
                        '\\' => "\\\\".to_string(),
                        '\u{85}' => "\\N".to_string(),
                        '\u{a0}' => "\\_".to_string(),
                        '\u{2028}' => "\\L".to_string(),
                        '\u{2029}' => "\\P".to_string(),
                        c if (c as u32) <= 0xff => format!("\\x{:02X}", c as u32),
                        c if (c as u32) <= 0xffff => format!("\\u{:04X}", c as u32),
                        c => format!("\\U{:08X}", c as u32),
                    };
                    self.write(&data);
                    start = end + 1;
                }
            }
            if 0 < end
                && end + 1 < text.len()
                && (ch == Some(' ') || start >= end)
                && (self.column + end) as isize - start as isize > WIDTH as isize
                && split
            {
                let mut data: String = text[start.min(end)..end].iter().collect();
                data.push('\\');
                if start < end {
                    start = end;
                }
                self.write(&data);
                self.write_indent();
                self.whitespace = false;
                self.indention = false;
                if text.get(start) == Some(&' ') {
                    self.write("\\");
                }
            }
        }
        self.write_indicator("\"", false, false, false);
    }

    fn write_literal(&mut self, text: &[char]) {
        let mut hints = String::new();
        if let (Some(first), Some(last)) = (text.first(), text.last()) {
            if matches!(first, ' ' | '\n') {
                hints.push_str(&INDENT.to_string());
            }
            if *last != '\n' {
                hints.push('-');
            } else if text.len() == 1 || text[text.len() - 2] == '\n' {
                hints.push('+');
            }
        }
        self.write_indicator(&format!("|{hints}"), true, false, false);
        if hints.ends_with('+') {
            self.open_ended = true;
        }
        self.write_line_break();
        let mut breaks = true;
        let mut start = 0;
        for end in 0..=text.len() {
            let ch = text.get(end).copied();
            if breaks {
                if ch != Some('\n') {
                    for _ in start..end {
                        self.write_line_break();
                    }
                    if ch.is_some() {
                        self.write_indent();
                    }
                    start = end;
                }
            } else if matches!(ch, None | Some('\n')) {
                // PyYAML does not count these columns; nothing after them depends on it.
                let s: String = text[start..end].iter().collect();
                self.out.push_str(&s);
                if ch.is_none() {
                    self.write_line_break();
                }
                start = end;
            }
            if let Some(c) = ch {
                breaks = c == '\n';
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(text: &str) -> Value {
        serde_norway::from_str(text).unwrap()
    }

    fn sorted(text: &str) -> String {
        dump(&y(text), KeyOrder::Sorted).unwrap()
    }

    /// `{k: s}` written out.
    fn one(s: &str) -> String {
        let mut m = serde_norway::Mapping::new();
        m.insert("k".into(), Value::String(s.into()));
        dump(&Value::Mapping(m), KeyOrder::Sorted).unwrap()
    }

    // Each expected text below is what PyYAML 6.0 wrote for the same data (charmcraft's
    // representer registered); tests/pyyaml.rs compares against PyYAML live where it can.

    #[test]
    fn block_mappings_sorted_and_sequences_indentless() {
        assert_eq!(
            sorted("b: 1\na: [x, {k: v, j: [1, 2]}]\nc: {}\nd: []\n"),
            "a:\n- x\n- j:\n  - 1\n  - 2\n  k: v\nb: 1\nc: {}\nd: []\n"
        );
    }

    #[test]
    fn as_given_keeps_the_order() {
        let v = y("z: 1\na: 2\n");
        assert_eq!(dump(&v, KeyOrder::AsGiven).unwrap(), "z: 1\na: 2\n");
    }

    #[test]
    fn strings_that_read_back_as_something_else_are_quoted() {
        for (s, want) in [
            ("24.04", "'24.04'"),
            ("yes", "'yes'"),
            ("Off", "'Off'"),
            ("null", "'null'"),
            ("~", "'~'"),
            ("", "''"),
            ("0o17", "0o17"),
            ("017", "'017'"),
            ("0x1F", "'0x1F'"),
            ("1_000", "'1_000'"),
            ("190:20:30", "'190:20:30'"),
            ("2026-11-26", "'2026-11-26'"),
            ("2026-11-26T14:32:10.123456", "'2026-11-26T14:32:10.123456'"),
            ("<<", "'<<'"),
            ("=", "'='"),
            (".inf", "'.inf'"),
            ("4.5.0", "4.5.0"),
            ("hello", "hello"),
        ] {
            assert_eq!(one(s), format!("k: {want}\n"), "{s:?}");
        }
    }

    #[test]
    fn indicators_spaces_and_quotes() {
        for (s, want) in [
            ("- a", "'- a'"),
            ("-a", "-a"),
            ("a: b", "'a: b'"),
            ("a:b", "a:b"),
            ("a #b", "'a #b'"),
            ("a#b", "a#b"),
            ("#a", "'#a'"),
            ("*a", "'*a'"),
            (" a", "' a'"),
            ("a ", "'a '"),
            ("it's", "it's"),
            ("'q'", "'''q'''"),
            ("---x", "'---x'"),
            ("tab\there", "\"tab\\there\""),
            ("caf\u{e9}", "\"caf\\xE9\""),
            ("\u{1F600}", "\"\\U0001F600\""),
            ("\u{2028}", "\"\\L\""),
        ] {
            assert_eq!(one(s), format!("k: {want}\n"), "{s:?}");
        }
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        assert_eq!(sorted("k: \"a\\nb\\n\"\n"), "k: |\n  a\n  b\n");
        assert_eq!(sorted("k: \"a\\nb\"\n"), "k: |-\n  a\n  b\n");
        assert_eq!(sorted("k: \"a\\n\\n\"\n"), "k: |+\n  a\n\n...\n");
        assert_eq!(sorted("k: \" a\\nb\\n\"\n"), "k: |2\n   a\n  b\n");
        // A trailing space forbids a block: double quotes.
        assert_eq!(sorted("k: \"a \\nb\"\n"), "k: \"a \\nb\"\n");
        assert_eq!(
            sorted("o:\n  k: \"x\\n  y\\n\"\n  l: 1\n"),
            "o:\n  k: |\n    x\n      y\n  l: 1\n"
        );
    }

    #[test]
    fn long_lines_fold_past_column_80() {
        let text =
            "Report the state of this unit's trace buffer (the fields of `dispatch trace status`).";
        let mut m = serde_norway::Mapping::new();
        m.insert("description".into(), Value::String(text.into()));
        let mut a = serde_norway::Mapping::new();
        a.insert("trace-status".into(), Value::Mapping(m));
        assert_eq!(
            dump(&Value::Mapping(a), KeyOrder::Sorted).unwrap(),
            "trace-status:\n  description: Report the state of this unit's trace buffer (the fields of `dispatch\n    trace status`).\n"
        );
        let long = format!("'{}'", "word ".repeat(20).trim_end());
        assert_eq!(
            one(&long),
            "k: '''word word word word word word word word word word word word word word word word\n  word word word word'''\n"
        );
    }

    #[test]
    fn numbers_booleans_null() {
        assert_eq!(
            sorted("a: 1\nb: -2\nc: 1.5\nd: true\ne: null\nf: 1.0e+16\ng: 0.00001\nh: 100.0\n"),
            "a: 1\nb: -2\nc: 1.5\nd: true\ne: null\nf: 1.0e+16\ng: 1.0e-05\nh: 100.0\n"
        );
    }

    #[test]
    fn empty_root_and_refusals() {
        assert_eq!(sorted("{}"), "{}\n");
        assert!(dump(&y("? [a]\n: 1\n"), KeyOrder::Sorted).is_err());
        assert!(dump(&y("1: a\n"), KeyOrder::Sorted).is_err());
        let long_key = format!("{}: 1\n", "k".repeat(123));
        assert!(dump(&y(&long_key), KeyOrder::Sorted).is_err());
        let ok_key = format!("{}: 1\n", "k".repeat(122));
        assert!(dump(&y(&ok_key), KeyOrder::Sorted).is_ok());
    }
}
