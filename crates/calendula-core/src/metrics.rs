//! `/metrics`: anything that has numbers to show registers a source; the endpoint
//! concatenates their Prometheus text.

use std::sync::{Arc, RwLock};

/// Something that renders its own Prometheus text exposition lines (with `# HELP`/`# TYPE`).
pub trait MetricsSource: Send + Sync {
    fn render(&self) -> String;
}

/// Kept in Rocket's managed state by the root; modules register their sources at liftoff
/// (`rocket.state::<MetricsRegistry>()`).
#[derive(Default)]
pub struct MetricsRegistry {
    sources: RwLock<Vec<Arc<dyn MetricsSource>>>,
}

impl MetricsRegistry {
    pub fn register(&self, source: Arc<dyn MetricsSource>) {
        if let Ok(mut sources) = self.sources.write() {
            sources.push(source);
        }
    }

    pub fn render(&self) -> String {
        let sources = match self.sources.read() {
            Ok(sources) => sources.clone(),
            Err(_) => return String::new(),
        };
        sources.iter().map(|s| s.render()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(&'static str);

    impl MetricsSource for Fixed {
        fn render(&self) -> String {
            self.0.to_owned()
        }
    }

    #[test]
    fn renders_every_source_in_order() {
        let registry = MetricsRegistry::default();
        registry.register(Arc::new(Fixed("a 1\n")));
        registry.register(Arc::new(Fixed("b 2\n")));
        assert_eq!(registry.render(), "a 1\nb 2\n");
    }
}
