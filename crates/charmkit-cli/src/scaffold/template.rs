//! The text work of the scaffold: rendering a template, renaming a reference charm's file, and
//! taking a part of a reference charm's `Cargo.toml` or YAML.
//!
//! A template (a file under `templates/`) has placeholders, `{{key}}`, and conditional text,
//! `{{if machine}}…{{end}}` or `{{if k8s}}…{{end}}` (not nested); a tag alone on its line takes
//! its line with it.

use std::collections::BTreeMap;

/// Renders `template` for the kind named `kind` (`machine` or `k8s`): the conditional text of
/// the other kind removed, every placeholder replaced. An unknown placeholder, or an `{{if}}`
/// without its `{{end}}`, is an error (a bug in the template).
pub fn render(template: &str, kind: &str, vars: &BTreeMap<&str, String>) -> Result<String, String> {
    let kept = conditionals(template, kind)?;
    let mut out = String::with_capacity(kept.len());
    let mut rest = kept.as_str();
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .ok_or_else(|| format!("an unclosed {{{{ at {:?}", &rest[start..]))?;
        let key = &rest[start + 2..start + end];
        let value = vars
            .get(key)
            .ok_or_else(|| format!("no value for the placeholder {{{{{key}}}}}"))?;
        out.push_str(value);
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `template` with the text between `{{if K}}` and `{{end}}` kept where K is `kind`, else
/// dropped; the tags go, and a tag alone on its line takes its line's end too.
fn conditionals(template: &str, kind: &str) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    let mut line_start = true;
    while let Some(start) = rest.find("{{if ") {
        let before = &rest[..start];
        let at_line_start = if before.is_empty() {
            line_start
        } else {
            before.ends_with('\n')
        };
        out.push_str(before);
        let open_end = start + rest[start..].find("}}").ok_or("an unclosed {{if")? + 2;
        let which = rest[start + 5..open_end - 2].trim();
        let body_start = skip_line_end(rest, open_end, at_line_start);
        let close = rest[body_start..]
            .find("{{end}}")
            .map(|i| body_start + i)
            .ok_or_else(|| format!("{{{{if {which}}}}} without {{{{end}}}}"))?;
        let close_alone = rest[..close].ends_with('\n');
        let after = skip_line_end(rest, close + "{{end}}".len(), close_alone);
        if which == kind {
            out.push_str(&rest[body_start..close]);
        }
        line_start = after == 0 || rest[..after].ends_with('\n');
        rest = &rest[after..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Past a tag ending at `end`: past its line's end too when the tag began its line and ends it.
fn skip_line_end(text: &str, end: usize, began_line: bool) -> usize {
    if began_line && text[end..].starts_with('\n') {
        end + 1
    } else {
        end
    }
}

/// `text` with each of `from`'s names replaced by the same position's name in `to`, in one pass
/// (a replacement is never replaced again).
pub fn rename(text: &str, from: &[&str], to: &[&str]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    'scan: while i < text.len() {
        for (old, new) in from.iter().zip(to) {
            if text[i..].starts_with(old) {
                out.push_str(new);
                i += old.len();
                continue 'scan;
            }
        }
        let c = text[i..].chars().next().expect("in bounds");
        out.push(c);
        i += c.len_utf8();
    }
    out
}

/// Whether `word` occurs in `text` as a whole identifier.
pub fn has_identifier(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// The lines of a TOML table (`[dependencies]`) of a `Cargo.toml`: those after its header up to
/// the next header, without the blank and comment lines that end it (a comment there is the next
/// table's); `None` without the table.
pub fn toml_table<'a>(cargo_toml: &'a str, header: &str) -> Option<Vec<&'a str>> {
    let mut lines = cargo_toml.lines().skip_while(|l| l.trim() != header);
    lines.next()?;
    let mut body: Vec<&str> = lines.take_while(|l| !l.starts_with('[')).collect();
    while body
        .last()
        .is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        body.pop();
    }
    Some(body)
}

/// The tail of a YAML file from its first top-level key for which `starts` holds; `None` if no
/// key does.
pub fn yaml_tail(yaml: &str, starts: impl Fn(&str) -> bool) -> Option<&str> {
    let mut offset = 0;
    for line in yaml.split_inclusive('\n') {
        let top_level_key = line
            .split_once(':')
            .map(|(k, _)| k)
            .filter(|k| !k.is_empty() && !k.starts_with([' ', '#', '-']));
        if top_level_key.is_some_and(&starts) {
            return Some(&yaml[offset..]);
        }
        offset += line.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn placeholders_and_conditionals() {
        let t = "name: {{name}}\n{{if k8s}}\ncontainers: {}\n{{end}}\nx{{if machine}} (machine){{end}}.\n";
        let v = vars(&[("name", "a")]);
        assert_eq!(
            render(t, "k8s", &v).unwrap(),
            "name: a\ncontainers: {}\nx.\n"
        );
        assert_eq!(render(t, "machine", &v).unwrap(), "name: a\nx (machine).\n");
        assert_eq!(
            render("{{if k8s}}\nk\n{{end}}\n", "k8s", &v).unwrap(),
            "k\n"
        );
        let e = render("{{nope}}", "k8s", &v).unwrap_err();
        assert!(e.contains("{{nope}}"), "{e}");
        assert!(render("{{if k8s}} x", "k8s", &v).is_err());
        assert!(render("{{name", "k8s", &v).is_err());
    }

    #[test]
    fn renaming_is_one_pass_and_identifiers_are_whole_words() {
        let from = ["rust-starter", "rust_starter", "RustStarter"];
        let to = [
            "rust-starter-rust_starter",
            "x_rust_starter",
            "RustStarterRustStarter",
        ];
        assert_eq!(
            rename("rust-starter rust_starter::RustStarter é", &from, &to),
            "rust-starter-rust_starter x_rust_starter::RustStarterRustStarter é"
        );
        assert!(has_identifier("let c: Config = x;", "Config"));
        assert!(!has_identifier("let c: ConfigMap = MyConfig;", "Config"));
    }

    #[test]
    fn parts_of_a_cargo_toml_and_of_yaml() {
        let toml = "[package]\nname = \"a\"\n\n[dependencies]\n# c\nlog = \"0.4\"\n\n# d\n[dev-dependencies]\n";
        assert_eq!(
            toml_table(toml, "[dependencies]").unwrap(),
            ["# c", "log = \"0.4\""]
        );
        assert_eq!(toml_table(toml, "[features]"), None);
        let yaml = "# c\nname: a\ndescription: |\n  x: y\n\nrequires:\n  r:\n    interface: i\n";
        let tail = yaml_tail(yaml, |k| k != "name" && k != "description").unwrap();
        assert_eq!(tail, "requires:\n  r:\n    interface: i\n");
        assert_eq!(yaml_tail(yaml, |k| k == "config"), None);
    }
}
