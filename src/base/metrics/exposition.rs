//! The Prometheus text exposition (format 0.0.4) of [`Metrics`], written by
//! `prometheus-client`'s encoder from a collector that reads the atomics at
//! scrape time.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::exemplar::Exemplar;
use prometheus_client::registry::Registry;

use super::{ComponentMetrics, Metrics, Phase, Reject};

type NoExemplar = Exemplar<NoLabelSet, f64>;

/// The `Content-Type` of what [`render`] writes.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

pub(super) fn render(metrics: Arc<Metrics>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape(metrics)));
    let mut text = String::new();
    // Writing to a String cannot fail; an encoder error would be a bug.
    if let Err(error) = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry) {
        tracing::error!(%error, "cannot encode the metrics");
    }
    text
}

struct Scrape(Arc<Metrics>);

impl fmt::Debug for Scrape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Scrape")
    }
}

/// One metric family: its descriptor, then its samples.
fn family<'a>(
    encoder: &'a mut DescriptorEncoder,
    name: &'a str,
    help: &str,
    kind: MetricType,
) -> Result<MetricEncoder<'a>, fmt::Error> {
    encoder.encode_descriptor(name, help, None, kind)
}

fn counter(encoder: &mut MetricEncoder, labels: &impl EncodeLabelSet, n: u64) -> fmt::Result {
    encoder
        .encode_family(labels)?
        .encode_counter(&n, None::<&NoExemplar>)
}

