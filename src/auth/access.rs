//! Where a key may be used from: allowed browser origins and client networks. The same
//! origin patterns decide the server's CORS answers (`--cors-origins`).

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::{AppError, AppResult};

/// An origin as a browser sends it (`scheme://host[:port]`), or a wildcard over the
/// subdomains of one (`https://*.example.com`, which does not match `https://example.com`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OriginPattern {
    Exact(String),
    /// The scheme with `://`, and the suffix every host must end with (`.example.com`
    /// with any port the pattern names).
    Subdomains {
        scheme: String,
        suffix: String,
    },
}

impl OriginPattern {
    /// A pattern from what an operator wrote; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim().to_ascii_lowercase();
        let text = text.strip_suffix('/').unwrap_or(&text).to_owned();
        let bad = || {
            format!(
                "'{text}' is not an origin: expected scheme://host[:port] such as https://app.example.com or https://*.example.com"
            )
        };
        let (scheme, host) = text.split_once("://").ok_or_else(bad)?;
        let host_ok = |host: &str| {
            !host.is_empty()
                && !host.contains(['/', '?', '#', '@', '*', ' '])
                && host.chars().all(|c| c.is_ascii_graphic())
        };
        if !matches!(scheme, "http" | "https") {
            return Err(bad());
        }
        match host.strip_prefix("*.") {
            Some(rest) if host_ok(rest) && rest.contains('.') => Ok(OriginPattern::Subdomains {
                scheme: format!("{scheme}://"),
                suffix: format!(".{rest}"),
            }),
            Some(_) => Err(bad()),
            None if host_ok(host) => Ok(OriginPattern::Exact(text.clone())),
            None => Err(bad()),
        }
    }

    pub fn matches(&self, origin: &str) -> bool {
        match self {
            OriginPattern::Exact(exact) => exact.eq_ignore_ascii_case(origin),
            OriginPattern::Subdomains { scheme, suffix } => {
                let origin = origin.to_ascii_lowercase();
                // What stands for `*`: one or more DNS labels, nothing else.
                origin
                    .strip_prefix(scheme.as_str())
                    .and_then(|host| host.strip_suffix(suffix.as_str()))
                    .is_some_and(|labels| {
                        labels.split('.').all(|label| {
                            !label.is_empty()
                                && label
                                    .bytes()
                                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                        })
                    })
            }
        }
    }

    /// As the operator wrote it (normalised).
    pub fn text(&self) -> String {
        match self {
            OriginPattern::Exact(exact) => exact.clone(),
            OriginPattern::Subdomains { scheme, suffix } => format!("{scheme}*{suffix}"),
        }
    }
}

/// A user-defined key's allowed origins and client networks; empty lists allow any.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyAccess {
    pub origins: Vec<OriginPattern>,
    pub networks: Vec<IpNet>,
}

impl KeyAccess {
    /// From the operator's `--origin` and `--network` values (or the panel's lines);
    /// every value that is wrong is named.
    pub fn parse(origins: &[String], networks: &[String]) -> AppResult<Self> {
        let mut errors = crate::error::FieldErrors::new();
        let mut access = KeyAccess::default();
        for origin in origins.iter().filter(|o| !o.trim().is_empty()) {
            match OriginPattern::parse(origin) {
                Ok(pattern) => access.origins.push(pattern),
                Err(message) => errors.entry("origins".into()).or_default().push(message),
            }
        }
        for network in networks.iter().filter(|n| !n.trim().is_empty()) {
            match parse_network(network) {
                Ok(network) => access.networks.push(network),
                Err(message) => errors.entry("networks".into()).or_default().push(message),
            }
        }
        if errors.is_empty() {
            Ok(access)
        } else {
            Err(AppError::Validation(errors))
        }
    }

