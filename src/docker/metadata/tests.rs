use super::*;

const SHA: &str = "860c1904a1ce19322e91ac35af1ab07466440c37";

fn rules(list: &[&str]) -> Vec<TagRule> {
    list.iter().map(|r| r.parse().unwrap()).collect()
}

fn on_tag(tag: &str, others: &[&str]) -> Facts {
    Facts {
        sha: Some(SHA.into()),
        tag: Some(tag.into()),
        other_tags: others
            .iter()
            .map(std::string::ToString::to_string)
            .collect(),
        created: "2025-01-02T03:04:05Z".into(),
        ..Facts::default()
    }
}

fn on_branch(branch: &str) -> Facts {
    Facts {
        sha: Some(SHA.into()),
        branch: Some(branch.into()),
        created: "2025-01-02T03:04:05Z".into(),
        ..Facts::default()
    }
}

#[test]
fn rules_parse_and_errors_list_the_valid_ones() {
    assert_eq!(
        rules(&[
            "sha",
            "branch",
            "tag",
            "semver",
            "pr",
            "latest",
            " raw:stable "
        ]),
        [
            TagRule::Sha,
            TagRule::Branch,
            TagRule::Tag,
            TagRule::Semver,
            TagRule::Pr,
            TagRule::Latest,
            TagRule::Raw("stable".into()),
        ]
    );
    let err = "type=sha".parse::<TagRule>().unwrap_err();
    assert!(err.contains("`type=sha`"), "{err}");
    assert!(
        err.contains("sha, branch, tag, semver, pr, latest, raw:<value>"),
        "{err}"
    );
    let err = "raw:".parse::<TagRule>().unwrap_err();
    assert!(err.contains("needs a value"), "{err}");
    assert!("SHA".parse::<TagRule>().is_err());
}

#[test]
fn sha_is_seven_characters() {
    assert_eq!(tags(&rules(&["sha"]), &on_branch("main")), ["sha-860c190"]);
    let short = Facts {
        sha: Some("ABC".into()),
        ..Facts::default()
    };
    assert_eq!(tags(&[TagRule::Sha], &short), ["sha-abc"]);
    assert!(tags(&[TagRule::Sha], &Facts::default()).is_empty());
}

#[test]
fn branch_is_sanitised() {
    let t = |b: &str| tags(&[TagRule::Branch], &on_branch(b));
    assert_eq!(t("main"), ["main"]);
    assert_eq!(t("feature/Login_Form"), ["feature-login_form"]);
    assert_eq!(
        t("dependabot/npm/@types/node-20"),
        ["dependabot-npm-types-node-20"]
    );
    assert!(tags(&[TagRule::Branch], &on_tag("v1.0.0", &[])).is_empty());
}

#[test]
fn tag_is_the_tag_name() {
    assert_eq!(tags(&[TagRule::Tag], &on_tag("v1.2.3", &[])), ["v1.2.3"]);
    assert_eq!(
        tags(&[TagRule::Tag], &on_tag("release/2025", &[])),
        ["release-2025"]
    );
    assert!(tags(&[TagRule::Tag], &on_branch("main")).is_empty());
}

#[test]
fn pr_is_numbered() {
    let facts = Facts {
        pr_number: Some(318),
        sha: Some(SHA.into()),
        ..Facts::default()
    };
    assert_eq!(
        tags(&rules(&["pr", "sha"]), &facts),
        ["pr-318", "sha-860c190"]
    );
    assert!(tags(&[TagRule::Pr], &on_branch("main")).is_empty());
}

#[test]
fn semver_stable() {
    let t = |tag: &str| tags(&[TagRule::Semver], &on_tag(tag, &[]));
    assert_eq!(t("v1.2.3"), ["1.2.3", "1.2", "1", "latest"]);
    assert_eq!(t("1.2.3"), ["1.2.3", "1.2", "1", "latest"]);
    assert_eq!(t("v10.20.30"), ["10.20.30", "10.20", "10", "latest"]);
    // Build metadata is not part of `{{version}}`.
    assert_eq!(t("v1.2.3+build.7"), ["1.2.3", "1.2", "1", "latest"]);
}

#[test]
fn semver_zero_major_has_no_bare_zero() {
    let t = |tag: &str| tags(&[TagRule::Semver], &on_tag(tag, &[]));
    assert_eq!(t("v0.3.1"), ["0.3.1", "0.3", "latest"]);
    assert_eq!(t("v0.0.5"), ["0.0.5", "0.0", "latest"]);
}

#[test]
fn semver_prerelease_gets_only_its_version() {
    let t = |tag: &str| tags(&[TagRule::Semver], &on_tag(tag, &[]));
    assert_eq!(t("v1.2.3-rc.1"), ["1.2.3-rc.1"]);
    assert_eq!(t("v2.0.8-beta.67"), ["2.0.8-beta.67"]);
    assert_eq!(t("v1.0.0-RC1"), ["1.0.0-rc1"]);
    assert_eq!(t("v0.1.0-alpha+exp.sha.5114f85"), ["0.1.0-alpha"]);
}

#[test]
fn semver_ignores_other_tags() {
    for tag in [
        "release-2025",
        "v1.2",
        "1",
        "v01.2.3",
        "v1.02.3",
        "1.2.3-",
        "1.2.3-01",
        "1.2.3-a..b",
        "1.2.3+",
        "V1.2.3",
        "vv1.2.3",
        "1.2.3.4",
        "1.2.x",
        "",
    ] {
        assert!(
            tags(&[TagRule::Semver], &on_tag(tag, &[])).is_empty(),
            "{tag:?}"
        );
    }
    assert!(tags(&[TagRule::Semver], &on_branch("main")).is_empty());
}

