//! One generation of a loaded app: the manifest turned into a router, static
//! responses and compiled, pre-instantiated components. A reload builds a
//! new generation beside the old one and swaps it in whole.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};

use crate::base::metrics::{self, CacheLookup, Metrics, RouteMetrics};
use crate::guest::data::{self, kv::Backends, runtime_config::RuntimeConfig};
use crate::guest::engine::compile_cache::{CompileCache, Outcome};
use crate::guest::executor::{Compiled, ComponentSetup, LoadedComponent, ReuseLimits, Starting};
use crate::guest::wasi_rc::p3_candidate;
use crate::load::compose::inputs::Inputs;
use crate::model::manifest::{self, Executor, Handler, RouteSpec, StaticResponse};
use crate::model::mounts;
use crate::model::outbound_hosts::AllowedHosts;
use crate::model::router::{ParsedRoute, RouteWarning, Router};
use crate::model::variables::{self, Providers, Resolved, VariableSpec};

/// What a trigger answers with.
pub enum Target {
    Component(Arc<LoadedComponent>),
    Static(StaticResponse),
}

pub struct Trigger {
    pub id: String,
    pub target: Target,
    /// The component's description, shown under its route at start.
    pub description: Option<String>,
    /// Its requests' counters (`route`, `component` labels).
    pub metrics: Arc<RouteMetrics>,
}

impl Trigger {
    /// The name shown in the route table and the access log: the component
    /// id, or the trigger id for a static response.
    pub fn name(&self) -> &str {
        match &self.target {
            Target::Component(c) => c.id(),
            Target::Static(_) => &self.id,
        }
    }
}

/// A loaded, ready-to-serve app.
pub struct LoadedApp {
    pub name: String,
    pub version: Option<String>,
    pub manifest_path: PathBuf,
    pub router: Router<usize>,
    /// Indexed by the router's targets, in manifest order.
    pub triggers: Vec<Trigger>,
    /// Set once the "no route matched" hint has been logged.
    pub not_found_hinted: AtomicBool,
}

/// What the command line adds to every generation, as `spin up` does.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `--env`: environment for every component, over the manifest's.
    pub env: Vec<(String, String)>,
    /// `--state-dir`: where key-value data lives.
    pub state_dir: Option<PathBuf>,
    /// systemd's state directory, under the runtime configuration's.
    pub systemd_state_dir: Option<PathBuf>,
    /// Where the components' `files` trees are staged.
    pub staging_dir: PathBuf,
    /// `--runtime-config-file`: where stores and databases live, read at
    /// every load.
    pub runtime_config: Option<PathBuf>,
    /// `--key-value`: keys set in the `default` store at the first load.
    pub key_values: Vec<(String, String)>,
    /// `--sqlite`: statements run at the first load.
    pub sqlite_statements: Vec<String>,
    /// Compiled components kept on disk between processes (`None`: off).
    pub compile_cache: Option<CompileCache>,
}

/// The directories a component's files come from and are staged in.
#[derive(Clone, Copy)]
struct Dirs<'a> {
    /// The manifest's directory.
    base: &'a Path,
    staging: &'a Path,
}

/// A trigger's component key (id, WAGI argv, middleware) → the
/// fingerprint of the files it was compiled from, and the compiled component.
type ReloadCache = HashMap<String, ([u8; 32], Compiled)>;

/// Loads app generations from one manifest, keeping compiled components
/// between loads so that a reload compiles only new or changed ones.
pub struct Loader {
    /// Built beside the first load's reading of the manifest and files.
    runtime: Starting,
    manifest: PathBuf,
    /// Where variable values come from (flags, environment, credentials).
    providers: Providers,
    /// Instance reuse for wasi:http 0.3 components.
    reuse: ReuseLimits,
    /// `--env`, `--state-dir` and `--key-value`.
    options: LoadOptions,
    /// The open key-value backends, kept across loads.
    kv: Mutex<Backends>,
    /// Whether `--key-value` and `--sqlite` have been applied (at the
    /// first load).
    seeded: AtomicBool,
    /// Compiled components of the last load.
    cache: Mutex<ReloadCache>,
    /// Where routes and components get their counters.
    metrics: Arc<Metrics>,
}