    /// From the stored JSON columns (written by `to_columns`; anything unreadable
    /// allows nothing rather than everything).
    pub fn from_columns(origins: &str, networks: &str) -> Self {
        let read = |text: &str| serde_json::from_str::<Vec<String>>(text).ok();
        let origins = read(origins).map(|list| {
            list.iter()
                .map(|o| OriginPattern::parse(o))
                .collect::<Result<Vec<_>, _>>()
        });
        let networks = read(networks).map(|list| {
            list.iter()
                .map(|n| parse_network(n))
                .collect::<Result<Vec<_>, _>>()
        });
        match (origins, networks) {
            (Some(Ok(origins)), Some(Ok(networks))) => KeyAccess { origins, networks },
            _ => KeyAccess {
                origins: Vec::new(),
                // An address no client has: every request is refused.
                networks: vec!["255.255.255.255/32".parse().expect("a network")],
            },
        }
    }

    pub fn origin_texts(&self) -> Vec<String> {
        self.origins.iter().map(OriginPattern::text).collect()
    }

    pub fn network_texts(&self) -> Vec<String> {
        self.networks.iter().map(ToString::to_string).collect()
    }

    /// The JSON columns.
    pub fn to_columns(&self) -> (String, String) {
        let json = |list: Vec<String>| serde_json::to_string(&list).expect("strings");
        (json(self.origin_texts()), json(self.network_texts()))
    }

    pub fn is_open(&self) -> bool {
        self.origins.is_empty() && self.networks.is_empty()
    }

    /// Whether a request with this `Origin` header from this client may use the key. A
    /// request without `Origin` (a server, curl) is not a browser's and passes the origin
    /// list; a list of networks needs a known client address.
    pub fn allows(&self, origin: Option<&str>, client: Option<IpAddr>) -> bool {
        let origin_ok = self.origins.is_empty()
            || origin.is_none_or(|o| self.origins.iter().any(|p| p.matches(o)));
        let network_ok = self.networks.is_empty()
            || client.is_some_and(|ip| {
                let ip = canonical(ip);
                self.networks.iter().any(|n| n.contains(&ip))
            });
        origin_ok && network_ok
    }
}

/// `10.0.0.0/8`, `2001:db8::/32`, or one address (a /32 or /128).
pub fn parse_network(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| {
            format!("'{text}' is not a network: expected CIDR such as 10.0.0.0/8 or one address")
        })
}

/// IPv4 clients seen on an IPv6 socket (`::ffff:a.b.c.d`) as the IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_origins_match_subdomains_only() {
        let p = OriginPattern::parse("https://*.example.com").unwrap();
        assert!(p.matches("https://app.example.com"));
        assert!(p.matches("https://a.b.example.com"));
        assert!(!p.matches("https://example.com"));
        assert!(!p.matches("http://app.example.com"));
        assert!(!p.matches("https://app.example.com.evil.net"));
        assert!(!p.matches("https://evilexample.com"));
        assert!(!p.matches("https://x.example.com:8443"));
        for forged in [
            "https://evil.com#.example.com",
            "https://evil.com?.example.com",
            "https://evil.com,.example.com",
            "https://evil.com .example.com",
            "https://evil.com\\.example.com",
            "https://evil.com%2f.example.com",
            "https://a..example.com",
        ] {
            assert!(!p.matches(forged), "{forged}");
        }
        let exact = OriginPattern::parse("http://localhost:3000/").unwrap();
        assert!(exact.matches("http://LOCALHOST:3000"));
        assert!(!exact.matches("http://localhost:3001"));
        assert!(!exact.matches("http://localhost:3000///"));
        for bad in [
            "localhost:3000",
            "ftp://x.com",
            "https://*.com",
            "https://a/b",
            "https://",
        ] {
            assert!(OriginPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn networks_and_origins_both_apply() {
        let access = KeyAccess::parse(
            &["https://app.example.com".into()],
            &["10.0.0.0/8".into(), "2001:db8::1".into()],
        )
        .unwrap();
        let inside: IpAddr = "10.1.2.3".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert!(access.allows(Some("https://app.example.com"), Some(inside)));
        assert!(access.allows(None, Some(mapped)));
        assert!(!access.allows(Some("https://other.example.com"), Some(inside)));
        assert!(!access.allows(None, Some("192.168.0.1".parse().unwrap())));
        assert!(!access.allows(None, None));
        let (o, n) = access.to_columns();
        assert_eq!(KeyAccess::from_columns(&o, &n), access);
        assert!(!KeyAccess::from_columns("garbage", "[]").allows(None, Some(inside)));
    }
}
