//! `allowed_outbound_hosts`: which network destinations a component may reach.
//!
//! Each entry has Spin's form `<scheme>://<host>[:<port>]` (no path, query or user
//! info); the rules below follow Spin's `spin-outbound-networking-config` crate
//! (`allowed_hosts.rs`) and its outbound HTTP factor:
//!
//! * **scheme**: `*` (any) or a word of letters (`http`, `https`, `redis`, `postgres`,
//!   `mysql`, `mqtt`, ...). Compared case-insensitively.
//! * **host**: `*` (any host, names and IP addresses alike); `*.example.com` (any name
//!   *below* `example.com`, at any depth, but **not** `example.com` itself); a literal
//!   name (case-insensitive); an IPv4 address or a bracketed IPv6 address (`[::1]`); a
//!   CIDR range written `10.0.0.0/8` or `fd00::/8` (host bits are truncated, as Spin's
//!   `IpNetwork::from_str_truncate` does); `self` or `self.alt` (requests to the app
//!   itself, see [`AllowedHosts::allows_self`]).
//! * **port**: `*`, a number, or a range `a..b` whose end is **exclusive**
//!   (`8000..8002` allows 8000 and 8001). Without a port, the scheme's default is
//!   meant: http 80, https 443, redis 6379, postgres 5432, mysql 3306, mqtt 1883
//!   (Spin's `well_known_port`); any other scheme, and `*`, need an explicit port.
//!   A request URL without a port is checked with the same default.
//! * `insecure:allow-all` is rejected (Spin rejects it in manifest v2 and suggests
//!   `*://*:*`). A trailing `/` is accepted; a path is not.
//! * `{{ variable }}` templates must be rendered by the caller before [`AllowedHosts::parse`]
//!   (see [`has_template`]); an unrendered template is an error.
//!
//! Service chaining: a request to `http://<component-id>.spin.internal` goes to that
//! component of the same app, and is allowed like any other URL, so it needs an entry
//! such as `http://<component-id>.spin.internal` or `http://*.spin.internal` (or a
//! wider one such as `*://*:*`).
//!
//! Deliberate differences from Spin, all in parsing (what is allowed once an entry
//! parses is the same): a bracketed IPv6 host without a port (`http://[::1]`, which
//! the legacy `allowed_http_hosts` conversion can produce) is accepted with the
//! scheme's default port, where Spin's split on the last `:` rejects it; host names
//! must be ASCII (write internationalized names as `xn--` punycode); an empty scheme
//! (`://host:80`, which Spin accepts but can never match) is rejected.

use std::fmt;

use http::Uri;

/// The domain under which service chaining addresses components: `<id>.spin.internal`.
pub const SERVICE_CHAINING_DOMAIN: &str = "spin.internal";

/// The parsed `allowed_outbound_hosts` of one component. The default is [`AllowedHosts::none`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    entries: Vec<Entry>,
}

/// An entry that could not be parsed: the entry as written and what is wrong with it
/// (including how to write it instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHostsError {
    pub entry: String,
    pub reason: String,
}

impl fmt::Display for AllowedHostsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid allowed_outbound_hosts entry {:?}: {}",
            self.entry, self.reason
        )
    }
}

impl std::error::Error for AllowedHostsError {}

