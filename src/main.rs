//! The `cachefront` command: serve (default), check a config, or run the
//! S3-compatible dev origin alone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cachefront::config::{Config, DEFAULT_PATH, DEV_ACCESS_KEY, DEV_SECRET_KEY, LogFormat, OriginKind};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    version,
    about = "A CDN edge node: S3/HTTP origins, in-memory cache, CloudFront-like behaviour"
)]
struct Cli {
    /// Config file (relative paths inside it resolve against its directory).
    #[arg(long, short, global = true, env = "CACHEFRONT_CONFIG", default_value = DEFAULT_PATH)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the edge (the default).
    Serve,
    /// Validate a config; exit non-zero naming the key and line of each error.
    Check,
    /// Run the S3-compatible dev server alone over a directory of buckets.
    DevOrigin {
        /// Directory of buckets: ROOT/<bucket>/<key>.
        #[arg(long)]
        root: PathBuf,
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: SocketAddr,
    },
    /// Fill a running node's cache with every hashed path of Django's
    /// manifest (fetched through the node).
    Warm {
        /// URL path of the manifest, e.g. /static/staticfiles.json.
        #[arg(long)]
        manifest: String,
        /// The node; default: http://<server.listen> of the config.
        #[arg(long)]
        url: Option<String>,
        #[arg(long, default_value_t = cachefront::warm::DEFAULT_CONCURRENCY)]
        concurrency: usize,
        /// Stop once this much is fetched; default: the config's cache.capacity.
        #[arg(long)]
        capacity: Option<bytesize::ByteSize>,
    },
    /// GET a URL; exit 0 on a 2xx answer (a container health check without curl).
    Probe {
        /// e.g. http://127.0.0.1:9091/readyz
        url: String,
        /// Give up after this long (connect and answer).
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        /// Sent as `Authorization: Bearer`: the admin token, for paths other
        /// than the public probes (`/healthz`, `/readyz`), e.g. `/metrics`.
        #[arg(long, env = "CACHEFRONT_ADMIN_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = cli.command.unwrap_or(Command::Serve);
    if !matches!(command, Command::Serve) {
        cachefront::telemetry::init(LogFormat::Text);
    }
    match command {
        Command::Check => check(&cli.config),
        Command::Serve => serve(&cli.config),
        Command::DevOrigin { root, listen } => dev_origin(&root, listen),
        Command::Probe { url, timeout, token } => probe(&url, timeout, token.as_deref()),
        Command::Warm {
            manifest,
            url,
            concurrency,
            capacity,
        } => warm(&cli.config, &manifest, url, concurrency, capacity.map(|c| c.as_u64())),
    }
}

fn warm(path: &Path, manifest: &str, url: Option<String>, concurrency: usize, capacity: Option<u64>) -> ExitCode {
    use std::io::IsTerminal;

    use cachefront::warm::{self, Progress, Target};
    let config = if url.is_none() || capacity.is_none() {
        match Config::load(path) {
            Ok(c) => Some(c),
            Err(e) if url.is_none() => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
            Err(_) => None,
        }
    } else {
        None
    };
    let url = url.unwrap_or_else(|| {
        let mut addr = config.as_ref().expect("loaded").server.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{addr}")
    });
    let capacity = capacity.or(config.map(|c| c.cache.capacity)).unwrap_or(u64::MAX);
    let progress = if std::io::stderr().is_terminal() {
        Progress::Bar
    } else {
        Progress::Lines
    };
    runtime().block_on(async move {
        match warm::warm(&Target::Url(url), manifest, concurrency, capacity, progress).await {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        }
    })
}

fn check(path: &Path) -> ExitCode {
    match Config::load(path) {
        Ok(c) => {
            if let Some(tls) = &c.server.tls
                && let Err(e) = cachefront::tls::acceptor_config(tls)
            {
                eprintln!("{}: {}: {e}", path.display(), e.config_key(tls));
                return ExitCode::FAILURE;
            }
            println!(
                "{}: ok ({} origins, {} routes)",
                path.display(),
                c.origins.len(),
                c.routes.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            ExitCode::FAILURE
        }
    }
}

/// The main runtime: accepting, admin, signals, the embedded dev origin.
/// Edge connections are served by per-core worker runtimes (`Workers`).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn serve(path: &Path) -> ExitCode {
    let mut config = match Config::load(path) {
        Ok(c) => c,
        Err(errors) => {
            cachefront::telemetry::init(LogFormat::Text);
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    cachefront::telemetry::init(config.server.log_format);
    // Before anything counts its fd budget (zerocopy).
    let fds = cachefront::zerocopy::raise_fd_limit();
    tracing::debug!(?fds, "file descriptor limit");
    // The admin secret comes from the environment, never the config file.
    config.server.admin_token = admin_token();
    let workers = config
        .server
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    runtime().block_on(async move {
        // SIGTERM and SIGINT are handled from here on.
        let shutdown = shutdown_signal();
        let listeners = match cachefront::Listeners::bind(&config).await {
            Ok(mut l) => {
                l.workers = match cachefront::server::Workers::spawn(workers) {
                    Ok(w) => w,
                    Err(e) => {
                        eprintln!("cannot start {workers} worker runtimes: {e}");
                        return ExitCode::FAILURE;
                    }
                };
                l
            }
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        let addr = listeners.edge.local_addr().expect("bound");
        let shown = config.clone();
        let welcome = move || print_welcome(&shown, addr);
        match cachefront::run(config, listeners, shutdown, welcome).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("cachefront: {e}");
                ExitCode::FAILURE
            }
        }
    })
}

/// The URL to open and a `curl` line with a real object, when the config
/// serves a local dev bucket. Written, not `println!`ed: the node is already
/// serving, and a closed stdout (`cachefront | head -1`) must not end it.
fn print_welcome(config: &Config, addr: SocketAddr) {
    use std::io::Write;
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    let base = format!("http://{host}:{}", addr.port());
    let mut text = format!("cachefront serving on {base}\n");
    if let Some(tls) = config.server.tls_listen {
        text += &format!("  and on https://{tls} (HTTP/1.1 and h2)\n");
    }
    for route in &config.routes {
        let origin = &config.origins[&route.origin];
        let example = match &origin.kind {
            OriginKind::S3(s3) => s3
                .dev_root
                .as_ref()
                .and_then(|root| first_file(&root.join(&s3.bucket).join(&route.key_prefix)))
                .map(|rest| format!("{}{rest}", route.path)),
            OriginKind::Http(_) => None,
        };
        text += &match example {
            Some(p) => format!("  try: curl -i {base}{p}\n"),
            None => format!("  route {} -> origin {}\n", route.path, route.origin),
        };
    }
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// A file under `dir`, as a URL path relative to it (percent-encoded).
fn first_file(dir: &Path) -> Option<String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    let files = entries.iter().filter(|e| e.path().is_file());
    let dirs = entries.iter().filter(|e| e.path().is_dir());
    for e in files {
        let name = e.file_name().into_string().ok()?;
        if !name.starts_with('.') {
            return Some(percent_encoding::utf8_percent_encode(&name, cachefront::warm::PATH_SEGMENT).to_string());
        }
    }
    for d in dirs {
        let name = d.file_name().into_string().ok()?;
        if !name.starts_with('.')
            && let Some(rest) = first_file(&d.path())
        {
            return Some(format!("{name}/{rest}"));
        }
    }
    None
}

fn probe(url: &str, timeout: Duration, token: Option<&str>) -> ExitCode {
    match runtime().block_on(cachefront::probe::probe(url, timeout, token)) {
        Ok(status) => {
            println!("{url}: {status}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{url}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dev_origin(root: &Path, listen: SocketAddr) -> ExitCode {
    runtime().block_on(async move {
        let origin = match cachefront::origin::dev::DevOrigin::new(root) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("dev origin: {e}");
                return ExitCode::FAILURE;
            }
        };
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot bind {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let bound = listener.local_addr().unwrap_or(listen);
        println!("S3-compatible dev origin on http://{bound} over {}", root.display());
        println!("  buckets are the directories of {}", root.display());
        println!("  credentials: access key {DEV_ACCESS_KEY:?}, secret key {DEV_SECRET_KEY:?}, region \"us-east-1\"");
        cachefront::origin::dev::serve(listener, origin, shutdown_signal()).await;
        ExitCode::SUCCESS
    })
}

/// Completes on SIGINT or SIGTERM (SIGHUP reloads: see `cachefront::run`).
/// The handlers are registered when this is called, not when the future is
/// first polled: as PID 1 (a container) a SIGTERM without a handler is
/// ignored, and the "serving on" line may be read and answered with one at
/// once.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
        async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// The admin token `serve` uses.
fn admin_token() -> Option<String> {
    std::env::var("CACHEFRONT_ADMIN_TOKEN").ok().filter(|t| !t.is_empty())
}
