//! Splits a migration file into statements.
//!
//! The statements are what the Supabase CLI records in
//! `schema_migrations.statements`, so they are cut and trimmed exactly as its
//! `pkg/parser` does: each statement runs up to and including its `;`, keeps
//! the comments in front of it, loses trailing `;` and then surrounding white
//! space, and empty ones are dropped (a trailing comment after the last `;`
//! is a statement of its own, as there).
//!
//! Where the CLI's state machine is fooled, this lexer is not: `E'..\'..'`
//! strings, `BEGIN ATOMIC` bodies holding `CASE … END`, nested parentheses,
//! identifiers containing `$`. The CLI cannot apply such files at all (it
//! sends broken statements), so nothing it writes differs.

/// One statement of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The trimmed text, as recorded in the history table.
    pub text: String,
    /// Byte offset of `text` in the file.
    pub start: usize,
    /// 1-based line of the file where `text` starts.
    pub line: usize,
}

/// The statements of `sql`, in order.
pub fn split(sql: &str) -> Vec<Statement> {
    let mut lexer = Lexer::new(sql);
    let mut out = Vec::new();
    let mut seg_start = 0;
    let mut lines = LineCounter::default();
    while let Some(end) = lexer.next_statement_end() {
        push(sql, seg_start, end, &mut lines, &mut out);
        seg_start = end;
    }
    push(sql, seg_start, sql.len(), &mut lines, &mut out);
    out
}

/// The texts only: what the history table holds.
pub fn statements(sql: &str) -> Vec<String> {
    split(sql).into_iter().map(|s| s.text).collect()
}

/// Trims a raw segment as the CLI does (`TrimRight(";")`, then
/// `TrimSpace`) and keeps it when something is left.
fn push(sql: &str, from: usize, to: usize, lines: &mut LineCounter, out: &mut Vec<Statement>) {
    let raw = &sql[from..to];
    let cut = raw.trim_end_matches(';');
    let text = cut.trim();
    if text.is_empty() {
        return;
    }
    let start = from + (cut.len() - cut.trim_start().len());
    let line = lines.line_at(sql, start);
    out.push(Statement {
        text: text.to_string(),
        start,
        line,
    });
}

/// Counts lines incrementally: offsets only grow.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: usize,
}

impl LineCounter {
    fn line_at(&mut self, sql: &str, offset: usize) -> usize {
        self.newlines += sql.as_bytes()[self.offset..offset]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = offset;
        self.newlines + 1
    }
}

struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    /// Open parentheses: `;` inside them (`CREATE RULE … DO (a; b)`) does
    /// not end a statement.
    parens: usize,
    /// Inside a `BEGIN ATOMIC` body: 1 plus the open `CASE`s, each closed by
    /// an `END`; the body's own `END` brings it to 0.
    atomic: usize,
    /// The last word, with only white space and comments since, was `BEGIN`.
    after_begin: bool,
}

impl<'a> Lexer<'a> {
    fn new(sql: &'a str) -> Self {
        Lexer {
            b: sql.as_bytes(),
            i: 0,
            parens: 0,
            atomic: 0,
            after_begin: false,
        }
    }

