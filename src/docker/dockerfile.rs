//! Just enough Dockerfile parsing to point at lines: which instruction starts
//! on which line, so a failed build step becomes an annotation on the
//! Dockerfile line that caused it.

/// One instruction and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub line: usize,
    /// The 1-based line it ends on (continuations included).
    pub end_line: usize,
    /// The instruction with continuations joined, as the builder prints it
    /// in `Step N/M : <text>`.
    pub text: String,
}

/// Splits a Dockerfile into instructions: parser directives and comments
/// are skipped, lines ending in the escape character continue.
pub fn instructions(text: &str) -> Vec<Instruction> {
    let escape = escape_char(text);
    let mut out = Vec::new();
    let mut current: Option<Instruction> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || (current.is_none() && line.is_empty()) {
            continue;
        }
        let (body, continues) = match line.strip_suffix(escape) {
            Some(b) => (b.trim_end(), true),
            None => (line, false),
        };
        match &mut current {
            Some(c) => {
                c.end_line = i + 1;
                if !body.is_empty() {
                    c.text.push(' ');
                    c.text.push_str(body);
                }
            }
            None => {
                current = Some(Instruction {
                    line: i + 1,
                    end_line: i + 1,
                    text: body.to_string(),
                });
            }
        }
        if !continues && let Some(c) = current.take() {
            out.push(c);
        }
    }
    out.extend(current);
    out
}

/// The escape character from an `# escape=` parser directive; `\` by default.
fn escape_char(text: &str) -> char {
    for line in text.lines() {
        let Some(directive) = line.trim().strip_prefix('#') else {
            break;
        };
        let directive = directive.trim();
        if let Some(value) = directive.strip_prefix("escape=") {
            return value.trim().chars().next().unwrap_or('\\');
        }
        if !directive.contains('=') {
            break;
        }
    }
    '\\'
}

