//! Scalars as PyYAML's emitter sees them: the representer's text for each type, the analysis
//! of a string's characters, the style that follows from it, and the YAML 1.1 resolver that
//! decides whether a plain string would read back as something else.

use std::sync::OnceLock;

use regex_lite::Regex;
use serde_norway::Value;

use super::DumpError;

/// The style a scalar is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

/// A scalar as the representer hands it to the emitter: its text, whether it is a string (the
/// other types always resolve back to themselves when plain), and whether the representer asked
/// for a literal block.
pub(super) struct Scalar {
    pub(super) text: Vec<char>,
    pub(super) is_str: bool,
    pub(super) literal: bool,
}

/// The representer: a value's text and kind.
pub(super) fn scalar(v: &Value) -> Result<Scalar, DumpError> {
    let (text, is_str) = match v {
        Value::Null => ("null".to_string(), false),
        Value::Bool(b) => (b.to_string(), false),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                (i.to_string(), false)
            } else if let Some(u) = n.as_u64() {
                (u.to_string(), false)
            } else {
                (float_repr(n.as_f64().unwrap_or(f64::NAN)), false)
            }
        }
        Value::String(s) => (s.clone(), true),
        Value::Tagged(t) => return Err(DumpError(format!("a tagged value ({})", t.tag))),
        Value::Sequence(_) | Value::Mapping(_) => {
            return Err(DumpError("a collection where a scalar belongs".into()))
        }
    };
    let literal = is_str && text.contains('\n');
    Ok(Scalar {
        text: text.chars().collect(),
        is_str,
        literal,
    })
}

/// PyYAML's `represent_float`: Python's `repr`, lower-cased, with `.0` before an exponent that
/// has no decimal point (`1e+16` → `1.0e+16`).
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return ".nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        };
    }
    // Rust's `{:e}` gives the shortest digits that read back as `x`, as Python's repr does.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let decpt = exp + 1;
    let body = if decpt <= -4 || decpt > 16 {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() {
            // Python writes `1e+16`; PyYAML then inserts `.0`.
            ".0".to_string()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{first}{dot}e{esign}{:02}", exp.unsigned_abs())
    } else if decpt <= 0 {
        format!("0.{}{digits}", "0".repeat(decpt.unsigned_abs() as usize))
    } else {
        let d = decpt as usize;
        if d >= digits.len() {
            format!("{digits}{}.0", "0".repeat(d - digits.len()))
        } else {
            format!("{}.{}", &digits[..d], &digits[d..])
        }
    };
    format!("{sign}{body}")
}

/// `check_simple_key` for a string key: not empty, one line, and with its tag (`!!str`) under
/// 128 characters.
pub(super) fn simple_key(s: &Scalar) -> bool {
    let a = analyze(&s.text);
    !a.empty && !a.multiline && s.text.len() + "!!str".len() < 128
}

/// What `analyze_scalar` finds out about a scalar's text (with `allow_unicode` off).
pub(super) struct Analysis {
    pub(super) empty: bool,
    pub(super) multiline: bool,
    pub(super) allow_block_plain: bool,
    pub(super) allow_single_quoted: bool,
    pub(super) allow_block: bool,
}

