//! Our YAML writer against PyYAML itself, on a few thousand generated documents: strings full of
//! indicators, quotes, breaks, tabs and non-ASCII text, long ones that fold, numbers, booleans,
//! nulls, nested mappings and sequences. PyYAML runs with charmcraft's string representer, as
//! charmcraft runs it. Skipped, saying so, where no Python has PyYAML.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use charmkit_cli::pyyaml::{dump, KeyOrder};
use serde_norway::{Mapping, Value};

/// charmcraft's representer (utils/yaml.py), then `safe_dump` of each document.
const ORACLE: &str = r#"
import json, sys, yaml
def _repr_str(dumper, data):
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)
yaml.add_representer(str, _repr_str, Dumper=yaml.SafeDumper)
docs = json.load(sys.stdin)
json.dump([yaml.safe_dump(d) for d in docs], sys.stdout)
"#;

fn python_with_yaml() -> Option<PathBuf> {
    let charmcraft_python = std::env::var_os("CHARMCRAFT").and_then(|c| {
        let text = std::fs::read_to_string(c).ok()?;
        let first = text.lines().next()?.strip_prefix("#!")?;
        Some(PathBuf::from(first.split_whitespace().next()?))
    });
    charmcraft_python
        .into_iter()
        .chain([PathBuf::from("python3")])
        .find(|p| {
            Command::new(p)
                .args(["-c", "import yaml"])
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// xorshift64*: the same documents on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const CHARS: &[char] = &[
    'a',
    'b',
    'z',
    'Q',
    '0',
    '7',
    ' ',
    ' ',
    ' ',
    ':',
    '#',
    '-',
    '\'',
    '"',
    '\n',
    '\t',
    '.',
    ',',
    '[',
    ']',
    '{',
    '}',
    '!',
    '&',
    '*',
    '?',
    '|',
    '>',
    '%',
    '@',
    '`',
    '~',
    '\\',
    '/',
    '=',
    '<',
    '\u{e9}',
    '\u{2028}',
    '\u{85}',
    '\u{a0}',
    '\u{1F600}',
    '\u{7}',
    '\r',
];

const WORDS: &[&str] = &[
    "yes",
    "No",
    "on",
    "OFF",
    "true",
    "null",
    "~",
    "",
    "1.0",
    "1e3",
    "1.0e+3",
    ".5",
    "0x1F",
    "0o17",
    "017",
    "1_000",
    "190:20:30",
    "2026-11-26",
    "2026-11-26 14:32:10",
    "<<",
    "=",
    ".inf",
    "-.Inf",
    ".NaN",
    "4.5.0",
    "- a",
    "? x",
    "a: b",
    "---",
    "...",
    "#c",
    "hello world",
];

fn string(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => rng.pick(WORDS).to_string(),
        1 => {
            // Long prose, to fold.
            let n = 10 + rng.below(30);
            (0..n)
                .map(|_| *rng.pick(&["word", "longer-word", "x", "it's", "a:b", "#no"]))
                .collect::<Vec<_>>()
                .join(if rng.below(5) == 0 { "  " } else { " " })
        }
        _ => {
            let n = rng.below(14);
            (0..n).map(|_| *rng.pick(CHARS)).collect()
        }
    }
}

fn key(rng: &mut Rng) -> String {
    loop {
        let k = string(rng);
        if !k.is_empty() && !k.contains(['\n', '\u{85}', '\u{2028}']) && k.chars().count() < 100 {
            return k;
        }
    }
}

fn value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth >= 3 { 6 } else { 9 }) {
        0..=2 => Value::String(string(rng)),
        3 => Value::Number((rng.next() as i64 >> rng.below(60)).into()),
        4 => {
            let bits = rng.next();
            let x = f64::from_bits(bits);
            let x = if x.is_finite() {
                x
            } else {
                (bits >> 11) as f64 / 1e6
            };
            Value::Number(x.into())
        }
        5 => [Value::Bool(true), Value::Bool(false), Value::Null][rng.below(3)].clone(),
        6..=7 => {
            let mut m = Mapping::new();
            for _ in 0..rng.below(4) {
                m.insert(Value::String(key(rng)), value(rng, depth + 1));
            }
            Value::Mapping(m)
        }
        _ => Value::Sequence((0..rng.below(4)).map(|_| value(rng, depth + 1)).collect()),
    }
}

#[test]
fn we_write_what_pyyaml_writes() {
    let Some(python) = python_with_yaml() else {
        eprintln!("SKIPPED we_write_what_pyyaml_writes: no Python with PyYAML (python3, or $CHARMCRAFT's)");
        return;
    };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let docs: Vec<Value> = (0..3000)
        .map(|_| {
            let mut m = Mapping::new();
            for _ in 0..1 + rng.below(4) {
                m.insert(Value::String(key(&mut rng)), value(&mut rng, 0));
            }
            Value::Mapping(m)
        })
        .collect();
    let mut child = Command::new(&python)
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let input = serde_json::to_vec(&docs).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    let theirs: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(theirs.len(), docs.len());
    let mut kinds = [0usize; 4]; // plain-ish, single, double, literal: the corpus covers each
    for (doc, want) in docs.iter().zip(&theirs) {
        let ours = dump(doc, KeyOrder::Sorted).unwrap();
        assert_eq!(
            &ours,
            want,
            "\ndocument: {}\nours:\n{ours}\nPyYAML's:\n{want}",
            serde_json::to_string(doc).unwrap()
        );
        kinds[0] += 1;
        kinds[1] += usize::from(want.contains(": '"));
        kinds[2] += usize::from(want.contains(": \""));
        kinds[3] += usize::from(want.contains(": |"));
    }
    assert!(kinds.iter().all(|k| *k > 50), "{kinds:?}");
}
