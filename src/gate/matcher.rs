//! Problem matchers: turn compiler, linter and test-runner output into
//! located problems (annotations), like GitHub's problem matchers but built in.

use crate::output::github::Level;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;

/// `matcher = "..."` in a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Matcher {
    /// cargo and rustc: `error[E0308]: ...` followed by ` --> src/main.rs:3:5`.
    Cargo,
    /// eslint's default (stylish) and unix formats.
    Eslint,
    /// ruff: `path:line:col: CODE message`, or the newer `-->` form.
    Ruff,
    /// mypy: `path:line[:col]: error: message  [code]`.
    Mypy,
    /// tsc: `path(line,col): error TS2322: message` and the pretty form.
    Tsc,
    /// pytest tracebacks: `path.py:12: AssertionError`.
    Pytest,
    /// Any tool printing `path:line:col: message` or `path:line: message`.
    Generic,
}

/// One problem found in a tool's output; paths are as the tool printed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: Option<u32>,
    pub col: Option<u32>,
    pub level: Level,
    pub message: String,
}

macro_rules! re {
    ($name:ident, $pattern:expr) => {
        static $name: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pattern).expect("built-in pattern is valid"));
    };
}

re!(
    RUST_HEADER,
    r"^(?P<level>error|warning)(?:\[(?P<code>[A-Za-z0-9_:-]+)\])?: (?P<msg>.+)$"
);
re!(
    ARROW,
    r"^\s*--> (?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+)\s*$"
);
re!(
    ESLINT_ROW,
    r"^\s+(?P<line>\d+):(?P<col>\d+)\s+(?P<level>error|warning)\s+(?P<msg>.+?)(?:\s{2,}(?P<rule>[\w@/-]+))?\s*$"
);
re!(
    COLON_FORM,
    r"^(?P<file>[^\s:][^:]*?):(?P<line>\d+):(?:(?P<col>\d+):)?\s*(?:(?P<level>error|warning|note|info)\b:?\s*)?(?P<msg>.+)$"
);
re!(
    RUFF_HEADER,
    r"^(?P<code>[A-Z]+[0-9]+)(?: \[\*\])? (?P<msg>.+)$"
);
re!(
    TSC,
    r"^(?P<file>[^\s(][^(]*)\((?P<line>\d+),(?P<col>\d+)\): (?P<level>error|warning) (?P<msg>TS\d+: .+)$"
);
re!(
    TSC_PRETTY,
    r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?P<col>\d+) - (?P<level>error|warning) (?P<msg>TS\d+: .+)$"
);
re!(
    PYTEST_FRAME,
    r"^(?P<file>[^\s:]+\.py):(?P<line>\d+): (?P<msg>\w*(?:Error|Exception|Failed|Exit)\b.*)$"
);

/// Parses a tool's output. ANSI colour codes are removed first.
pub fn parse(matcher: Matcher, output: &str) -> Vec<Problem> {
    let clean = strip_ansi(output);
    let lines: Vec<&str> = clean.lines().collect();
    let mut problems = match matcher {
        Matcher::Cargo => arrow_style(&lines),
        Matcher::Eslint => eslint(&lines),
        Matcher::Ruff => {
            let mut p = colon_form(&lines, false);
            p.extend(arrow_style(&lines));
            p
        }
        Matcher::Mypy => colon_form(&lines, true),
        Matcher::Tsc => lines
            .iter()
            .filter_map(|l| TSC.captures(l).or_else(|| TSC_PRETTY.captures(l)))
            .map(|c| problem(&c))
            .collect(),
        Matcher::Pytest => lines
            .iter()
            .filter_map(|l| PYTEST_FRAME.captures(l))
            .map(|c| problem(&c))
            .collect(),
        Matcher::Generic => colon_form(&lines, false),
    };
    problems.dedup();
    problems
}

fn problem(c: &regex::Captures) -> Problem {
    let num = |name| c.name(name).and_then(|m| m.as_str().parse().ok());
    Problem {
        file: c["file"].trim().to_string(),
        line: num("line"),
        col: num("col"),
        level: level(c.name("level").map(|m| m.as_str())),
        message: c["msg"].trim().to_string(),
    }
}

fn level(word: Option<&str>) -> Level {
    match word {
        Some("warning") => Level::Warning,
        Some("note" | "info") => Level::Notice,
        _ => Level::Error,
    }
}

/// `path:line[:col]: [level:] message`. With `needs_level`, only lines that
/// say error/warning/note count (mypy prints other `path:line:` lines).
fn colon_form(lines: &[&str], needs_level: bool) -> Vec<Problem> {
    lines
        .iter()
        .filter_map(|l| COLON_FORM.captures(l))
        .filter(|c| !needs_level || c.name("level").is_some())
        // `http://host:80: x` and drive letters are not file locations.
        .filter(|c| !c["file"].contains("://") && !c["file"].contains(' '))
        .map(|c| problem(&c))
        .collect()
}

/// rustc's and ruff's newer form: a header line, then ` --> file:line:col`.
fn arrow_style(lines: &[&str]) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut header: Option<(Level, String)> = None;
    for l in lines {
        if let Some(c) = RUST_HEADER.captures(l) {
            let msg = match c.name("code") {
                Some(code) => format!("{} [{}]", &c["msg"], code.as_str()),
                None => c["msg"].to_string(),
            };
            header = Some((level(Some(&c["level"])), msg));
        } else if let Some(c) = RUFF_HEADER.captures(l) {
            header = Some((Level::Error, format!("{} {}", &c["code"], &c["msg"])));
        } else if let Some(c) = ARROW.captures(l)
            && let Some((lvl, msg)) = header.take()
        {
            out.push(Problem {
                file: c["file"].to_string(),
                line: c["line"].parse().ok(),
                col: c["col"].parse().ok(),
                level: lvl,
                message: msg,
            });
        }
    }
    out
}

