//! The start-up output on stdout, as `spin up` prints it: `Serving URL`,
//! then each route with its component and description; or the same as JSON.

use std::io::Write;

use serde::Serialize;

use crate::load::app::LoadedApp;
use crate::process::cli::Format;

#[derive(Serialize)]
struct Table<'a> {
    base_url: &'a str,
    routes: Vec<Route<'a>>,
}

#[derive(Serialize)]
struct Route<'a> {
    id: &'a str,
    route: String,
    wildcard: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
}

/// Renders the table for `base_urls` (the first is the JSON `base_url`).
pub fn render(app: &LoadedApp, base_urls: &[String], format: Format) -> String {
    let base = base_urls
        .first()
        .map(String::as_str)
        .unwrap_or("http://localhost");
    match format {
        Format::Text => {
            let mut out = String::new();
            for url in base_urls {
                out.push_str(&format!("Serving {url}\n"));
            }
            out.push_str("Available Routes:\n");
            for (route, trigger) in app.routes() {
                let wildcard = if route.is_wildcard() {
                    " (wildcard)"
                } else {
                    ""
                };
                out.push_str(&format!(
                    "  {}: {base}{}{wildcard}\n",
                    trigger.name(),
                    route.display_path()
                ));
                if let Some(description) = &trigger.description {
                    out.push_str(&format!("    {description}\n"));
                }
            }
            out
        }
        Format::Json => {
            let table = Table {
                base_url: base,
                routes: app
                    .routes()
                    .map(|(route, trigger)| Route {
                        id: trigger.name(),
                        route: if route.display_path().is_empty() {
                            "/".to_owned()
                        } else {
                            route.display_path().to_owned()
                        },
                        wildcard: route.is_wildcard(),
                        description: trigger.description.as_deref(),
                    })
                    .collect(),
            };
            let mut json = serde_json::to_string_pretty(&table).unwrap_or_default();
            json.push('\n');
            json
        }
    }
}

/// Prints the table; a closed stdout is not an error worth failing for.
pub fn print(app: &LoadedApp, base_urls: &[String], format: Format) {
    let text = render(app, base_urls, format);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}
