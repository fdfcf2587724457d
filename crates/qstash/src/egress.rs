//! Which destinations deliveries may reach (SSRF guard). Rules name hosts (`api.example.com`,
//! `*.example.com`) or networks (`10.0.0.0/8`, `::1/128`); the special words `loopback` and
//! `private` stand for those ranges. Checked on the resolved addresses, not only on the name:
//!
//! 1. a denied host name or an address in a denied network is refused;
//! 2. an allowed host name, or an address in an allowed network, passes;
//! 3. otherwise link-local and cloud-metadata addresses and the unspecified address are
//!    refused, and so is loopback unless `allow_loopback` (on in `stashd dev`);
//! 4. everything else passes.

use std::net::IpAddr;

use ipnet::IpNet;

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A host name, or `*.suffix`.
    Host(String),
    /// A network.
    Net(IpNet),
}

impl Rule {
    /// Parses `host`, `*.suffix`, `a.b.c.d/n`, an address, `loopback` or `private`.
    pub fn parse_list(text: &str) -> Result<Vec<Rule>, String> {
        let mut out = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item.to_ascii_lowercase().as_str() {
                "loopback" => out.extend(["127.0.0.0/8", "::1/128"].iter().filter_map(|n| n.parse().ok()).map(Rule::Net)),
                "private" => out.extend(
                    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7", "100.64.0.0/10"]
                        .iter()
                        .filter_map(|n| n.parse().ok())
                        .map(Rule::Net),
                ),
                lower => {
                    if let Ok(net) = lower.parse::<IpNet>() {
                        out.push(Rule::Net(net));
                    } else if let Ok(ip) = lower.parse::<IpAddr>() {
                        out.push(Rule::Net(IpNet::from(ip)));
                    } else if lower.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'*') && !lower.is_empty() {
                        out.push(Rule::Host(lower.to_string()));
                    } else {
                        return Err(format!("{item:?} is not a host name, an address or a network"));
                    }
                }
            }
        }
        Ok(out)
    }

    fn host_matches(&self, host: &str) -> bool {
        match self {
            Rule::Host(h) => match h.strip_prefix("*.") {
                Some(suffix) => {
                    host.len() > suffix.len() + 1 && host.ends_with(suffix) && host.as_bytes()[host.len() - suffix.len() - 1] == b'.'
                }
                None => h == host,
            },
            Rule::Net(_) => false,
        }
    }

    fn ip_matches(&self, ip: IpAddr) -> bool {
        match self {
            Rule::Net(n) => n.contains(&ip),
            Rule::Host(_) => false,
        }
    }
}

/// The policy.
#[derive(Debug, Clone, Default)]
pub struct Egress {
    /// Allowed hosts and networks.
    pub allow: Vec<Rule>,
    /// Denied hosts and networks (win over everything).
    pub deny: Vec<Rule>,
    /// Loopback allowed without a rule.
    pub allow_loopback: bool,
}

fn default_denied(ip: IpAddr, allow_loopback: bool) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.octets() == [100, 100, 100, 200]
                || (v4.is_loopback() && !allow_loopback)
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            v6.is_unspecified()
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] == 0xfd00 && seg[1] == 0x0ec2 && v6.segments()[7] == 0x254)
                || (v6.is_loopback() && !allow_loopback)
        }
    }
}

impl Egress {
    /// Whether a name alone is refused (rule 1) or allowed outright (rule 2): `Some(verdict)`,
    /// or `None` when the addresses decide.
    pub fn check_host(&self, host: &str) -> Option<bool> {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if self.deny.iter().any(|r| r.host_matches(&host)) {
            return Some(false);
        }
        if self.allow.iter().any(|r| r.host_matches(&host)) {
            return Some(true);
        }
        None
    }

    /// Whether an address may be called (rules 1–4), given the name's verdict.
    pub fn check_ip(&self, ip: IpAddr, host_allowed: bool) -> bool {
        if self.deny.iter().any(|r| r.ip_matches(ip)) {
            return false;
        }
        if host_allowed || self.allow.iter().any(|r| r.ip_matches(ip)) {
            return true;
        }
        !default_denied(ip, self.allow_loopback)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_refuse_metadata_link_local_and_loopback() {
        let e = Egress::default();
        assert!(!e.check_ip(ip("169.254.169.254"), false));
        assert!(!e.check_ip(ip("fe80::1"), false));
        assert!(!e.check_ip(ip("127.0.0.1"), false));
        assert!(!e.check_ip(ip("::ffff:127.0.0.1"), false));
        assert!(!e.check_ip(ip("0.0.0.0"), false));
        assert!(e.check_ip(ip("93.184.216.34"), false));
        assert!(e.check_ip(ip("10.1.2.3"), false));
        let dev = Egress { allow_loopback: true, ..Egress::default() };
        assert!(dev.check_ip(ip("127.0.0.1"), false));
        assert!(!dev.check_ip(ip("169.254.169.254"), false));
    }

    #[test]
    fn rules() {
        let e = Egress {
            allow: Rule::parse_list("loopback, *.internal.example").unwrap(),
            deny: Rule::parse_list("10.0.0.0/8, evil.example").unwrap(),
            allow_loopback: false,
        };
        assert!(e.check_ip(ip("127.0.0.1"), false));
        assert!(!e.check_ip(ip("10.9.9.9"), true));
        assert_eq!(e.check_host("evil.example"), Some(false));
        assert_eq!(e.check_host("a.internal.example"), Some(true));
        assert_eq!(e.check_host("internal.example"), None);
        assert!(Rule::parse_list("not a host!").is_err());
    }
}