impl Loader {
    pub fn new(
        runtime: Starting,
        manifest: PathBuf,
        providers: Providers,
        reuse: ReuseLimits,
        options: LoadOptions,
        metrics: Arc<Metrics>,
    ) -> Result<Self> {
        Ok(Self {
            runtime,
            manifest,
            providers,
            reuse,
            options,
            kv: Mutex::new(Backends::default()),
            seeded: AtomicBool::new(false),
            cache: Mutex::new(HashMap::new()),
            metrics,
        })
    }

    /// Loads the manifest and compiles every component a trigger uses.
    /// Slow (compilation): call it off the async runtime. `progress` hears
    /// what is going on ("compiling 3 components").
    pub fn load(&self, progress: &dyn Fn(&str)) -> Result<LoadedApp> {
        let app = manifest::load(&self.manifest)?;
        let manifest_path = app.manifest_path.clone();
        let runtime_config = match &self.options.runtime_config {
            Some(path) => RuntimeConfig::load(path)?,
            None => RuntimeConfig::default(),
        };
        let mut backends = self
            .kv
            .lock()
            .map_err(|_| anyhow::anyhow!("the key-value backends are unavailable"))?;
        let mut data = data::Load::begin(
            &mut backends,
            &runtime_config,
            self.options.state_dir.as_deref(),
            self.options.systemd_state_dir.as_deref(),
            &app.base_dir,
        );
        let seed = !self.seeded.load(Ordering::Relaxed);
        if seed {
            data.seed(&self.options.key_values, &self.options.sqlite_statements)?;
        }
        let specs = app
            .variables
            .iter()
            .map(|(name, v)| {
                let spec = VariableSpec {
                    default: v.default.clone(),
                    required: v.required,
                    secret: v.secret,
                };
                (name.clone(), spec)
            })
            .collect();
        let variables = variables::resolve(&specs, &self.providers)
            .map_err(|e| e.context(format!("{}: [variables]", manifest_path.display())))?;
        for name in variables.unknown_flags() {
            tracing::warn!(
                manifest = %manifest_path.display(),
                variable = %name,
                "--variable {name} is not declared under [variables] in the manifest; ignored \
                 (is it a typo?)"
            );
        }
        let in_manifest = |e: anyhow::Error| e.context(format!("{}", manifest_path.display()));

        let routes = app
            .triggers
            .iter()
            .enumerate()
            .filter_map(|(index, trigger)| match &trigger.route {
                RouteSpec::Path(route) => Some((route.clone(), index)),
                RouteSpec::Private => None,
            });
        let (router, warnings) = Router::build(routes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", manifest_path.display()))?;
        for warning in warnings {
            match warning {
                RouteWarning::Duplicate { .. } => {
                    tracing::error!(manifest = %manifest_path.display(), "{warning}")
                }
                RouteWarning::Reserved { .. } => {
                    tracing::warn!(manifest = %manifest_path.display(), "{warning}")
                }
            }
        }

        let mut used: Vec<&str> = app
            .triggers
            .iter()
            .filter_map(|t| match &t.handler {
                Handler::Component(id) => Some(id.as_str()),
                Handler::Static(_) => None,
            })
            .collect();
        used.sort_unstable();
        used.dedup();
        progress(&format!(
            "compiling {} component{}",
            used.len(),
            if used.len() == 1 { "" } else { "s" }
        ));

        let staging = &self.options.staging_dir;
        let mut fresh_cache = HashMap::new();
        let mut compiled: BTreeMap<String, Arc<LoadedComponent>> = BTreeMap::new();
        let mut triggers = Vec::with_capacity(app.triggers.len());
        for trigger in &app.triggers {
            let (target, description) = match &trigger.handler {
                Handler::Static(response) => (Target::Static(response.clone()), None),
                Handler::Component(id) => {
                    let spec = &app.components[id];
                    let key = component_key(id, trigger);
                    let component = match compiled.get(&key) {
                        Some(component) => component.clone(),
                        None => {
                            let component = Arc::new(
                                self.load_component(
                                    spec,
                                    trigger,
                                    &variables,
                                    Dirs {
                                        base: &app.base_dir,
                                        staging,
                                    },
                                    &mut data,
                                    &mut fresh_cache,
                                )
                                .map_err(in_manifest)?,
                            );
                            compiled.insert(key, component.clone());
                            component
                        }
                    };
                    (Target::Component(component), spec.description.clone())
                }
            };
            let (label, name) = match &target {
                Target::Component(c) => (&**c.id(), &**c.id()),
                Target::Static(_) => (metrics::STATIC, trigger.id.as_str()),
            };
            let route_metrics = match &trigger.route {
                RouteSpec::Path(route) => self.metrics.route(route, label, name),
                RouteSpec::Private => self.metrics.unrouted().clone(),
            };
            triggers.push(Trigger {
                id: trigger.id.clone(),
                target,
                description,
                metrics: route_metrics,
            });
        }
        if let Ok(mut cache) = self.cache.lock() {
            *cache = fresh_cache;
        }
        data.commit();
        if seed {
            self.seeded.store(true, Ordering::Relaxed);
        }
        Ok(LoadedApp {
            name: app.name,
            version: app.version,
            manifest_path,
            router,
            triggers,
            not_found_hinted: AtomicBool::new(false),
        })
    }

    /// Loads `spec` as `trigger` serves it (WAGI or not, behind its
    /// middleware).
    fn load_component(
        &self,
        spec: &manifest::Component,
        trigger: &manifest::HttpTrigger,
        variables: &Resolved,
        dirs: Dirs<'_>,
        data: &mut data::Load<'_>,
        fresh_cache: &mut ReloadCache,
    ) -> Result<LoadedComponent> {
        let key = format!("component.{}.source", spec.id);
        let cache_key = &component_key(&spec.id, trigger);
        let middleware = &trigger.middleware;
        let inputs = Inputs::read(spec, &trigger.id, middleware)?;
        let fingerprint = inputs.fingerprint();
        let started = std::time::Instant::now();
        let cached = self.cache.lock().ok().and_then(|cache| {
            cache
                .get(cache_key)
                .filter(|(f, _)| *f == fingerprint)
                .map(|(_, c)| c.clone())
        });
        let mut origin = "reused";
        let component = match cached {
            Some(component) => component,
            None => {
                let source = spec.source.display();
                let mut binary = crate::load::componentize::componentize_if_module(&inputs.source)
                    .with_context(|| format!("`{key}`: {source}"))?;
                if let Cow::Owned(_) = binary {
                    tracing::info!(component = %spec.id, "made the core WebAssembly module a component with the WASI preview 1 adapter");
                }
                if inputs.is_composed() {
                    binary = Cow::Owned(inputs.compose(&spec.id, &binary)?);
                    tracing::info!(
                        component = %spec.id,
                        dependencies = spec.dependencies.len(),
                        middleware = middleware.len(),
                        "composed the component with its dependencies and middleware"
                    );
                }
                let binary = p3_candidate::as_release(&binary)
                    .with_context(|| format!("`{key}`: {source}"))?;
                if let Cow::Owned(_) = binary {
                    tracing::info!(
                        component = %spec.id,
                        "the component uses wasi {}, served as the identical 0.3.0",
                        p3_candidate::CANDIDATE
                    );
                }
                let invalid = |e: anyhow::Error| {
                    anyhow::anyhow!(
                        "`{key}`: {source} is not a valid WebAssembly component: {e:#}; \
                         build it for wasm32-wasip2 or wasm32-wasip1 so that it exports \
                         an HTTP handler such as wasi:http/incoming-handler"
                    )
                };
                let cache = self.options.compile_cache.as_ref();
                let (component, outcome) =
                    self.runtime.compile(&binary, &spec.id, cache, invalid)?;
                if let Some(outcome) = outcome {
                    self.metrics.compile_cache(match outcome {
                        Outcome::Hit => CacheLookup::Hit,
                        Outcome::Stored | Outcome::NotStored => CacheLookup::Miss,
                    });
                }
                origin = match outcome {
                    Some(Outcome::Hit) => "compile cache",
                    Some(Outcome::Stored) => "compiled, cached",
                    Some(Outcome::NotStored) | None => "compiled",
                };
                component
            }
        };
        let files = mounts::prepare(&spec.id, &spec.files, dirs.base, dirs.staging)
            .with_context(|| format!("`component.{}.files`", spec.id))?;
        let mut environment: Vec<(String, String)> = spec
            .environment
            .iter()
            .filter(|(k, _)| !self.options.env.iter().any(|(name, _)| name == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        environment.extend(self.options.env.iter().cloned());
        let key = format!("component.{}.allowed_outbound_hosts", spec.id);
        let entries = spec
            .allowed_outbound_hosts
            .iter()
            .map(|entry| {
                variables
                    .render(entry)
                    .with_context(|| format!("`{key}`: {entry:?}"))
            })
            .collect::<Result<Vec<_>>>()?;
        let allowed = AllowedHosts::parse(&entries).map_err(|e| anyhow::anyhow!("`{key}`: {e}"))?;
        let component_variables = spec
            .variables
            .iter()
            .map(|(name, template)| {
                let value = variables
                    .render(template)
                    .with_context(|| format!("`component.{}.variables.{name}`", spec.id))?;
                Ok((name.clone(), value))
            })
            .collect::<Result<std::collections::BTreeMap<_, _>>>()?;
        let stores = data
            .stores(&spec.id, &spec.key_value_stores, &spec.sqlite_databases)
            .map_err(|e| e.context(format!("component `{}`", spec.id)))?;
        let loaded = self
            .runtime
            .get()?
            .load(
                &spec.id,
                &component,
                ComponentSetup {
                    environment,
                    files_root: files,
                    allowed,
                    variables: Arc::new(component_variables),
                    stores,
                    metrics: self.metrics.component(&spec.id),
                },
                wagi_of(trigger),
                &self.reuse,
            )
            .with_context(|| format!("component `{}` ({})", spec.id, spec.source.display()))?;
        tracing::info!(
            component = %spec.id,
            executor = loaded.executor_name(),
            origin,
            duration_ms = started.elapsed().as_millis() as u64,
            "component ready"
        );
        fresh_cache.insert(cache_key.to_owned(), (fingerprint, component));
        Ok(loaded)
    }
}

impl LoadedApp {
    /// The routes in manifest order, for the table printed at start.
    pub fn routes(&self) -> impl Iterator<Item = (&ParsedRoute, &Trigger)> {
        self.router
            .routes()
            .map(|(route, &index)| (route, &self.triggers[index]))
    }

    /// The component with this id, for service chaining.
    pub fn component(&self, id: &str) -> Option<&Arc<LoadedComponent>> {
        self.triggers.iter().find_map(|t| match &t.target {
            Target::Component(c) if &**c.id() == id => Some(c),
            _ => None,
        })
    }

    /// True the first time it is called: log the catch-all hint only once.
    pub fn first_not_found(&self) -> bool {
        !self.not_found_hinted.swap(true, Ordering::Relaxed)
    }

    /// How many distinct components are compiled.
    pub fn component_count(&self) -> usize {
        let mut ids: Vec<&str> = self
            .triggers
            .iter()
            .filter_map(|t| match &t.target {
                Target::Component(c) => Some(&**c.id()),
                Target::Static(_) => None,
            })
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }
}

/// What one loaded component is: the component as `trigger` serves it. One
/// component may serve an HTTP trigger and WAGI ones with different argv,
/// and behind different middleware.
fn component_key(id: &str, trigger: &manifest::HttpTrigger) -> String {
    let mut key = match wagi_of(trigger) {
        Some(wagi) => format!("{id}#wagi#{}", wagi.argv),
        None => id.to_owned(),
    };
    for layer in &trigger.middleware {
        key.push_str(&format!("#mw#{layer:?}"));
    }
    key
}

/// The trigger's WAGI settings, if it runs its component as WAGI.
fn wagi_of(trigger: &manifest::HttpTrigger) -> Option<&manifest::WagiExecutor> {
    match &trigger.executor {
        Some(Executor::Wagi(spec)) => Some(spec),
        _ => None,
    }
}
