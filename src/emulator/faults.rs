//! Faults on demand, per endpoint: random rates (seedable) and a deterministic queue of the next
//! N outcomes. The endpoint name is the last path segment (`add`, `query`, ...) or `token`; `*`
//! applies to every endpoint that has no spec of its own.
//!
//! Command-line syntax (`--fault`): `ENDPOINT:KEY=VALUE[,KEY=VALUE...]`, keys `error_rate`,
//! `rate_429`, `rate_504`, `drop_rate`, `performed_504_rate` (0.0..=1.0), `latency_ms`,
//! `retry_after` (seconds, for 429), `next` (`KIND[xN]` separated by `+`, kinds `error`, `429`,
//! `504`, `drop`, `performed_504`). Example: `add:next=504x2+drop,latency_ms=50`.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

/// One injected outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultKind {
    /// HTTP 200 with `err_no` -1 (system error); the call is not performed.
    #[serde(rename = "error")]
    Error,
    /// HTTP 429 with `Retry-After`; not performed.
    #[serde(rename = "429")]
    TooManyRequests,
    /// HTTP 504; not performed.
    #[serde(rename = "504")]
    GatewayTimeout,
    /// The connection is closed without an answer; not performed.
    #[serde(rename = "drop")]
    Drop,
    /// The call is performed (the write happens), then answered with HTTP 504.
    #[serde(rename = "performed_504")]
    Performed504,
}

impl FaultKind {
    fn parse(s: &str) -> Result<Self, String> {
        match s {
            "error" => Ok(Self::Error),
            "429" => Ok(Self::TooManyRequests),
            "504" => Ok(Self::GatewayTimeout),
            "drop" => Ok(Self::Drop),
            "performed_504" => Ok(Self::Performed504),
            other => Err(format!(
                "unknown fault kind `{other}` (error, 429, 504, drop, performed_504)"
            )),
        }
    }

    /// The name used in the call log.
    pub fn name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::TooManyRequests => "429",
            Self::GatewayTimeout => "504",
            Self::Drop => "drop",
            Self::Performed504 => "performed_504",
        }
    }
}

/// The faults of one endpoint. All rates are probabilities in 0.0..=1.0, rolled in this order:
/// error, 429, 504, drop, performed_504. `next` is consumed first, one entry per call.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultSpec {
    pub error_rate: f64,
    pub rate_429: f64,
    pub rate_504: f64,
    pub drop_rate: f64,
    pub performed_504_rate: f64,
    /// Added before the call is handled (and before any other fault).
    pub latency_ms: u64,
    /// `Retry-After` seconds sent with 429; 0 means 1.
    pub retry_after: u64,
    pub next: VecDeque<FaultKind>,
}

/// The most a `--fault` argument may ask for: 10 minutes of latency, a `Retry-After` of a day,
/// 100,000 queued outcomes.
pub const MAX_LATENCY_MS: u64 = 600_000;
pub const MAX_RETRY_AFTER_SECS: u64 = 86_400;
pub const MAX_QUEUED: usize = 100_000;

impl FaultSpec {
    /// Parses one `--fault` argument into (endpoint, spec).
    pub fn parse_arg(arg: &str) -> Result<(String, FaultSpec), String> {
        let (endpoint, rest) = arg
            .split_once(':')
            .ok_or_else(|| format!("fault `{arg}`: expected ENDPOINT:KEY=VALUE[,KEY=VALUE...]"))?;
        let mut spec = FaultSpec::default();
        for pair in rest.split(',').filter(|p| !p.is_empty()) {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| format!("fault `{arg}`: `{pair}` is not KEY=VALUE"))?;
            let rate = || -> Result<f64, String> {
                let r: f64 = value
                    .parse()
                    .map_err(|_| format!("fault `{arg}`: `{value}` is not a number"))?;
                if (0.0..=1.0).contains(&r) {
                    Ok(r)
                } else {
                    Err(format!("fault `{arg}`: rate {r} is not in 0..=1"))
                }
            };
            let int = |max: u64| -> Result<u64, String> {
                let n: u64 = value
                    .parse()
                    .map_err(|_| format!("fault `{arg}`: `{value}` is not a whole number"))?;
                if n <= max {
                    Ok(n)
                } else {
                    Err(format!("fault `{arg}`: {key} {n} is more than {max}"))
                }
            };
            match key {
                "error_rate" => spec.error_rate = rate()?,
                "rate_429" => spec.rate_429 = rate()?,
                "rate_504" => spec.rate_504 = rate()?,
                "drop_rate" => spec.drop_rate = rate()?,
                "performed_504_rate" => spec.performed_504_rate = rate()?,
                "latency_ms" => spec.latency_ms = int(MAX_LATENCY_MS)?,
                "retry_after" => spec.retry_after = int(MAX_RETRY_AFTER_SECS)?,
                "next" => {
                    for item in value.split('+') {
                        let (kind, n) = match item.split_once('x') {
                            Some((k, n)) => (
                                k,
                                n.parse::<usize>()
                                    .map_err(|_| format!("fault `{arg}`: bad count in `{item}`"))?,
                            ),
                            None => (item, 1),
                        };
                        if n.checked_add(spec.next.len())
                            .is_none_or(|total| total > MAX_QUEUED)
                        {
                            return Err(format!(
                                "fault `{arg}`: more than {MAX_QUEUED} queued outcomes"
                            ));
                        }
                        let kind =
                            FaultKind::parse(kind).map_err(|e| format!("fault `{arg}`: {e}"))?;
                        spec.next.extend(std::iter::repeat_n(kind, n));
                    }
                }
                other => return Err(format!("fault `{arg}`: unknown key `{other}`")),
            }
        }
        Ok((endpoint.to_owned(), spec))
    }
}

