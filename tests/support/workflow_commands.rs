//! A reader of workflow commands that follows the GitHub runner's documented
//! rules, to check what the runner would do with gantry's stdout:
//!
//! - the runner reads output line by line, ending lines at LF, CRLF or CR;
//! - `::name props::data` is a command when the trimmed line starts with `::`
//!   and `name` is a known command;
//! - the older `##[name props]data` form is found anywhere in a line;
//! - `::stop-commands::TOKEN` stops all processing until a line `::TOKEN::`.

/// Commands the runner knows (actions/runner's command extensions).
const KNOWN: &[&str] = &[
    "add-mask",
    "add-matcher",
    "add-path",
    "debug",
    "echo",
    "endgroup",
    "error",
    "group",
    "internal-set-repo-path",
    "notice",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "stop-commands",
    "warning",
];

/// One command the runner processed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    pub name: String,
    pub props: String,
    pub data: String,
}

fn parse_v2(line: &str, extra: Option<&str>) -> Option<Processed> {
    let trimmed = line.trim();
    let rest = trimmed.strip_prefix("::")?;
    let end = rest.find("::")?;
    let info = &rest[..end];
    let (name, props) = info.split_once(' ').unwrap_or((info, ""));
    known(name, extra).then(|| Processed {
        name: name.to_lowercase(),
        props: props.to_string(),
        data: rest[end + 2..].to_string(),
    })
}

fn parse_v1(line: &str, extra: Option<&str>) -> Option<Processed> {
    let start = line.find("##[")? + 3;
    let end = start + line[start..].find(']')?;
    let info = &line[start..end];
    let (name, props) = info.split_once(' ').unwrap_or((info, ""));
    known(name, extra).then(|| Processed {
        name: name.to_lowercase(),
        props: props.to_string(),
        data: line[end + 1..].to_string(),
    })
}

fn known(name: &str, extra: Option<&str>) -> bool {
    KNOWN.iter().any(|k| k.eq_ignore_ascii_case(name))
        || extra.is_some_and(|t| t.eq_ignore_ascii_case(name))
}

/// Every command the runner would process in `stdout`, in order (the stop and
/// resume commands included).
pub fn processed(stdout: &str) -> Vec<Processed> {
    let mut out = Vec::new();
    let mut stopped: Option<String> = None;
    for line in stdout.split("\r\n").flat_map(|l| l.split(['\n', '\r'])) {
        let token = stopped.as_deref();
        let Some(cmd) = parse_v2(line, token).or_else(|| parse_v1(line, token)) else {
            continue;
        };
        match &stopped {
            Some(token) if cmd.name.eq_ignore_ascii_case(token) => {
                stopped = None;
                out.push(cmd);
            }
            Some(_) => {}
            None => {
                if cmd.name == "stop-commands" {
                    stopped = Some(cmd.data.clone());
                }
                out.push(cmd);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_forms_and_honours_stop_commands() {
        let text = "x\n  ::set-output name=a::1\rb ##[add-mask]s\n::stop-commands::T\n::error::no\n::t::\n::warning::yes\n::nosuch::z\n";
        let names: Vec<String> = processed(text).into_iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            ["set-output", "add-mask", "stop-commands", "t", "warning"]
        );
    }
}
