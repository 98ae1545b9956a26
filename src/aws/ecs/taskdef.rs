//! Task definitions as JSON: read, render with new images, normalise and diff.
//!
//! They stay `serde_json::Value`s end to end so that fields newer than the
//! AWS SDK's model are kept and registered rather than rejected or dropped.

use serde_json::{Map, Value};

/// Fields `describe-task-definition` prints that `register-task-definition` refuses.
pub const READ_ONLY: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "deleteRequested",
];

/// Parses a task definition as `aws ecs describe-task-definition` prints it
/// (with or without its `{"taskDefinition": ...}` wrapper); read-only fields dropped.
pub fn parse(text: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut td = match value {
        Value::Object(mut o) if o.contains_key("taskDefinition") => o
            .remove("taskDefinition")
            .unwrap_or(Value::Object(Map::new())),
        other => other,
    };
    let Some(obj) = td.as_object_mut() else {
        return Err("not a JSON object".into());
    };
    for key in READ_ONLY {
        obj.remove(*key);
    }
    if !obj.get("family").is_some_and(Value::is_string) {
        return Err("no `family`".into());
    }
    let containers = obj.get("containerDefinitions").and_then(Value::as_array);
    if containers.is_none_or(Vec::is_empty) {
        return Err("no `containerDefinitions`".into());
    }
    Ok(td)
}

/// What to change in a task definition.
#[derive(Debug, Default, Clone)]
pub struct Render<'a> {
    /// Container name → image reference (a digest).
    pub images: Vec<(&'a str, String)>,
    /// Containers that get `environment` and `secrets`.
    pub environment: Vec<(&'a str, &'a str)>,
    pub secrets: Vec<(&'a str, &'a str)>,
}

/// Sets the images, environment and secrets; checks that every named
/// container exists and that at least one container is essential.
pub fn render(td: &Value, r: &Render) -> Result<Value, String> {
    let mut td = td.clone();
    let containers = td
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
        .ok_or("no `containerDefinitions`")?;
    let names: Vec<String> = containers
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
        .collect();
    for (name, image) in &r.images {
        let c = containers
            .iter_mut()
            .find(|c| c.get("name").and_then(Value::as_str) == Some(name))
            .ok_or_else(|| {
                format!(
                    "no container `{name}` in the task definition (containers: {})",
                    names.join(", ")
                )
            })?;
        c["image"] = Value::String(image.clone());
        set_pairs(c, "environment", "value", &r.environment);
        set_pairs(c, "secrets", "valueFrom", &r.secrets);
    }
    // ECS treats a container without `essential` as essential.
    let essential = containers
        .iter()
        .any(|c| c.get("essential").and_then(Value::as_bool).unwrap_or(true));
    if !essential {
        return Err("no container is essential: ECS refuses such a task definition".into());
    }
    Ok(td)
}

fn set_pairs(container: &mut Value, key: &str, value_key: &str, pairs: &[(&str, &str)]) {
    if pairs.is_empty() {
        return;
    }
    let list = container
        .as_object_mut()
        .map(|o| o.entry(key).or_insert_with(|| Value::Array(vec![])));
    let Some(Value::Array(list)) = list else {
        return;
    };
    for (name, value) in pairs {
        let entry = serde_json::json!({ "name": name, value_key: value });
        match list
            .iter_mut()
            .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
        {
            Some(existing) => *existing = entry,
            None => list.push(entry),
        }
    }
}