#[test]
fn latest_only_for_the_newest_stable_release() {
    let semver = [TagRule::Semver];
    let has_latest = |tag: &str, others: &[&str]| {
        tags(&semver, &on_tag(tag, others)).contains(&"latest".to_string())
    };
    // A backport after a new major does not move `latest`.
    assert!(!has_latest("v1.2.9", &["v1.2.8", "v2.0.0"]));
    assert!(has_latest("v2.0.1", &["v1.2.9", "v2.0.0"]));
    // The tag itself, or the same version spelled differently, is no rival.
    assert!(has_latest("v2.0.0", &["v2.0.0", "2.0.0", "v1.0.0"]));
    // Prereleases and non-semver tags never outrank a release.
    assert!(has_latest("v2.0.0", &["v3.0.0-rc.1", "nightly", "v10"]));
    // Numbers compare as numbers, not text.
    assert!(has_latest("v1.10.0", &["v1.9.0", "v1.2.0"]));
    assert!(!has_latest("v1.9.0", &["v1.10.0"]));
    // A prerelease is never latest, even when it is the newest tag.
    assert!(!has_latest("v3.0.0-rc.1", &["v2.0.0"]));
    // 0.x releases can be latest.
    assert!(has_latest("v0.4.0", &["v0.3.9"]));
}

#[test]
fn explicit_latest_always_and_in_place() {
    assert_eq!(
        tags(&rules(&["latest", "branch"]), &on_branch("main")),
        ["latest", "main"]
    );
    assert_eq!(
        tags(
            &rules(&["latest", "semver"]),
            &on_tag("v1.2.9", &["v2.0.0"])
        ),
        ["latest", "1.2.9", "1.2", "1"]
    );
}

#[test]
fn tags_keep_rule_order_and_drop_duplicates() {
    let facts = on_tag("v1.2.3", &["v1.0.0"]);
    assert_eq!(
        tags(
            &rules(&["sha", "semver", "tag", "raw:1.2", "raw:Stable"]),
            &facts
        ),
        [
            "sha-860c190",
            "1.2.3",
            "1.2",
            "1",
            "v1.2.3",
            "stable",
            "latest"
        ]
    );
    assert_eq!(
        tags(&rules(&["semver", "latest"]), &facts),
        ["1.2.3", "1.2", "1", "latest"]
    );
    // `raw:` values that sanitise to nothing give no tag.
    assert!(tags(&rules(&["raw:..."]), &facts).is_empty());
}

#[test]
fn sanitize() {
    assert_eq!(sanitize_tag("feature/Login"), "feature-login");
    assert_eq!(sanitize_tag("a//b"), "a-b");
    assert_eq!(sanitize_tag("a/-b"), "a--b");
    assert_eq!(sanitize_tag("keep_this.and-that"), "keep_this.and-that");
    assert_eq!(sanitize_tag("üñí"), "");
    assert_eq!(sanitize_tag("café au lait"), "caf-au-lait");
    assert_eq!(sanitize_tag(".hidden"), "hidden");
    assert_eq!(sanitize_tag("-dash"), "dash");
    assert_eq!(sanitize_tag("/leading/slash"), "leading-slash");
    assert_eq!(sanitize_tag("._-x"), "_-x");
    assert_eq!(sanitize_tag("trailing/"), "trailing-");
    assert_eq!(sanitize_tag(""), "");
}

#[test]
fn sanitize_caps_at_128() {
    let long = "a".repeat(300);
    assert_eq!(sanitize_tag(&long).len(), 128);
    let prefixed = format!("--{}", "b".repeat(130));
    assert_eq!(sanitize_tag(&prefixed), "b".repeat(128));
    let branch = format!("feature/{}", "x".repeat(200));
    let got = tags(&[TagRule::Branch], &on_branch(&branch));
    assert_eq!(got[0].len(), 128);
    assert!(got[0].starts_with("feature-x"));
}

#[test]
fn labels_for_a_tag_build() {
    let mut facts = on_tag("v1.2.3", &[]);
    facts.repository_url = Some("https://github.com/codewarden/app".into());
    let labels = labels(&facts, "app");
    let expected: BTreeMap<String, String> = [
        ("created", "2025-01-02T03:04:05Z"),
        ("revision", SHA),
        ("source", "https://github.com/codewarden/app"),
        ("title", "app"),
        ("url", "https://github.com/codewarden/app"),
        ("version", "1.2.3"),
    ]
    .into_iter()
    .map(|(k, v)| (format!("org.opencontainers.image.{k}"), v.to_string()))
    .collect();
    assert_eq!(labels, expected);
}

#[test]
fn label_version_falls_back() {
    let version = |facts: &Facts| labels(facts, "app")["org.opencontainers.image.version"].clone();
    assert_eq!(version(&on_tag("v2.0.0-rc.2", &[])), "2.0.0-rc.2");
    assert_eq!(version(&on_tag("Nightly/2025", &[])), "nightly-2025");
    assert_eq!(version(&on_branch("feature/x")), "feature-x");
    let pr = Facts {
        pr_number: Some(7),
        sha: Some(SHA.into()),
        ..Facts::default()
    };
    assert_eq!(version(&pr), "pr-7");
    let detached = Facts {
        sha: Some(SHA.into()),
        ..Facts::default()
    };
    assert_eq!(version(&detached), "860c190");
}

#[test]
fn labels_without_values_are_left_out() {
    let labels = labels(&Facts::default(), "");
    assert!(labels.is_empty(), "{labels:?}");
}
