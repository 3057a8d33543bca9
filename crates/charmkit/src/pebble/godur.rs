//! Go's `time.Duration` text, which Pebble reads (`"30s"`, `"1.5s"`, `"100ms"`) and writes in its
//! messages (`timed out waiting for change after 2m0s`).

use std::time::Duration;

/// Formats `d` as Go's `Duration.String` does: `0s`, `42ns`, `1.5µs`, `100ms`, `1.5s`,
/// `2m0s`, `1h0m0s`.
pub fn format(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns == 0 {
        return "0s".into();
    }
    if ns < 1_000 {
        return format!("{ns}ns");
    }
    if ns < 1_000_000 {
        return format!("{}µs", fraction(ns, 1_000, 3));
    }
    if ns < 1_000_000_000 {
        return format!("{}ms", fraction(ns, 1_000_000, 6));
    }
    let total_secs = d.as_secs();
    let (h, m) = (total_secs / 3600, (total_secs / 60) % 60);
    let secs_ns = ns % 60_000_000_000;
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{}s", fraction(secs_ns, 1_000_000_000, 9)));
    out
}

/// `v / unit` with the remainder as a decimal fraction (`digits` wide), trailing zeros trimmed.
fn fraction(v: u128, unit: u128, digits: usize) -> String {
    let (int, rem) = (v / unit, v % unit);
    if rem == 0 {
        return int.to_string();
    }
    let frac = format!("{rem:0digits$}");
    format!("{int}.{}", frac.trim_end_matches('0'))
}

/// Parses a Go duration (`"10s"`, `"1m30s"`, `"1.5h"`, `"250ms"`, `"0"`), with Go's error
/// wording (`time: invalid duration "x"`). Negative durations are refused.
#[cfg(any(test, feature = "testing"))]
pub fn parse(s: &str) -> Result<Duration, String> {
    let quoted = format!("{s:?}");
    let invalid = || format!("time: invalid duration {quoted}");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    if s.is_empty() || s.starts_with('-') {
        return Err(invalid());
    }
    let rest = s.strip_prefix('+').unwrap_or(s);
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    let mut chars = rest.char_indices().peekable();
    while chars.peek().is_some() {
        let start = chars.peek().map(|(i, _)| *i).unwrap_or(0);
        let mut end = start;
        while let Some((i, c)) = chars.peek().copied() {
            if c.is_ascii_digit() || c == '.' {
                end = i + c.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        let number = &rest[start..end];
        if number.is_empty() || number == "." {
            return Err(invalid());
        }
        let value: f64 = number.parse().map_err(|_| invalid())?;
        let ustart = end;
        let mut uend = end;
        while let Some((i, c)) = chars.peek().copied() {
            if c.is_ascii_digit() || c == '.' {
                break;
            }
            uend = i + c.len_utf8();
            chars.next();
        }
        let unit = &rest[ustart..uend];
        let scale = match unit {
            "" => return Err(format!("time: missing unit in duration {quoted}")),
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => return Err(format!("time: unknown unit {other:?} in duration {quoted}")),
        };
        total += value * scale;
    }
    Duration::try_from_secs_f64(total).map_err(|_| invalid())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_as_go() {
        for (d, s) in [
            (Duration::ZERO, "0s"),
            (Duration::from_nanos(42), "42ns"),
            (Duration::from_nanos(1_500), "1.5µs"),
            (Duration::from_millis(100), "100ms"),
            (Duration::from_micros(1_250), "1.25ms"),
            (Duration::from_millis(1_500), "1.5s"),
            (Duration::from_secs(30), "30s"),
            (Duration::from_secs(120), "2m0s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_millis(3_723_500), "1h2m3.5s"),
        ] {
            assert_eq!(format(d), s);
            assert_eq!(parse(s).unwrap(), d, "{s}");
        }
    }

    #[test]
    fn parses_and_refuses_as_go() {
        assert_eq!(parse("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse("0").unwrap(), Duration::ZERO);
        assert_eq!(parse("x").unwrap_err(), "time: invalid duration \"x\"");
        assert_eq!(
            parse("10").unwrap_err(),
            "time: missing unit in duration \"10\""
        );
        assert_eq!(
            parse("3d").unwrap_err(),
            "time: unknown unit \"d\" in duration \"3d\""
        );
        assert!(parse("-1s").is_err());
    }
}
