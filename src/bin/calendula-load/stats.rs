//! Latency samples turned into throughput and percentiles.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub ok: usize,
    pub errors: usize,
    pub throughput_per_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl ScenarioResult {
    pub fn from_samples(
        name: &str,
        mut latencies: Vec<Duration>,
        errors: usize,
        elapsed: Duration,
    ) -> Self {
        latencies.sort_unstable();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1))
                .map_or(0.0, |d| ms(*d))
        };
        Self {
            name: name.to_owned(),
            ok: latencies.len(),
            errors,
            throughput_per_s: latencies.len() as f64 / elapsed.as_secs_f64().max(1e-9),
            p50_ms: at(0.50),
            p90_ms: at(0.90),
            p99_ms: at(0.99),
            max_ms: latencies.last().map_or(0.0, |d| ms(*d)),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub clients: usize,
    pub seconds_per_scenario: u64,
    pub peak_server_rss_kib: Option<u64>,
    pub results: Vec<ScenarioResult>,
}

impl Report {
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{:<18} {:>9} {:>7} {:>10} {:>9} {:>9} {:>9} {:>9}\n",
            "scenario", "ok", "errors", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
        );
        for r in &self.results {
            out.push_str(&format!(
                "{:<18} {:>9} {:>7} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2}\n",
                r.name, r.ok, r.errors, r.throughput_per_s, r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms
            ));
        }
        let throughput = |name: &str| {
            self.results
                .iter()
                .find(|r| r.name == name)
                .map(|r| r.throughput_per_s)
        };
        if let (Some(api), Some(db)) = (throughput("get_event"), throughput("db_get_event")) {
            out.push_str(&format!(
                "get_event API/DB throughput ratio: {:.2}\n",
                api / db
            ));
        }
        if let Some(kib) = self.peak_server_rss_kib {
            out.push_str(&format!(
                "server peak RSS: {:.1} MiB\n",
                kib as f64 / 1024.0
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_the_right_samples() {
        let samples = (1..=100).map(Duration::from_millis).collect();
        let r = ScenarioResult::from_samples("x", samples, 2, Duration::from_secs(2));
        assert_eq!((r.ok, r.errors), (100, 2));
        assert_eq!(
            (r.p50_ms, r.p90_ms, r.p99_ms, r.max_ms),
            (50.0, 90.0, 99.0, 100.0)
        );
        assert_eq!(r.throughput_per_s, 50.0);
    }
}