/// The comparable form: read-only fields, nulls, empty lists and maps and
/// the defaults ECS fills in removed; order-free lists sorted. Two task
/// definitions that normalise equal run the same way.
pub fn normalise(td: &Value) -> Value {
    let mut td = td.clone();
    if let Some(obj) = td.as_object_mut() {
        for key in READ_ONLY {
            obj.remove(*key);
        }
        // AWS answers cpu and memory as strings, files often hold numbers.
        for key in ["cpu", "memory"] {
            if let Some(n) = obj.get(key).and_then(Value::as_i64) {
                obj.insert(key.into(), Value::String(n.to_string()));
            }
        }
    }
    if let Some(containers) = td
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
    {
        for c in containers.iter_mut() {
            let Some(c) = c.as_object_mut() else { continue };
            if c.get("cpu").and_then(Value::as_i64) == Some(0) {
                c.remove("cpu");
            }
            if c.get("essential").and_then(Value::as_bool) == Some(true) {
                c.remove("essential");
            }
            sort_by(c, "environment", &["name"]);
            sort_by(c, "secrets", &["name"]);
            sort_by(c, "mountPoints", &["containerPath", "sourceVolume"]);
            sort_by(c, "portMappings", &["containerPort", "protocol"]);
            if let Some(Value::Array(ports)) = c.get_mut("portMappings") {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    if p.get("protocol").and_then(Value::as_str) == Some("tcp") {
                        p.remove("protocol");
                    }
                    if p.get("hostPort").is_some() && p.get("hostPort") == p.get("containerPort") {
                        p.remove("hostPort");
                    }
                }
            }
        }
        containers.sort_by_key(|c| c.get("name").and_then(Value::as_str).map(str::to_string));
    }
    prune(&mut td);
    td
}

fn sort_by(c: &mut Map<String, Value>, key: &str, fields: &[&str]) {
    if let Some(Value::Array(list)) = c.get_mut(key) {
        list.sort_by_key(|e| {
            fields
                .iter()
                .map(|f| e.get(*f).map(Value::to_string).unwrap_or_default())
                .collect::<Vec<_>>()
        });
    }
}

