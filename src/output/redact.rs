//! The secret registry: every secret value gantry reads is registered here
//! once and replaced by `***` in everything the printer writes.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use std::sync::RwLock;

/// What a secret becomes in output (the same mark GitHub uses).
pub const MASK: &str = "***";

/// Values shorter than this are not redacted: masking `1` or `ab` would
/// garble every line and hide nothing of worth (GitHub makes the same call).
const MIN_LEN: usize = 4;

#[derive(Default)]
pub struct Redactor {
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    secrets: Vec<String>,
    matcher: Option<AhoCorasick>,
}

impl Redactor {
    /// Registers a secret. Returns the forms that were newly added (the value
    /// itself and its percent-encoded form), so the caller can mask them in
    /// GitHub too.
    pub fn add(&self, secret: &str) -> Vec<String> {
        let secret = secret.trim_matches(['\r', '\n']);
        if secret.len() < MIN_LEN {
            return Vec::new();
        }
        let mut forms = vec![secret.to_string()];
        let encoded = percent_encode(secret);
        if encoded != secret {
            forms.push(encoded);
        }
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        forms.retain(|f| !inner.secrets.contains(f));
        if forms.is_empty() {
            return forms;
        }
        inner.secrets.extend(forms.iter().cloned());
        // Leftmost-longest: a secret that contains another is masked whole.
        inner.matcher = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            // A DFA (what the builder picks for few patterns) takes time
            // quadratic in a secret's length to build: a 100 kB value hung
            // gantry for minutes. The NFA builds in linear time.
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&inner.secrets)
            .ok();
        forms
    }

    /// Registers the password of a URL such as `postgres://user:pass@host/db`.
    pub fn add_url_password(&self, url: &str) -> Vec<String> {
        let Some((_, rest)) = url.split_once("://") else {
            return Vec::new();
        };
        // However the URL parses: the password as a strict parser reads it
        // (the authority ends at the first `/`, `?` or `#`), and the widest
        // reading (everything up to the last `@`), so a password holding an
        // unencoded `@`, `#`, `/` or `?` is masked whole.
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        let mut userinfos = Vec::new();
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            userinfos.push(userinfo);
        }
        if let Some((userinfo, _)) = rest.rsplit_once('@') {
            userinfos.push(userinfo);
        }
        let mut forms = Vec::new();
        for userinfo in userinfos {
            if let Some((_, password)) = userinfo.split_once(':') {
                forms.extend(self.add(password));
                forms.extend(self.add(&percent_decode(password)));
            }
        }
        forms
    }

    pub fn redact(&self, text: &str) -> String {
        let inner = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &inner.matcher {
            Some(m) => m.replace_all(text, &vec![MASK; inner.secrets.len()]),
            None => text.to_string(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.inner.read().map_or(true, |i| i.secrets.is_empty())
    }
}

/// Percent-encodes everything outside RFC 3986's unreserved set, as a secret
/// embedded in a URL would be written.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` escapes decoded (invalid ones kept as they are).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_with_unencoded_at_or_hash_is_masked_whole() {
        let r = Redactor::default();
        r.add_url_password("postgresql://postgres:Hold#Pw@rd9@127.0.0.1/db");
        assert_eq!(r.redact("pw Hold#Pw@rd9 end"), "pw *** end");
        let r = Redactor::default();
        r.add_url_password("postgresql://postgres:long/pass@127.0.0.1/db");
        assert_eq!(r.redact("x long/pass y"), "x *** y");
    }

    #[test]
    fn a_huge_secret_registers_quickly() {
        // Built as a DFA this took minutes; the test only has to finish.
        let r = Redactor::default();
        r.add(&"x".repeat(200_000));
        assert_eq!(r.redact(&"x".repeat(200_000)), "***");
    }

    #[test]
    fn registered_values_are_masked_everywhere() {
        let r = Redactor::default();
        r.add("s3cr3t-token");
        assert_eq!(r.redact("a s3cr3t-token b s3cr3t-token"), "a *** b ***");
    }

    #[test]
    fn longest_secret_wins_when_one_contains_another() {
        let r = Redactor::default();
        r.add("abcd");
        r.add("abcdefgh");
        assert_eq!(r.redact("xabcdefghx abcd"), "x***x ***");
    }

    #[test]
    fn short_values_are_not_registered() {
        let r = Redactor::default();
        assert!(r.add("abc").is_empty());
        assert_eq!(r.redact("abc"), "abc");
    }

    #[test]
    fn url_passwords_are_masked_raw_and_encoded() {
        let r = Redactor::default();
        r.add_url_password("postgres://postgres:p%40ss%2Fword@db.example.com:5432/postgres");
        assert_eq!(
            r.redact("postgres://postgres:p%40ss%2Fword@db and p@ss/word"),
            "postgres://postgres:***@db and ***"
        );
    }

    #[test]
    fn percent_encoded_form_of_a_secret_is_masked() {
        let r = Redactor::default();
        r.add("pa ss:word");
        assert_eq!(r.redact("u=pa%20ss%3Aword"), "u=***");
    }
}
