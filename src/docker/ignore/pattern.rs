//! One `.dockerignore` pattern, checked and compiled the way moby's
//! patternmatcher does it (`New`, `Pattern.compile`, `Pattern.match`).
//!
//! Docker validates a pattern with Go's `filepath.Match` grammar but then
//! matches it with a Go regular expression built character by character, and
//! the two disagree at the edges (`\d` is a digit, `a^b*` never matches,
//! `[[:upper:]]` is a POSIX class). gantry follows the regular expression,
//! because that is what decides which files reach the daemon, and refuses the
//! few regular-expression escapes it does not reproduce rather than guess.

use regex::Regex;

/// How a pattern matches. patternmatcher picks a cheaper form than its regex
/// when it can, and those forms do not always agree with the regex (`**foo`
/// is a plain suffix test, so it matches `barfoo`), so gantry keeps them.
#[derive(Debug, Clone)]
enum Kind {
    Exact,
    Prefix(String),
    Suffix(String),
    Regex(Regex),
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub(super) struct Pattern {
    /// The cleaned pattern without its `!`; the walker's descend test reads it.
    pub(super) text: String,
    /// An exception (`!pattern`): a match re-includes.
    pub(super) exclusion: bool,
    kind: Kind,
}

impl Pattern {
    /// Compiles one entry as `ignorefile.ReadAll` hands it to
    /// `patternmatcher.New`; the error is the reason, for the caller to place.
    pub(super) fn new(entry: &str) -> Result<Pattern, String> {
        // New cleans the entry with its `!` still on, as Go does.
        let mut text = clean(entry.trim());
        let exclusion = text.starts_with('!');
        if exclusion {
            if text.len() == 1 {
                return Err("`!` needs a pattern after it".into());
            }
            text.remove(0);
        }
        validate(&text)?;
        let kind = compile(&text)?;
        Ok(Pattern {
            text,
            exclusion,
            kind,
        })
    }

    /// An exception that matches exactly `path`, whatever characters it holds.
    pub(super) fn literal_exception(path: &str) -> Pattern {
        Pattern {
            text: clean(path),
            exclusion: true,
            kind: Kind::Exact,
        }
    }

    /// How many path elements the pattern has (patternmatcher's `dirs`).
    pub(super) fn depth(&self) -> usize {
        self.text.split('/').count()
    }

    /// Whether the pattern matches this cleaned, slash-separated path.
    pub(super) fn matches(&self, path: &str) -> bool {
        match &self.kind {
            Kind::Exact => path == self.text,
            Kind::Prefix(prefix) => path.starts_with(prefix.as_str()),
            Kind::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    // `**/foo` also matches `foo` at the root.
                    || suffix.strip_prefix('/').is_some_and(|s| path == s)
            }
            Kind::Regex(re) => re.is_match(path),
        }
    }
}

/// Go's `filepath.Clean` for slash-separated paths: one slash between
/// elements, no `.` elements, `..` folded into its parent where there is one,
/// no trailing slash, and `.` for nothing.
pub(super) fn clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => match parts.last() {
                Some(&last) if last != ".." => {
                    parts.pop();
                }
                // `/..` is `/`; a relative path keeps its leading `..`.
                _ if rooted => {}
                _ => parts.push(".."),
            },
            _ => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

const UNCLOSED: &str = "`[` has no closing `]`";

