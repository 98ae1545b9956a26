//! The strict semver that docker/metadata-action accepts (node-semver's
//! `valid` without `loose`): `MAJOR.MINOR.PATCH`, an optional `v`, an
//! optional `-prerelease` and `+build`, no leading zeros in numbers.

use std::cmp::Ordering;

/// A parsed version; build metadata is dropped, as `{{version}}` drops it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Version {
    pub(super) major: u64,
    pub(super) minor: u64,
    pub(super) patch: u64,
    /// The prerelease identifiers as written, empty for a stable release.
    pub(super) pre: Vec<String>,
}

impl Version {
    pub(super) fn parse(text: &str) -> Option<Version> {
        let text = text.strip_prefix('v').unwrap_or(text);
        let (text, build) = match text.split_once('+') {
            Some((text, build)) => (text, Some(build)),
            None => (text, None),
        };
        if let Some(build) = build
            && !build.split('.').all(is_identifier)
        {
            return None;
        }
        let (core, pre) = match text.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (text, None),
        };
        let mut numbers = core.split('.').map(number);
        let (Some(Some(major)), Some(Some(minor)), Some(Some(patch)), None) = (
            numbers.next(),
            numbers.next(),
            numbers.next(),
            numbers.next(),
        ) else {
            return None;
        };
        let pre: Vec<String> = match pre {
            None => Vec::new(),
            Some(pre) => pre.split('.').map(str::to_string).collect(),
        };
        let numeric_ok =
            |id: &String| !id.bytes().all(|b| b.is_ascii_digit()) || number(id).is_some();
        if !pre.iter().all(|id| is_identifier(id) && numeric_ok(id)) {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
            pre,
        })
    }

    pub(super) fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// `{{version}}`: `1.2.3` or `1.2.3-rc.1`.
    pub(super) fn full(&self) -> String {
        let core = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if self.pre.is_empty() {
            core
        } else {
            format!("{core}-{}", self.pre.join("."))
        }
    }

    /// Semver precedence: the numbers, then a release above its prereleases.
    pub(super) fn precedence(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| match (self.pre.is_empty(), other.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) => compare_pre(&self.pre, &other.pre),
            })
    }
}

fn compare_pre(a: &[String], b: &[String]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let order = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            // Numeric identifiers sort below alphanumeric ones.
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            (Err(_), Err(_)) => x.cmp(y),
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

fn is_identifier(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A numeric identifier: digits, no leading zero unless it is `0`.
fn number(text: &str) -> Option<u64> {
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !digits || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap_or_else(|| panic!("{text} should parse"))
    }

    #[test]
    fn prereleases_compare_identifier_by_identifier() {
        // semver.org's own ordering example, item 11.
        let order = [
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
        ];
        for pair in order.windows(2) {
            assert_eq!(
                v(pair[0]).precedence(&v(pair[1])),
                Ordering::Less,
                "{pair:?}"
            );
            assert_eq!(
                v(pair[1]).precedence(&v(pair[0])),
                Ordering::Greater,
                "{pair:?}"
            );
        }
        assert_eq!(
            v("1.0.0-rc.1+b1").precedence(&v("v1.0.0-rc.1")),
            Ordering::Equal
        );
    }

    #[test]
    fn identifiers_are_alphanumerics_and_hyphens() {
        assert_eq!(v("1.0.0-rc-1+build-7").full(), "1.0.0-rc-1");
        assert_eq!(Version::parse("1.0.0-rc_1"), None);
        assert_eq!(Version::parse("1.0.0+build_7"), None);
    }

    #[test]
    fn a_prerelease_has_identifiers_after_a_hyphen() {
        assert!(v("1.0.0-rc.1").is_prerelease());
        assert!(!v("1.0.0+rc.1").is_prerelease());
    }

    #[test]
    fn numbers_are_digits_only() {
        assert_eq!(Version::parse("1.a.3"), None);
        assert_eq!(Version::parse("1..3"), None);
        assert_eq!(Version::parse("1.02.3"), None);
        assert_eq!(Version::parse("1.2.3-01"), None);
        assert_eq!(v("0.0.0-0").pre, ["0"]);
    }
}
