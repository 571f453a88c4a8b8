//! The edge under test: `cachefront::start` on ephemeral loopback ports.

use std::net::SocketAddr;
use std::path::Path;

use cachefront::config::Config;
use cachefront::{Listeners, Running};
use tokio::net::TcpListener;

use super::client::{Client, Reply};

/// `toml` with its access log going to `file` (and `server_extra` added to
/// `[server]`).
pub fn logging_to(toml: &str, file: &Path, server_extra: &str) -> String {
    toml.replacen(
        "[server]",
        &format!(
            "[server]\naccess_log = {:?}\n{server_extra}",
            file.display().to_string()
        ),
        1,
    )
}

pub struct TestEdge {
    pub running: Option<Running>,
    pub addr: SocketAddr,
    /// The TLS listener, when the config has certificates.
    pub tls: Option<SocketAddr>,
    pub admin: SocketAddr,
    pub client: Client,
}

impl TestEdge {
    pub async fn start(toml: &str) -> TestEdge {
        Self::start_with(toml, Default::default()).await
    }

    /// As the binary runs: connections served by per-core worker runtimes.
    pub async fn start_with_workers(toml: &str, n: usize) -> TestEdge {
        Self::start_with(toml, cachefront::server::Workers::spawn(n).unwrap()).await
    }

    async fn start_with(toml: &str, workers: cachefront::server::Workers) -> TestEdge {
        let edge = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_on(toml, edge, workers).await
    }

    /// On a listener bound beforehand (edges that name each other's address).
    pub async fn start_on(toml: &str, edge: TcpListener, workers: cachefront::server::Workers) -> TestEdge {
        let config = Config::parse(toml, Path::new(".")).unwrap_or_else(|e| panic!("test config invalid:\n{e}"));
        Self::start_listening(config, edge, workers).await
    }

    /// Reads the config from a file, as the binary does (so it can be
    /// reloaded); a TLS listener is bound when it has certificates.
    pub async fn start_file(path: &Path) -> TestEdge {
        let config = Config::load(path).unwrap_or_else(|e| panic!("test config invalid:\n{e}"));
        Self::start_config(config, Default::default()).await
    }

    pub async fn start_config(config: Config, workers: cachefront::server::Workers) -> TestEdge {
        let edge = TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::start_listening(config, edge, workers).await
    }

    async fn start_listening(config: Config, edge: TcpListener, workers: cachefront::server::Workers) -> TestEdge {
        let tls = match config.server.tls {
            Some(_) => Some(TcpListener::bind("127.0.0.1:0").await.unwrap()),
            None => None,
        };
        let listeners = Listeners {
            edge,
            tls,
            admin: Some(TcpListener::bind("127.0.0.1:0").await.unwrap()),
            workers,
        };
        let running = cachefront::start(config, listeners).await.expect("edge starts");
        TestEdge {
            addr: running.edge_addr(),
            tls: running.tls_addr(),
            admin: running.admin_addr().unwrap(),
            running: Some(running),
            client: Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.client.request("GET", &self.url(path), &[]).await
    }

    pub async fn head(&self, path: &str) -> Reply {
        self.client.request("HEAD", &self.url(path), &[]).await
    }

    pub async fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.client.request(method, &self.url(path), headers).await
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().unwrap()
    }
}

impl TestEdge {
    pub fn admin_client(&self) -> super::admin::AdminClient {
        super::admin::AdminClient::new(self.admin)
    }
}
