//! `reference/cli.md`: every command and flag, from clap's definitions (the
//! same text `--help` prints).

use super::{check_generated, escape, header, read_page};
use clap::{Arg, Command, CommandFactory};

/// The command tree after clap has propagated the global flags.
fn gantry() -> Command {
    let mut cmd = gantry::cli::Cli::command();
    cmd.build();
    cmd
}

/// Flags every command has, listed once at the top.
fn is_everywhere(arg: &Arg) -> bool {
    arg.is_global_set() || matches!(arg.get_id().as_str(), "help" | "version")
}

fn flag_name(arg: &Arg) -> String {
    let values: Vec<String> = arg
        .get_value_names()
        .unwrap_or_default()
        .iter()
        .map(|v| format!("<{v}>"))
        .collect();
    let mut names: Vec<String> = Vec::new();
    if let Some(s) = arg.get_short() {
        names.push(format!("-{s}"));
    }
    if let Some(l) = arg.get_long() {
        names.push(format!("--{l}"));
    }
    let takes_value = arg.get_num_args().is_some_and(|n| n.takes_values());
    if names.is_empty() {
        // A positional: its value names, `...` when it repeats.
        let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        let dots = if many { "..." } else { "" };
        let last = if arg.is_last_set() { "-- " } else { "" };
        return format!("`{last}{}{dots}`", values.join(" "));
    }
    let value = if takes_value && !values.is_empty() {
        format!(" {}", values.join(" "))
    } else {
        String::new()
    };
    // `-j`, `--jobs <N>`: the value once, after the long form.
    if let Some(last) = names.last_mut() {
        last.push_str(&value);
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(arg: &Arg) -> String {
    let help = arg
        .get_long_help()
        .or(arg.get_help())
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut line = format!("- {}: {}", flag_name(arg), escape(help.trim()));
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|p| !p.is_hide_set())
        .map(|p| format!("`{}`", p.get_name()))
        .collect();
    if !possible.is_empty() && arg.get_action().takes_values() {
        line.push_str(&format!(" (one of {})", possible.join(", ")));
    }
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|d| format!("`{}`", d.to_string_lossy()))
        .collect();
    // A switch's default (`false`, `0`) says nothing.
    if !defaults.is_empty() && arg.get_action().takes_values() {
        line.push_str(&format!(" [default: {}]", defaults.join(", ")));
    }
    line.push('\n');
    line
}

fn write_command(out: &mut String, cmd: &mut Command, path: &str) {
    let about = cmd
        .get_long_about()
        .or(cmd.get_about())
        .map(ToString::to_string)
        .unwrap_or_default();
    out.push_str(&format!("## `{path}`\n\n{}\n\n", escape(about.trim())));
    let usage = cmd.render_usage().to_string();
    out.push_str(&format!("```text\n{}\n```\n\n", usage.trim()));
    let args: Vec<Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !is_everywhere(a))
        .cloned()
        .collect();
    let (positionals, flags): (Vec<&Arg>, Vec<&Arg>) = args.iter().partition(|a| a.is_positional());
    if !positionals.is_empty() {
        out.push_str("Arguments:\n\n");
        for a in &positionals {
            out.push_str(&describe(a));
        }
        out.push('\n');
    }
    if !flags.is_empty() {
        out.push_str("Options:\n\n");
        for a in &flags {
            out.push_str(&describe(a));
        }
        out.push('\n');
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let sub = cmd.find_subcommand_mut(&name).unwrap();
        write_command(out, sub, &format!("{path} {name}"));
    }
}

fn page() -> String {
    let mut cmd = gantry();
    let mut out = header("clap's definitions in src/cli.rs");
    out.push_str("# Command line reference\n\n");
    out.push_str(
        "Every command and flag, as `gantry <command> --help` prints them. \
         What each command does is on its page under [Commands](../commands/index.md).\n\n",
    );
    out.push_str("## Flags of every command\n\n");
    let everywhere: Vec<Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && is_everywhere(a))
        .cloned()
        .collect();
    for a in &everywhere {
        out.push_str(&describe(a));
    }
    out.push('\n');
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        let sub = cmd.find_subcommand_mut(&name).unwrap();
        write_command(&mut out, sub, &format!("gantry {name}"));
    }
    out
}

#[test]
fn the_command_line_reference_is_clap_s() {
    check_generated("cli.md", &page());
}

/// The book page of each command names every flag clap gives it.
#[test]
fn every_flag_is_on_its_command_s_page() {
    let mut missing = Vec::new();
    let cmd = gantry();
    let mut stack: Vec<(String, &Command)> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .map(|s| (s.get_name().to_string(), s))
        .collect();
    while let Some((path, sub)) = stack.pop() {
        let children: Vec<&Command> = sub
            .get_subcommands()
            .filter(|s| s.get_name() != "help")
            .collect();
        // `deploy` only groups `deploy ecs` and `deploy railway`, each with
        // its page; `migrate repair` is on migrate's page.
        let page = match path.as_str() {
            "deploy" => None,
            "migrate repair" => Some("commands/migrate.md".to_string()),
            // What comes after a deploy is on the deploy's page.
            "deploy ecs continue" | "deploy ecs rollback" | "deploy ecs verify" => {
                Some("commands/deploy-ecs.md".to_string())
            }
            p => Some(format!("commands/{}.md", p.replace(' ', "-"))),
        };
        if let Some(page) = page {
            let text = read_page(&page);
            for arg in sub
                .get_arguments()
                .filter(|a| !a.is_hide_set() && !is_everywhere(a))
            {
                if let Some(long) = arg.get_long()
                    && !mentions_flag(&text, long)
                {
                    missing.push(format!("{page}: `--{long}` of `gantry {path}`"));
                }
            }
        }
        for child in children {
            stack.push((format!("{path} {}", child.get_name()), child));
        }
    }
    assert!(
        missing.is_empty(),
        "flags the book does not document:\n{}",
        missing.join("\n")
    );
}

/// Whether `--long` appears on its own (not as the start of a longer flag).
fn mentions_flag(text: &str, long: &str) -> bool {
    let flag = format!("--{long}");
    text.match_indices(&flag).any(|(i, _)| {
        !text[i + flag.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}