/// Removes nulls and empty lists and maps, recursively.
fn prune(v: &mut Value) {
    match v {
        Value::Object(o) => {
            for child in o.values_mut() {
                prune(child);
            }
            o.retain(|_, c| !is_empty(c));
        }
        Value::Array(a) => a.iter_mut().for_each(prune),
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A unified diff of the normalised forms; `None` when they are equal.
pub fn diff(running: &Value, new: &Value, running_name: &str, new_name: &str) -> Option<String> {
    let (a, b) = (normalise(running), normalise(new));
    if a == b {
        return None;
    }
    // A final newline each, so the diff does not end in "\\ No newline".
    let a = serde_json::to_string_pretty(&a).unwrap_or_default() + "\n";
    let b = serde_json::to_string_pretty(&b).unwrap_or_default() + "\n";
    let text = similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(running_name, new_name)
        .to_string();
    Some(text.trim_end().to_string())
}

/// The images of a task definition's containers, by container name.
pub fn images(td: &Value) -> Vec<(String, String)> {
    td.get("containerDefinitions")
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| {
                    Some((
                        c.get("name")?.as_str()?.to_string(),
                        c.get("image")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a container is essential (ECS's default: yes); unknown ones count as essential.
pub fn essential(td: &Value, container: &str) -> bool {
    td.get("containerDefinitions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["name"] == container))
        .and_then(|c| c.get("essential").and_then(Value::as_bool))
        .unwrap_or(true)
}

/// `family` of a task definition.
pub fn family(td: &Value) -> &str {
    td.get("family").and_then(Value::as_str).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = include_str!("../../../examples/monorepo/deploy/task-definition.json");

    fn render_api(td: &Value, image: &str) -> Value {
        render(
            td,
            &Render {
                images: vec![("api", image.to_string())],
                ..Render::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn read_only_fields_are_dropped_and_unknown_fields_kept() {
        let text = EXAMPLE.replacen('{', "{\"someFieldFrom2030\": {\"x\": 1},", 1);
        let td = parse(&text).unwrap();
        for key in READ_ONLY {
            assert!(td.get(*key).is_none(), "{key}");
        }
        assert_eq!(td["someFieldFrom2030"]["x"], 1);
        let wrapped = format!("{{\"taskDefinition\": {EXAMPLE}, \"tags\": []}}");
        assert_eq!(parse(&wrapped).unwrap(), parse(EXAMPLE).unwrap());
        assert!(
            parse("{\"family\": \"x\"}")
                .unwrap_err()
                .contains("containerDefinitions")
        );
    }

    #[test]
    fn render_changes_only_the_image() {
        let td = parse(EXAMPLE).unwrap();
        let image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/codewarden/api@sha256:abc";
        let new = render_api(&td, image);
        let mut back = new.clone();
        back["containerDefinitions"][0]["image"] = td["containerDefinitions"][0]["image"].clone();
        assert_eq!(back, td);
        let d = diff(&td, &new, "running", "new").unwrap();
        let changed: Vec<&str> = d
            .lines()
            .filter(|l| {
                (l.starts_with('-') || l.starts_with('+'))
                    && !l.starts_with("---")
                    && !l.starts_with("+++")
            })
            .collect();
        assert_eq!(changed.len(), 2, "{d}");
        assert!(changed[1].contains("@sha256:abc"), "{d}");
    }

    /// Shaped like the examples of AWS's "Example Amazon ECS task
    /// definitions" page: a Fargate web server, container dependencies,
    /// EFS volumes, a restart policy, a runtime platform.
    const DOC_SHAPED: &str = r#"{
        "family": "docs-shaped",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "1024", "memory": "3072",
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "executionRoleArn": "arn:aws:iam::012345678910:role/ecsTaskExecutionRole",
        "volumes": [{"name": "data", "efsVolumeConfiguration": {"fileSystemId": "fs-1234", "rootDirectory": "/", "transitEncryption": "ENABLED"}}],
        "containerDefinitions": [
            {"name": "web", "image": "public.ecr.aws/docker/library/httpd:2.4", "essential": true,
             "entryPoint": ["sh", "-c"], "command": ["httpd-foreground"],
             "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp", "name": "http", "appProtocol": "http"}],
             "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}],
             "mountPoints": [{"sourceVolume": "data", "containerPath": "/usr/local/apache2/htdocs", "readOnly": false}],
             "restartPolicy": {"enabled": true, "ignoredExitCodes": [0], "restartAttemptPeriod": 180},
             "ulimits": [{"name": "nofile", "softLimit": 65536, "hardLimit": 65536}],
             "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}}},
            {"name": "init", "image": "public.ecr.aws/docker/library/busybox:latest", "essential": false,
             "command": ["sh", "-c", "echo ready > /data/index.html"]}
        ]
    }"#;

    #[test]
    fn documented_shapes_round_trip_with_only_the_image_changed() {
        for text in [EXAMPLE, DOC_SHAPED] {
            let td = parse(text).unwrap();
            let name = td["containerDefinitions"][0]["name"]
                .as_str()
                .unwrap()
                .to_string();
            let new = render(
                &td,
                &Render {
                    images: vec![(
                        &name,
                        "1.dkr.ecr.us-east-1.amazonaws.com/x@sha256:ff".into(),
                    )],
                    ..Render::default()
                },
            )
            .unwrap();
            let mut back = new.clone();
            back["containerDefinitions"][0]["image"] =
                td["containerDefinitions"][0]["image"].clone();
            assert_eq!(back, td);
            assert_eq!(diff(&td, &td, "a", "b"), None);
            let d = diff(&td, &new, "a", "b").unwrap();
            assert_eq!(
                d.lines()
                    .filter(|l| l.starts_with("-  ") || l.starts_with("+  "))
                    .count(),
                2,
                "{d}"
            );
        }
    }

    #[test]
    fn missing_container_and_no_essential_are_refused() {
        let td = parse(EXAMPLE).unwrap();
        let e = render(
            &td,
            &Render {
                images: vec![("worker", "x".into())],
                ..Render::default()
            },
        )
        .unwrap_err();
        assert!(
            e.contains("no container `worker`") && e.contains("api"),
            "{e}"
        );
        let mut off = td.clone();
        off["containerDefinitions"][0]["essential"] = Value::Bool(false);
        assert!(
            render(&off, &Render::default())
                .unwrap_err()
                .contains("essential")
        );
    }

    #[test]
    fn what_aws_fills_in_and_list_order_are_no_difference() {
        let file = parse(EXAMPLE).unwrap();
        let mut aws = file.clone();
        let c = &mut aws["containerDefinitions"][0];
        c["environment"].as_array_mut().unwrap().reverse();
        c["portMappings"][0]
            .as_object_mut()
            .unwrap()
            .remove("protocol");
        c["ulimits"] = Value::Array(vec![]);
        c.as_object_mut().unwrap().remove("cpu");
        aws["cpu"] = Value::String("256".into());
        aws["revision"] = 9.into();
        assert_eq!(diff(&file, &aws, "a", "b"), None);
    }

    #[test]
    fn overrides_replace_or_add_environment_and_secrets() {
        let td = parse(EXAMPLE).unwrap();
        let new = render(
            &td,
            &Render {
                images: vec![("api", "img@sha256:1".into())],
                environment: vec![("LOG_LEVEL", "debug"), ("NEW", "1")],
                secrets: vec![("TOKEN", "arn:aws:ssm:us-east-1:1:parameter/t")],
            },
        )
        .unwrap();
        let env = new["containerDefinitions"][0]["environment"]
            .as_array()
            .unwrap();
        assert_eq!(env.len(), 4);
        assert!(env.contains(&serde_json::json!({"name": "LOG_LEVEL", "value": "debug"})));
        assert_eq!(
            new["containerDefinitions"][0]["secrets"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn accessors_read_family_images_and_essential() {
        let td = parse(DOC_SHAPED).unwrap();
        assert_eq!(family(&td), "docs-shaped");
        assert_eq!(
            images(&td),
            [
                (
                    "web".to_string(),
                    "public.ecr.aws/docker/library/httpd:2.4".to_string()
                ),
                (
                    "init".to_string(),
                    "public.ecr.aws/docker/library/busybox:latest".to_string()
                ),
            ]
        );
        assert!(essential(&td, "web"));
        assert!(!essential(&td, "init"));
        // ECS's default for a container without the field, and for one the
        // task definition does not have.
        let mut td = td;
        td["containerDefinitions"][0]
            .as_object_mut()
            .unwrap()
            .remove("essential");
        assert!(essential(&td, "web"));
        assert!(essential(&td, "nope"));
    }

    #[test]
    fn defaults_nulls_and_empty_maps_are_no_difference_but_other_values_are() {
        let td = parse(DOC_SHAPED).unwrap();
        let web = |f: &dyn Fn(&mut Map<String, Value>)| {
            let mut other = td.clone();
            f(other["containerDefinitions"][0].as_object_mut().unwrap());
            diff(&td, &other, "a", "b")
        };
        // `essential: true` and `hostPort` equal to `containerPort` are
        // what ECS fills in; a null or an empty map is no value.
        assert_eq!(
            web(&|c| {
                c.remove("essential");
            }),
            None
        );
        assert_eq!(
            web(&|c| {
                c["portMappings"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("hostPort");
            }),
            None
        );
        assert_eq!(
            web(&|c| {
                c.insert("user".into(), Value::Null);
            }),
            None
        );
        assert_eq!(
            web(&|c| {
                c.insert("dockerLabels".into(), serde_json::json!({}));
            }),
            None
        );
        // Anything else is a difference.
        assert!(
            web(&|c| {
                c["essential"] = Value::Bool(false);
            })
            .is_some()
        );
        assert!(
            web(&|c| {
                c["portMappings"][0]["hostPort"] = 8080.into();
            })
            .is_some()
        );
        assert!(
            web(&|c| {
                c.insert("user".into(), "root".into());
            })
            .is_some()
        );
    }
}
