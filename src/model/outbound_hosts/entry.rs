//! One `allowed_outbound_hosts` entry: how it is parsed (scheme, host
//! pattern, port pattern, with errors that say how to write it) and what
//! it matches. The rules are described in [`super`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{SELF_HOST, default_port, has_template};

/// How an entry looks, appended to most parse errors.
const FORM: &str = "entries have the form <scheme>://<host>[:<port>], \
    e.g. \"https://api.example.com\", \"redis://db.internal:6379\" or \"http://*.spin.internal\"";

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) original: String,
    pub(super) scheme: SchemePattern,
    pub(super) host: HostPattern,
    pub(super) port: PortPattern,
}

/// Entries are equal when they allow the same destinations, however written (as in Spin).
impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (&self.scheme, &self.host, &self.port) == (&other.scheme, &other.host, &other.port)
    }
}

impl Eq for Entry {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SchemePattern {
    Any,
    /// Lower-case.
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum HostPattern {
    Any,
    /// `*.example.com`, stored as the suffix `.example.com` (lower-case).
    Subdomains(String),
    /// `self` / `self.alt`: only self requests, never an absolute URL.
    ToSelf,
    /// A literal host name, lower-case.
    Name(String),
    Ip(IpAddr),
    /// A network address (host bits cleared) and its prefix length.
    Cidr {
        network: IpAddr,
        prefix: u8,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PortPattern {
    Any,
    Exact(u16),
    /// `start..end`, end exclusive.
    Range {
        start: u16,
        end: u16,
    },
}

/// The host of a request, normalized for matching.
pub(super) enum RequestHost {
    Ip(IpAddr),
    /// Lower-case.
    Name(String),
}

impl Entry {
    pub(super) fn parse(raw: &str) -> Result<Entry, String> {
        let text = raw.trim();
        if has_template(text) {
            return Err(
                "it contains an unrendered `{{ variable }}` template; application \
                        variables must be substituted before the entry is checked"
                    .into(),
            );
        }
        if text == "insecure:allow-all" {
            return Err(
                "`insecure:allow-all` is not allowed with spin_manifest_version = 2 \
                        (Spin rejects it too); use \"*://*:*\" if you really want to allow all \
                        outbound traffic"
                    .into(),
            );
        }
        let Some((scheme_text, rest)) = text.split_once("://") else {
            return Err(match text {
                "*" | ":" | "" | "?" => format!(
                    "this is not an outbound host; {FORM}, with `*` allowed for each part. \
                     To allow all outbound networking (no sandboxing at all), use \"*://*:*\""
                ),
                _ => format!(
                    "it has no scheme; write e.g. \"https://{text}\" (or `*://` with a port for \
                     any scheme); {FORM}"
                ),
            });
        };
        let scheme = parse_scheme(scheme_text)?;
        let (host_text, port_text) = split_host_port(rest)?;
        let host = parse_host(host_text)?;
        let port = parse_port(port_text, &scheme)?;
        Ok(Entry {
            original: raw.to_owned(),
            scheme,
            host,
            port,
        })
    }
}

fn parse_scheme(text: &str) -> Result<SchemePattern, String> {
    if text == "*" {
        return Ok(SchemePattern::Any);
    }
    if text.starts_with('{') {
        return Err(
            "scheme lists such as {http,https} are not supported; write one entry per scheme"
                .into(),
        );
    }
    if text.is_empty() {
        return Err(format!(
            "the scheme is empty; write e.g. \"https://...\", or \"*://...\" for any scheme; {FORM}"
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(format!(
            "the scheme {text:?} may contain only letters (http, https, redis, postgres, mysql, \
             mqtt, ...), or be `*` for any scheme"
        ));
    }
    Ok(SchemePattern::Exact(text.to_ascii_lowercase()))
}

/// Splits what follows `://` into host and optional port text. The host keeps IPv6
/// brackets and a CIDR `/prefix`.
fn split_host_port(rest: &str) -> Result<(&str, Option<&str>), String> {
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() {
        return Err(format!("it has no host; use `*` for any host; {FORM}"));
    }
    if rest.contains(['?', '#']) {
        return Err(format!("it must not contain a query or fragment; {FORM}"));
    }
    if rest.contains('@') {
        return Err(format!(
            "it must not contain user information (`user@`); {FORM}"
        ));
    }
    if let Some(c) = rest.chars().find(|c| c.is_whitespace()) {
        return Err(format!("it must not contain whitespace ({c:?}); {FORM}"));
    }
    let (host, port) = if let Some(slash) = rest.find('/') {
        // Only a CIDR prefix may follow a '/': `10.0.0.0/8[:port]`, `fd00::/8[:port]`.
        let after = &rest[slash + 1..];
        let (prefix, port) = match after.split_once(':') {
            Some((prefix, port)) => (prefix, Some(port)),
            None => (after, None),
        };
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "it must not contain a path (\"/{after}\"); outbound hosts are checked by \
                 scheme, host and port only, so drop the path; {FORM}"
            ));
        }
        (&rest[..slash + 1 + prefix.len()], port)
    } else if rest.starts_with('[') {
        let Some(close) = rest.find(']') else {
            return Err(
                "the IPv6 address has no closing `]`; write e.g. \"http://[::1]:8080\"".into(),
            );
        };
        let tail = &rest[close + 1..];
        let port = if tail.is_empty() {
            None
        } else if let Some(port) = tail.strip_prefix(':') {
            Some(port)
        } else {
            return Err(format!(
                "unexpected {tail:?} after the IPv6 address; write e.g. \"http://[::1]:8080\""
            ));
        };
        (&rest[..=close], port)
    } else if rest.matches(':').count() > 1 {
        return Err(format!(
            "IPv6 addresses must be written in brackets, e.g. \"http://[::1]:8080\"; \
             got {rest:?}"
        ));
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    // `host:` means the default port, as in Spin.
    Ok((host, port.filter(|p| !p.is_empty())))
}

fn parse_host(text: &str) -> Result<HostPattern, String> {
    if text.is_empty() {
        return Err(format!("it has no host; use `*` for any host; {FORM}"));
    }
    if text == "*" {
        return Ok(HostPattern::Any);
    }
    let lower = text.to_ascii_lowercase();
    if lower == "self" || lower == SELF_HOST {
        return Ok(HostPattern::ToSelf);
    }
    if text.starts_with('{') {
        return Err(
            "host lists such as {a.com,b.com} are not supported; write one entry per host".into(),
        );
    }
    if let Some((addr, prefix)) = text.split_once('/') {
        return parse_cidr(text, addr, prefix);
    }
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner.strip_suffix(']').unwrap_or(inner);
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| HostPattern::Ip(IpAddr::V6(ip)))
            .map_err(|_| format!("{text:?} is not a valid IPv6 address"));
    }
    if let Ok(ip) = text.parse::<Ipv4Addr>() {
        return Ok(HostPattern::Ip(IpAddr::V4(ip)));
    }
    if text.contains(':') {
        return Err(format!(
            "IPv6 addresses must be written in brackets, e.g. \"http://[::1]:8080\" \
             (the host was read as {text:?})"
        ));
    }
    if let Some(domain) = lower.strip_prefix("*.") {
        if domain.contains('*') {
            return Err("`*` is allowed only once, as the first label (`*.example.com`)".into());
        }
        check_domain(domain)?;
        return Ok(HostPattern::Subdomains(format!(".{domain}")));
    }
    if text.contains('*') {
        return Err(format!(
            "`*` is allowed only as the whole host (`*`) or as a leading `*.` label \
             (`*.example.com` matches every name below example.com, but not example.com \
             itself); the host was {text:?}"
        ));
    }
    check_domain(&lower)?;
    Ok(HostPattern::Name(lower))
}

fn parse_cidr(text: &str, addr: &str, prefix: &str) -> Result<HostPattern, String> {
    let bare = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    let ip: IpAddr = bare.parse().map_err(|_| {
        format!(
            "{text:?}: a `/prefix` is only allowed after an IP address (a CIDR range such as \
             10.0.0.0/8 or fd00::/8), and entries must not contain a path"
        )
    })?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = prefix
        .parse::<u8>()
        .ok()
        .filter(|p| *p <= max)
        .ok_or_else(|| {
            format!("{text:?}: the CIDR prefix length must be a number from 0 to {max}")
        })?;
    Ok(HostPattern::Cidr {
        network: mask(ip, prefix),
        prefix,
    })
}

/// Clears the host bits of `ip` beyond `prefix`.
pub(super) fn mask(ip: IpAddr, prefix: u8) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => {
            let bits = u32::from(v4);
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(bits & mask))
        }
        IpAddr::V6(v6) => {
            let bits = u128::from(v6);
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(bits & mask))
        }
    }
}