/// eslint's stylish format: a file name line, then indented `line:col level message rule`.
fn eslint(lines: &[&str]) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut file: Option<&str> = None;
    for l in lines {
        if let Some(c) = ESLINT_ROW.captures(l) {
            if let Some(f) = file {
                let msg = match c.name("rule") {
                    Some(rule) => format!("{} ({})", c["msg"].trim(), rule.as_str()),
                    None => c["msg"].trim().to_string(),
                };
                out.push(Problem {
                    file: f.to_string(),
                    line: c["line"].parse().ok(),
                    col: c["col"].parse().ok(),
                    level: level(Some(&c["level"])),
                    message: msg,
                });
            }
        } else if !l.starts_with(char::is_whitespace) && !l.trim().is_empty() && !l.starts_with('✖')
        {
            file = Some(l.trim());
        }
    }
    // `--format unix` prints the colon form instead.
    out.extend(
        colon_form(lines, false)
            .into_iter()
            .filter(|p| p.col.is_some()),
    );
    out
}

fn strip_ansi(s: &str) -> String {
    static ANSI: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]").expect("valid"));
    ANSI.replace_all(s, "").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(m: Matcher, out: &str) -> Problem {
        let p = parse(m, out);
        assert_eq!(p.len(), 1, "{p:?}");
        p.into_iter().next().unwrap()
    }

    #[test]
    fn cargo_errors_with_codes_and_locations() {
        let out = "   Compiling x v0.1.0\nerror[E0308]: mismatched types\n --> src/main.rs:3:18\n  |\n3 |     let x: u8 = \"a\";\n\nerror: could not compile `x`\n";
        let p = one(Matcher::Cargo, out);
        assert_eq!(
            (p.file.as_str(), p.line, p.col),
            ("src/main.rs", Some(3), Some(18))
        );
        assert_eq!(p.message, "mismatched types [E0308]");
        let w = one(
            Matcher::Cargo,
            "warning: unused variable: `y`\n  --> src/lib.rs:7:9\n",
        );
        assert_eq!(w.level, Level::Warning);
    }

    #[test]
    fn eslint_stylish_rows_belong_to_the_file_above() {
        let out = "\n/repo/web/src/app.js\n  3:7   error    'x' is assigned a value but never used  no-unused-vars\n  9:1   warning  Unexpected console statement            no-console\n\n✖ 2 problems (1 error, 1 warning)\n";
        let p = parse(Matcher::Eslint, out);
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].file, "/repo/web/src/app.js");
        assert_eq!((p[0].line, p[0].col), (Some(3), Some(7)));
        assert_eq!(
            p[0].message,
            "'x' is assigned a value but never used (no-unused-vars)"
        );
        assert_eq!(p[1].level, Level::Warning);
    }

    #[test]
    fn ruff_concise_and_full_forms() {
        let p = one(
            Matcher::Ruff,
            "api/app.py:1:8: F401 [*] `os` imported but unused\nFound 1 error.\n",
        );
        assert_eq!(
            (p.file.as_str(), p.line, p.col),
            ("api/app.py", Some(1), Some(8))
        );
        assert_eq!(p.message, "F401 [*] `os` imported but unused");
        let p = one(
            Matcher::Ruff,
            "F401 [*] `os` imported but unused\n --> api/app.py:1:8\n  |\n",
        );
        assert_eq!(p.message, "F401 `os` imported but unused");
    }

    #[test]
    fn mypy_needs_a_level_word() {
        let out = "api/m.py:4: error: Incompatible return value type  [return-value]\napi/m.py:4: note: see docs\nSuccess: no\n";
        let p = parse(Matcher::Mypy, out);
        assert_eq!(p.len(), 2);
        assert_eq!(
            p[0].message,
            "Incompatible return value type  [return-value]"
        );
        assert_eq!(p[1].level, Level::Notice);
    }

    #[test]
    fn tsc_both_forms() {
        let p = one(
            Matcher::Tsc,
            "src/a.ts(4,7): error TS2322: Type 'string' is not assignable to type 'number'.\n",
        );
        assert_eq!((p.line, p.col), (Some(4), Some(7)));
        let p = one(
            Matcher::Tsc,
            "\x1b[96msrc/a.ts\x1b[0m:\x1b[93m4\x1b[0m:\x1b[93m7\x1b[0m - \x1b[91merror\x1b[0m TS2322: Bad.\n",
        );
        assert_eq!(
            (p.file.as_str(), p.message.as_str()),
            ("src/a.ts", "TS2322: Bad.")
        );
    }

    #[test]
    fn pytest_frames_point_at_the_assertion() {
        let out = "    def test_x():\n>       assert 1 == 2\nE       assert 1 == 2\n\ntests/test_x.py:8: AssertionError\n=== short test summary info ===\n";
        let p = one(Matcher::Pytest, out);
        assert_eq!((p.file.as_str(), p.line), ("tests/test_x.py", Some(8)));
        assert_eq!(p.message, "AssertionError");
    }

    #[test]
    fn generic_form_with_and_without_column() {
        let p = parse(
            Matcher::Generic,
            "src/a.js:3:1: SyntaxError: x\nlib/b.sh:10: warning: quote this\nsee https://x.io:443: no\n",
        );
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].message, "SyntaxError: x");
        assert_eq!(
            (p[1].line, p[1].col, p[1].level),
            (Some(10), None, Level::Warning)
        );
    }
}
