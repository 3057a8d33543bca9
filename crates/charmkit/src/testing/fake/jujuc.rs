//! How jujuc reads a command line and reports back, reproduced for the fake tools.
//!
//! Every hook tool is a juju/cmd command run by the uniter's jujuc server:
//!
//! - flags are parsed by `juju/gnuflag` with interspersed arguments: `--name`, `--name=value`,
//!   `--name value`, single-dash clusters of one-letter flags (`-r5` is `-r 5`), `--` ends the
//!   flags and `-` is an argument; an unknown flag is `flag provided but not defined: --name`;
//! - a flag or `Init` error exits 2, a `Run` error exits 1, each written to stderr as
//!   `ERROR <message>` (juju/cmd `Main` and `WriteError`);
//! - messages quote values with Go's `%q`, and `cmd.CheckEmpty` refuses extra arguments with
//!   `unrecognized args: ["a" "b"]`;
//! - output goes through `cmd.Output`: `--format` is `smart` (the default of most tools),
//!   `yaml` or `json`; JSON is Go's `encoding/json` (HTML-safe escapes), and a newline is added.

use std::collections::BTreeMap;

use serde_json::Value;

/// A hook tool's failure: exit status and stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fail {
    pub(crate) code: i32,
    pub(crate) stderr: String,
}

impl Fail {
    /// A failure with `code` and exactly `stderr`.
    pub(crate) fn new(code: i32, stderr: impl Into<String>) -> Self {
        Fail {
            code,
            stderr: stderr.into(),
        }
    }

    /// A flag or `Init` error: exit 2, `ERROR <msg>`.
    pub(crate) fn usage(msg: impl std::fmt::Display) -> Self {
        Fail::new(2, format!("ERROR {msg}"))
    }

    /// A `Run` error: exit 1, `ERROR <msg>`.
    pub(crate) fn run(msg: impl std::fmt::Display) -> Self {
        Fail::new(1, format!("ERROR {msg}"))
    }
}

/// The uniter's `ErrIsNotLeader`, for leader-only changes made by a non-leader.
pub(crate) const NOT_LEADER: &str = "this unit is not the leader";

/// What a fake tool answers: stdout, or a failure.
pub(crate) type Out = std::result::Result<Vec<u8>, Fail>;

