//! `reference/configuration.md`: every key of `gantry.toml`, from the
//! settings types themselves. serde's derive hands each struct's field
//! names (renamed, as written in the file) to the deserializer; the same
//! list is what `deny_unknown_fields` accepts, so it is exactly what the
//! loader takes. A probing deserializer walks `Config` once and records
//! every key with the kind of value serde asks for.

use super::{cell, check_generated, header, names_in_code, read_page, section};
use serde::de::value::{BorrowedStrDeserializer, Error, StrDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, Expected, IntoDeserializer, Visitor};

/// toml's `Spanned<T>` deserializes as a struct of this name around `T`.
const SPANNED: &str = "$__serde_spanned_private_Spanned";
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";
/// A string every string-like value of the schema accepts (names, globs,
/// project refs, durations, commands).
const PROBE: &str = "1s";

/// The keys found, in schema order: (path, what value it takes).
#[derive(Default)]
struct Keys(Vec<(String, String)>);

impl Keys {
    /// Reserves the key's row before its children's, filled in later.
    fn reserve(&mut self, path: &str) -> usize {
        self.0.push((path.to_string(), String::new()));
        self.0.len() - 1
    }
    fn kind_of(&self, path: &str) -> String {
        self.0
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, k)| k.clone())
            .unwrap_or_default()
    }
}

/// Deserializes the value at `path`, recording what serde asks for there.
struct Probe<'a> {
    keys: &'a mut Keys,
    path: String,
}

impl Probe<'_> {
    fn leaf(self, kind: impl Into<String>) {
        let i = self.keys.reserve(&self.path);
        self.keys.0[i].1 = kind.into();
    }
}

impl<'de> Deserializer<'de> for Probe<'_> {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        // The value takes several forms; the visitor says which.
        let expected = format!("{}", &v as &dyn Expected);
        self.leaf(expected);
        v.visit_str(PROBE)
    }
    fn deserialize_bool<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.leaf("boolean");
        v.visit_bool(false)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.leaf("integer");
        v.visit_u64(1)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_u64(v)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.leaf("number");
        v.visit_f64(1.0)
    }
    fn deserialize_str<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.leaf("string");
        v.visit_str(PROBE)
    }
    fn deserialize_string<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        self.deserialize_str(v)
    }
    fn deserialize_option<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        v.visit_some(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let i = self.keys.reserve(&self.path);
        let item = format!("{}[]", self.path);
        let value = v.visit_seq(One {
            keys: &mut *self.keys,
            path: Some(item.clone()),
        })?;
        let kind = self.keys.kind_of(&item);
        self.keys.0.retain(|(p, _)| *p != item);
        self.keys.0[i].1 = format!("list of: {kind}");
        Ok(value)
    }
    fn deserialize_map<V: Visitor<'de>>(self, v: V) -> Result<V::Value, Error> {
        let i = self.keys.reserve(&self.path);
        let entry = format!("{}.<name>", self.path);
        let value = v.visit_map(Entries {
            keys: &mut *self.keys,
            path: self.path.clone(),
            fields: vec![("<name>", entry.clone())],
            value: None,
        })?;
        let kind = self.keys.kind_of(&entry);
        if kind == "table" {
            self.keys.0[i].1 = "tables by name".into();
        } else {
            self.keys.0.retain(|(p, _)| *p != entry);
            self.keys.0[i].1 = format!("table of: {kind}");
        }
        Ok(value)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        let path = self.path.clone();
        let fields = if name == SPANNED {
            // The span's start and end are toml's, not keys of the file:
            // only the value inside is probed, at the same path.
            fields
                .iter()
                .map(|f| {
                    (
                        *f,
                        if *f == SPANNED_VALUE {
                            path.clone()
                        } else {
                            String::new()
                        },
                    )
                })
                .collect()
        } else {
            if !path.is_empty() {
                let i = self.keys.reserve(&path);
                self.keys.0[i].1 = "table".into();
            }
            let prefix = if path.is_empty() {
                String::new()
            } else {
                format!("{path}.")
            };
            fields
                .iter()
                .map(|f| (*f, format!("{prefix}{f}")))
                .collect()
        };
        v.visit_map(Entries {
            keys: self.keys,
            path,
            fields,
            value: None,
        })
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, Error> {
        let names: Vec<String> = variants.iter().map(|n| format!("`{n}`")).collect();
        self.leaf(format!("one of {}", names.join(", ")));
        v.visit_enum(StrDeserializer::<Error>::new(variants[0]))
    }

    serde::forward_to_deserialize_any! {
        i8 i16 u8 u16 f32 char bytes byte_buf unit unit_struct
        newtype_struct tuple tuple_struct identifier ignored_any
    }
}