impl AllowedHosts {
    /// Parse the entries of one component; errors name the entry and say how to fix it.
    /// Entries must already have their `{{ variable }}` templates rendered.
    pub fn parse(entries: &[String]) -> Result<AllowedHosts, AllowedHostsError> {
        let entries = entries
            .iter()
            .map(|raw| {
                Entry::parse(raw).map_err(|reason| AllowedHostsError {
                    entry: raw.clone(),
                    reason,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(AllowedHosts { entries })
    }

    /// No entries: everything denied.
    pub fn none() -> AllowedHosts {
        AllowedHosts::default()
    }

    /// Whether there are no entries (so every outbound request is denied).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries as written, in order.
    pub fn entries(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.original.as_str())
    }

    /// Entries that parse but can never match anything (an empty port range such as
    /// `8080..8080`, whose end is exclusive). Spin accepts them silently; a caller may
    /// want to warn.
    pub fn warnings(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter_map(|e| match e.port {
                PortPattern::Range { start, end } if start >= end => Some(format!(
                    "allowed_outbound_hosts entry {:?} never matches: the port range \
                     {start}..{end} is empty (the end is exclusive; write {start}..{} \
                     or just {start})",
                    e.original,
                    start.saturating_add(1)
                )),
                _ => None,
            })
            .collect()
    }

    /// Is an outbound request to this URL allowed? `url` is absolute (scheme, host,
    /// optional port). A self request (no authority, or host `self.alt`, see
    /// [`is_self_request`]) is answered by [`AllowedHosts::allows_self`], as in Spin.
    pub fn allows(&self, url: &Uri) -> bool {
        if is_self_request(url) {
            return self.allows_self();
        }
        let (Some(scheme), Some(host)) = (url.scheme_str(), url.host()) else {
            return false;
        };
        self.allows_parts(scheme, host, url.port_u16())
    }

    /// Is a request to `scheme://host[:port]` allowed? `host` is a name, an IPv4
    /// address or an IPv6 address (bracketed or not); `port` `None` means the scheme's
    /// default. Useful for non-HTTP connections (`redis`, `postgres`, ...).
    pub fn allows_parts(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        let Some(host) = RequestHost::parse(host) else {
            return false;
        };
        let port = port.or_else(|| default_port(&scheme));
        self.entries
            .iter()
            .any(|e| e.scheme.matches(&scheme) && e.host.matches(&host) && e.port.matches(port))
    }

    /// Does an entry allow TCP or UDP sockets (scheme `tcp`, `udp` or `*`)?
    /// Only then may the guest look names up.
    pub fn allows_sockets(&self) -> bool {
        self.entries
            .iter()
            .any(|e| e.scheme.matches("tcp") || e.scheme.matches("udp"))
    }

    /// Is a self request (a URL without authority, or host `self.alt`) allowed? It is
    /// when an entry allows scheme `http` or `https` and its host is `self`,
    /// `self.alt` or `*` (so `*://*:*` allows it too), whatever its port, as in Spin's
    /// `allows_relative_url(&["http", "https"])`.
    pub fn allows_self(&self) -> bool {
        self.entries.iter().any(|e| {
            (e.scheme.matches("http") || e.scheme.matches("https"))
                && matches!(e.host, HostPattern::Any | HostPattern::ToSelf)
        })
    }
}

/// The host name Spin gives the app itself in absolute self-request URLs;
/// relative URLs are given it too (see [`crate::guest::host::relative_urls`]).
pub const SELF_HOST: &str = "self.alt";

/// For a host like `api.spin.internal`, the component id `api` (as written, case
/// kept). Like Spin, only a single label before `.spin.internal` counts
/// (`a.b.spin.internal` is not a chaining host); a `:port` suffix is ignored.
pub fn chained_component(host: &str) -> Option<&str> {
    let host = host.trim();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let (id, domain) = host.split_once('.')?;
    (!id.is_empty() && domain.eq_ignore_ascii_case(SERVICE_CHAINING_DOMAIN)).then_some(id)
}

/// Is this request addressed to the app itself? As in Spin's outbound HTTP: a URL
/// without authority (or with an empty host, as wasmtime fills in for relative
/// URLs), or with host `self.alt` (for SDKs that insist on an absolute URL).
pub fn is_self_request(url: &Uri) -> bool {
    match url.authority() {
        None => true,
        Some(authority) => {
            authority.host().is_empty() || authority.host().eq_ignore_ascii_case(SELF_HOST)
        }
    }
}

/// Does this entry still contain a `{{ variable }}` template to render first?
pub fn has_template(entry: &str) -> bool {
    entry.contains("{{")
}

/// The default port of a scheme, as Spin knows them: http 80, https 443, redis 6379,
/// postgres 5432, mysql 3306, mqtt 1883. `scheme` must be lower-case.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "redis" => Some(6379),
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "mqtt" => Some(1883),
        _ => None,
    }
}

mod addresses;
mod entry;

use entry::{Entry, HostPattern, PortPattern, RequestHost, mask};

#[cfg(test)]
mod tests;
