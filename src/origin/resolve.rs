//! Name resolution for HTTP origins: the system resolver (getaddrinfo on a
//! blocking thread, hyper-util's `GaiResolver`), or one the embedding
//! program supplies. Tests supply one to point a name at a loopback socket,
//! or to make it unresolvable, without touching real DNS.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::{GaiResolver, Name};

type Lookup = dyn Fn(&str) -> std::io::Result<Vec<SocketAddr>> + Send + Sync;

/// A host-name lookup supplied by the program (see `HttpOriginConfig::resolver`).
/// The port of the addresses it returns is replaced by the origin URL's.
#[derive(Clone)]
pub struct Resolver(Arc<Lookup>);

impl Resolver {
    pub fn new(lookup: impl Fn(&str) -> std::io::Result<Vec<SocketAddr>> + Send + Sync + 'static) -> Resolver {
        Resolver(Arc::new(lookup))
    }
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver(custom)")
    }
}

/// The resolver an HTTP origin's connector uses.
#[derive(Clone)]
pub enum OriginResolver {
    System(GaiResolver),
    Custom(Resolver),
}

impl OriginResolver {
    pub fn from_config(custom: Option<&Resolver>) -> OriginResolver {
        match custom {
            Some(r) => OriginResolver::Custom(r.clone()),
            None => OriginResolver::System(GaiResolver::new()),
        }
    }
}

type Addrs = std::vec::IntoIter<SocketAddr>;
type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<Name> for OriginResolver {
    type Response = Addrs;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        match self {
            OriginResolver::System(gai) => {
                let lookup = gai.call(name);
                Box::pin(async move {
                    let addrs: Vec<SocketAddr> = lookup.await?.collect();
                    Ok(addrs.into_iter())
                })
            }
            OriginResolver::Custom(r) => {
                let result = (r.0)(name.as_str()).map(Vec::into_iter).map_err(Into::into);
                Box::pin(std::future::ready(result))
            }
        }
    }
}