/// A list with one item, probed at `path`.
struct One<'a> {
    keys: &'a mut Keys,
    path: Option<String>,
}

impl<'de> de::SeqAccess<'de> for One<'_> {
    type Error = Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Error> {
        match self.path.take() {
            Some(path) => seed
                .deserialize(Probe {
                    keys: &mut *self.keys,
                    path,
                })
                .map(Some),
            None => Ok(None),
        }
    }
}

/// A table holding every field of a struct (or one entry of a map).
struct Entries<'a> {
    keys: &'a mut Keys,
    path: String,
    /// (key, the path its value is probed at; empty: a plain number).
    fields: Vec<(&'static str, String)>,
    value: Option<String>,
}

impl<'de> de::MapAccess<'de> for Entries<'_> {
    type Error = Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        if self.fields.is_empty() {
            return Ok(None);
        }
        let (key, path) = self.fields.remove(0);
        self.value = Some(path);
        // A map's key is a name the user picks: probe it with a valid one.
        let key = if key == "<name>" { PROBE } else { key };
        seed.deserialize(BorrowedStrDeserializer::<Error>::new(key))
            .map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        let path = self
            .value
            .take()
            .unwrap_or_else(|| panic!("a value before its key at {}", self.path));
        if path.is_empty() {
            return seed.deserialize(0u64.into_deserializer());
        }
        seed.deserialize(Probe {
            keys: &mut *self.keys,
            path,
        })
    }
}

/// Every key of `gantry.toml` with what it takes.
fn keys() -> Vec<(String, String)> {
    let mut keys = Keys::default();
    let probe = Probe {
        keys: &mut keys,
        path: String::new(),
    };
    if let Err(e) = <gantry::settings::config::Config as serde::Deserialize>::deserialize(probe) {
        panic!(
            "the settings types refused the probe: {e}; teach tests/integration/docs/config.rs the new value"
        );
    }
    keys.0
}

/// `deploy.<name>.ecs` → `[deploy.<name>]`: the section a key is written in.
fn top(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

fn page() -> String {
    let mut out = header("the settings types of src/settings/ (serde's field names)");
    out.push_str("# Configuration keys\n\n");
    out.push_str(
        "Every key `gantry.toml` accepts, read from the types gantry loads it into: \
         any other key is refused at load with its file, line and the closest valid \
         key. `<name>` is a name you choose. What each key means, and its default, \
         is on the [Configuration](../configuration.md) page.\n",
    );
    let mut current = String::new();
    for (path, kind) in keys() {
        if !path.contains('.') {
            // A top-level key is a section: `[scan]`, or `[gates.<name>]`
            // for tables by name.
            current = if kind == "tables by name" {
                format!("{path}.<name>")
            } else {
                path.clone()
            };
            out.push_str(&format!("\n## `[{current}]`\n\n"));
            out.push_str("| key | takes |\n| --- | --- |\n");
            continue;
        }
        if path == current {
            continue;
        }
        let key = path.strip_prefix(&format!("{current}.")).unwrap_or(&path);
        out.push_str(&format!("| `{key}` | {} |\n", cell(&kind)));
    }
    out
}

#[test]
fn the_configuration_reference_is_the_settings_types() {
    check_generated("configuration.md", &page());
}

/// The configuration page documents every key under its section, and its
/// tables list no key the loader would refuse.
#[test]
fn the_configuration_page_documents_every_key() {
    let page = read_page("configuration.md");
    let all = keys();
    let mut problems = Vec::new();
    for (path, _) in all.iter().filter(|(p, _)| p.contains('.')) {
        let leaf = path.rsplit('.').next().unwrap();
        if leaf == "<name>" {
            continue;
        }
        let Some(text) = section(&page, &format!("## `[{}", top(path))) else {
            problems.push(format!("no section `## `[{}` for {path}", top(path)));
            continue;
        };
        if !names_in_code(text, leaf) {
            problems.push(format!(
                "`{leaf}` ({path}) is not documented in its section"
            ));
        }
    }
    // Each table row's key is one the loader takes in that section.
    for (top_key, _) in all.iter().filter(|(p, _)| !p.contains('.')) {
        let Some(text) = section(&page, &format!("## `[{top_key}")) else {
            continue;
        };
        for row in text.lines().filter(|l| l.starts_with("| `")) {
            let key = row[3..].split('`').next().unwrap();
            let known = all
                .iter()
                .any(|(p, _)| top(p) == top_key && (p.ends_with(&format!(".{key}")) || p == key));
            if !known {
                problems.push(format!(
                    "[{top_key}]: the row `{key}` is no key gantry.toml takes"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "docs/src/configuration.md:\n{}",
        problems.join("\n")
    );
}
