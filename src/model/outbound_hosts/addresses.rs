//! Where a name may lead: the address an outgoing request actually
//! connects to, after DNS, is checked too, so that an allowed name (or a
//! wildcard) cannot be pointed at the host itself, the local network or the
//! cloud metadata service (DNS rebinding, odd literals such as
//! `2130706433` or `::ffff:127.0.0.1`).
//!
//! - Link-local addresses (`169.254.0.0/16`, `fe80::/10`) are never
//!   reached.
//! - Loopback, unspecified (`0.0.0.0`, `::`), private (`10/8`,
//!   `172.16/12`, `192.168/16`, `100.64/10`, `fc00::/7`) and multicast or
//!   broadcast addresses are reached only when an entry names them: an IP
//!   address or CIDR range containing the address, or `localhost` for a
//!   loopback address of the URL host `localhost`.
//! - Every other address is public: the name check alone decides.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{AllowedHosts, HostPattern, mask};

/// What kind of place an address is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Public,
    LinkLocal,
    Loopback,
    Local,
}

/// An IPv4 address in IPv6 clothes (`::ffff:a.b.c.d`) as the IPv4 one.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn place(ip: IpAddr) -> Place {
    match canonical(ip) {
        IpAddr::V4(v4) => place_v4(v4),
        IpAddr::V6(v6) => place_v6(v6),
    }
}

fn place_v4(ip: Ipv4Addr) -> Place {
    let [a, b, ..] = ip.octets();
    if ip.is_link_local() {
        Place::LinkLocal
    } else if ip.is_loopback() || ip.is_unspecified() || a == 0 {
        Place::Loopback
    } else if ip.is_private()
        || (a == 100 && (64..128).contains(&b))
        || ip.is_multicast()
        || ip.is_broadcast()
    {
        Place::Local
    } else {
        Place::Public
    }
}

fn place_v6(ip: Ipv6Addr) -> Place {
    let first = ip.segments()[0];
    if first & 0xffc0 == 0xfe80 {
        Place::LinkLocal
    } else if ip.is_loopback() || ip.is_unspecified() {
        Place::Loopback
    } else if first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfec0 || ip.is_multicast() {
        Place::Local
    } else {
        Place::Public
    }
}

impl AllowedHosts {
    /// May a request to `scheme://host:port`, allowed by name, connect to
    /// `ip`, an address `host` resolved to? The reason when not.
    pub fn may_connect(
        &self,
        scheme: &str,
        host: &str,
        ip: IpAddr,
        port: u16,
    ) -> Result<(), String> {
        let kind = match place(ip) {
            Place::Public => return Ok(()),
            Place::LinkLocal => {
                return Err(format!(
                    "{host} is {ip}, a link-local address (such as the cloud metadata service), which guests never reach"
                ));
            }
            Place::Loopback => "loopback",
            Place::Local => "private",
        };
        if self.names_address(scheme, host, ip, port) {
            return Ok(());
        }
        Err(format!(
            "{host} is {ip}, a {kind} address, which no entry names; to allow it, add \
             {scheme}://{}:{port} to allowed_outbound_hosts",
            match canonical(ip) {
                IpAddr::V6(v6) => format!("[{v6}]"),
                v4 => v4.to_string(),
            }
        ))
    }

    /// Does an entry name `ip` itself (an address or a range holding it),
    /// or `localhost` for a loopback `ip` of the host `localhost`?
    fn names_address(&self, scheme: &str, host: &str, ip: IpAddr, port: u16) -> bool {
        let ip = canonical(ip);
        let localhost = host.trim_end_matches('.').eq_ignore_ascii_case("localhost")
            && place(ip) == Place::Loopback;
        let scheme = scheme.to_ascii_lowercase();
        self.entries.iter().any(|e| {
            e.scheme.matches(&scheme)
                && e.port.matches(Some(port))
                && match &e.host {
                    HostPattern::Ip(named) => canonical(*named) == ip,
                    HostPattern::Cidr { network, prefix } => {
                        network.is_ipv4() == ip.is_ipv4() && mask(ip, *prefix) == *network
                    }
                    HostPattern::Name(name) => localhost && name == "localhost",
                    _ => false,
                }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&entries.iter().map(|e| e.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ok(h: &AllowedHosts, host: &str, ip: &str, port: u16) -> bool {
        h.may_connect("http", host, ip.parse().unwrap(), port)
            .is_ok()
    }

    #[test]
    fn link_local_is_never_reached() {
        let h = hosts(&["*://*:*", "http://169.254.169.254", "http://169.254.0.0/16"]);
        for ip in ["169.254.169.254", "fe80::1", "::ffff:169.254.169.254"] {
            assert!(!ok(&h, "metadata.example", ip, 80), "{ip}");
        }
    }

    #[test]
    fn loopback_and_private_need_an_entry_naming_them() {
        let wild = hosts(&["http://*:*", "http://*.example.com"]);
        for ip in [
            "127.0.0.1",
            "127.1.2.3",
            "::1",
            "0.0.0.0",
            "::",
            "::ffff:127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
        ] {
            assert!(!ok(&wild, "a.example.com", ip, 80), "{ip}");
        }
        let named = hosts(&[
            "http://127.0.0.1:8080",
            "http://10.0.0.0/8",
            "http://[::1]:8080",
        ]);
        assert!(ok(&named, "127.0.0.1", "127.0.0.1", 8080));
        assert!(ok(&named, "2130706433", "127.0.0.1", 8080));
        assert!(!ok(&named, "127.0.0.1", "127.0.0.1", 9090), "port checked");
        assert!(ok(&named, "db.internal", "10.1.2.3", 80));
        assert!(ok(&named, "::1", "::1", 8080));
        assert!(!ok(&named, "x", "192.168.0.1", 80));
    }

    #[test]
    fn localhost_entry_allows_loopback_for_localhost_only() {
        let h = hosts(&["http://localhost:*"]);
        assert!(ok(&h, "localhost", "127.0.0.1", 3000));
        assert!(ok(&h, "LOCALHOST.", "::1", 3000));
        assert!(!ok(&h, "rebound.example", "127.0.0.1", 3000));
        assert!(!ok(&h, "localhost", "10.0.0.1", 3000));
    }

    #[test]
    fn public_addresses_pass() {
        let h = hosts(&["https://*.example.com"]);
        assert!(
            h.may_connect(
                "https",
                "a.example.com",
                "93.184.216.34".parse().unwrap(),
                443
            )
            .is_ok()
        );
        assert!(
            h.may_connect(
                "https",
                "a.example.com",
                "2606:2800::1".parse().unwrap(),
                443
            )
            .is_ok()
        );
    }
}