/// The Dockerfile with one `LABEL` instruction carrying every label, at the
/// end of the stage being built (`target`, else the last stage).
///
/// Why: the classic builder turns the API's `labels` into one step per
/// label, each a container commit; on a large image every commit walks the
/// whole filesystem, which made builds far slower than the Docker CLI's.
/// `None` when the file uses another escape character or the target stage is
/// not found: the caller then passes the labels through the API.
pub fn with_labels(
    text: &str,
    labels: &std::collections::BTreeMap<String, String>,
    target: Option<&str>,
) -> Option<String> {
    if labels.is_empty() || escape_char(text) != '\\' {
        return None;
    }
    let quote = |s: &str| {
        let escaped = s
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace(['\n', '\r'], " ");
        format!("\"{escaped}\"")
    };
    let line = format!(
        "LABEL {}",
        labels
            .iter()
            .map(|(k, v)| format!("{}={}", quote(k), quote(v)))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let lines: Vec<&str> = text.lines().collect();
    let insert_after = match target {
        None => lines.len(),
        Some(stage) => {
            let all = instructions(text);
            let start = all
                .iter()
                .position(|i| stage_name(&i.text).is_some_and(|n| n.eq_ignore_ascii_case(stage)))?;
            let end = all[start + 1..]
                .iter()
                .position(|i| is_from(&i.text))
                .map_or(all.len(), |k| start + 1 + k);
            all[end - 1].end_line
        }
    };
    let mut out: Vec<String> = lines[..insert_after]
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
    out.push(line);
    out.extend(
        lines[insert_after..]
            .iter()
            .map(std::string::ToString::to_string),
    );
    Some(out.join("\n") + "\n")
}

/// The registry hosts of the images the Dockerfile starts `FROM` (those with
/// a host: `host[:port]/…`, not stage names or Docker Hub images).
pub fn base_hosts(text: &str) -> Vec<String> {
    let mut hosts: Vec<String> = instructions(text)
        .iter()
        .filter(|i| is_from(&i.text))
        .filter_map(|i| {
            let image = i
                .text
                .split_whitespace()
                .skip(1)
                .find(|w| !w.starts_with("--"))?;
            let (first, _) = image.split_once('/')?;
            (first.contains('.') || first.contains(':') || first == "localhost")
                .then(|| first.to_string())
        })
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

fn is_from(text: &str) -> bool {
    text.split_whitespace()
        .next()
        .is_some_and(|w| w.eq_ignore_ascii_case("FROM"))
}

/// `FROM [--platform=…] image AS name` → `name`.
fn stage_name(text: &str) -> Option<&str> {
    if !is_from(text) {
        return None;
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let at = words.iter().position(|w| w.eq_ignore_ascii_case("AS"))?;
    words.get(at + 1).copied()
}

/// The line of the instruction a builder reported as `Step N/M : <text>`:
/// matched by text first (stages skipped by `target` shift the numbers),
/// else by position.
pub fn line_of_step(instructions: &[Instruction], step: usize, text: &str) -> Option<usize> {
    let normalized = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    let wanted = normalized(text);
    instructions
        .iter()
        .find(|i| normalized(&i.text) == wanted)
        .or_else(|| instructions.get(step.checked_sub(1)?))
        .map(|i| i.line)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# syntax=docker/dockerfile:1\nARG BASE=scratch\n\n# build stage\nFROM ${BASE} AS build\nRUN echo a \\\n    && echo b \\\n    # a comment inside\n    && echo c\nCOPY . /src\n";

    #[test]
    fn instructions_start_lines_and_joined_text() {
        let got = instructions(FILE);
        let lines: Vec<(usize, usize)> = got.iter().map(|i| (i.line, i.end_line)).collect();
        assert_eq!(lines, [(2, 2), (5, 5), (6, 9), (10, 10)]);
        assert_eq!(got[2].text, "RUN echo a && echo b && echo c");
    }

    #[test]
    fn steps_map_to_lines_by_text_then_position() {
        let got = instructions(FILE);
        assert_eq!(
            line_of_step(&got, 99, "RUN echo a     && echo b     && echo c"),
            Some(6)
        );
        assert_eq!(line_of_step(&got, 4, "COPY something else"), Some(10));
        assert_eq!(line_of_step(&got, 9, "nothing"), None);
    }

    #[test]
    fn labels_become_one_instruction_at_the_end_of_the_built_stage() {
        let labels: std::collections::BTreeMap<String, String> = [
            (
                "org.opencontainers.image.title".to_string(),
                "api".to_string(),
            ),
            ("note".to_string(), "say \"hi\" \\ bye".to_string()),
        ]
        .into_iter()
        .collect();
        let file = "FROM a AS build\nRUN x \\\n  y\n\nFROM scratch\nCOPY --from=build /x /x\n";
        let appended = with_labels(file, &labels, None).unwrap();
        assert!(appended.ends_with(
            "COPY --from=build /x /x\nLABEL \"note\"=\"say \\\"hi\\\" \\\\ bye\" \"org.opencontainers.image.title\"=\"api\"\n"
        ), "{appended}");
        let in_stage = with_labels(file, &labels, Some("BUILD")).unwrap();
        let lines: Vec<&str> = in_stage.lines().collect();
        assert!(lines[3].starts_with("LABEL "), "{in_stage}");
        assert_eq!(lines[4], "");
        assert_eq!(with_labels(file, &labels, Some("nope")), None);
        assert_eq!(with_labels("# escape=`\nFROM a\n", &labels, None), None);
    }

    #[test]
    fn base_hosts_are_the_registries_of_from_images() {
        let file = "FROM --platform=linux/amd64 123.dkr.ecr.eu-west-1.amazonaws.com/base:1 AS a\nFROM python:3.12\nFROM a\nFROM ghcr.io/o/x@sha256:ab\nFROM localhost:5000/y\nFROM localhost/z\nFROM library/ubuntu:24.04\n";
        // `library/ubuntu` is a Docker Hub path: its first part names no host.
        assert_eq!(
            base_hosts(file),
            [
                "123.dkr.ecr.eu-west-1.amazonaws.com",
                "ghcr.io",
                "localhost",
                "localhost:5000"
            ]
        );
    }

    #[test]
    fn the_escape_directive_changes_continuations() {
        let got = instructions("# escape=`\nFROM scratch\nRUN a `\n  b\n");
        assert_eq!(got[1].text, "RUN a b");
        assert_eq!(got[1].line, 3);
    }

    #[test]
    fn directives_are_read_only_before_the_first_plain_comment() {
        // Another directive before `escape` keeps the directive block open.
        let got = instructions("# syntax=docker/dockerfile:1\n# escape=`\nRUN a `\n  b\n");
        assert_eq!(got[0].text, "RUN a b");
        // A plain comment ends it: the `escape=` after it is a comment.
        let got = instructions("# a comment\n# escape=`\nRUN a `\n  b\n");
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].text, "RUN a `");
    }
}
