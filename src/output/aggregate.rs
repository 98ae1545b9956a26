//! The outputs gantry adds at the end of a run in GitHub Actions, built from
//! the outputs its steps wrote, so a workflow reads one JSON value instead
//! of knowing every per-image or per-service name:
//! `fromJSON(steps.g.outputs.outputs)['image-api-digest']`.

use crate::step::{self, Step};
use indexmap::IndexMap;
use serde_json::{Map, Value};

/// Names gantry's composite action (`action.yml`) exposes, with their values:
/// `outputs`, then each output the registry says gathers a step's outputs
/// (`image-digests`, …, in pipeline order), then `plan`.
pub fn aggregate_outputs(
    outputs: &IndexMap<String, String>,
    plans: &IndexMap<String, Value>,
) -> Vec<(&'static str, String)> {
    let all: Map<String, Value> = outputs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut list = vec![("outputs", Value::Object(all).to_string())];
    for name in gathering_outputs() {
        list.push((name, gathered(outputs, name).to_string()));
    }
    list.push((
        "plan",
        Value::Object(plans.clone().into_iter().collect()).to_string(),
    ));
    list
}

/// Every output that gathers others, once each, in pipeline order.
pub fn gathering_outputs() -> Vec<&'static str> {
    let mut names = Vec::new();
    for step in Step::ALL {
        for name in step.spec().outputs.iter().filter_map(|o| o.gathered_in) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
    }
    names
}

/// `{"<name>": value}` for every output that belongs to a pattern gathered
/// in `into` (`image-<name>-digest` into `image-digests`). Counts
/// (`scan-<severity>`) are numbers.
fn gathered(outputs: &IndexMap<String, String>, into: &str) -> Value {
    let map: Map<String, Value> = outputs
        .iter()
        .filter_map(|(k, v)| {
            let pattern = step::output_pattern(k).filter(|p| p.gathered_in == Some(into))?;
            let name = step::matches(pattern.name, k)?;
            let value = if pattern.count {
                v.parse::<u64>().ok()?.into()
            } else {
                Value::String(v.clone())
            };
            Some((name.to_string(), value))
        })
        .collect();
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(list: &[(&str, String)], name: &str) -> Value {
        let text = &list.iter().find(|(n, _)| *n == name).unwrap().1;
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn common_outputs_are_grouped_by_image_and_service() {
        let outputs: IndexMap<String, String> = [
            ("push-verdict", "passed"),
            ("image-api-digest", "r/api@sha256:1"),
            ("image-api-id", "sha256:9"),
            ("image-web-app-digest", "r/web@sha256:2"),
            ("deploy-api-task-definition", "arn:td:8"),
            ("deploy-api-previous-task-definition", "arn:td:7"),
            ("deploy-api-deployment-id", "ecs-svc/1"),
            ("deploy-worker-deployment-id", "dep-worker-1"),
            ("scan-critical", "1"),
            ("scan-high", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let plans = IndexMap::from([("push".to_string(), serde_json::json!([]))]);
        let list = aggregate_outputs(&outputs, &plans);
        assert_eq!(get(&list, "outputs")["image-api-id"], "sha256:9");
        assert_eq!(get(&list, "outputs").as_object().unwrap().len(), 10);
        assert_eq!(
            get(&list, "image-digests"),
            serde_json::json!({"api": "r/api@sha256:1", "web-app": "r/web@sha256:2"})
        );
        assert_eq!(
            get(&list, "task-definition-arns"),
            serde_json::json!({"api": "arn:td:8"})
        );
        assert_eq!(
            get(&list, "deployment-ids"),
            serde_json::json!({"api": "ecs-svc/1", "worker": "dep-worker-1"})
        );
        assert_eq!(
            get(&list, "scan-counts"),
            serde_json::json!({"critical": 1, "high": 0})
        );
        assert_eq!(get(&list, "plan"), serde_json::json!({"push": []}));
    }

    #[test]
    fn nothing_written_gives_empty_objects() {
        let list = aggregate_outputs(&IndexMap::new(), &IndexMap::new());
        for (_, value) in list {
            assert_eq!(value, "{}");
        }
    }
}
