//! The access log, in CloudFront's standard log format (the `#Version` and
//! `#Fields` lines, then tab-separated fields in CloudFront's order, `-`
//! for empty), so tools that read CloudFront logs (goaccess, Athena
//! tables, log shippers) read ours.
//!
//! A request builds a `Record` of cheap clones (header values and the URI
//! share their bytes) and `try_send`s it into a bounded channel; a writer
//! thread formats and writes. A full channel drops the record and counts
//! it (`cachefront_access_log_dropped_lines_total`): a slow disk never
//! slows a request. SIGUSR1 asks the writer to reopen the file (logrotate's
//! `postrotate`).
//!
//! Our choices where CloudFront's fields do not map: `cs(Host)` and
//! `x-host-header` are both the request's `Host`; `x-edge-location` is
//! `server.name`; `sc-bytes` and `cs-bytes` count body bytes plus header
//! bytes as written on HTTP/1.1; `time-taken` and `time-to-first-byte`
//! are both the time to the response head (bodies stream after);
//! `ssl-*`, `c-port` and the field-level-encryption fields are `-`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use http::{HeaderValue, Method, Uri, Version};
use prometheus_client::metrics::counter::Counter;
use time::OffsetDateTime;

mod format;

pub use format::{FIELDS, encode};

/// Where the log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
}

/// One request, as logged.
pub struct Record {
    pub at: SystemTime,
    pub client: IpAddr,
    pub method: Method,
    pub uri: Uri,
    pub host: Option<HeaderValue>,
    pub referer: Option<HeaderValue>,
    pub user_agent: Option<HeaderValue>,
    pub cookie: Option<HeaderValue>,
    pub forwarded_for: Option<HeaderValue>,
    pub https: bool,
    pub version: Version,
    pub request_bytes: u64,
    pub status: u16,
    /// CloudFront's result type (`Hit`, `RefreshHit`, `Miss`, `Error`).
    pub result: &'static str,
    pub response_bytes: u64,
    pub content_type: Option<HeaderValue>,
    pub content_length: Option<u64>,
    pub range: Option<(u64, u64)>,
    pub elapsed: Duration,
    pub request_id: u64,
}

#[allow(clippy::large_enum_variant)] // inline in the channel: no allocation per line
enum Message {
    Line(Record),
    Flush(std::sync::mpsc::SyncSender<()>),
}

/// The request side of the log; clones share the writer.
#[derive(Clone)]
pub struct AccessLog {
    tx: SyncSender<Message>,
    dropped: Counter,
    reopen: Arc<AtomicBool>,
    next_id: Arc<AtomicU64>,
}

impl AccessLog {
    /// Opens the destination and starts the writer thread; `buffer` records
    /// (`server.access_log_buffer`) wait for it before new ones are dropped.
    pub fn start(destination: Destination, location: String, buffer: usize, dropped: Counter) -> io::Result<AccessLog> {
        let out = Output::open(&destination)?;
        let (tx, rx) = sync_channel(buffer);
        let reopen = Arc::new(AtomicBool::new(false));
        let writer = Writer {
            destination,
            out,
            location,
            reopen: reopen.clone(),
        };
        std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer.run(rx))?;
        Ok(AccessLog {
            tx,
            dropped,
            reopen,
            next_id: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn next_request_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues a line; drops (and counts) it when the writer is behind.
    pub fn log(&self, record: Record) {
        match self.tx.try_send(Message::Line(record)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.inc();
            }
        }
    }

    /// Asks the writer to reopen the file (after logrotate moved it).
    pub fn reopen(&self) {
        self.reopen.store(true, Ordering::SeqCst);
    }

    /// Returns once every line queued before the call is written.
    pub async fn flush(&self) {
        let tx = self.tx.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let (ack, done) = sync_channel(1);
            if tx.send(Message::Flush(ack)).is_ok() {
                let _ = done.recv();
            }
        })
        .await;
    }
}