fn check_domain(domain: &str) -> Result<(), String> {
    if !domain.is_ascii() {
        return Err(format!(
            "host {domain:?} is not ASCII; write internationalized names in their punycode \
             (`xn--...`) form"
        ));
    }
    if let Some(c) = domain
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(format!(
            "host {domain:?} contains {c:?}; host names may contain only letters, digits, \
             `-`, `_` and `.`; {FORM}"
        ));
    }
    let labels = domain.strip_suffix('.').unwrap_or(domain);
    if labels.is_empty() || labels.split('.').any(str::is_empty) {
        return Err(format!("host {domain:?} has an empty label"));
    }
    Ok(())
}

fn parse_port(text: Option<&str>, scheme: &SchemePattern) -> Result<PortPattern, String> {
    let Some(text) = text else {
        return match scheme {
            SchemePattern::Exact(s) => default_port(s).map(PortPattern::Exact).ok_or_else(|| {
                format!(
                    "no port was given and the scheme {s:?} has no default port (only http, \
                     https, redis, postgres, mysql and mqtt have one); add one, e.g. \
                     \"{s}://host:1234\", or `:*` for any port"
                )
            }),
            SchemePattern::Any => Err("no port was given and the scheme is `*`, which has no \
                                       default port; add one, e.g. \"*://host:443\", or `:*` \
                                       for any port"
                .into()),
        };
    };
    if text == "*" {
        return Ok(PortPattern::Any);
    }
    if text.starts_with('{') {
        return Err(
            "port lists such as {80,443} are not supported; write one entry per port, or a \
             range such as 8000..9000 (end exclusive)"
                .into(),
        );
    }
    if let Some((start, end)) = text.split_once("..") {
        let (Ok(start), Ok(end)) = (start.parse::<u16>(), end.parse::<u16>()) else {
            return Err(format!(
                "the port range {text:?} must be two numbers from 0 to 65535, as in \
                 8000..9000 (the end is exclusive)"
            ));
        };
        return Ok(PortPattern::Range { start, end });
    }
    text.parse::<u16>().map(PortPattern::Exact).map_err(|_| {
        format!(
            "the port {text:?} must be a number from 0 to 65535, `*` for any port, or a range \
             such as 8000..9000 (end exclusive)"
        )
    })
}

