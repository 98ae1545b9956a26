//! Setting a service's deployment strategy (ROLLING, BLUE_GREEN, LINEAR,
//! CANARY) with the update that deploys: the service's own
//! `deploymentConfiguration` with only the strategy's keys changed, so its
//! circuit breaker, alarms, hooks and percentages stay as they are.

use super::Service;
use crate::error::{Error, Result};
use aws_sdk_ecs::types::{
    CanaryConfiguration, DeploymentConfiguration, DeploymentStrategy, LinearConfiguration,
};
use serde_json::{Value, json};

/// The strategy a deploy asks for; a key left `None` stays as the service has it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Strategy {
    /// `ROLLING`, `BLUE_GREEN`, `LINEAR` or `CANARY`.
    pub kind: String,
    pub bake_minutes: Option<i32>,
    pub canary_percent: Option<f64>,
    pub canary_bake_minutes: Option<i32>,
    pub step_percent: Option<f64>,
    pub step_bake_minutes: Option<i32>,
}

/// The strategies ECS knows (`DeploymentStrategy` in AWS's API model).
pub const KINDS: &[&str] = &["ROLLING", "BLUE_GREEN", "LINEAR", "CANARY"];

impl Strategy {
    /// `current` with this strategy set.
    pub fn apply(&self, current: Option<&DeploymentConfiguration>) -> DeploymentConfiguration {
        let mut c = current
            .cloned()
            .unwrap_or_else(|| DeploymentConfiguration::builder().build());
        c.strategy = Some(DeploymentStrategy::from(self.kind.as_str()));
        if self.bake_minutes.is_some() {
            c.bake_time_in_minutes = self.bake_minutes;
        }
        if self.kind == "CANARY" {
            let mut canary = c
                .canary_configuration
                .clone()
                .unwrap_or_else(|| CanaryConfiguration::builder().build());
            if self.canary_percent.is_some() {
                canary.canary_percent = self.canary_percent;
            }
            if self.canary_bake_minutes.is_some() {
                canary.canary_bake_time_in_minutes = self.canary_bake_minutes;
            }
            c.canary_configuration = Some(canary);
        }
        if self.kind == "LINEAR" {
            let mut linear = c
                .linear_configuration
                .clone()
                .unwrap_or_else(|| LinearConfiguration::builder().build());
            if self.step_percent.is_some() {
                linear.step_percent = self.step_percent;
            }
            if self.step_bake_minutes.is_some() {
                linear.step_bake_time_in_minutes = self.step_bake_minutes;
            }
            c.linear_configuration = Some(linear);
        }
        c
    }

    /// The configuration to send and its diff against the service's, or
    /// `None` when the service already deploys this way. A strategy other
    /// than ROLLING needs the service's load balancer to have an alternate
    /// target group (`advancedConfiguration`): ECS shifts traffic between the two.
    pub fn plan(
        &self,
        service: &Service,
        at: &str,
    ) -> Result<Option<(DeploymentConfiguration, String)>> {
        if self.kind != "ROLLING" && !service.alternate_target_group {
            return Err(Error::usage(
                format!(
                    "{at}: strategy {} needs a load balancer with an alternate target group and listener rules (`advancedConfiguration`), and the service has none",
                    self.kind
                ),
                Some("add them to the service's load balancer in ECS first, or leave `deployment` out".into()),
            ));
        }
        let now = service.deployment_configuration.as_ref();
        let new = self.apply(now);
        Ok(super::taskdef::diff(
            &view(now),
            &view(Some(&new)),
            &format!("service {at}"),
            "gantry.toml",
        )
        .map(|diff| (new, diff)))
    }
}

/// The keys of a deployment configuration a strategy sets, for a diff.
pub fn view(c: Option<&DeploymentConfiguration>) -> Value {
    let mut v = json!({
        "strategy": c
            .and_then(DeploymentConfiguration::strategy)
            .map_or("ROLLING", DeploymentStrategy::as_str),
    });
    if let Some(m) = c.and_then(DeploymentConfiguration::bake_time_in_minutes) {
        v["bakeTimeInMinutes"] = json!(m);
    }
    if let Some(k) = c.and_then(DeploymentConfiguration::canary_configuration) {
        v["canaryConfiguration"] = json!({
            "canaryPercent": k.canary_percent(),
            "canaryBakeTimeInMinutes": k.canary_bake_time_in_minutes(),
        });
    }
    if let Some(l) = c.and_then(DeploymentConfiguration::linear_configuration) {
        v["linearConfiguration"] = json!({
            "stepPercent": l.step_percent(),
            "stepBakeTimeInMinutes": l.step_bake_time_in_minutes(),
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_strategy_keys_change() {
        let current = DeploymentConfiguration::builder()
            .maximum_percent(200)
            .minimum_healthy_percent(100)
            .build();
        let canary = Strategy {
            kind: "CANARY".into(),
            bake_minutes: Some(10),
            canary_percent: Some(10.0),
            canary_bake_minutes: Some(5),
            ..Strategy::default()
        };
        let new = canary.apply(Some(&current));
        assert_eq!(new.maximum_percent(), Some(200));
        assert_eq!(new.minimum_healthy_percent(), Some(100));
        assert_eq!(
            new.strategy().map(DeploymentStrategy::as_str),
            Some("CANARY")
        );
        assert_eq!(
            view(Some(&new)),
            json!({"strategy": "CANARY", "bakeTimeInMinutes": 10,
                   "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5}})
        );
        assert_eq!(view(Some(&current)), json!({"strategy": "ROLLING"}));
    }

    #[test]
    fn blue_green_needs_an_alternate_target_group() {
        let service = Service::default();
        let bg = Strategy {
            kind: "BLUE_GREEN".into(),
            ..Strategy::default()
        };
        let e = bg.plan(&service, "prod/api").unwrap_err().to_string();
        assert!(e.contains("alternate target group"), "{e}");
        let ready = Service {
            alternate_target_group: true,
            ..Service::default()
        };
        let (c, diff) = bg.plan(&ready, "prod/api").unwrap().unwrap();
        assert_eq!(
            c.strategy().map(DeploymentStrategy::as_str),
            Some("BLUE_GREEN")
        );
        assert!(
            diff.contains("-  \"strategy\": \"ROLLING\"")
                && diff.contains("+  \"strategy\": \"BLUE_GREEN\""),
            "{diff}"
        );
        // Already so: nothing to change.
        let rolling = Strategy {
            kind: "ROLLING".into(),
            ..Strategy::default()
        };
        assert!(
            rolling
                .plan(&Service::default(), "prod/api")
                .unwrap()
                .is_none()
        );
    }
}
