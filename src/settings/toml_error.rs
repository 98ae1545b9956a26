//! Turns TOML and serde errors into located errors with a useful hint.
//!
//! serde words unknown keys as "unknown field `x`, expected one of `a`, `b`"
//! and unknown values as "unknown variant `x`, expected ...": we reword them
//! for people who write TOML, and suggest the closest valid name.

use crate::error::ConfigError;
use std::ops::Range;
use std::path::Path;

pub(super) fn convert(path: &Path, text: &str, err: &toml::de::Error) -> ConfigError {
    let raw = err.message().trim().to_string();
    let (message, hint) = reword(&raw);
    let mut e = match err.span() {
        Some(span) => at_span(path, text, span, message, hint),
        None => ConfigError {
            path: path.to_path_buf(),
            line: None,
            column: None,
            message,
            snippet: None,
            hint,
        },
    };
    if raw.starts_with("unknown field")
        && let Some(table) = e.line.and_then(|l| enclosing_table(text, l))
    {
        e.message.push_str(&format!(" in {table}"));
    }
    e
}

/// A located error for a byte span of the file.
pub(super) fn at_span(
    path: &Path,
    text: &str,
    span: Range<usize>,
    message: String,
    hint: Option<String>,
) -> ConfigError {
    let start = span.start.min(text.len());
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..start].chars().count() + 1;
    let snippet = text[line_start..].lines().next().unwrap_or("").to_string();
    ConfigError {
        path: path.to_path_buf(),
        line: Some(line),
        column: Some(column),
        message,
        snippet: Some(snippet),
        hint,
    }
}

fn reword(raw: &str) -> (String, Option<String>) {
    for (prefix, noun) in [("unknown field", "key"), ("unknown variant", "value")] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            let names = backticked(rest);
            let Some((given, valid)) = names.split_first() else {
                break;
            };
            let message = format!("unknown {noun} `{given}`");
            let list = valid
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ");
            let hint = match (closest(given, valid), valid.is_empty()) {
                (_, true) => format!("no {noun}s are accepted here"),
                (Some(best), _) => format!("did you mean `{best}`? valid {noun}s: {list}"),
                (None, _) => format!("valid {noun}s: {list}"),
            };
            return (message, Some(hint));
        }
    }
    if let Some(rest) = raw.strip_prefix("missing field") {
        return (format!("missing key{rest}"), None);
    }
    (raw.to_string(), None)
}

/// Every `quoted` word, in order.
fn backticked(s: &str) -> Vec<&str> {
    s.split('`').skip(1).step_by(2).collect()
}

/// The valid name closest to what was written, when it is close enough to be
/// a likely typo.
pub(super) fn closest<'a>(given: &str, valid: &[&'a str]) -> Option<&'a str> {
    valid
        .iter()
        .map(|v| (strsim::jaro_winkler(given, v), *v))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, v)| v)
}

/// The `[table]` header that a line belongs to.
fn enclosing_table(text: &str, line: usize) -> Option<String> {
    text.lines()
        .take(line)
        .collect::<Vec<_>>()
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|l| l.split('#').next().unwrap_or(l).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_finds_typos_but_not_strangers() {
        let valid = ["run", "dir", "env", "timeout", "required"];
        assert_eq!(closest("requird", &valid), Some("required"));
        assert_eq!(closest("timout", &valid), Some("timeout"));
        assert_eq!(closest("zzzzzz", &valid), None);
    }

    #[test]
    fn serde_messages_are_reworded() {
        let (m, h) = reword("unknown field `x`, there are no fields");
        assert_eq!(m, "unknown key `x`");
        assert_eq!(h.unwrap(), "no keys are accepted here");
        let (m, _) = reword("missing field `run`");
        assert_eq!(m, "missing key `run`");
    }
}
