//! GitHub Actions workflow commands and environment files, within GitHub's rules.
//!
//! Facts from GitHub's documentation and the actions/toolkit runner contract:
//! command data escapes `%`, CR and LF; property values also escape `:` and
//! `,`; multi-line outputs use `name<<DELIMITER`; a step may show at most 10
//! error and 10 warning (and 10 notice) annotations; a step summary may be at
//! most 1 MiB.

use serde::Serialize;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

/// GitHub shows at most this many annotations of one level per step.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;
/// GitHub shows at most this many annotations in one job, across its steps.
pub const ANNOTATIONS_PER_JOB: usize = 50;
/// GitHub rejects a step summary larger than this.
pub const SUMMARY_LIMIT: usize = 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// A message attached to a file and line in the GitHub UI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Annotation {
    pub level: Level,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub col: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub message: String,
}

/// Longest message put into one annotation: the UI shows a few lines of it,
/// and one test's whole output would bury the rest of the run.
pub const MESSAGE_CHARS: usize = 2000;
/// Longest title: GitHub's check-run annotations take at most 255 characters.
pub const TITLE_CHARS: usize = 255;

impl Annotation {
    /// An annotation; a longer message is cut at [`MESSAGE_CHARS`] with `…`,
    /// so every command gets GitHub's limits from here.
    pub fn new(level: Level, message: impl Into<String>) -> Self {
        Self {
            level,
            file: None,
            line: None,
            col: None,
            title: None,
            message: truncate(&message.into(), MESSAGE_CHARS),
        }
    }

    pub fn at(mut self, file: impl Into<String>, line: Option<u32>, col: Option<u32>) -> Self {
        self.file = Some(file.into());
        self.line = line;
        self.col = col;
        self
    }

    pub fn titled(mut self, title: impl Into<String>) -> Self {
        self.title = Some(truncate(&title.into(), TITLE_CHARS));
        self
    }

    /// The workflow command, e.g. `::error file=a.py,line=3,title=x::message`.
    pub fn to_command(&self) -> String {
        let mut props = Vec::new();
        if let Some(file) = &self.file {
            props.push(format!("file={}", escape_property(file)));
        }
        if let Some(line) = self.line {
            props.push(format!("line={line}"));
        }
        if let Some(col) = self.col {
            props.push(format!("col={col}"));
        }
        if let Some(title) = &self.title {
            props.push(format!("title={}", escape_property(title)));
        }
        let props = if props.is_empty() {
            String::new()
        } else {
            format!(" {}", props.join(","))
        };
        format!(
            "::{}{}::{}",
            self.level.as_str(),
            props,
            escape_data(&self.message)
        )
    }
}

