//! A failed statement shown the way a compiler shows an error: the file,
//! line and column, the statement's lines with a caret under the position
//! PostgreSQL reported, then its detail and hint.

use super::apply::Failure;
use super::split::Statement;

/// Lines shown before and after the error's line.
const CONTEXT_BEFORE: usize = 3;
const CONTEXT_AFTER: usize = 2;
/// Lines of a statement shown when the server gave no position.
const HEAD_LINES: usize = 6;

/// Where the error is in the file: 1-based line and column.
pub fn locate(sql: &str, statement: &Statement, position: usize) -> (usize, usize) {
    let offset = statement
        .text
        .char_indices()
        .nth(position.saturating_sub(1))
        .map_or(statement.text.len(), |(i, _)| i);
    let absolute = statement.start + offset;
    let before = &sql[..absolute];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = sql[line_start..absolute].chars().count() + 1;
    (line, column)
}

/// The full message; `label` is the file as the user knows it
/// (`supabase/migrations/…sql`). Returns it with the error's line and
/// column when known.
pub fn render(
    label: &str,
    sql: &str,
    statements: &[Statement],
    f: &Failure,
) -> (String, Option<(usize, usize)>) {
    let Some(n) = f.statement else {
        let mut out = format!("{label}: {}", f.message);
        push_notes(&mut out, f);
        return (out, None);
    };
    let statement = &statements[n - 1];
    let at = f.position.map(|p| locate(sql, statement, p));
    let mut out = match at {
        Some((line, col)) => format!("{label}:{line}:{col}: statement {n} failed: {}", f.message),
        None => format!(
            "{label}:{}: statement {n} failed: {}",
            statement.line, f.message
        ),
    };
    let first = statement.line;
    let last = first + statement.text.matches('\n').count();
    let (from, to) = match at {
        Some((line, _)) => (
            line.saturating_sub(CONTEXT_BEFORE).max(first),
            (line + CONTEXT_AFTER).min(last),
        ),
        None => (first, last.min(first + HEAD_LINES - 1)),
    };
    let gutter = to.to_string().len();
    let lines: Vec<&str> = sql.lines().collect();
    out.push_str(&format!("\n{:gutter$} |", ""));
    for number in from..=to {
        let text = lines.get(number - 1).copied().unwrap_or("");
        out.push_str(&format!("\n{number:>gutter$} | {text}"));
        if let Some((line, col)) = at
            && line == number
        {
            out.push_str(&format!("\n{:gutter$} | {:>col$}", "", "^"));
        }
    }
    if at.is_none() && to < last {
        out.push_str(&format!("\n{:gutter$} | …", ""));
    }
    push_notes(&mut out, f);
    (out, at)
}

fn push_notes(out: &mut String, f: &Failure) {
    for (name, value) in [
        ("detail", &f.detail),
        ("hint", &f.hint),
        ("context", &f.context),
        ("code", &f.code),
    ] {
        if let Some(v) = value {
            out.push_str(&format!("\n  = {name}: {v}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supabase::split::split;

    fn failure(statement: usize, position: Option<usize>) -> Failure {
        Failure {
            statement: Some(statement),
            message: "relation \"nope\" does not exist".into(),
            code: Some("42P01".into()),
            detail: None,
            hint: Some("create it first".into()),
            position,
            context: None,
            connection_lost: false,
            committed_statements: 0,
        }
    }

    #[test]
    fn the_caret_points_at_the_reported_position() {
        let sql = "create table a (id int);\n\n-- b\ncreate table b (\n    id int references nope (id)\n);\n";
        let statements = split(sql);
        let text = &statements[1].text;
        let position = text.find("nope").unwrap() + 1;
        let (out, at) = render("m/2_b.sql", sql, &statements, &failure(2, Some(position)));
        assert_eq!(at, Some((5, 23)));
        assert_eq!(
            out,
            "m/2_b.sql:5:23: statement 2 failed: relation \"nope\" does not exist\n  |\n3 | -- b\n4 | create table b (\n5 |     id int references nope (id)\n  |                       ^\n6 | );\n  = hint: create it first\n  = code: 42P01"
        );
    }

    #[test]
    fn without_a_position_the_statement_head_is_shown() {
        let sql = "select 1;\nselect\n2\n;";
        let statements = split(sql);
        let (out, at) = render("x.sql", sql, &statements, &failure(2, None));
        assert_eq!(at, None);
        assert!(out.starts_with("x.sql:2: statement 2 failed"), "{out}");
        assert!(out.contains("2 | select\n3 | 2"), "{out}");
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let sql = "select 'é', nope;";
        let statements = split(sql);
        assert_eq!(locate(sql, &statements[0], 13), (1, 13));
    }
}
