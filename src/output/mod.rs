//! The one printer: every byte gantry writes goes through here, so the format
//! (human, json, github), colour, quiet/verbose and secret redaction are
//! decided in one place.
//!
//! Streams: in human and json formats stdout carries data only (the result
//! table, the plan, the JSON document) and logs go to stderr. In github
//! format everything goes to stdout, where the runner reads workflow commands.

pub mod aggregate;
pub mod github;
pub mod redact;
pub mod table;

use crate::error::Error;
use anstyle::{AnsiColor, Style};
use github::{Annotation, Level};
use indexmap::IndexMap;
use indicatif::ProgressBar;
use redact::Redactor;
use serde::Serialize;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Output format, `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Readable text, coloured on a terminal.
    Human,
    /// One JSON document on stdout; logs on stderr.
    Json,
    /// GitHub Actions workflow commands: groups, annotations, masks, outputs, step summary.
    Github,
}

/// How the printer was set up; resolved from flags and environment by `settings`.
#[derive(Debug, Clone)]
pub struct PrinterOptions {
    pub format: Format,
    pub color: bool,
    pub quiet: bool,
    pub verbose: u8,
    /// Show progress bars (only when stderr is a terminal).
    pub progress: bool,
    /// `$GITHUB_OUTPUT`, when set.
    pub output_file: Option<PathBuf>,
    /// `$GITHUB_STEP_SUMMARY`, when set.
    pub summary_file: Option<PathBuf>,
    /// A GitHub runner reads both streams for workflow commands
    /// (`GITHUB_ACTIONS=true`), whatever the format.
    pub runner: bool,
}

impl Default for PrinterOptions {
    fn default() -> Self {
        Self {
            format: Format::Human,
            color: false,
            quiet: false,
            verbose: 0,
            progress: false,
            output_file: None,
            summary_file: None,
            runner: false,
        }
    }
}

pub struct Printer {
    opts: PrinterOptions,
    redactor: Redactor,
    shown: Mutex<HashMap<Level, usize>>,
    dropped: Mutex<HashMap<Level, usize>>,
    /// Annotations earlier steps of this job showed (from the pipeline state).
    job_before: AtomicUsize,
    /// Annotations left out because the job reached GitHub's limit.
    dropped_for_job: AtomicUsize,
    annotations: Mutex<Vec<Annotation>>,
    outputs: Mutex<IndexMap<String, String>>,
    plans: Mutex<IndexMap<String, serde_json::Value>>,
    summary: Mutex<String>,
}

const BOLD: Style = Style::new().bold();
const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
const GREEN: Style = AnsiColor::Green.on_default();
const DIM: Style = Style::new().dimmed();

impl Printer {
    pub fn new(opts: PrinterOptions) -> Self {
        Self {
            opts,
            redactor: Redactor::default(),
            shown: Mutex::default(),
            dropped: Mutex::default(),
            job_before: AtomicUsize::new(0),
            dropped_for_job: AtomicUsize::new(0),
            annotations: Mutex::default(),
            outputs: Mutex::default(),
            plans: Mutex::default(),
            summary: Mutex::default(),
        }
    }

    pub fn format(&self) -> Format {
        self.opts.format
    }

    pub fn verbose(&self) -> u8 {
        self.opts.verbose
    }

    /// Registers a secret: redacted from everything printed from now on, and
    /// masked by the GitHub runner in its own log.
    pub fn mask(&self, secret: &str) {
        let forms = self.redactor.add(secret);
        self.announce_masks(&forms);
    }

    /// Registers the password inside a URL (`postgres://user:PASS@host`).
    pub fn mask_url_password(&self, url: &str) {
        let forms = self.redactor.add_url_password(url);
        self.announce_masks(&forms);
    }

    fn announce_masks(&self, forms: &[String]) {
        if self.opts.format == Format::Github {
            for form in forms {
                // `::add-mask::` must reach the runner before the value can appear.
                Self::raw_stdout(&format!("::add-mask::{}\n", github::escape_data(form)));
            }
        }
    }

    pub fn redact(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// Rewrites a file of third-party output (a gate's whole log) with every
    /// secret redacted, as everything printed is: such files are uploaded as
    /// artifacts. Streamed line by line, so a 100 MB log is never held whole
    /// (a secret is matched within a line, as the runner's masks are).
    pub fn redact_file(&self, path: &std::path::Path) -> std::io::Result<()> {
        use std::io::{BufRead, BufReader, BufWriter};
        if self.redactor.is_empty() {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(std::path::Path::new("."));
        let mut redacted = tempfile::NamedTempFile::new_in(dir)?;
        {
            let mut reader = BufReader::new(std::fs::File::open(path)?);
            let mut writer = BufWriter::new(redacted.as_file_mut());
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line)? > 0 {
                writer.write_all(self.redact(&String::from_utf8_lossy(&line)).as_bytes())?;
                line.clear();
            }
            writer.flush()?;
        }
        redacted.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// How many annotations earlier steps of this job showed.
    pub fn set_job_annotations(&self, n: usize) {
        self.job_before.store(n, Ordering::SeqCst);
    }

    /// How many annotations this job has shown so far, this process included.
    pub fn job_annotations(&self) -> usize {
        self.job_before.load(Ordering::SeqCst) + lock(&self.shown).values().sum::<usize>()
    }

    /// A section heading for a step or command.
    pub fn heading(&self, text: &str) {
        if self.opts.quiet {
            return;
        }
        let text = self.redact(text);
        match self.opts.format {
            Format::Github => self.text_stdout(&text),
            _ => self.log(&format!(
                "{} {}",
                self.paint(BOLD, "==>"),
                self.paint(BOLD, &text)
            )),
        }
    }

    /// A normal progress line.
    pub fn info(&self, text: &str) {
        if !self.opts.quiet {
            self.log(&self.redact(text));
        }
    }

    /// A result line whose first word is coloured by how it went.
    pub fn outcome(&self, good: Option<bool>, text: &str) {
        if self.opts.quiet {
            return;
        }
        let text = self.redact(text);
        let (head, rest) = text.split_once(' ').unwrap_or((&text, ""));
        let style = match good {
            Some(true) => GREEN,
            Some(false) => RED,
            None => YELLOW,
        };
        self.log(&format!("{} {rest}", self.paint(style, head)));
    }

    /// Shown with `-v` only.
    pub fn detail(&self, text: &str) {
        if self.opts.verbose > 0 && !self.opts.quiet {
            self.log(&self.paint(DIM, &self.redact(text)));
        }
    }

    pub fn warn(&self, text: &str) {
        let text = self.redact(text);
        self.log(&format!("{} {text}", self.paint(YELLOW, "warning:")));
    }

    /// Why a step failed, in full (a located statement, a list of versions,
    /// what to do). Always shown, even with `--quiet`.
    pub fn problem(&self, text: &str) {
        let text = self.redact(text);
        match self.opts.format {
            Format::Github => self.text_stdout(&text),
            _ => self.log(&format!("{} {text}", self.paint(RED, "error:"))),
        }
    }

    /// Renders an error that stops the command, with its hint. Always shown.
    pub fn error(&self, err: &Error) {
        let text = self.redact(&err.to_string());
        let hint = err.hint().map(|h| self.redact(h));
        if self.opts.format == Format::Github {
            let mut message = text.clone();
            if let Some(h) = &hint {
                message.push_str(&format!("\nhint: {h}"));
            }
            Self::raw_stdout(&format!(
                "{}\n",
                Annotation::new(Level::Error, message).to_command()
            ));
            return;
        }
        let mut out = format!("{} {text}", self.paint(RED, "error:"));
        if let Some(h) = hint {
            out.push_str(&format!("\n{} {h}", self.paint(BOLD, "hint:")));
        }
        self.log(&out);
    }

    /// A unified diff: removed lines red and added lines green on a terminal.
    pub fn diff(&self, diff: &str) {
        if self.opts.quiet {
            return;
        }
        let diff = self.redact(diff);
        let lines: Vec<String> = diff
            .lines()
            .map(|l| match l.as_bytes().first() {
                _ if l.starts_with("---") || l.starts_with("+++") => self.paint(BOLD, l),
                Some(b'-') => self.paint(RED, l),
                Some(b'+') => self.paint(GREEN, l),
                Some(b'@') => self.paint(DIM, l),
                _ => l.to_string(),
            })
            .collect();
        self.log(&lines.join("\n"));
    }

    /// Tool output under a title: a collapsed group in GitHub, indented elsewhere.
    pub fn group(&self, title: &str, body: &str) {
        if self.opts.quiet && self.opts.format != Format::Github {
            return;
        }
        let title = self.redact(title);
        let body = self.redact(body);
        let body = body.trim_end_matches('\n');
        if self.opts.format == Format::Github {
            // The body is third-party text: inert inside gantry's own group.
            let body = if body.is_empty() {
                String::new()
            } else {
                github::inert(body)
            };
            Self::raw_stdout(&format!(
                "::group::{}\n{body}::endgroup::\n",
                github::escape_data(&title),
            ));
        } else {
            let mut out = self.paint(DIM, &format!("--- {title}"));
            for line in body.lines() {
                out.push_str(&format!("\n{} {line}", self.paint(DIM, "|")));
            }
            self.log(&out);
        }
    }

    /// An annotation: a workflow command in GitHub (within GitHub's per-level
    /// limit; the rest are counted for the summary), a located line elsewhere.
    pub fn annotate(&self, mut a: Annotation) {
        a.message = self.redact(&a.message);
        a.title = a.title.map(|t| self.redact(&t));
        a.file = a.file.map(|f| self.redact(&f));
        match self.opts.format {
            Format::Github => {
                let mut shown = lock(&self.shown);
                let job = self.job_before.load(Ordering::SeqCst) + shown.values().sum::<usize>();
                if job >= github::ANNOTATIONS_PER_JOB {
                    self.dropped_for_job.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                let n = shown.entry(a.level).or_default();
                if *n >= github::ANNOTATIONS_PER_LEVEL {
                    *lock(&self.dropped).entry(a.level).or_default() += 1;
                    return;
                }
                *n += 1;
                drop(shown);
                Self::raw_stdout(&format!("{}\n", a.to_command()));
            }
            Format::Json => lock(&self.annotations).push(a),
            Format::Human => {
                let label = match a.level {
                    Level::Error => self.paint(RED, "error:"),
                    Level::Warning => self.paint(YELLOW, "warning:"),
                    Level::Notice => self.paint(BOLD, "notice:"),
                };
                let location = match (&a.file, a.line) {
                    (Some(f), Some(l)) => format!("{f}:{l}: "),
                    (Some(f), None) => format!("{f}: "),
                    _ => String::new(),
                };
                let title = a.title.map(|t| format!("{t}: ")).unwrap_or_default();
                // One line: the details are in the output shown above it.
                let first = a.message.lines().next().unwrap_or("");
                self.log(&format!("{label} {location}{title}{first}"));
            }
        }
    }

    /// A step output: `$GITHUB_OUTPUT` when set, and the JSON document.
    pub fn set_output(&self, name: &str, value: &str) -> Result<(), Error> {
        let value = self.redact(value);
        self.write_output(name, &value)?;
        lock(&self.outputs).insert(name.to_string(), value);
        Ok(())
    }

    fn write_output(&self, name: &str, value: &str) -> Result<(), Error> {
        if let Some(file) = &self.opts.output_file {
            github::append_output(file, name, value).map_err(|e| {
                Error::external(
                    "filesystem",
                    format!("cannot write {}: {e}", file.display()),
                )
            })?;
        }
        Ok(())
    }

    pub fn outputs(&self) -> IndexMap<String, String> {
        lock(&self.outputs).clone()
    }

    /// A step's plan, for the `plan` output written by [`Printer::finish`].
    pub fn plan(&self, step: &str, plan: &impl Serialize) {
        let mut value = serde_json::to_value(plan).unwrap_or_default();
        self.redact_json(&mut value);
        lock(&self.plans).insert(step.to_string(), value);
    }

    /// Adds Markdown to the step summary (written by [`Printer::finish`]).
    pub fn summary(&self, markdown: &str) {
        lock(&self.summary).push_str(markdown);
    }

    /// The step summary so far, redacted (the pull request comment's body).
    pub fn summary_markdown(&self) -> String {
        self.redact(&lock(&self.summary))
    }

    /// Puts Markdown before everything already in the step summary (the
    /// pipeline's overview goes above the steps' own sections).
    pub fn summary_front(&self, markdown: &str) {
        lock(&self.summary).insert_str(0, markdown);
    }

    /// Human-readable result (tables, plans) on stdout.
    pub fn result(&self, text: &str) {
        if self.opts.format == Format::Human || self.opts.format == Format::Github {
            self.text_stdout(&self.redact(text));
        }
    }

    /// The annotations shown so far (for the JSON document).
    pub fn annotations(&self) -> Vec<Annotation> {
        lock(&self.annotations).clone()
    }

    /// Prints the JSON document (json format only; built by
    /// [`crate::report::document`]), with every string redacted.
    pub fn document(&self, mut value: serde_json::Value) {
        if self.opts.format != Format::Json {
            return;
        }
        self.redact_json(&mut value);
        let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
        if self.opts.runner {
            text = runner_safe_json(&text);
        }
        Self::raw_stdout(&format!("{text}\n"));
    }

    fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => *s = self.redact(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            serde_json::Value::Object(map) => {
                map.values_mut().for_each(|v| self.redact_json(v));
            }
            _ => {}
        }
    }

    /// A spinner on stderr, only on a terminal in human format.
    pub fn spinner(&self, message: &str) -> Option<ProgressBar> {
        if !self.opts.progress || self.opts.quiet || self.opts.format != Format::Human {
            return None;
        }
        let pb = ProgressBar::new_spinner();
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb.set_message(self.redact(message));
        Some(pb)
    }

    /// Writes the step summary and reports annotations GitHub could not show;
    /// in GitHub Actions, also the outputs that gather all the others
    /// (`outputs`, `image-digests`, …; see [`aggregate`]).
    pub fn finish(&self) -> Result<(), Error> {
        if self.opts.output_file.is_some() {
            let plans = lock(&self.plans).clone();
            for (name, value) in aggregate::aggregate_outputs(&self.outputs(), &plans) {
                self.write_output(name, &value)?;
            }
        }
        let dropped = lock(&self.dropped).clone();
        let mut levels: Vec<_> = dropped.into_iter().filter(|(_, n)| *n > 0).collect();
        levels.sort_by_key(|(l, _)| l.as_str());
        if !levels.is_empty() {
            let text = levels
                .iter()
                .map(|(l, n)| format!("{n} more {} annotation(s)", l.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            let line = format!(
                "{text} not shown: GitHub shows at most {} per level in one step.",
                github::ANNOTATIONS_PER_LEVEL
            );
            self.info(&line);
            self.summary(&format!("\n> {line}\n"));
        }
        let for_job = self.dropped_for_job.load(Ordering::SeqCst);
        if for_job > 0 {
            let line = format!(
                "{for_job} more annotation(s) not shown: GitHub shows at most {} in one job, and this job's steps reached it ({} shown by earlier steps).",
                github::ANNOTATIONS_PER_JOB,
                self.job_before.load(Ordering::SeqCst)
            );
            self.info(&line);
            self.summary(&format!("\n> {line}\n"));
        }
        let summary = self.redact(&lock(&self.summary));
        if let (Some(file), false) = (&self.opts.summary_file, summary.is_empty()) {
            let cut = github::append_summary(file, &summary).map_err(|e| {
                Error::external(
                    "filesystem",
                    format!("cannot write {}: {e}", file.display()),
                )
            })?;
            if cut > 0 {
                self.warn(&format!(
                    "the step summary was cut by {cut} bytes to stay under GitHub's 1 MiB limit"
                ));
            }
        }
        Ok(())
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.opts.color {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }

    fn log(&self, line: &str) {
        if self.opts.format == Format::Github {
            self.text_stdout(line);
        } else {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(self.for_runner(line).as_bytes());
        }
    }

    /// Text that is not one of gantry's own workflow commands, on stdout.
    fn text_stdout(&self, text: &str) {
        Self::raw_stdout(&self.for_runner(text));
    }

    /// The one rule for text that is not a command of gantry's own: any of
    /// it may carry third-party text (a gate's name, a server's error, a log
    /// line), so wherever a GitHub runner reads it (github format, or any
    /// format when `GITHUB_ACTIONS=true`, on stdout and stderr alike) it is
    /// made inert; elsewhere it is written as it is. Ends in a newline.
    fn for_runner(&self, text: &str) -> String {
        if self.opts.format == Format::Github || self.opts.runner {
            github::inert(text)
        } else {
            format!("{text}\n")
        }
    }

    /// Written as is: only for gantry's own workflow commands and for text
    /// already made inert.
    fn raw_stdout(text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// A pretty-printed JSON document that a GitHub runner reads no command
/// from. It must stay one parseable JSON value, so it cannot be wrapped in
/// stop-commands; no line of it starts with `::` (strings are escaped and
/// each line starts with a quote or a bracket), but the older `##[` form is
/// found anywhere in a line: it is spelled with a JSON escape, which every
/// reader decodes to the same text.
fn runner_safe_json(text: &str) -> String {
    text.replace("##[", "#\\u0023[")
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether to colour output: `--color`, then `NO_COLOR`, then `FORCE_COLOR`,
/// then whether stderr is a terminal that is not `dumb`.
pub fn decide_color(choice: ColorChoice, no_color: bool, force_color: bool, dumb: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if no_color => false,
        ColorChoice::Auto if force_color => true,
        ColorChoice::Auto => !dumb && std::io::stderr().is_terminal(),
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal, unless NO_COLOR is set (FORCE_COLOR forces it).
    #[default]
    Auto,
    Always,
    Never,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_flag_then_no_color_then_force_color() {
        assert!(decide_color(ColorChoice::Always, true, false, true));
        assert!(!decide_color(ColorChoice::Never, false, true, false));
        assert!(!decide_color(ColorChoice::Auto, true, true, false));
        assert!(decide_color(ColorChoice::Auto, false, true, true));
    }

    #[test]
    fn a_json_document_for_a_runner_holds_no_command_and_reads_the_same() {
        let value =
            serde_json::json!({"line": "x ##[add-mask]gantry", "start": "::set-output name=a::b"});
        let text = runner_safe_json(&serde_json::to_string_pretty(&value).unwrap());
        assert!(!text.contains("##["), "{text}");
        assert!(
            text.lines().all(|l| !l.trim_start().starts_with("::")),
            "{text}"
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }

    #[test]
    fn json_document_strings_are_redacted_including_outputs() {
        let p = Printer::new(PrinterOptions {
            format: Format::Json,
            ..Default::default()
        });
        p.mask("hunter2-secret");
        p.set_output("x", "value hunter2-secret").unwrap();
        let mut v = serde_json::json!({"a": ["hunter2-secret"], "b": {"c": "x hunter2-secret"}});
        p.redact_json(&mut v);
        assert_eq!(v, serde_json::json!({"a": ["***"], "b": {"c": "x ***"}}));
        assert_eq!(p.outputs()["x"], "value ***");
    }
}