impl SchemePattern {
    pub(super) fn matches(&self, scheme: &str) -> bool {
        match self {
            SchemePattern::Any => true,
            SchemePattern::Exact(s) => s == scheme,
        }
    }
}

impl HostPattern {
    pub(super) fn matches(&self, host: &RequestHost) -> bool {
        match (self, host) {
            (HostPattern::Any, _) => true,
            (HostPattern::ToSelf, _) => false,
            (HostPattern::Subdomains(suffix), RequestHost::Name(name)) => {
                name.len() > suffix.len() && name.ends_with(suffix.as_str())
            }
            (HostPattern::Name(expected), RequestHost::Name(name)) => expected == name,
            (HostPattern::Ip(expected), RequestHost::Ip(ip)) => expected == ip,
            (HostPattern::Cidr { network, prefix }, RequestHost::Ip(ip)) => {
                network.is_ipv4() == ip.is_ipv4() && mask(*ip, *prefix) == *network
            }
            (HostPattern::Subdomains(_) | HostPattern::Name(_), RequestHost::Ip(_))
            | (HostPattern::Ip(_) | HostPattern::Cidr { .. }, RequestHost::Name(_)) => false,
        }
    }
}

impl PortPattern {
    pub(super) fn matches(&self, port: Option<u16>) -> bool {
        match (self, port) {
            (PortPattern::Any, _) => true,
            (_, None) => false,
            (PortPattern::Exact(p), Some(port)) => *p == port,
            (PortPattern::Range { start, end }, Some(port)) => (*start..*end).contains(&port),
        }
    }
}

impl RequestHost {
    /// `None` for a host that cannot be matched safely (odd characters): denied.
    pub(super) fn parse(host: &str) -> Option<RequestHost> {
        if let Some(inner) = host.strip_prefix('[') {
            let inner = inner.strip_suffix(']')?;
            return inner
                .parse::<Ipv6Addr>()
                .ok()
                .map(|ip| RequestHost::Ip(ip.into()));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Some(RequestHost::Ip(ip));
        }
        let ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        ok.then(|| RequestHost::Name(host.to_ascii_lowercase()))
    }
}