    /// Advances past the next `;` that ends a statement and returns the
    /// offset just after it; `None` at the end of the text.
    fn next_statement_end(&mut self) -> Option<usize> {
        let b = self.b;
        while self.i < b.len() {
            let c = b[self.i];
            let next = b.get(self.i + 1).copied();
            match c {
                b'-' if next == Some(b'-') => {
                    self.i = skip_line_comment(b, self.i);
                    continue;
                }
                b'/' if next == Some(b'*') => {
                    self.i = skip_block_comment(b, self.i);
                    continue;
                }
                c if c.is_ascii_whitespace() => {
                    self.i += 1;
                    continue;
                }
                b'\'' => self.i = skip_string(b, self.i, false),
                b'"' => self.i = skip_quoted_identifier(b, self.i),
                b'$' => self.i = skip_dollar_quote(b, self.i).unwrap_or(self.i + 1),
                // The CLI treats a backslash outside quotes as escaping the
                // next character (`\;` does not split); so do we.
                b'\\' => self.i = (self.i + 2).min(b.len()),
                b'(' => {
                    self.parens += 1;
                    self.i += 1;
                }
                b')' => {
                    self.parens = self.parens.saturating_sub(1);
                    self.i += 1;
                }
                b';' => {
                    self.i += 1;
                    self.after_begin = false;
                    if self.parens == 0 && self.atomic == 0 {
                        return Some(self.i);
                    }
                    continue;
                }
                c if is_word_byte(c) => {
                    let start = self.i;
                    while self.i < b.len() && (is_word_byte(b[self.i]) || b[self.i] == b'$') {
                        self.i += 1;
                    }
                    let word = &b[start..self.i];
                    // E'…' is the one string form where a backslash escapes.
                    if word.eq_ignore_ascii_case(b"e") && b.get(self.i) == Some(&b'\'') {
                        self.i = skip_string(b, self.i, true);
                    } else {
                        self.keyword(word);
                        continue;
                    }
                }
                _ => self.i += 1,
            }
            self.after_begin = false;
        }
        None
    }

    fn keyword(&mut self, word: &[u8]) {
        let is = |k: &[u8]| word.eq_ignore_ascii_case(k);
        if self.atomic > 0 {
            if is(b"case") {
                self.atomic += 1;
            } else if is(b"end") {
                self.atomic -= 1;
            }
        } else if is(b"atomic") && self.after_begin {
            self.atomic = 1;
        }
        self.after_begin = self.atomic == 0 && is(b"begin");
    }
}

/// Letters, digits, `_` and any non-ASCII byte (PostgreSQL accepts
/// non-ASCII letters in identifiers).
fn is_word_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// From `--` to the end of the line (the newline is left).
fn skip_line_comment(b: &[u8], i: usize) -> usize {
    b[i..]
        .iter()
        .position(|&c| c == b'\n')
        .map_or(b.len(), |p| i + p)
}

