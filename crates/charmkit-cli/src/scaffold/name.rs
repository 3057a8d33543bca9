//! A new charm's name, checked as Juju and charmcraft check it, and the Rust names made from it.

use std::fmt;

/// charmcraft's limit on a project's name.
pub const MAX_LEN: usize = 40;

/// What cargo refuses as a package name, or what a crate cannot be called: Rust's keywords
/// (strict, reserved and edition-2024 ones) and the built-in crates.
const RESERVED: &[&str] = &[
    "abstract",
    "alloc",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "core",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "proc_macro",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "std",
    "struct",
    "super",
    "test",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
];

/// A charm's name (`my-charm`), valid for Juju, charmcraft and cargo, with the names the project
/// uses for it in Rust: the crate (`my_charm`) and the charm's type (`MyCharm`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharmName {
    name: String,
    crate_name: String,
    type_name: String,
}

/// Why a name cannot be a charm's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    /// The name given.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} cannot be a charm's name: {}",
            self.name, self.reason
        )
    }
}

impl std::error::Error for NameError {}

impl CharmName {
    /// Checks `name` as Juju checks a charm's name (`[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*`:
    /// lowercase letters, digits and hyphens, starting with a letter, a letter in every part
    /// after a hyphen) and as charmcraft does (at most 40 characters), and refuses what cargo
    /// refuses as a package name (a Rust keyword, `std`, `test`…).
    pub fn parse(name: &str) -> Result<CharmName, NameError> {
        let refuse = |reason: String| NameError {
            name: name.to_string(),
            reason,
        };
        if name.is_empty() {
            return Err(refuse("it is empty".into()));
        }
        if let Some(c) = name
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-'))
        {
            let hint = if c.is_ascii_uppercase() {
                format!(" (try {:?})", name.to_ascii_lowercase())
            } else if c == '_' {
                format!(" (try {:?})", name.replace('_', "-"))
            } else {
                String::new()
            };
            return Err(refuse(format!(
                "{c:?} is not a lowercase letter, a digit or a hyphen{hint}"
            )));
        }
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err(refuse("it must start with a letter".into()));
        }
        if name.len() > MAX_LEN {
            return Err(refuse(format!(
                "it has {} characters; charmcraft allows {MAX_LEN}",
                name.len()
            )));
        }
        for part in name.split('-').skip(1) {
            if part.is_empty() {
                return Err(refuse(
                    "a hyphen must be followed by a letter or a digit (no `--`, no hyphen at \
                     the end)"
                        .into(),
                ));
            }
            if !part.contains(|c: char| c.is_ascii_lowercase()) {
                return Err(refuse(format!(
                    "Juju needs a letter in each part after a hyphen, and {part:?} has none \
                     (a charm URL ending in -{part} reads as a revision)"
                )));
            }
        }
        let crate_name = name.replace('-', "_");
        if RESERVED.contains(&crate_name.as_str()) {
            return Err(refuse(format!(
                "cargo refuses it as a package name ({crate_name} is a Rust keyword or a \
                 built-in crate)"
            )));
        }
        let type_name = name
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                let first = chars.next().map(|c| c.to_ascii_uppercase());
                first.into_iter().chain(chars).collect::<String>()
            })
            .collect();
        Ok(CharmName {
            name: name.to_string(),
            crate_name,
            type_name,
        })
    }

    /// The charm's name, as Juju knows it (`my-charm`).
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The crate's name in Rust code (`my_charm`).
    pub fn crate_name(&self) -> &str {
        &self.crate_name
    }

    /// The charm's type (`MyCharm`).
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// The same name with `Charm` appended to the type, for a type name that would clash with
    /// a name the charm's code already uses (`Config` → `ConfigCharm`).
    pub fn with_type_suffix(mut self) -> CharmName {
        self.type_name.push_str("Charm");
        self
    }

    /// A display name: the words, the first capitalised (`my-charm` → `My charm`).
    pub fn display_name(&self) -> String {
        let words = self.name.replace('-', " ");
        let mut chars = words.chars();
        chars
            .next()
            .map(|c| c.to_ascii_uppercase())
            .into_iter()
            .chain(chars)
            .collect()
    }
}

impl fmt::Display for CharmName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_juju_and_charmcraft_accept_and_their_rust_names() {
        for (name, krate, ty, display) in [
            ("my-charm", "my_charm", "MyCharm", "My charm"),
            ("postgresql", "postgresql", "Postgresql", "Postgresql"),
            ("k8s-app", "k8s_app", "K8sApp", "K8s app"),
            ("a1-b2c", "a1_b2c", "A1B2c", "A1 b2c"),
            ("x", "x", "X", "X"),
        ] {
            let n = CharmName::parse(name).unwrap();
            assert_eq!(
                (n.as_str(), n.crate_name(), n.type_name(), n.display_name()),
                (name, krate, ty, display.to_string())
            );
        }
        assert!(CharmName::parse(&"a".repeat(40)).is_ok());
    }

    /// Each refused with its reason; the names are those Juju's regexp
    /// `^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*$` refuses, charmcraft's 40 characters, and what
    /// cargo refuses.
    #[test]
    fn names_refused_say_why() {
        for (name, why) in [
            ("", "empty"),
            ("My-Charm", "try \"my-charm\""),
            ("my_charm", "try \"my-charm\""),
            ("my charm", "' ' is not"),
            ("1charm", "start with a letter"),
            ("-charm", "start with a letter"),
            ("charm-", "no hyphen at the end"),
            ("my--charm", "no `--`"),
            ("charm-2", "\"2\" has none"),
            ("charm-2-b", "\"2\" has none"),
            ("fn", "Rust keyword"),
            ("test", "built-in crate"),
            ("std", "built-in crate"),
            ("ñu", "'ñ' is not"),
        ] {
            let e = CharmName::parse(name).unwrap_err();
            assert!(e.to_string().contains(why), "{name:?}: {e}");
        }
        let long = "a".repeat(41);
        let e = CharmName::parse(&long).unwrap_err();
        assert!(
            e.reason.contains("41 characters; charmcraft allows 40"),
            "{e}"
        );
    }
}