/// Go's `%q` of a string (`strconv.Quote`).
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%q` of a `[]string`: `["a" "b"]`.
pub(crate) fn go_quote_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| go_quote(s)).collect();
    format!("[{}]", quoted.join(" "))
}

/// juju/cmd `CheckEmpty`.
pub(crate) fn check_empty(args: &[String]) -> std::result::Result<(), Fail> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(Fail::usage(format_args!(
            "unrecognized args: {}",
            go_quote_list(args)
        )))
    }
}

/// Whether a flag takes a value or is a boolean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Takes {
    /// A boolean: `--app`, `--app=false`.
    Bool,
    /// A value: `--format json`, `--format=json`, `-rdb:5`.
    Value,
}

/// The flags a tool defines: `("r|relation", Takes::Value)`, the first name canonical.
pub(crate) type Spec = [(&'static str, Takes)];

/// The `cmd.Output` flags (`--format`, `-o`/`--output`) every tool with output has.
pub(crate) const OUTPUT: [(&str, Takes); 2] =
    [("format", Takes::Value), ("o|output", Takes::Value)];

/// A parsed command line: flag values by canonical name (`"true"`/`"false"` for booleans), the
/// spelling each was given with (`-r` or `--relation`, for error messages), and the arguments.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    flags: BTreeMap<&'static str, String>,
    spelled: BTreeMap<&'static str, String>,
    /// The positional arguments.
    pub(crate) args: Vec<String>,
}

impl Parsed {
    /// The value of flag `canonical`, if given.
    pub(crate) fn get(&self, canonical: &str) -> Option<&str> {
        self.flags.get(canonical).map(String::as_str)
    }

    /// Whether boolean flag `canonical` is set.
    pub(crate) fn has(&self, canonical: &str) -> bool {
        self.get(canonical) == Some("true")
    }

    /// The flag as the caller spelled it (`-r`, `--relation`), for messages.
    pub(crate) fn spelled(&self, canonical: &str) -> String {
        self.spelled
            .get(canonical)
            .cloned()
            .unwrap_or_else(|| with_minus(canonical))
    }

    /// The output format of a tool that offers only `yaml` and `json` (secret-get,
    /// secret-info-get, goal-state): `smart` is not one of its formats.
    pub(crate) fn format_yaml_json(&self) -> std::result::Result<Format, Fail> {
        if self.get("format") == Some("smart") {
            return Err(Fail::usage(format_args!(
                "invalid value \"smart\" for flag {}: unknown format \"smart\"",
                self.spelled("format")
            )));
        }
        self.format(Format::Yaml)
    }

    /// The output format of a tool whose default is `default`.
    pub(crate) fn format(&self, default: Format) -> std::result::Result<Format, Fail> {
        if self.get("o").is_some() {
            return Err(Fail::usage(
                "fake juju does not write --output files; read stdout",
            ));
        }
        Ok(match self.get("format") {
            None => default,
            Some("json") => Format::Json,
            Some("yaml") => Format::Yaml,
            Some(_) => Format::Smart,
        })
    }
}

/// gnuflag's `flagWithMinus`.
fn with_minus(name: &str) -> String {
    if name.chars().count() > 1 {
        format!("--{name}")
    } else {
        format!("-{name}")
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A flag value check run as gnuflag's `Value.Set` would: `(canonical name, value)` → the
/// error text after `invalid value "…" for flag -x: `.
pub(crate) type SetCheck<'a> = dyn Fn(&str, &str) -> std::result::Result<(), String> + 'a;

/// Parses `args` exactly as `gnuflag.FlagSet.Parse(true, args)` does with `spec`; `check`
/// validates values (the relation of `-r`, the format of `--format`) when they are set.
pub(crate) fn parse(
    args: &[String],
    spec: &Spec,
    check: &SetCheck<'_>,
) -> std::result::Result<Parsed, Fail> {
    let mut p = Parsed::default();
    let mut rest: std::collections::VecDeque<String> = args.iter().cloned().collect();
    let mut pending = String::new(); // gnuflag's procFlag
    loop {
        let (name, long) = if !pending.is_empty() {
            let c = pending.chars().next().unwrap_or_default();
            pending = pending[c.len_utf8()..].to_string();
            (c.to_string(), false)
        } else {
            let Some(a) = rest.pop_front() else { break };
            if a == "-" || a.is_empty() || !a.starts_with('-') {
                p.args.push(a);
                continue;
            }
            if a == "--" {
                p.args.extend(rest.drain(..));
                break;
            }
            if let Some(body) = a.strip_prefix("--") {
                match body.find('=') {
                    None => (body.to_string(), true),
                    Some(0) => {
                        return Err(Fail::usage(format_args!(
                            "empty flag in argument {}",
                            go_quote(&a)
                        )))
                    }
                    Some(i) => {
                        pending = body[i..].to_string();
                        (body[..i].to_string(), true)
                    }
                }
            } else {
                let body = &a[1..];
                let c = body.chars().next().unwrap_or_default();
                pending = body[c.len_utf8()..].to_string();
                (c.to_string(), false)
            }
        };
        let Some(&(names, takes)) = spec
            .iter()
            .find(|(names, _)| names.split('|').any(|n| n == name))
        else {
            return Err(Fail::usage(format_args!(
                "flag provided but not defined: {}",
                with_minus(&name)
            )));
        };
        let canonical = names.split('|').next().unwrap_or(names);
        let value = if takes == Takes::Bool && !pending.starts_with('=') {
            "true".to_string()
        } else {
            let value = if !pending.is_empty() {
                let v = std::mem::take(&mut pending);
                if long {
                    v[1..].to_string()
                } else {
                    v
                }
            } else if let Some(v) = rest.pop_front() {
                v
            } else {
                return Err(Fail::usage(format_args!(
                    "flag needs an argument: {}",
                    with_minus(&name)
                )));
            };
            let invalid = |why: String| {
                Fail::usage(format_args!(
                    "invalid value {} for flag {}: {why}",
                    go_quote(&value),
                    with_minus(&name)
                ))
            };
            if takes == Takes::Bool {
                match parse_bool(&value) {
                    Some(b) => b.to_string(),
                    None => {
                        return Err(invalid(format!(
                            "strconv.ParseBool: parsing {}: invalid syntax",
                            go_quote(&value)
                        )))
                    }
                }
            } else {
                if canonical == "format" && !matches!(value.as_str(), "smart" | "yaml" | "json") {
                    return Err(invalid(format!("unknown format {}", go_quote(&value))));
                }
                check(canonical, &value).map_err(invalid)?;
                value
            }
        };
        p.spelled.insert(canonical, with_minus(&name));
        p.flags.insert(canonical, value);
    }
    Ok(p)
}

/// Whether the command line asks for help (`-h`/`--help` before `--`), which gnuflag answers
/// with `ErrHelp`: jujuc prints the tool's help and exits 0. No tool defines `-h` itself.
pub(crate) fn asks_for_help(args: &[String]) -> bool {
    args.iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--help" || a == "-h")
}

/// Parses with no value checks beyond gnuflag's own.
pub(crate) fn parse_plain(args: &[String], spec: &Spec) -> std::result::Result<Parsed, Fail> {
    parse(args, spec, &|_, _| Ok(()))
}

/// A `cmd.Output` formatter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `smart`: strings as they are, `True`/`False`, lists of strings one per line, else YAML.
    Smart,
    /// `yaml`.
    Yaml,
    /// `json`.
    Json,
}

/// Go's `json.Marshal` of `v` (keys sorted, `<`, `>`, `&`, U+2028, U+2029 escaped).
pub(crate) fn go_json(v: &Value) -> String {
    let s = serde_json::to_string(v).unwrap_or_else(|_| "null".into());
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// What `cmd.Output.Write` prints for `v` in `format` (a newline added after non-empty output).
pub(crate) fn write(format: Format, v: &Value) -> Vec<u8> {
    let mut out = match format {
        Format::Json => go_json(v),
        Format::Yaml => yaml(v),
        Format::Smart => match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Bool(true) => "True".into(),
            Value::Bool(false) => "False".into(),
            Value::Number(n) => n.to_string(),
            Value::Array(items) if items.iter().all(Value::is_string) => items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join("\n"),
            other => yaml(other),
        },
    };
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.into_bytes()
}

fn yaml(v: &Value) -> String {
    serde_norway::to_string(v).unwrap_or_default()
}

/// `utils/keyvalues.Parse(args, true)`: `KEY=VALUE` arguments into a map (both sides trimmed,
/// `=` allowed in values, empty values allowed).
pub(crate) fn key_values(args: &[String]) -> std::result::Result<BTreeMap<String, String>, Fail> {
    let mut out = BTreeMap::new();
    for kv in args {
        let Some((k, v)) = kv.split_once('=') else {
            return Err(Fail::usage(format_args!(
                "expected \"key=value\", got {}",
                go_quote(kv)
            )));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.is_empty() {
            return Err(Fail::usage(format_args!(
                "expected \"key=value\", got \"{k}={v}\""
            )));
        }
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(Fail::usage(format_args!(
                "key {} specified more than once",
                go_quote(k)
            )));
        }
    }
    Ok(out)
}

/// `readSettings` of relation-set/state-set: a YAML (or JSON) map, read into
/// `map[string]string` as yaml.v2 does (scalars keep their text, `null` is empty).
pub(crate) fn read_settings(data: &[u8]) -> std::result::Result<BTreeMap<String, String>, Fail> {
    use serde_norway::Value as Y;
    let doc: Y =
        serde_norway::from_slice(data).map_err(|e| Fail::run(format_args!("yaml: {e}")))?;
    let map = match doc {
        Y::Null => return Ok(BTreeMap::new()),
        Y::Mapping(m) => m,
        _ => {
            return Err(Fail::run(
                "yaml: unmarshal errors: cannot unmarshal into map[string]string",
            ))
        }
    };
    let scalar = |v: Y| match v {
        Y::Null => Some(String::new()),
        Y::Bool(b) => Some(b.to_string()),
        Y::Number(n) => Some(n.to_string()),
        Y::String(s) => Some(s),
        _ => None,
    };
    map.into_iter()
        .map(|(k, v)| match (scalar(k), scalar(v)) {
            (Some(k), Some(v)) => Ok((k, v)),
            _ => Err(Fail::run(
                "yaml: unmarshal errors: cannot unmarshal a collection into a string",
            )),
        })
        .collect()
}

/// `names.IsValidApplication`.
pub(crate) fn is_valid_application(name: &str) -> bool {
    // ^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*$
    let mut parts = name.split('-');
    let first = parts.next().unwrap_or_default();
    let lower_alnum = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    first.starts_with(|c: char| c.is_ascii_lowercase())
        && lower_alnum(first)
        && parts.all(|p| lower_alnum(p) && p.bytes().any(|b| b.is_ascii_lowercase()))
}

/// `names.IsValidUnit`: `app/N`.
pub(crate) fn is_valid_unit(name: &str) -> bool {
    match name.rsplit_once('/') {
        Some((app, n)) => {
            is_valid_application(app) && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// A secret URI as `core/secrets.ParseURI` accepts it: `secret:ID`, `secret://UUID/ID` or a