enum Output {
    Stdout(BufWriter<io::Stdout>),
    File(BufWriter<File>),
}

impl Output {
    fn open(destination: &Destination) -> io::Result<Output> {
        let mut out = match destination {
            Destination::Stdout => Output::Stdout(BufWriter::new(io::stdout())),
            Destination::File(path) => {
                let file = OpenOptions::new().create(true).append(true).open(path)?;
                let empty = file.metadata()?.len() == 0;
                let out = Output::File(BufWriter::new(file));
                if !empty {
                    return Ok(out);
                }
                out
            }
        };
        // Each new file starts with CloudFront's header lines.
        write!(out.writer(), "#Version: 1.0\n#Fields: {}\n", FIELDS.join(" "))?;
        Ok(out)
    }

    fn writer(&mut self) -> &mut dyn Write {
        match self {
            Output::Stdout(w) => w,
            Output::File(w) => w,
        }
    }
}

struct Writer {
    destination: Destination,
    out: Output,
    location: String,
    reopen: Arc<AtomicBool>,
}

/// The writer logs its own failures once per kind, not per line.
static WRITE_ERROR: Mutex<bool> = Mutex::new(false);

/// How often the writer wakes to drain the queue. Requests never wake it:
/// a wake-up per line (a futex call, then a context switch to the writer
/// and a `write` for one line) cost more than the rest of a 1 KiB hit
/// (bench: 2.09x the CPU per request). Short enough that a batch (~450
/// lines at 90k requests/s) delays requests sharing its core by well under
/// a millisecond (25 ms batches doubled p99); the default buffer holds 8,192.
const BATCH_INTERVAL: Duration = Duration::from_millis(5);

impl Writer {
    fn run(mut self, rx: Receiver<Message>) {
        let mut line = String::with_capacity(512);
        let mut open = true;
        while open {
            std::thread::sleep(BATCH_INTERVAL);
            self.reopen_if_asked();
            // Everything queued, then one flush: a write per batch, not per line.
            loop {
                match rx.try_recv() {
                    Ok(Message::Line(record)) => {
                        // A line queued after `reopen()` returned goes to the
                        // new file, even within a batch (the channel orders it
                        // after the flag).
                        self.reopen_if_asked();
                        line.clear();
                        encode(&record, &self.location, &mut line);
                        self.write(line.as_bytes());
                    }
                    Ok(Message::Flush(ack)) => {
                        self.flush();
                        let _ = ack.send(());
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            self.flush();
        }
    }

    fn reopen_if_asked(&mut self) {
        // A plain load first: this runs per line.
        if self.reopen.load(Ordering::SeqCst) && self.reopen.swap(false, Ordering::SeqCst) {
            self.flush();
            match Output::open(&self.destination) {
                Ok(out) => self.out = out,
                Err(e) => tracing::error!(error = %e, "access log: reopening failed; writing to the old file"),
            }
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if let Err(e) = self.out.writer().write_all(bytes) {
            report(&e);
        }
    }

    fn flush(&mut self) {
        if let Err(e) = self.out.writer().flush() {
            report(&e);
        }
    }
}

fn report(e: &io::Error) {
    if let Ok(mut said) = WRITE_ERROR.lock()
        && !*said
    {
        *said = true;
        tracing::error!(error = %e, "access log: write failed (said once)");
    }
}

/// `2024-05-01` and `12:34:56` in UTC.
pub fn date_time(at: SystemTime) -> (String, String) {
    let t = OffsetDateTime::from(at);
    (
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
    )
}

/// SIGUSR1: reopen the access log file (after logrotate moved it).
pub async fn reopen_on_usr1(log: AccessLog) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
            tracing::warn!("no SIGUSR1: the access log cannot be reopened");
            return;
        };
        while usr1.recv().await.is_some() {
            tracing::info!("SIGUSR1: reopening the access log");
            log.reopen();
        }
    }
    #[cfg(not(unix))]
    let _ = log;
}
