//! The client's address: the socket's peer, or, when that peer is a trusted proxy
//! (`--trusted-proxies`), the nearest address in `X-Forwarded-For` that is not one.
//! Computed once per request for every route (key networks, the panel's throttling
//! and audit log).

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

use crate::auth::access::canonical;

/// The client's address as `client_address` decided it; absent when the request did
/// not come over a socket (a router called directly).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

/// Proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Arc<Vec<IpNet>>);

impl TrustedProxies {
    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// Walks `X-Forwarded-For` from the right (the entry our proxy wrote) past trusted
    /// proxies; entries further left were written by the client and prove nothing. An
    /// entry that is no address (`unknown`, garbage) leaves the client unknown: a key
    /// limited to networks is then refused, never taken for the proxy's own address.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> Option<IpAddr> {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return Some(client);
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|hop| !hop.is_empty())
            .collect();
        for hop in hops.iter().rev() {
            client = canonical(forwarded_address(hop)?);
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }
}

/// An address as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or
/// `[2001:db8::1]:443`.
fn forwarded_address(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    hop.parse::<std::net::SocketAddr>()
        .ok()
        .map(|addr| addr.ip())
}

pub async fn resolve_client(
    State(trusted): State<TrustedProxies>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<crate::listener::ClientAddr>>()
        .map(|info| info.0.0.ip());
    if let Some(client) = peer.and_then(|peer| trusted.client_address(peer, request.headers())) {
        request.extensions_mut().insert(ClientIp(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let trusted = TrustedProxies(Arc::new(vec!["10.0.0.0/8".parse().unwrap()]));
        let mut headers = HeaderMap::new();
        headers.append("x-forwarded-for", "1.1.1.1, 2.2.2.2".parse().unwrap());
        headers.append("x-forwarded-for", "10.0.0.7".parse().unwrap());
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let direct: IpAddr = "3.3.3.3".parse().unwrap();
        let ip = |text: &str| Some(text.parse::<IpAddr>().unwrap());
        assert_eq!(trusted.client_address(proxy, &headers), ip("2.2.2.2"));
        assert_eq!(trusted.client_address(direct, &headers), Some(direct));
        let none = TrustedProxies::default();
        assert_eq!(none.client_address(proxy, &headers), Some(proxy));
        for (forwarded, client) in [
            ("junk", None),
            ("unknown", None),
            ("8.8.8.8:4711", ip("8.8.8.8")),
            ("[2001:db8::1]:443", ip("2001:db8::1")),
            ("8.8.8.8, ", ip("8.8.8.8")),
        ] {
            headers.insert("x-forwarded-for", forwarded.parse().unwrap());
            assert_eq!(
                trusted.client_address(proxy, &headers),
                client,
                "{forwarded}"
            );
        }
    }
}
