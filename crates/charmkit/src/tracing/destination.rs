//! The destination of trace data as people see it: a URL is shown (logged, printed by `trace
//! status`, recorded as the last export's outcome) only through [`redact`], which masks its
//! credentials — a receiver URL may carry `user:password@` or an API key in its query string.

/// `text` with the secrets of every URL in it masked: the userinfo (`user:password@` → `***@`)
/// and the query and fragment (`?api_key=…` → `?***`). A URL starts at `scheme://` and ends at
/// whitespace, a quote, `<`, `>` or the end of the text; other text is left as it is.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let url_end = tail.find(url_end_char).unwrap_or(tail.len());
        let (url, after) = tail.split_at(url_end);
        let authority_end = url.find(['/', '?', '#']).unwrap_or(url.len());
        let (authority, path) = url.split_at(authority_end);
        match authority.rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        match path.find(['?', '#']) {
            Some(q) => {
                out.push_str(&path[..=q]);
                out.push_str("***");
            }
            None => out.push_str(path),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

fn url_end_char(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_queries_are_masked() {
        for (raw, shown) in [
            ("http://h:4318/v1/traces", "http://h:4318/v1/traces"),
            ("http://u:p@h:4318/v1/traces", "http://***@h:4318/v1/traces"),
            ("https://u@h/x?api_key=k&y=1", "https://***@h/x?***"),
            ("http://h/x#frag", "http://h/x#***"),
            ("http://h?k=v", "http://h?***"),
            (
                "POST http://a:b@h/v1/traces: HTTP 400 (see http://docs/x?t=1)",
                "POST http://***@h/v1/traces: HTTP 400 (see http://docs/x?***",
            ),
            ("a http://u:p@h/x@y b", "a http://***@h/x@y b"),
            (
                "\"http://u:p@h\" and 'ftp://x:y@z'",
                "\"http://***@h\" and 'ftp://***@z'",
            ),
            ("no scheme at all", "no scheme at all"),
            ("http://", "http://"),
            ("://@", "://***@"),
            ("http://ü:ß@h/ä?ö", "http://***@h/ä?***"),
        ] {
            assert_eq!(redact(raw), shown, "{raw}");
            // Idempotent: what is shown can be shown again.
            assert_eq!(redact(&redact(raw)), shown, "{raw}");
        }
    }
}
