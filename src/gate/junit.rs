//! JUnit XML reports: counts and failures.
//!
//! Dialects differ (pytest, node's test runner, jest-junit, surefire, cargo2junit),
//! so counts come from the `<testcase>` elements themselves, never from the
//! suites' attributes, and nested `<testsuites>`/`<testsuite>` are walked whole.

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped
    }

    pub fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }
}

/// A failed or errored test case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// `classname.name` or just `name`.
    pub test: String,
    pub classname: Option<String>,
    pub message: String,
    /// The failure's body: usually a traceback or stack.
    pub details: String,
    /// From the `file` and `line` attributes, when the dialect writes them.
    pub file: Option<String>,
    pub line: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub counts: Counts,
    pub failures: Vec<Failure>,
}

#[derive(Default)]
struct Case {
    name: String,
    classname: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    outcome: CaseStatus,
    message: String,
    details: String,
}

#[derive(Default, PartialEq)]
enum CaseStatus {
    #[default]
    Passed,
    Failed,
    Skipped,
}

pub fn parse_file(path: &Path) -> Result<Report, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

pub fn parse(xml: &str) -> Result<Report, String> {
    let mut reader = Reader::from_str(xml);
    let mut report = Report::default();
    let mut case: Option<Case> = None;
    // Inside <failure>/<error>: collect its text as the details.
    let mut in_failure = false;
    let mut saw_root = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("invalid XML at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Start(e) | Event::Empty(e) if !saw_root && is_root(&e) => {
                saw_root = true;
                // An empty root and a start tag are handled alike: nothing to do.
            }
            Event::Start(e) => match e.local_name().as_ref() {
                "testcase" => case = Some(start_case(&e)),
                "failure" | "error" => {
                    if let Some(c) = &mut case {
                        mark_failed(c, &e);
                        in_failure = true;
                    }
                }
                "skipped" => {
                    if let Some(c) = &mut case
                        && c.outcome == CaseStatus::Passed
                    {
                        c.outcome = CaseStatus::Skipped;
                    }
                }
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                "testcase" => finish(&mut report, start_case(&e)),
                "failure" | "error" => {
                    if let Some(c) = &mut case {
                        mark_failed(c, &e);
                    }
                }
                "skipped" => {
                    if let Some(c) = &mut case
                        && c.outcome == CaseStatus::Passed
                    {
                        c.outcome = CaseStatus::Skipped;
                    }
                }
                _ => {}
            },
            Event::Text(t) if in_failure => {
                if let Some(c) = &mut case {
                    c.details.push_str(&t.xml_content(XmlVersion::Implicit1_0));
                }
            }
            Event::CData(t) if in_failure => {
                if let Some(c) = &mut case {
                    c.details.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) if in_failure => {
                if let Some(c) = &mut case {
                    c.details.push_str(&resolve_entity(&r.into_inner()));
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "testcase" => {
                    if let Some(c) = case.take() {
                        finish(&mut report, c);
                    }
                }
                "failure" | "error" => in_failure = false,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root {
        return Err("not a JUnit report: no <testsuites> or <testsuite> element".into());
    }
    Ok(report)
}

fn is_root(e: &BytesStart) -> bool {
    matches!(e.local_name().as_ref(), "testsuites" | "testsuite")
}

fn attr(e: &BytesStart, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name)
        .and_then(|a| {
            a.normalized_value(XmlVersion::Implicit1_0)
                .ok()
                .map(std::borrow::Cow::into_owned)
        })
}

fn start_case(e: &BytesStart) -> Case {
    Case {
        name: attr(e, "name").unwrap_or_default(),
        classname: attr(e, "classname").filter(|c| !c.is_empty()),
        file: attr(e, "file").filter(|f| !f.is_empty()),
        line: attr(e, "line").and_then(|l| l.parse().ok()),
        ..Case::default()
    }
}

fn mark_failed(c: &mut Case, e: &BytesStart) {
    c.outcome = CaseStatus::Failed;
    if c.message.is_empty() {
        c.message = attr(e, "message")
            .or_else(|| attr(e, "type"))
            .unwrap_or_default();
    }
}

fn finish(report: &mut Report, c: Case) {
    match c.outcome {
        CaseStatus::Passed => report.counts.passed += 1,
        CaseStatus::Skipped => report.counts.skipped += 1,
        CaseStatus::Failed => {
            report.counts.failed += 1;
            let test = match &c.classname {
                Some(cls) => format!("{cls}.{}", c.name),
                None => c.name.clone(),
            };
            let details = c.details.trim().to_string();
            let message = if c.message.trim().is_empty() {
                details.lines().next().unwrap_or("failed").to_string()
            } else {
                c.message.trim().to_string()
            };
            report.failures.push(Failure {
                test,
                classname: c.classname,
                message,
                details,
                file: c.file,
                line: c.line,
            });
        }
    }
}

fn resolve_entity(name: &str) -> String {
    match name {
        "lt" => "<".into(),
        "gt" => ">".into(),
        "amp" => "&".into(),
        "quot" => "\"".into(),
        "apos" => "'".into(),
        n if n.starts_with("#x") => u32::from_str_radix(&n[2..], 16)
            .ok()
            .and_then(char::from_u32)
            .map(String::from)
            .unwrap_or_default(),
        n if n.starts_with('#') => n[1..]
            .parse()
            .ok()
            .and_then(char::from_u32)
            .map(String::from)
            .unwrap_or_default(),
        n => format!("&{n};"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_come_from_testcases_in_nested_suites() {
        let xml = r#"<?xml version="1.0"?>
<testsuites tests="99">
  <testsuite name="a" tests="99">
    <testcase classname="tests.test_a" name="ok" time="0.1"/>
    <testcase classname="tests.test_a" name="bad" file="tests/test_a.py" line="12">
      <failure message="assert 1 == 2">def test_bad():
&gt;       assert 1 == 2
E       assert 1 == 2

tests/test_a.py:12: AssertionError</failure>
    </testcase>
    <testcase name="boom"><error message="RuntimeError: x"/></testcase>
    <testcase name="later"><skipped message="todo"/></testcase>
    <testsuite name="nested"><testcase name="deep"/></testsuite>
  </testsuite>
</testsuites>"#;
        let r = parse(xml).unwrap();
        assert_eq!(
            r.counts,
            Counts {
                passed: 2,
                failed: 2,
                skipped: 1
            }
        );
        assert_eq!(r.failures[0].test, "tests.test_a.bad");
        assert_eq!(r.failures[0].message, "assert 1 == 2");
        assert_eq!(r.failures[0].file.as_deref(), Some("tests/test_a.py"));
        assert_eq!(r.failures[0].line, Some(12));
        assert!(
            r.failures[0].details.contains(">       assert 1 == 2"),
            "{:?}",
            r.failures[0].details
        );
        assert_eq!(r.failures[1].test, "boom");
        assert_eq!(r.failures[1].message, "RuntimeError: x");
    }

    #[test]
    fn a_single_testsuite_root_and_cdata_work() {
        let xml = "<testsuite><testcase name=\"t\"><failure><![CDATA[stack <here>]]></failure></testcase></testsuite>";
        let r = parse(xml).unwrap();
        assert_eq!(r.failures[0].details, "stack <here>");
        assert_eq!(r.failures[0].message, "stack <here>");
    }

    #[test]
    fn garbage_is_an_error_not_zero_tests() {
        assert!(parse("<html></html>").is_err());
        assert!(parse("not xml at all").is_err());
    }
}
