//! "Did you mean …?" for names a person or a charm author typed: event names in `simulate`,
//! endpoints in selectors, config keys and action parameters in tests.

/// `; did you mean "X"?` for the candidate closest to `word` (by edit distance, dashes and
/// underscores alike), if one is close enough to be a typo; otherwise the empty string.
pub(crate) fn did_you_mean<S: AsRef<str>>(word: &str, candidates: &[S]) -> String {
    closest(word, candidates)
        .map(|c| format!("; did you mean {c:?}?"))
        .unwrap_or_default()
}

/// The candidate closest to `word`, if within a typo's distance: at most a third of the
/// word's length (and at least 1, at most 3 edits).
pub(crate) fn closest<'a, S: AsRef<str>>(word: &str, candidates: &'a [S]) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace('_', "-");
    let w = norm(word);
    let limit = (w.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|c| (c.as_ref(), distance(&w, &norm(c.as_ref()))))
        .filter(|&(_, d)| d <= limit)
        .min_by_key(|&(_, d)| d)
        .map(|(c, _)| c)
}

/// Levenshtein distance, with a transposition of neighbours counting as one edit.
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_suggested_and_strangers_are_not() {
        let hooks = ["install", "start", "config-changed", "db-relation-changed"];
        assert_eq!(closest("strat", &hooks), Some("start"));
        assert_eq!(closest("config_changed", &hooks), Some("config-changed"));
        assert_eq!(
            closest("db-relation-chnaged", &hooks),
            Some("db-relation-changed")
        );
        assert_eq!(closest("frobnicate", &hooks), None);
        assert_eq!(
            did_you_mean("instal", &hooks),
            "; did you mean \"install\"?"
        );
        assert_eq!(did_you_mean("zzz", &hooks), "");
    }
}