fn gauge(encoder: &mut MetricEncoder, labels: &impl EncodeLabelSet, n: i64) -> fmt::Result {
    encoder.encode_family(labels)?.encode_gauge(&n)
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let m = &*self.0;
        let routes: Vec<_> = {
            let routes = m.routes.lock().unwrap_or_else(|e| e.into_inner());
            let builtin = [
                &m.builtin.none,
                &m.builtin.health,
                &m.builtin.info,
                &m.builtin.other,
            ];
            routes
                .values()
                .chain(builtin)
                .filter(|r| r.seen())
                .cloned()
                .collect()
        };
        let components: Vec<_> = {
            let components = m.components.lock().unwrap_or_else(|e| e.into_inner());
            components
                .iter()
                .map(|(id, c)| (id.clone(), c.clone()))
                .collect()
        };

        let mut f = family(
            &mut encoder,
            "wasi_httpd_requests",
            "Requests answered, by manifest route, component and status code",
            MetricType::Counter,
        )?;
        for route in &routes {
            let labels = [
                ("route", route.route.as_str()),
                ("component", route.component.as_str()),
            ];
            for (code, n) in route.codes() {
                counter(&mut f, &(labels, [("code", code)]), n)?;
            }
        }

        let mut f = family(
            &mut encoder,
            "wasi_httpd_request_duration_seconds",
            "Time from a request's arrival until its response body was sent",
            MetricType::Histogram,
        )?;
        for route in &routes {
            let labels = [
                ("route", route.route.as_str()),
                ("component", route.component.as_str()),
            ];
            let (sum, count, buckets) = route.durations();
            f.encode_family(&labels)?.encode_histogram(
                sum,
                count,
                &buckets,
                None::<&HashMap<usize, NoExemplar>>,
            )?;
        }

        let in_flight = i64::try_from(m.stats.in_flight()).unwrap_or(i64::MAX);
        family(
            &mut encoder,
            "wasi_httpd_requests_in_flight",
            "Requests being served now (queued ones included)",
            MetricType::Gauge,
        )?
        .encode_gauge(&in_flight)?;
        family(
            &mut encoder,
            "wasi_httpd_requests_queued",
            "Requests waiting for a slot (--max-concurrent-requests all busy)",
            MetricType::Gauge,
        )?
        .encode_gauge(&i64::from(m.queued.load(Ordering::Relaxed)))?;

        let mut f = family(
            &mut encoder,
            "wasi_httpd_rejected",
            "Requests and connections turned away before a guest saw them, by reason",
            MetricType::Counter,
        )?;
        for (reason, n) in Reject::ALL.iter().zip(&m.rejected) {
            counter(
                &mut f,
                &[("reason", reason.label())],
                n.load(Ordering::Relaxed),
            )?;
        }

        let mut f = family(
            &mut encoder,
            "wasi_httpd_guest_errors",
            "Requests a guest failed, by component and kind",
            MetricType::Counter,
        )?;
        for (id, c) in &components {
            for (kind, n) in c.guest_errors() {
                counter(&mut f, &[("component", id.as_str()), ("kind", kind)], n)?;
            }
        }

        let mut f = family(
            &mut encoder,
            "wasi_httpd_connections_open",
            "Client connections open now, by listening socket name",
            MetricType::Gauge,
        )?;
        for (name, open) in m.listeners.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            gauge(
                &mut f,
                &[("listener", name.as_str())],
                open.load(Ordering::Relaxed),
            )?;
        }
        family(
            &mut encoder,
            "wasi_httpd_tls_handshake_failures",
            "TLS handshakes that failed or timed out",
            MetricType::Counter,
        )?
        .encode_counter(
            &m.tls_handshake_failures.load(Ordering::Relaxed),
            None::<&NoExemplar>,
        )?;

        let mut f = family(
            &mut encoder,
            "wasi_httpd_outbound_requests",
            "Guests' outbound HTTP requests, by component and result",
            MetricType::Counter,
        )?;
        for (id, c) in &components {
            for (result, n) in c.outbound_counts() {
                counter(&mut f, &[("component", id.as_str()), ("result", result)], n)?;
            }
        }

        family(
            &mut encoder,
            "wasi_httpd_instances_active",
            "Guest instances alive now",
            MetricType::Gauge,
        )?
        .encode_gauge(&m.instances_active.load(Ordering::Relaxed))?;
        let made: fn(&ComponentMetrics) -> u64 = ComponentMetrics::instances_made;
        let reused: fn(&ComponentMetrics) -> u64 = ComponentMetrics::reuses;
        for (name, help, count) in [
            (
                "wasi_httpd_instances_created",
                "Guest instances made, by component",
                made,
            ),
            (
                "wasi_httpd_instance_reuses",
                "Requests served by a wasi:http 0.3 instance that had served one before, by component",
                reused,
            ),
        ] {
            let mut f = family(&mut encoder, name, help, MetricType::Counter)?;
            for (id, c) in &components {
                counter(&mut f, &[("component", id.as_str())], count(c))?;
            }
        }

        let mut f = family(
            &mut encoder,
            "wasi_httpd_reloads",
            "Reloads (SIGHUP), by result",
            MetricType::Counter,
        )?;
        for (result, n) in ["ok", "failed"].iter().zip(&m.reloads) {
            counter(&mut f, &[("result", *result)], n.load(Ordering::Relaxed))?;
        }
        {
            let app = m.app.lock().unwrap_or_else(|e| e.into_inner());
            if !app.0.is_empty() {
                family(
                    &mut encoder,
                    "wasi_httpd_app",
                    "The app served now (its manifest's name and version)",
                    MetricType::Info,
                )?
                .encode_info(&[("app", app.0.as_str()), ("version", app.1.as_str())])?;
            }
        }
        family(
            &mut encoder,
            "wasi_httpd_ready",
            "1 while the app is loaded and served, 0 while loading or draining",
            MetricType::Gauge,
        )?
        .encode_gauge(&i64::from(m.phase() == Phase::Serving))?;
        for (name, help, n) in [
            (
                "wasi_httpd_compile_cache_hits",
                "Components loaded compiled from the compile cache",
                &m.compile_cache[0],
            ),
            (
                "wasi_httpd_compile_cache_misses",
                "Components compiled because the compile cache had no valid entry",
                &m.compile_cache[1],
            ),
        ] {
            family(&mut encoder, name, help, MetricType::Counter)?
                .encode_counter(&n.load(Ordering::Relaxed), None::<&NoExemplar>)?;
        }
        Ok(())
    }
}
