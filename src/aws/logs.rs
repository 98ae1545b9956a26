//! CloudWatch Logs: the last lines a failed container wrote, when its task
//! definition sends them there (the `awslogs` log driver).

use super::error;
use crate::error::Result;
use serde_json::Value;

pub struct Logs {
    client: aws_sdk_cloudwatchlogs::Client,
}

/// Where the `awslogs` driver writes one container of one task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub region: Option<String>,
    pub group: String,
    pub stream: String,
}

/// The log stream of `container` in task `task_arn`, if the task definition
/// uses `awslogs` with a stream prefix (without one the stream name holds
/// no task id and cannot be found).
pub fn location(td: &Value, container: &str, task_arn: &str) -> Option<Location> {
    let c = td
        .get("containerDefinitions")?
        .as_array()?
        .iter()
        .find(|c| c["name"] == container)?;
    let log = c.get("logConfiguration")?;
    if log.get("logDriver")?.as_str()? != "awslogs" {
        return None;
    }
    let options = log.get("options")?;
    let text = |k: &str| options.get(k).and_then(Value::as_str).map(str::to_string);
    let task_id = task_arn.rsplit('/').next()?;
    Some(Location {
        region: text("awslogs-region"),
        group: text("awslogs-group")?,
        stream: format!("{}/{container}/{task_id}", text("awslogs-stream-prefix")?),
    })
}

impl Logs {
    pub async fn connect(region: Option<String>) -> Logs {
        Logs {
            client: aws_sdk_cloudwatchlogs::Client::new(&super::config(region).await),
        }
    }

    /// The last `n` lines of a stream, oldest first.
    pub async fn tail(&self, at: &Location, n: i32) -> Result<Vec<String>> {
        let out = self
            .client
            .get_log_events()
            .log_group_name(&at.group)
            .log_stream_name(&at.stream)
            .start_from_head(false)
            .limit(n)
            .send()
            .await
            .map_err(|e| {
                error(
                    "AWS CloudWatch Logs",
                    &format!("GetLogEvents {} {} failed", at.group, at.stream),
                    e,
                )
            })?;
        Ok(out
            .events()
            .iter()
            .filter_map(|e| e.message().map(|m| m.trim_end().to_string()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_awslogs_stream_of_a_task() {
        let td = serde_json::json!({"containerDefinitions": [{"name": "api", "logConfiguration": {
            "logDriver": "awslogs",
            "options": {"awslogs-group": "/ecs/api", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "web"}}}]});
        assert_eq!(
            location(&td, "api", "arn:aws:ecs:eu-west-1:1:task/prod/0123abcd"),
            Some(Location {
                region: Some("eu-west-1".into()),
                group: "/ecs/api".into(),
                stream: "web/api/0123abcd".into(),
            })
        );
        assert_eq!(location(&td, "worker", "arn:x/t"), None);
    }
}