/// The syntax check Docker makes with `filepath.Match(pattern, ".")`, which
/// since Go 1.16 checks the whole pattern.
fn validate(pattern: &str) -> Result<(), String> {
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            // An escape takes the next character, whatever it is: the guard
            // consumes it.
            '\\' if chars.next().is_none() => return Err("ends with a lone `\\`".into()),
            '[' => {
                chars.next_if_eq(&'^');
                let mut items = 0;
                loop {
                    if items > 0 && chars.next_if_eq(&']').is_some() {
                        break;
                    }
                    class_item(&mut chars)?;
                    if chars.next_if_eq(&'-').is_some() {
                        class_item(&mut chars)?;
                    }
                    items += 1;
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// One character of a class, as Go's `getEsc` reads it.
fn class_item(chars: &mut std::iter::Peekable<std::str::Chars>) -> Result<(), String> {
    match chars.next() {
        None => return Err(UNCLOSED.into()),
        Some('-' | ']') => {
            return Err("`[...]` is empty or has `-` or `]` where a character belongs".into());
        }
        // The guard consumes the escaped character.
        Some('\\') if chars.next().is_none() => return Err(UNCLOSED.into()),
        Some(_) => {}
    }
    // Go wants more of the class after every character: at least its `]`.
    match chars.peek() {
        None => Err(UNCLOSED.into()),
        Some(_) => Ok(()),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Detected {
    Exact,
    Prefix,
    Suffix,
    Regex,
}

/// patternmatcher's `compile`, emitting a Rust regex with Go's meaning.
fn compile(pattern: &str) -> Result<Kind, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut detected = Detected::Exact;
    let mut pos = 0;
    let mut step = 0;
    while let Some(&ch) = chars.get(pos) {
        pos += 1;
        match ch {
            '*' if chars.get(pos) == Some(&'*') => {
                pos += 1;
                // `**/` is read as `**`.
                if chars.get(pos) == Some(&'/') {
                    pos += 1;
                }
                if pos == chars.len() {
                    if detected == Detected::Exact {
                        detected = Detected::Prefix;
                    } else {
                        re.push_str(".*");
                        detected = Detected::Regex;
                    }
                } else {
                    re.push_str("(.*/)?");
                    detected = Detected::Regex;
                }
                if step == 0 {
                    detected = Detected::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                detected = Detected::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                detected = Detected::Regex;
            }
            '\\' => {
                let next = *chars.get(pos).ok_or("ends with a lone `\\`")?;
                pos += 1;
                re.push_str(&escape_outside_class(next)?);
                detected = Detected::Regex;
            }
            '[' => {
                pos = class(&chars, pos, &mut re)?;
                detected = Detected::Regex;
            }
            ']' => {
                re.push_str(r"\]");
                detected = Detected::Regex;
            }
            // Docker leaves `^` unescaped, so Go reads it as start-of-text.
            '^' => re.push('^'),
            c => re.push_str(&literal(c)),
        }
        step += 1;
    }
    Ok(match detected {
        Detected::Exact => Kind::Exact,
        Detected::Prefix => Kind::Prefix(pattern[..pattern.len() - 2].to_string()),
        Detected::Suffix => Kind::Suffix(pattern[2..].to_string()),
        Detected::Regex => {
            re.push('$');
            Kind::Regex(Regex::new(&re).map_err(|e| format!("cannot compile: {e}"))?)
        }
    })
}

fn literal(c: char) -> String {
    regex::escape(c.encode_utf8(&mut [0; 4]))
}

fn unsupported_escape(c: char) -> String {
    format!(
        "`\\{c}` is a Go regular-expression escape in Docker's matcher, which gantry does not \
         reproduce; escape only punctuation"
    )
}

/// Go's escapes that mean one character.
fn escaped_char(c: char) -> Option<char> {
    match c {
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Some(c),
        'a' => Some('\x07'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        _ => None,
    }
}

/// Go's Perl classes, which are ASCII-only (Rust's are Unicode).
fn perl_class(c: char) -> Option<&'static str> {
    match c {
        'd' => Some("[0-9]"),
        'D' => Some("[^0-9]"),
        's' => Some(r"[\t\n\x0C\r ]"),
        'S' => Some(r"[^\t\n\x0C\r ]"),
        'w' => Some("[0-9A-Za-z_]"),
        'W' => Some("[^0-9A-Za-z_]"),
        _ => None,
    }
}

fn escape_outside_class(c: char) -> Result<String, String> {
    if let Some(lit) = escaped_char(c) {
        return Ok(literal(lit));
    }
    if let Some(class) = perl_class(c) {
        return Ok(class.to_string());
    }
    match c {
        'b' => Ok(r"(?-u:\b)".into()),
        'B' => Ok(r"(?-u:\B)".into()),
        'A' => Ok(r"\A".into()),
        'z' => Ok(r"\z".into()),
        _ => Err(unsupported_escape(c)),
    }
}

const POSIX_CLASSES: [&str; 14] = [
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// A `[...]` class read as Go's regexp parser reads the text Docker emits
/// for it; `pos` is just after the `[`. Returns the position after the `]`.
fn class(chars: &[char], mut pos: usize, re: &mut String) -> Result<usize, String> {
    let mut out = String::from("[");
    if chars.get(pos) == Some(&'^') {
        out.push('^');
        pos += 1;
    }
    let mut first = true;
    loop {
        let c = *chars.get(pos).ok_or(UNCLOSED)?;
        match c {
            ']' if !first => {
                re.push_str(&out);
                re.push(']');
                return Ok(pos + 1);
            }
            // Docker would splice `[^/]*` into the class: nothing a person means.
            '*' | '?' => {
                return Err(format!(
                    "`{c}` inside `[...]` becomes a regular-expression fragment in Docker's \
                     matcher; escape it as `\\{c}`"
                ));
            }
            '[' if chars.get(pos + 1) == Some(&':') => {
                let rest: String = chars[pos + 2..].iter().collect();
                if let Some(end) = rest.find(":]") {
                    let name = &rest[..end];
                    if !POSIX_CLASSES.contains(&name.strip_prefix('^').unwrap_or(name)) {
                        return Err(format!("`[:{name}:]` is not a character class"));
                    }
                    out.push_str(&format!("[:{name}:]"));
                    pos += 2 + rest[..end].chars().count() + 2;
                    first = false;
                    continue;
                }
                // No `:]` anywhere after: Go reads `[` as itself.
                out.push_str(&class_literal('['));
                pos += 1;
            }
            '\\' => {
                let next = *chars.get(pos + 1).ok_or(UNCLOSED)?;
                if let Some(class) = perl_class(next) {
                    out.push_str(class);
                    pos += 2;
                } else {
                    let (lo, after) = class_char(chars, pos)?;
                    pos = range(chars, lo, after, &mut out)?;
                }
            }
            _ => {
                let (lo, after) = class_char(chars, pos)?;
                pos = range(chars, lo, after, &mut out)?;
            }
        }
        first = false;
    }
}

/// A single character of a class at `pos`, escape included.
fn class_char(chars: &[char], pos: usize) -> Result<(char, usize), String> {
    match *chars.get(pos).ok_or(UNCLOSED)? {
        '\\' => {
            let next = *chars.get(pos + 1).ok_or(UNCLOSED)?;
            let c = escaped_char(next).ok_or_else(|| unsupported_escape(next))?;
            Ok((c, pos + 2))
        }
        '*' | '?' => Err("`*` or `?` inside `[...]`: escape it".into()),
        c => Ok((c, pos + 1)),
    }
}

/// `lo` alone, or `lo-hi` when a `-` follows that is not the class's end.
fn range(chars: &[char], lo: char, pos: usize, out: &mut String) -> Result<usize, String> {
    let dash = chars.get(pos) == Some(&'-');
    let closes = chars.get(pos + 1) == Some(&']');
    if !dash || closes || pos + 1 >= chars.len() {
        out.push_str(&class_literal(lo));
        return Ok(pos);
    }
    let (hi, after) = class_char(chars, pos + 1)?;
    if hi < lo {
        return Err(format!("character range `{lo}-{hi}` runs backwards"));
    }
    out.push_str(&format!("{}-{}", class_literal(lo), class_literal(hi)));
    Ok(after)
}

/// A character inside a Rust class, immune to Rust's class operators.
fn class_literal(c: char) -> String {
    format!("\\x{{{:X}}}", u32::from(c))
}

#[cfg(test)]
mod tests {
    //! One pattern at a time, for the corners the `.dockerignore` table
    //! (`docker/ignore/tests.rs`) does not reach: escapes and classes as Go's
    //! regexp package reads the text Docker's `compile` emits for them.

    use super::*;

    fn matches(pattern: &str, path: &str) -> bool {
        Pattern::new(pattern)
            .unwrap_or_else(|e| panic!("{pattern:?} should compile: {e}"))
            .matches(path)
    }

    #[test]
    fn depth_counts_path_elements() {
        assert_eq!(Pattern::new("a").unwrap().depth(), 1);
        assert_eq!(Pattern::new("a/*/c").unwrap().depth(), 3);
    }

    #[test]
    fn clean_drops_dot_dot_at_the_root() {
        // Go: filepath.Clean("/../a") == "/a", Clean("../a") == "../a".
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("../a"), "../a");
    }

    #[test]
    fn go_escapes_that_mean_one_character() {
        for (escape, c) in [
            ('a', '\x07'),
            ('f', '\x0c'),
            ('n', '\n'),
            ('r', '\r'),
            ('t', '\t'),
            ('v', '\x0b'),
        ] {
            let pattern = format!("x\\{escape}y");
            assert!(matches(&pattern, &format!("x{c}y")), "{pattern}");
            assert!(!matches(&pattern, &format!("x{escape}y")), "{pattern}");
            // The same escapes inside a class.
            assert!(
                matches(&format!("x[\\{escape}]y"), &format!("x{c}y")),
                "{pattern}"
            );
        }
    }

    #[test]
    fn go_perl_classes_are_ascii() {
        let cases = [
            ("\\d", "7", "x"),
            ("\\D", "x", "7"),
            ("\\s", "\t", "x"),
            ("\\S", "x", " "),
            ("\\w", "_", "é"),
            ("\\W", "-", "_"),
        ];
        for (class, yes, no) in cases {
            // Two characters before the class, so that a position counted
            // wrong after it shows.
            for pattern in [format!("ab{class}"), format!("ab[{class}]")] {
                assert!(matches(&pattern, &format!("ab{yes}")), "{pattern} {yes:?}");
                assert!(!matches(&pattern, &format!("ab{no}")), "{pattern} {no:?}");
            }
        }
    }

    #[test]
    fn go_assertions() {
        assert!(matches("\\Aa", "a"));
        assert!(matches("a\\z", "a"));
        // `\B`: not at a word boundary, so between two word characters.
        assert!(matches("a\\Bb", "ab"));
        assert!(!matches("a\\B-", "a-"));
        assert!(matches("a\\b-", "a-"));
    }

    #[test]
    fn negated_classes() {
        assert!(matches("[^a]b", "^b"));
        assert!(matches("[^a]b", "[b"));
        assert!(!matches("[^a]b", "ab"));
    }

    #[test]
    fn class_items_and_ranges() {
        // An escaped `-` is a member, not a range.
        assert!(matches("[\\-]", "-"));
        // Every member counts, in any order.
        assert!(matches("[azb]", "z"));
        assert!(!matches("[azb]", "c"));
        // A one-character range.
        assert!(matches("[a-a]", "a"));
        // `[` not opening a POSIX class is a member, and may start a range.
        assert!(matches("[[-z]", "a"));
        assert!(matches("[[:a]", ":"));
        assert!(matches("[[:a]", "["));
        // filepath.Match ends this class at the `]` of `:]`, so the `-]`
        // after it passes validation; Go's regexp then reads a trailing `-`.
        assert!(matches("[[:alpha:]a-]", "-"));
        assert!(!matches("[[:alpha:]a-]", "1"));
    }

    #[test]
    fn a_wildcard_inside_a_class_is_refused_with_the_fix() {
        for (pattern, fix) in [("[*]", "`\\*`"), ("[a?]", "`\\?`")] {
            let err = Pattern::new(pattern).unwrap_err();
            assert!(err.contains(&format!("escape it as {fix}")), "{err}");
        }
    }
}
