//! Transaction control written inside a migration file.
//!
//! gantry runs each file in its own transaction together with its history
//! row. A file that opens or ends transactions itself would break that: a
//! `COMMIT` in the middle makes the first half permanent even when the second
//! half fails. Such files are recognised before anything runs, and either
//! unwrapped (the whole file inside one `BEGIN … COMMIT`) or refused with an
//! explanation.

use super::split::Statement;

/// What a statement does to the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// `BEGIN`, `START TRANSACTION`.
    Open,
    /// `COMMIT`, `END`.
    Commit,
    /// `ROLLBACK`, `ABORT` (not `ROLLBACK TO SAVEPOINT`, which stays inside).
    Rollback,
}

/// How a transactional file's own transaction control is handled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// No transaction control: run every statement.
    Plain,
    /// `BEGIN; … COMMIT;` around the whole file: run everything but these
    /// two statements (0-based), in gantry's transaction. The history row
    /// still records every statement, as the Supabase CLI does.
    Unwrap { begin: usize, commit: usize },
    /// Transaction control elsewhere: refuse, before anything runs.
    Refuse {
        /// 1-based statement number.
        statement: usize,
        line: usize,
        keyword: String,
    },
}

/// Classifies one statement by its first words (comments skipped).
pub fn control(text: &str) -> Option<Control> {
    let words = leading_words(text, 2);
    let first = words.first()?.as_str();
    let second = words.get(1).map_or("", String::as_str);
    match first {
        // `BEGIN ATOMIC` never starts a statement; `BEGIN` always opens one.
        "BEGIN" => Some(Control::Open),
        "START" if second == "TRANSACTION" => Some(Control::Open),
        "COMMIT" | "END" if second != "PREPARED" => Some(Control::Commit),
        "ROLLBACK" if second != "TO" && second != "PREPARED" => Some(Control::Rollback),
        "ABORT" => Some(Control::Rollback),
        _ => None,
    }
}

/// Decides how a file that runs in a transaction handles its own control.
pub fn plan(statements: &[Statement]) -> Plan {
    let controls: Vec<(usize, Control)> = statements
        .iter()
        .enumerate()
        .filter_map(|(i, s)| control(&s.text).map(|c| (i, c)))
        .collect();
    // Comment-only statements (a trailing `-- end`) do not count as content.
    let content: Vec<usize> = (0..statements.len())
        .filter(|&i| !leading_words(&statements[i].text, 1).is_empty())
        .collect();
    let (first, last) = (content.first().copied(), content.last().copied());
    match controls.as_slice() {
        [] => Plan::Plain,
        [(b, Control::Open), (c, Control::Commit)] if Some(*b) == first && Some(*c) == last => {
            Plan::Unwrap {
                begin: *b,
                commit: *c,
            }
        }
        _ => {
            // Point at the first statement that cannot be honoured.
            let (i, _) = controls
                .iter()
                .find(|(i, c)| !(Some(*i) == first && *c == Control::Open))
                .or(controls.first())
                .copied()
                .expect("controls is not empty");
            Plan::Refuse {
                statement: i + 1,
                line: statements[i].line,
                keyword: leading_words(&statements[i].text, 1).join(" "),
            }
        }
    }
}

/// The first `n` words of a statement, upper-cased, after white space and
/// comments.
pub fn leading_words(text: &str, n: usize) -> Vec<String> {
    let b = text.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while i < b.len() && words.len() < n {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if b[i..].starts_with(b"--") {
            i = b[i..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |p| i + p);
        } else if b[i..].starts_with(b"/*") {
            let mut depth = 0;
            while i < b.len() {
                if b[i..].starts_with(b"/*") {
                    depth += 1;
                    i += 2;
                } else if b[i..].starts_with(b"*/") {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if b[i].is_ascii_alphabetic() || b[i] == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            words.push(text[start..i].to_ascii_uppercase());
        } else {
            break;
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supabase::split::split;

    #[test]
    fn statements_are_classified_by_their_first_words() {
        assert_eq!(control("begin"), Some(Control::Open));
        assert_eq!(
            control("-- x\nBEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE"),
            Some(Control::Open)
        );
        assert_eq!(control("start transaction"), Some(Control::Open));
        assert_eq!(control("/* c */ commit"), Some(Control::Commit));
        assert_eq!(control("END"), Some(Control::Commit));
        assert_eq!(control("rollback"), Some(Control::Rollback));
        assert_eq!(control("ROLLBACK TO SAVEPOINT a"), None);
        assert_eq!(control("savepoint a"), None);
        assert_eq!(control("commit prepared 'x'"), None);
        assert_eq!(control("do $$ begin perform 1; end $$"), None);
        assert_eq!(
            control("create function f() begin atomic select 1; end"),
            None
        );
    }

    #[test]
    fn a_wrapped_file_is_unwrapped_and_anything_else_refused() {
        assert_eq!(plan(&split("create table a (); select 1;")), Plan::Plain);
        assert_eq!(
            plan(&split(
                "-- wrapped\nbegin;\ncreate table a ();\ncommit;\n-- the end\n"
            )),
            Plan::Unwrap {
                begin: 0,
                commit: 2
            }
        );
        assert_eq!(
            plan(&split("create table a ();\ncommit;\ncreate table b ();")),
            Plan::Refuse {
                statement: 2,
                line: 2,
                keyword: "COMMIT".into()
            }
        );
        assert_eq!(
            plan(&split("begin;\ncreate table a ();\nrollback;")),
            Plan::Refuse {
                statement: 3,
                line: 3,
                keyword: "ROLLBACK".into()
            }
        );
        assert_eq!(
            plan(&split("begin;\ncreate table a ();")),
            Plan::Refuse {
                statement: 1,
                line: 1,
                keyword: "BEGIN".into()
            }
        );
    }
}
