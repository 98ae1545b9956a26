//! Just enough Dockerfile parsing to point at lines: which instruction starts
//! on which line, so a failed build step becomes an annotation on the
//! Dockerfile line that caused it.

/// One instruction and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub line: usize,
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
                if !body.is_empty() {
                    c.text.push(' ');
                    c.text.push_str(body);
                }
            }
            None => {
                current = Some(Instruction {
                    line: i + 1,
                    text: body.to_string(),
                })
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
        let lines: Vec<usize> = got.iter().map(|i| i.line).collect();
        assert_eq!(lines, [2, 5, 6, 10]);
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
    fn the_escape_directive_changes_continuations() {
        let got = instructions("# escape=`\nFROM scratch\nRUN a `\n  b\n");
        assert_eq!(got[1].text, "RUN a b");
        assert_eq!(got[1].line, 3);
    }
}