pub(super) fn analyze(text: &[char]) -> Analysis {
    if text.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_block_plain: true,
            allow_single_quoted: true,
            allow_block: false,
        };
    }
    let is_break = |c: char| matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
    let is_space_or_break = |c: char| matches!(c, '\0' | ' ' | '\t' | '\r') || is_break(c);
    let starts = |p: &str| text.iter().take(3).copied().eq(p.chars());
    let mut block_indicators = starts("---") || starts("...");
    let mut line_breaks = false;
    let mut special = false;
    let (mut leading_space, mut leading_break) = (false, false);
    let (mut trailing_space, mut trailing_break) = (false, false);
    let (mut break_space, mut space_break) = (false, false);
    let mut preceded_by_whitespace = true;
    let mut followed_by_whitespace = text.len() == 1 || is_space_or_break(text[1]);
    let (mut previous_space, mut previous_break) = (false, false);
    for (index, &ch) in text.iter().enumerate() {
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                block_indicators = true;
            }
            if "?:".contains(ch) && followed_by_whitespace {
                block_indicators = true;
            }
            if ch == '-' && followed_by_whitespace {
                block_indicators = true;
            }
        } else {
            if ch == ':' && followed_by_whitespace {
                block_indicators = true;
            }
            if ch == '#' && preceded_by_whitespace {
                block_indicators = true;
            }
        }
        if is_break(ch) {
            line_breaks = true;
        }
        if !(ch == '\n' || (' '..='~').contains(&ch)) {
            // Without allow_unicode, anything but printable ASCII needs double quotes.
            special = true;
        }
        if ch == ' ' {
            if index == 0 {
                leading_space = true;
            }
            if index == text.len() - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(ch) {
            if index == 0 {
                leading_break = true;
            }
            if index == text.len() - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_space_or_break(ch);
        followed_by_whitespace = index + 2 >= text.len() || is_space_or_break(text[index + 2]);
    }
    let mut allow_block_plain = true;
    let mut allow_single_quoted = true;
    let mut allow_block = true;
    if leading_space || leading_break || trailing_space || trailing_break {
        allow_block_plain = false;
    }
    if trailing_space {
        allow_block = false;
    }
    if break_space {
        allow_block_plain = false;
        allow_single_quoted = false;
    }
    if space_break || special {
        allow_block_plain = false;
        allow_single_quoted = false;
        allow_block = false;
    }
    if line_breaks || block_indicators {
        allow_block_plain = false;
    }
    Analysis {
        empty: false,
        multiline: line_breaks,
        allow_block_plain,
        allow_single_quoted,
        allow_block,
    }
}

/// `choose_scalar_style`, in block context (we never write inside flow collections).
pub(super) fn choose_style(s: &Scalar, a: &Analysis, simple_key: bool) -> Style {
    // implicit[0]: read back plain, the text is the same type again.
    let plain_reads_back = if s.is_str {
        !resolves_to_other_type(&s.text.iter().collect::<String>())
    } else {
        true
    };
    if !s.literal
        && plain_reads_back
        && !(simple_key && (a.empty || a.multiline))
        && a.allow_block_plain
    {
        return Style::Plain;
    }
    if s.literal && !simple_key && a.allow_block {
        return Style::Literal;
    }
    if !s.literal && a.allow_single_quoted && !(simple_key && a.multiline) {
        return Style::SingleQuoted;
    }
    Style::DoubleQuoted
}

/// Whether PyYAML's resolver reads this text, written plain, as anything but a string: YAML
/// 1.1's booleans, integers, floats, null, timestamps, `<<` and `=`.
pub(super) fn resolves_to_other_type(text: &str) -> bool {
    static RESOLVERS: OnceLock<Vec<(&'static str, Regex)>> = OnceLock::new();
    let resolvers = RESOLVERS.get_or_init(|| {
        [
            (
                "yYnNtTfFoO",
                r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            ),
            (
                "-+0123456789.",
                concat!(
                    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?",
                    r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
                    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
                    r"|[-+]?\.(?:inf|Inf|INF)",
                    r"|\.(?:nan|NaN|NAN))$"
                ),
            ),
            (
                "-+0123456789",
                concat!(
                    r"^(?:[-+]?0b[0-1_]+",
                    r"|[-+]?0[0-7_]+",
                    r"|[-+]?(?:0|[1-9][0-9_]*)",
                    r"|[-+]?0x[0-9a-fA-F_]+",
                    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$"
                ),
            ),
            ("<", r"^(?:<<)$"),
            ("~nN", r"^(?:~|null|Null|NULL)$"),
            (
                "0123456789",
                concat!(
                    r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
                    r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",
                    r"(?:[Tt]|[ \t]+)[0-9][0-9]?",
                    r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?",
                    r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$"
                ),
            ),
            ("=", r"^(?:=)$"),
        ]
        .into_iter()
        .map(|(first, re)| (first, Regex::new(re).expect("a valid resolver pattern")))
        .collect()
    });
    let Some(first) = text.chars().next() else {
        // The empty string reads back as null.
        return true;
    };
    resolvers
        .iter()
        .any(|(firsts, re)| firsts.contains(first) && re.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_python_writes_them() {
        for (x, want) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1.0e-05"),
            (1.5e-7, "1.5e-07"),
            (1e15, "1000000000000000.0"),
            (1e16, "1.0e+16"),
            (1.2345678901234568e17, "1.2345678901234568e+17"),
            (123.456, "123.456"),
            (f64::INFINITY, ".inf"),
            (f64::NEG_INFINITY, "-.inf"),
            (f64::NAN, ".nan"),
        ] {
            assert_eq!(float_repr(x), want, "{x}");
        }
    }
}
