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
    /// proxies; entries further left were written by the client and prove nothing.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        for hop in hops.iter().rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = canonical(ip);
                    if !self.trusts(client) {
                        break;
                    }
                }
                // Garbage ends the walk at the last address a trusted proxy vouched for.
                Err(_) => break,
            }
        }
        client
    }
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
    if let Some(peer) = peer {
        let client = trusted.client_address(peer, request.headers());
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
        assert_eq!(
            trusted.client_address(proxy, &headers),
            "2.2.2.2".parse::<IpAddr>().unwrap()
        );
        assert_eq!(trusted.client_address(direct, &headers), direct);
        let none = TrustedProxies::default();
        assert_eq!(none.client_address(proxy, &headers), proxy);
        headers.insert("x-forwarded-for", "junk".parse().unwrap());
        assert_eq!(trusted.client_address(proxy, &headers), proxy);
    }
}
