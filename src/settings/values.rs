//! The value types of `gantry.toml` and their deserializers, in one place:
//! names, commands, globs, durations and one-or-many lists. Every section
//! uses these, so this file depends on no section.

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use std::fmt;
use std::time::Duration;

/// A Supabase project reference: it becomes part of a host name and a user
/// name, so only lowercase letters and digits are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRef(pub String);

impl<'de> Deserialize<'de> for ProjectRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if ok {
            Ok(ProjectRef(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid project reference `{s}`: it is the lowercase id in your project's URL (https://<project-ref>.supabase.co)"
            )))
        }
    }
}

/// A gate (or later: image, deploy) name: letters, digits, `-` and `_`, so it
/// is safe in output names, file names and summaries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(pub String);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if ok {
            Ok(Name(s))
        } else {
            Err(de::Error::custom(format!(
                "invalid name `{s}`: use 1 to 64 letters, digits, `-` or `_`"
            )))
        }
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A glob over repository paths: `*` and `?` stay within one directory, `**`
/// crosses any number of them.
#[derive(Debug, Clone)]
pub struct PathGlob {
    pub text: String,
    pub glob: globset::Glob,
}

impl<'de> Deserialize<'de> for PathGlob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let glob = globset::GlobBuilder::new(text.trim_start_matches("./"))
            .literal_separator(true)
            .build()
            .map_err(|e| de::Error::custom(format!("invalid glob `{text}`: {}", e.kind())))?;
        Ok(PathGlob { text, glob })
    }
}

/// `"90s"`, `"10m"`, `"1h 30m"` or a number of seconds.
pub fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = Option<Duration>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a duration such as \"90s\" or \"10m\", or a number of seconds")
        }
        fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
            if n <= 0 {
                return Err(E::custom(format!("timeout must be positive, got {n}")));
            }
            crate::duration::bounded(Duration::from_secs(n as u64))
                .map(Some)
                .map_err(E::custom)
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            match humantime::parse_duration(s) {
                Ok(d) => crate::duration::bounded(d).map(Some).map_err(E::custom),
                Err(e) => Err(E::custom(format!(
                    "invalid duration `{s}` ({e}): write it like \"90s\", \"10m\" or \"1h 30m\""
                ))),
            }
        }
    }
    d.deserialize_any(V)
}

/// `"a"` or `["a", "b"]`.
pub fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a path or a list of paths")
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
            Ok(vec![s.to_string()])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(s) = seq.next_element::<String>()? {
                out.push(s);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V)
}