/// bare `ID` (a 20-character xid). Returns the bare id.
pub(crate) fn parse_secret_uri(s: &str) -> std::result::Result<String, String> {
    let invalid = || format!("secret URI {} not valid", go_quote(s));
    let rest = match s.split_once(':') {
        None => s,
        Some(("secret", rest)) => rest,
        Some((scheme, _)) => {
            return Err(format!("secret URI scheme {} not valid", go_quote(scheme)))
        }
    };
    let id = match rest.strip_prefix("//") {
        Some(hosted) => {
            let (host, id) = hosted.split_once('/').ok_or_else(invalid)?;
            if !is_uuid(host) {
                return Err(format!("host controller UUID {} not valid", go_quote(host)));
            }
            id
        }
        None => rest,
    };
    if is_xid(id) {
        Ok(id.to_string())
    } else {
        Err(invalid())
    }
}

/// An `rs/xid` id in its text form: 20 characters of `0-9a-v` whose padding bits are zero.
pub(crate) fn is_xid(id: &str) -> bool {
    id.len() == 20
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'v').contains(&b))
        && matches!(id.as_bytes()[19], b'0' | b'g')
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| {
            g.len() == n
                && g.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|s| s.to_string()).collect()
    }

    const SPEC: [(&str, Takes); 3] = [
        ("format", Takes::Value),
        ("r|relation", Takes::Value),
        ("app", Takes::Bool),
    ];

    #[test]
    fn gnuflag_forms() {
        let p = parse_plain(
            &argv(&["-rdb:5", "x", "--app", "--format=json", "--", "-y"]),
            &SPEC,
        )
        .unwrap();
        assert_eq!(p.get("r"), Some("db:5"));
        assert!(p.has("app"));
        assert_eq!(p.get("format"), Some("json"));
        assert_eq!(p.args, argv(&["x", "-y"]));
        assert_eq!(p.spelled("r"), "-r");
        let p = parse_plain(&argv(&["--relation", "5", "--app=false", "-"]), &SPEC).unwrap();
        assert_eq!(p.get("r"), Some("5"));
        assert_eq!(p.spelled("r"), "--relation");
        assert!(!p.has("app"));
        assert_eq!(p.args, argv(&["-"]));
    }

    #[test]
    fn gnuflag_errors() {
        let err = |a: &[&str]| parse_plain(&argv(a), &SPEC).unwrap_err();
        assert_eq!(
            err(&["--bogus"]),
            Fail::usage("flag provided but not defined: --bogus")
        );
        // A single dash is a cluster of one-letter flags, as in gnuflag.
        assert_eq!(
            err(&["-format=json"]),
            Fail::usage("flag provided but not defined: -f")
        );
        assert_eq!(err(&["-r"]), Fail::usage("flag needs an argument: -r"));
        assert_eq!(
            err(&["--app=maybe"]),
            Fail::usage(
                "invalid value \"maybe\" for flag --app: strconv.ParseBool: parsing \"maybe\": \
                 invalid syntax"
            )
        );
        assert_eq!(
            err(&["--format", "xml"]),
            Fail::usage("invalid value \"xml\" for flag --format: unknown format \"xml\"")
        );
        let p = parse(&argv(&["-r", "db:9"]), &SPEC, &|_, _| {
            Err("relation not found".into())
        });
        assert_eq!(
            p.unwrap_err(),
            Fail::usage("invalid value \"db:9\" for flag -r: relation not found")
        );
        assert!(asks_for_help(&argv(&["-r", "5", "--help", "--", "-h"])));
        assert!(!asks_for_help(&argv(&["--", "--help"])));
    }

    #[test]
    fn go_formatting() {
        assert_eq!(go_quote("a\"b\n\u{1b}é"), "\"a\\\"b\\n\\x1bé\"");
        assert_eq!(
            check_empty(&argv(&["a", "b c"])).unwrap_err(),
            Fail::usage("unrecognized args: [\"a\" \"b c\"]")
        );
        let v = serde_json::json!({"b": "<&>", "a": [1, true]});
        assert_eq!(go_json(&v), r#"{"a":[1,true],"b":"\u003c\u0026\u003e"}"#);
        assert_eq!(write(Format::Json, &v).last(), Some(&b'\n'));
        assert_eq!(write(Format::Smart, &serde_json::json!(true)), b"True\n");
        assert_eq!(
            write(Format::Smart, &serde_json::json!(["a", "b"])),
            b"a\nb\n"
        );
        assert_eq!(write(Format::Smart, &serde_json::json!([])), b"");
        assert_eq!(write(Format::Smart, &Value::Null), b"");
    }

    #[test]
    fn names_and_uris() {
        assert!(is_valid_application("tempo-k8s"));
        assert!(!is_valid_application("tempo-1"));
        assert!(!is_valid_application("Tempo"));
        assert!(is_valid_unit("tempo-k8s/10"));
        assert!(!is_valid_unit("tempo"));
        let id = "cj9sk5ufltq4c6e0a8ng";
        for ok in [
            id.to_string(),
            format!("secret:{id}"),
            format!("secret://deadbeef-1bad-500d-9000-4b1d0d06f00d/{id}"),
        ] {
            assert_eq!(parse_secret_uri(&ok).unwrap(), id, "{ok}");
        }
        assert_eq!(
            parse_secret_uri("secret:1").unwrap_err(),
            "secret URI \"secret:1\" not valid"
        );
        assert_eq!(
            parse_secret_uri("vault:x").unwrap_err(),
            "secret URI scheme \"vault\" not valid"
        );
        assert!(!is_xid("cj9sk5ufltq4c6e0a8n1"));
        assert_eq!(key_values(&argv(&["a=1", "b=x=y"])).unwrap()["b"], "x=y");
        assert!(key_values(&argv(&["a=1", "a=2"])).is_err());
        assert!(key_values(&argv(&["=1"])).is_err());
    }
}