/// `/* … */`, nested as PostgreSQL nests them.
fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// `'…'` with `''` inside; with `escapes` (an `E'…'` string) a backslash
/// also escapes the next byte.
fn skip_string(b: &[u8], quote: usize, escapes: bool) -> usize {
    let mut i = quote + 1;
    while i < b.len() {
        match b[i] {
            b'\\' if escapes => i += 2,
            b'\'' if b.get(i + 1) == Some(&b'\'') => i += 2,
            b'\'' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// `"…"` with `""` inside.
fn skip_quoted_identifier(b: &[u8], quote: usize) -> usize {
    let mut i = quote + 1;
    while i < b.len() {
        if b[i] == b'"' {
            if b.get(i + 1) == Some(&b'"') {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// `$tag$ … $tag$` (or `$$ … $$`); `None` when the `$` opens no quote
/// (`$1`, a lone `$`).
fn skip_dollar_quote(b: &[u8], dollar: usize) -> Option<usize> {
    let mut i = dollar + 1;
    if i < b.len() && b[i] != b'$' {
        // A tag starts like an identifier: not with a digit.
        if b[i].is_ascii_digit() || !is_word_byte(b[i]) {
            return None;
        }
        while i < b.len() && is_word_byte(b[i]) {
            i += 1;
        }
    }
    if b.get(i) != Some(&b'$') {
        return None;
    }
    let tag = &b[dollar..=i];
    let body = i + 1;
    let end = b[body..]
        .windows(tag.len())
        .position(|w| w == tag)
        .map_or(b.len(), |p| body + p + tag.len());
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(sql: &str) -> Vec<String> {
        statements(sql)
    }

    #[test]
    fn statements_are_trimmed_and_lose_their_semicolon() {
        assert_eq!(
            texts("  create table a (id int);\n\n  insert into a values (1) ;\n"),
            ["create table a (id int)", "insert into a values (1)"]
        );
        assert_eq!(texts(";;  ;\n"), Vec::<String>::new());
        assert_eq!(texts("select 1"), ["select 1"]);
    }

    #[test]
    fn leading_comments_belong_to_the_next_statement_and_a_trailing_one_stands_alone() {
        assert_eq!(
            texts("-- one\nselect 1;\n/* two */ select 2;\n-- the end\n"),
            ["-- one\nselect 1", "/* two */ select 2", "-- the end"]
        );
    }

    #[test]
    fn semicolons_in_quotes_and_identifiers_do_not_split() {
        assert_eq!(
            texts("select ';', 'it''s;'; select \"a;\"\"b\" from t;"),
            ["select ';', 'it''s;'", "select \"a;\"\"b\" from t"]
        );
        // standard_conforming_strings: a backslash in '' is a plain character.
        assert_eq!(texts("select '\\'; select 2"), ["select '\\'", "select 2"]);
        // Empty strings, and `""` inside an identifier at its end (`a"`).
        let sql = "select '', \"a\"\"\"; select 2; select 3";
        assert_eq!(texts(sql), ["select '', \"a\"\"\"", "select 2", "select 3"]);
        assert_eq!(texts(sql), cli_model(sql));
    }

    #[test]
    fn escape_strings_honour_backslashes() {
        assert_eq!(
            texts("select E'it\\'s; fine', e'\\\\'; select 2;"),
            ["select E'it\\'s; fine', e'\\\\'", "select 2"]
        );
        // `''` inside an escape string keeps it one: the `\'` after it is
        // still escaped.
        assert_eq!(
            texts("select E'a''\\'; b'; select 2"),
            ["select E'a''\\'; b'", "select 2"]
        );
        // `e` ending a longer word is no escape string prefix.
        assert_eq!(
            texts("select some'x\\'; select 2"),
            ["select some'x\\'", "select 2"]
        );
    }

    #[test]
    fn dollar_quotes_with_and_without_tags() {
        let sql = "create function f() returns int as $body$ select 1; $$ still inside $$; $body$ language sql;\ndo $$ begin perform 1; end $$;";
        assert_eq!(
            texts(sql),
            [
                "create function f() returns int as $body$ select 1; $$ still inside $$; $body$ language sql",
                "do $$ begin perform 1; end $$",
            ]
        );
        // $1 is a parameter, not a quote; `a$b$` is one identifier.
        assert_eq!(
            texts("prepare p as select $1; select a$b$ from t; select 3"),
            ["prepare p as select $1", "select a$b$ from t", "select 3"]
        );
    }

    #[test]
    fn comments_hide_semicolons_and_nest() {
        assert_eq!(
            texts("select 1 -- not; here\n; select /* a /* b; */ c; */ 2;"),
            ["select 1 -- not; here", "select /* a /* b; */ c; */ 2"]
        );
        assert_eq!(
            texts("select 1 - 2; select 3"),
            ["select 1 - 2", "select 3"]
        );
        let sql = "select 4 / 2; select 3";
        assert_eq!(texts(sql), ["select 4 / 2", "select 3"]);
        assert_eq!(texts(sql), cli_model(sql));
    }

    #[test]
    fn begin_atomic_bodies_keep_their_statements() {
        let sql = "CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE SQL\nBEGIN ATOMIC\n  SELECT CASE WHEN a > 0 THEN 'end;' ELSE 'x' END;\n  SELECT a + b;\nEND;\nselect 2;";
        let got = texts(sql);
        assert_eq!(got.len(), 2, "{got:#?}");
        assert!(got[0].ends_with("SELECT a + b;\nEND"), "{}", got[0]);
        assert_eq!(got[1], "select 2");
        // Comments between BEGIN and ATOMIC, lower case.
        assert_eq!(
            texts("create procedure p() begin /* x */ atomic select 1; end; select 2").len(),
            2
        );
        // `atomic` as a plain word is no body.
        assert_eq!(texts("select atomic from t; select 2").len(), 2);
        // Neither is `begin;` followed by a table named atomic.
        assert_eq!(texts("begin; select * from atomic; commit;").len(), 3);
        // Nor a word that only ends in `begin`: `_` and non-ASCII letters
        // belong to the word.
        assert_eq!(texts("select x_begin atomic; select 2").len(), 2);
        assert_eq!(texts("select ébegin atomic; select 2").len(), 2);
    }

    #[test]
    fn parentheses_hold_rule_actions_together() {
        assert_eq!(
            texts(
                "CREATE RULE r AS ON UPDATE TO t DO ALSO (NOTIFY t; SELECT (1); SELECT ')'); SELECT 1"
            ),
            [
                "CREATE RULE r AS ON UPDATE TO t DO ALSO (NOTIFY t; SELECT (1); SELECT ')')",
                "SELECT 1"
            ]
        );
    }

    #[test]
    fn backslash_outside_quotes_escapes_like_the_cli() {
        // Cut as "\;;" and "\;", then every trailing `;` goes (TrimRight).
        assert_eq!(texts("\\;;\\;"), ["\\", "\\"]);
        let sql = "select 1 \\; select 2; select 3";
        assert_eq!(texts(sql), ["select 1 \\; select 2", "select 3"]);
        assert_eq!(texts(sql), cli_model(sql));
    }

    #[test]
    fn dollar_quotes_that_are_none() {
        // A tag starts as an identifier does, not with a digit: `$1` is a
        // parameter, as in PostgreSQL's lexer.
        assert_eq!(texts("select $1$; select 2"), ["select $1$", "select 2"]);
        // A lone `$` or an unclosed tag at the very end.
        assert_eq!(texts("select 1; select $"), ["select 1", "select $"]);
        assert_eq!(texts("select 1; select $abc"), ["select 1", "select $abc"]);
        // The body starts after the opening tag, even when it starts with `$`
        // (`$x$$` would be one word: a word may hold `$`).
        assert_eq!(
            texts("select $$$ ; $$; select 2"),
            ["select $$$ ; $$", "select 2"]
        );
    }

    #[test]
    fn unterminated_constructs_swallow_the_rest() {
        assert_eq!(texts("select 'abc; select 2"), ["select 'abc; select 2"]);
        assert_eq!(texts("select \"abc; select 2"), ["select \"abc; select 2"]);
        assert_eq!(texts("select $$abc; select 2"), ["select $$abc; select 2"]);
        assert_eq!(
            texts("select /* abc; select 2"),
            ["select /* abc; select 2"]
        );
    }

    #[test]
    fn positions_point_into_the_file() {
        let sql =
            "-- gantry:no-transaction\n\ncreate index concurrently i on t (a);\n\n  select 1;\n";
        let s = split(sql);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].line, s[0].start), (1, 0));
        assert_eq!(s[1].line, 5);
        assert_eq!(&sql[s[1].start..s[1].start + 8], "select 1");
    }

    #[test]
    fn non_ascii_text_is_kept_whole() {
        assert_eq!(
            texts("insert into t values ('héllo; wörld'); select 'ü'"),
            ["insert into t values ('héllo; wörld')", "select 'ü'"]
        );
    }

    /// A model of the Supabase CLI's `pkg/parser` state machine (its
    /// documented transitions), used only as a test oracle: on real
    /// migrations our lexer must cut exactly where the CLI cuts.
    fn cli_model(sql: &str) -> Vec<String> {
        #[derive(Clone, PartialEq)]
        enum S {
            Ready,
            Comment,
            Block(usize),
            Quote(char, bool),
            Dollar(String),
            Tag(usize),
            Escape,
            Atomic(Box<S>, &'static str),
        }
        fn next(s: S, r: char, data: &str) -> Option<S> {
            let ends = |d: &str| {
                let (data, d) = (data.as_bytes(), d.as_bytes());
                data.len() >= d.len() && data[data.len() - d.len()..].eq_ignore_ascii_case(d)
            };
            Some(match s {
                S::Ready => match r {
                    '$' => S::Tag(data.len() - 1),
                    '\'' | '"' => S::Quote(r, false),
                    '-' => S::Comment,
                    '/' => S::Block(0),
                    '\\' => S::Escape,
                    ';' => return None,
                    '(' => S::Atomic(Box::new(S::Ready), ")"),
                    'c' | 'C' if ends("ATOMIC") => S::Atomic(Box::new(S::Ready), "END"),
                    _ => S::Ready,
                },
                S::Comment if r == '-' => S::Dollar("\n".into()),
                S::Comment => return next(S::Ready, r, data),
                S::Block(d) if ends("/*") => S::Block(d + 1),
                S::Block(0) => return next(S::Ready, r, data),
                S::Block(d) if ends("*/") => {
                    if d == 1 {
                        S::Ready
                    } else {
                        S::Block(d - 1)
                    }
                }
                S::Block(d) => S::Block(d),
                S::Quote(q, true) if r == q => S::Quote(q, false),
                S::Quote(_, true) => return next(S::Ready, r, data),
                S::Quote(q, false) => S::Quote(q, r == q),
                S::Dollar(d) if ends(&d) => S::Ready,
                S::Dollar(d) => S::Dollar(d),
                S::Tag(o) if r == '$' => S::Dollar(data[o..].to_string()),
                S::Tag(o) if r.is_alphanumeric() || r == '_' => S::Tag(o),
                S::Tag(_) => return next(S::Ready, r, data),
                S::Escape => S::Ready,
                S::Atomic(prev, d) => {
                    let prev = next(*prev.clone(), r, data).unwrap_or(*prev);
                    if prev == S::Ready && ends(d) {
                        S::Ready
                    } else {
                        S::Atomic(Box::new(prev), d)
                    }
                }
            })
        }
        let mut out = Vec::new();
        let (mut s, mut start) = (S::Ready, 0);
        for (i, r) in sql.char_indices() {
            let end = i + r.len_utf8();
            if let Some(n) = next(s, r, &sql[start..end]) {
                s = n;
            } else {
                out.push(&sql[start..end]);
                start = end;
                s = S::Ready;
            }
        }
        out.push(&sql[start..]);
        out.into_iter()
            .map(|t| t.trim_end_matches(';').trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()
    }

    #[test]
    fn the_cli_model_agrees_on_simple_sql() {
        let sql = "select 1; select ';'; create function f() as $$ a; $$; -- c\n";
        assert_eq!(cli_model(sql), texts(sql));
    }

    /// Every statement of the real migrations in ../shared/data, read in
    /// place: cut where the Supabase CLI cuts them.
    #[test]
    fn real_migrations_split_as_the_supabase_cli_splits_them() {
        let Some(_) = crate::test_skip::shared_data("supabase-projects") else {
            return;
        };
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/supabase-projects");
        let mut files: Vec<_> =
            glob::glob(&format!("{}/*/supabase/migrations/*.sql", root.display()))
                .unwrap()
                .flatten()
                .collect();
        files.sort();
        assert!(!files.is_empty(), "no migrations under {}", root.display());
        let mut total = 0;
        for path in &files {
            let sql = std::fs::read_to_string(path).unwrap();
            let ours = split(&sql);
            let texts: Vec<String> = ours.iter().map(|s| s.text.clone()).collect();
            assert_eq!(texts, cli_model(&sql), "{}", path.display());
            for s in &ours {
                assert!(sql[s.start..].starts_with(&s.text), "{}", path.display());
                assert!(!s.text.ends_with(';') && s.text.trim() == s.text);
            }
            total += ours.len();
        }
        // basejump: 4 files; the counts were read off the files by hand.
        let count = |name: &str| {
            let path = files
                .iter()
                .find(|p| p.to_string_lossy().contains(name))
                .unwrap();
            split(&std::fs::read_to_string(path).unwrap()).len()
        };
        assert_eq!(count("20240414161707_basejump-setup"), 19);
        assert!(total > 100, "{total}");
    }
}