/// The fault table and its random source.
#[derive(Debug)]
pub struct Faults {
    specs: HashMap<String, FaultSpec>,
    rng: fastrand::Rng,
}

impl Faults {
    pub fn new(specs: &[(String, FaultSpec)], seed: Option<u64>) -> Self {
        let mut faults = Faults {
            specs: HashMap::new(),
            rng: seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed),
        };
        for (endpoint, spec) in specs {
            faults.set(endpoint, spec.clone());
        }
        faults
    }

    /// Replaces the spec of `endpoint`; an all-default spec removes it.
    pub fn set(&mut self, endpoint: &str, spec: FaultSpec) {
        if spec == FaultSpec::default() {
            self.specs.remove(endpoint);
        } else {
            self.specs.insert(endpoint.to_owned(), spec);
        }
    }

    pub fn specs(&self) -> &HashMap<String, FaultSpec> {
        &self.specs
    }

    /// Decides the latency and the fault (if any) of one call to `endpoint`.
    pub fn decide(&mut self, endpoint: &str) -> (u64, Option<FaultKind>) {
        let key = if self.specs.contains_key(endpoint) {
            endpoint
        } else {
            "*"
        };
        let Some(spec) = self.specs.get_mut(key) else {
            return (0, None);
        };
        if let Some(kind) = spec.next.pop_front() {
            return (spec.latency_ms, Some(kind));
        }
        let rates = [
            (spec.error_rate, FaultKind::Error),
            (spec.rate_429, FaultKind::TooManyRequests),
            (spec.rate_504, FaultKind::GatewayTimeout),
            (spec.drop_rate, FaultKind::Drop),
            (spec.performed_504_rate, FaultKind::Performed504),
        ];
        let latency = spec.latency_ms;
        for (rate, kind) in rates {
            if rate > 0.0 && self.rng.f64() < rate {
                return (latency, Some(kind));
            }
        }
        (latency, None)
    }

    /// `Retry-After` seconds for `endpoint`.
    pub fn retry_after(&self, endpoint: &str) -> u64 {
        let spec = self.specs.get(endpoint).or_else(|| self.specs.get("*"));
        spec.map_or(1, |s| s.retry_after.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rates_latency_and_a_queue() {
        let (endpoint, spec) =
            FaultSpec::parse_arg("add:error_rate=0.3,latency_ms=20,next=504x2+drop").unwrap();
        assert_eq!(endpoint, "add");
        assert!((spec.error_rate - 0.3).abs() < f64::EPSILON);
        assert_eq!(spec.latency_ms, 20);
        assert_eq!(
            spec.next,
            [
                FaultKind::GatewayTimeout,
                FaultKind::GatewayTimeout,
                FaultKind::Drop
            ]
        );
    }

    #[test]
    fn rejects_bad_arguments() {
        for huge in [
            "add:latency_ms=600001",
            "add:retry_after=18446744073709551615",
            "add:next=504x18446744073709551615",
            "add:next=504x100000+drop",
        ] {
            assert!(FaultSpec::parse_arg(huge).is_err(), "{huge}");
        }
        assert!(FaultSpec::parse_arg("add:next=504x99999+drop").is_ok());
        assert!(FaultSpec::parse_arg("add").is_err());
        assert!(FaultSpec::parse_arg("add:error_rate=2").is_err());
        assert!(FaultSpec::parse_arg("add:bogus=1").is_err());
        assert!(FaultSpec::parse_arg("add:next=teapot").is_err());
    }

    #[test]
    fn queue_is_consumed_before_rates_and_star_applies_elsewhere() {
        let (_, star) = FaultSpec::parse_arg("*:rate_504=1").unwrap();
        let (_, add) = FaultSpec::parse_arg("add:next=429").unwrap();
        let mut faults = Faults::new(&[("*".into(), star), ("add".into(), add)], Some(7));
        assert_eq!(faults.decide("add").1, Some(FaultKind::TooManyRequests));
        assert_eq!(faults.decide("add").1, None);
        assert_eq!(faults.decide("query").1, Some(FaultKind::GatewayTimeout));
    }
}