/// Escapes the data part of a workflow command.
/// `s` cut to `max` characters (not bytes), marked with `…` when cut.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value of a workflow command.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// 32 random hex digits. The OS RNG failing leaves zeros; every caller
/// still checks that its token is absent from the text it guards.
fn random_hex() -> String {
    let mut bytes = [0u8; 16];
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A random delimiter that occurs in neither the name nor the value, so a
/// value can never close its own block and inject another output.
pub fn output_delimiter(name: &str, value: &str) -> String {
    loop {
        let delimiter = format!("ghadelimiter_{}", random_hex());
        if !value.contains(&delimiter) && !name.contains(&delimiter) {
            return delimiter;
        }
    }
}

/// Whether the runner could read a workflow command somewhere in `text`.
/// The runner reads `::name …::data` at the start of a (whitespace-trimmed)
/// line and the older `##[name …]data` anywhere in a line, and it splits lines
/// at CR as well as LF; looking for either marker anywhere is a safe superset.
pub fn could_hold_command(text: &str) -> bool {
    text.contains("::") || text.contains("##[")
}

/// Third-party text (gate output, build logs, Trivy output, database notices,
/// remote log lines) made inert for the runner, ending in a newline.
///
/// Text that could hold a workflow command is wrapped in
/// `::stop-commands::TOKEN` … `::TOKEN::`: between the two the runner
/// processes no command at all, and only someone who knows the random token,
/// which the text does not contain, can resume processing. The text cannot end
/// the pause early, start a group, mask a value or set an output.
pub fn inert(text: &str) -> String {
    let text = text.strip_suffix('\n').unwrap_or(text);
    if !could_hold_command(text) {
        return format!("{text}\n");
    }
    let token = loop {
        let token = format!("gantry-{}", random_hex());
        if !text.contains(&token) {
            break token;
        }
    };
    format!("::stop-commands::{token}\n{text}\n::{token}::\n")
}

/// Appends `name<<DELIM\nvalue\nDELIM\n` to a `$GITHUB_OUTPUT`-style file.
pub fn append_output(file: &Path, name: &str, value: &str) -> std::io::Result<()> {
    let delimiter = output_delimiter(name, value);
    let mut f = OpenOptions::new().create(true).append(true).open(file)?;
    write!(f, "{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// Appends Markdown to the step summary file, keeping the whole file within
/// GitHub's limit. Returns how many bytes were cut.
pub fn append_summary(file: &Path, markdown: &str) -> std::io::Result<usize> {
    let existing = std::fs::metadata(file).map_or(0, |m| m.len() as usize);
    let (text, cut) = cap_summary(markdown, SUMMARY_LIMIT.saturating_sub(existing));
    let mut f = OpenOptions::new().create(true).append(true).open(file)?;
    f.write_all(text.as_bytes())?;
    Ok(cut)
}

/// Fits `markdown` into `room` bytes: whole lines only, with a closing line
/// that says what was cut.
pub fn cap_summary(markdown: &str, room: usize) -> (String, usize) {
    if markdown.len() <= room {
        return (markdown.to_string(), 0);
    }
    let note_room = 120;
    let budget = room.saturating_sub(note_room);
    let mut end = 0;
    for (i, _) in markdown.match_indices('\n') {
        if i + 1 > budget {
            break;
        }
        end = i + 1;
    }
    let cut = markdown.len() - end;
    let note = format!(
        "\n_Summary truncated: {cut} more bytes did not fit in GitHub's 1 MiB step summary limit._\n"
    );
    let mut text = markdown[..end].to_string();
    if text.len() + note.len() <= room {
        text.push_str(&note);
    }
    (text, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_annotation_is_cut_to_githubs_limits_by_characters() {
        // Multi-byte characters: the cut counts characters, never splits one.
        let a = Annotation::new(Level::Error, "é".repeat(MESSAGE_CHARS + 5))
            .titled("t".repeat(TITLE_CHARS + 1));
        assert_eq!(a.message.chars().count(), MESSAGE_CHARS + 1);
        assert!(a.message.ends_with("é…"));
        assert_eq!(a.title.unwrap().chars().count(), TITLE_CHARS + 1);
        let short = Annotation::new(Level::Warning, "fine").titled("gate");
        assert_eq!(
            (short.message.as_str(), short.title.as_deref()),
            ("fine", Some("gate"))
        );
    }

    #[test]
    fn data_escapes_percent_cr_lf() {
        assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(escape_property("C:\\a,b%\n"), "C%3A\\a%2Cb%25%0A");
    }

    #[test]
    fn annotation_command_carries_location_and_title() {
        let a = Annotation::new(Level::Error, "assert 1 == 2\nfailed")
            .at("api/tests/test_x.py", Some(8), Some(4))
            .titled("api-tests: test_x, failed");
        assert_eq!(
            a.to_command(),
            "::error file=api/tests/test_x.py,line=8,col=4,title=api-tests%3A test_x%2C failed::assert 1 == 2%0Afailed"
        );
        assert_eq!(
            Annotation::new(Level::Warning, "w").to_command(),
            "::warning::w"
        );
    }

    #[test]
    fn text_without_command_markers_is_written_as_is() {
        assert_eq!(inert("plain log line: ok"), "plain log line: ok\n");
        assert_eq!(inert("two\nlines\n"), "two\nlines\n");
    }

    #[test]
    fn text_with_command_markers_is_wrapped_in_a_random_stop_token() {
        for text in ["::set-output name=x::y", "a\r::add-mask::z", "x ##[error]y"] {
            let out = inert(text);
            let lines: Vec<&str> = out.lines().collect();
            let token = lines[0].strip_prefix("::stop-commands::").unwrap();
            assert!(token.starts_with("gantry-") && token.len() == 7 + 32);
            assert_eq!(lines.last().unwrap(), &format!("::{token}::"));
            assert!(out.contains(text));
            assert_ne!(out, inert(text), "tokens are random");
        }
    }

    #[test]
    fn delimiter_never_occurs_in_the_value() {
        let value = "ghadelimiter_ x\nEOF";
        let d = output_delimiter("n", value);
        assert!(d.starts_with("ghadelimiter_") && d.len() == 13 + 32);
        assert!(!value.contains(&d));
        assert_ne!(d, output_delimiter("n", value), "delimiters are random");
    }

    #[test]
    fn outputs_file_gets_heredoc_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        append_output(&path, "gates-failed", "a\nb").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let delim = lines[0].strip_prefix("gates-failed<<").unwrap();
        assert_eq!(&lines[1..], &["a", "b", delim]);
    }

    #[test]
    fn summary_is_capped_on_a_line_boundary_with_a_note() {
        let md = "line\n".repeat(1000);
        let (text, cut) = cap_summary(&md, 1000);
        assert!(text.len() <= 1000, "{}", text.len());
        assert!(cut > 0);
        assert!(text.contains("Summary truncated"));
        assert!(text.starts_with("line\nline\n"));
        let (text, cut) = cap_summary("short\n", 1000);
        assert_eq!((text.as_str(), cut), ("short\n", 0));
    }

    #[test]
    fn summary_file_never_exceeds_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "x".repeat(SUMMARY_LIMIT - 500)).unwrap();
        let cut = append_summary(&path, &"row\n".repeat(1000)).unwrap();
        assert!(cut > 0);
        assert!(std::fs::metadata(&path).unwrap().len() as usize <= SUMMARY_LIMIT);
    }
}
