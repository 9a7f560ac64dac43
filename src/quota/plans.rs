//! Plans: what an account may use. Built-in plans follow Flotiq's published tiers; an
//! operator adds or overrides plans in a TOML file (`--plans`, default
//! `<data-dir>/plans.toml`), which every instance on one database must share.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The plan of accounts created without `--plan`, unless the file names another. A
/// self-hosted server does not throttle its own operator until told to.
pub const UNLIMITED: &str = "unlimited";

/// One plan. `None` means no limit of that kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    #[serde(skip_deserializing)]
    pub name: String,
    /// Requests per rolling 30-day window, shared by every key of the account.
    pub requests_per_30_days: Option<u64>,
    /// Sustained requests per second (burst protection), per instance.
    pub requests_per_second: Option<f64>,
    /// Requests that may arrive at once; defaults to twice the per-second rate.
    pub burst: Option<u64>,
    /// User-defined keys the account may hold (application keys do not count).
    pub max_user_keys: Option<u64>,
}

impl Plan {
    /// The token bucket's size, when the plan limits the rate.
    pub fn burst_size(&self) -> Option<f64> {
        let rate = self.requests_per_second?;
        Some(
            self.burst
                .map_or((rate * 2.0).ceil().max(1.0), |b| b.max(1) as f64),
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PlansFile {
    default_plan: Option<String>,
    #[serde(default)]
    plans: BTreeMap<String, Plan>,
}

#[derive(Debug, Clone)]
pub struct Plans {
    plans: BTreeMap<String, Arc<Plan>>,
    default_plan: String,
}

fn plan(
    name: &str,
    month: Option<u64>,
    per_second: Option<f64>,
    burst: Option<u64>,
    keys: Option<u64>,
) -> (String, Plan) {
    let plan = Plan {
        name: name.to_owned(),
        requests_per_30_days: month,
        requests_per_second: per_second,
        burst,
        max_user_keys: keys,
    };
    (name.to_owned(), plan)
}

impl Default for Plans {
    /// The built-in plans; API call allowances are Flotiq's published ones.
    fn default() -> Self {
        let plans = [
            plan("free", Some(100_000), Some(10.0), Some(20), Some(5)),
            plan("basic", Some(300_000), Some(25.0), Some(50), Some(20)),
            plan("growth", Some(1_000_000), Some(50.0), Some(100), Some(50)),
            plan(UNLIMITED, None, None, None, None),
        ];
        Plans {
            plans: plans.into_iter().map(|(n, p)| (n, Arc::new(p))).collect(),
            default_plan: UNLIMITED.to_owned(),
        }
    }
}

impl Plans {
    /// The built-in plans with the file's plans added (or replacing built-ins of the
    /// same name). A missing default file is not an error; `explicit` files must exist.
    pub fn load(path: &Path, explicit: bool) -> Result<Self, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound && !explicit => {
                return Ok(Plans::default());
            }
            Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
        };
        Plans::parse(&text).map_err(|err| format!("{}: {err}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let file: PlansFile = toml::from_str(text).map_err(|err| err.message().to_owned())?;
        let mut plans = Plans::default();
        for (name, mut plan) in file.plans {
            plan.name = name.clone();
            check(&plan)?;
            plans.plans.insert(name, Arc::new(plan));
        }
        if let Some(default_plan) = file.default_plan {
            plans.default_plan = default_plan;
        }
        if !plans.plans.contains_key(&plans.default_plan) {
            return Err(format!(
                "default_plan '{}' is not a plan",
                plans.default_plan
            ));
        }
        Ok(plans)
    }

    pub fn get(&self, name: &str) -> Option<Arc<Plan>> {
        self.plans.get(name).cloned()
    }

    /// The plan by name, or an error listing the plans there are.
    pub fn require(&self, name: &str) -> Result<Arc<Plan>, String> {
        self.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.plans.keys().map(String::as_str).collect();
            format!("no plan named '{name}'; plans: {}", known.join(", "))
        })
    }

    pub fn default_plan(&self) -> &str {
        &self.default_plan
    }

    pub fn all(&self) -> impl Iterator<Item = &Arc<Plan>> {
        self.plans.values()
    }
}

/// Names of accounts and plans: 1 to 64 of a-z, A-Z, 0-9, `-` and `_`.
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check(plan: &Plan) -> Result<(), String> {
    let name = &plan.name;
    if !is_valid_name(name) {
        return Err(format!(
            "plan name '{name}': only a-z, A-Z, 0-9, - and _ are allowed"
        ));
    }
    if plan.requests_per_30_days == Some(0) {
        return Err(format!(
            "plan '{name}': requests_per_30_days must be at least 1"
        ));
    }
    if let Some(rate) = plan.requests_per_second
        && !(rate.is_finite() && rate > 0.0)
    {
        return Err(format!(
            "plan '{name}': requests_per_second must be a positive number"
        ));
    }
    if plan.burst.is_some() && plan.requests_per_second.is_none() {
        return Err(format!("plan '{name}': burst needs requests_per_second"));
    }
    if plan.burst == Some(0) {
        return Err(format!("plan '{name}': burst must be at least 1"));
    }
    // Instances admit from a view of the shared count that is up to a few flush
    // intervals old; the per-second rate is what bounds the overshoot in between.
    if plan.requests_per_30_days.is_some() && plan.requests_per_second.is_none() {
        return Err(format!(
            "plan '{name}': a plan with requests_per_30_days needs requests_per_second too"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_plans_add_to_and_override_the_built_ins() {
        let plans = Plans::parse(
            "default_plan = \"team\"\n\
             [plans.team]\nrequests_per_30_days = 500\nrequests_per_second = 2.5\nmax_user_keys = 3\n\
             [plans.free]\nrequests_per_30_days = 10\nrequests_per_second = 1\nburst = 4\n",
        )
        .unwrap();
        assert_eq!(plans.default_plan(), "team");
        let team = plans.get("team").unwrap();
        assert_eq!(team.requests_per_30_days, Some(500));
        assert_eq!(team.burst_size(), Some(5.0));
        assert_eq!(plans.get("free").unwrap().burst_size(), Some(4.0));
        assert!(plans.get("unlimited").is_some());
    }

    #[test]
    fn bad_files_are_refused_with_the_reason() {
        for (text, reason) in [
            (
                "[plans.x]\nrequests_per_30_days = 5\n",
                "needs requests_per_second",
            ),
            ("[plans.x]\nrequests_per_second = 0\n", "positive"),
            ("[plans.x]\nburst = 3\n", "burst needs"),
            ("[plans.x]\nrequests_per_month = 3\n", "unknown field"),
            ("default_plan = \"nope\"\n", "not a plan"),
            ("[plans.\"a b\"]\n", "only a-z"),
        ] {
            let err = Plans::parse(text).unwrap_err();
            assert!(err.contains(reason), "{text}: {err}");
        }
    }
}
