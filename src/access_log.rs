//! The access log, in CloudFront's standard log format (the `#Version` and
//! `#Fields` lines, then tab-separated fields in CloudFront's order, `-`
//! for empty), so tools that read CloudFront logs (goaccess, Athena
//! tables, log shippers) read ours.
//!
//! As its response leaves, a request appends its line's fields, as a
//! binary record (`record`), to a queue shared with a writer thread; the
//! writer takes the whole queue every few milliseconds, renders it into
//! text (`format`) and writes it with one call. The queue holds at most
//! `access_log_buffer`
//! lines: beyond that a line is dropped and counted
//! (`cachefront_access_log_dropped_lines_total`), so a slow disk never
//! slows a request. SIGUSR1 asks the writer to reopen the file (logrotate's
//! `postrotate`).
//!
//! Our choices where CloudFront's fields do not map: `cs(Host)` and
//! `x-host-header` are both the request's `Host`; `x-edge-location` is
//! `server.name`; `sc-bytes` and `cs-bytes` count body bytes plus header
//! bytes as written on HTTP/1.1 (a streamed body of unknown length counts
//! as nothing); `date` and `time` are when the response left, as
//! CloudFront's; `time-taken` and `time-to-first-byte`
//! are both the time to the response head (bodies stream after);
//! `ssl-*`, `c-port` and the field-level-encryption fields are `-`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;

mod format;
mod record;

pub use format::{FIELDS, RequestFields, ResponseFields};

/// Where the log goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
}

/// The request side of the log; clones share the queue and the writer.
#[derive(Clone)]
pub struct AccessLog {
    shared: Arc<Shared>,
    dropped: Counter,
}

/// Between requests and the writer.
struct Shared {
    queue: Mutex<Queue>,
    /// Lines the queue may hold (`server.access_log_buffer`).
    capacity: usize,
    /// `x-edge-location`: the node's name.
    location: String,
    reopen: AtomicBool,
    /// Lines written so far (appended lines are numbered in order), for
    /// `flush`; the writer signals `wrote` after every batch.
    written: Mutex<u64>,
    wrote: Condvar,
}

#[derive(Default)]
struct Queue {
    /// Records, one per line.
    bytes: Vec<u8>,
    /// Lines in `bytes`.
    lines: usize,
    /// Lines ever appended; a line's request id is its number.
    appended: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere never stops the log: the data is plain bytes.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AccessLog {
    /// Opens the destination and starts the writer thread; at most `buffer`
    /// lines (`server.access_log_buffer`) wait for it before new ones are
    /// dropped.
    pub fn start(destination: Destination, location: String, buffer: usize, dropped: Counter) -> io::Result<AccessLog> {
        let out = Output::open(&destination)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            capacity: buffer.max(1),
            location,
            reopen: AtomicBool::new(false),
            written: Mutex::new(0),
            wrote: Condvar::new(),
        });
        let writer = Writer {
            destination,
            out,
            shared: shared.clone(),
        };
        let thread = std::thread::Builder::new();
        // On Linux the writer names itself once it is a batch thread.
        #[cfg(not(target_os = "linux"))]
        let thread = thread.name("access-log".into());
        thread.spawn(move || writer.run())?;
        Ok(AccessLog { shared, dropped })
    }

    /// Queues the line of a request and its response; drops (and counts)
    /// it when the writer is behind.
    pub fn log(&self, request: RequestFields<'_>, response: &ResponseFields<'_>) {
        let mut q = lock(&self.shared.queue);
        if q.lines >= self.shared.capacity {
            drop(q);
            self.dropped.inc();
            return;
        }
        let id = q.appended;
        record::write(id, &request, response, &mut q.bytes);
        q.lines += 1;
        q.appended += 1;
    }

    /// Asks the writer to reopen the file (after logrotate moved it).
    pub fn reopen(&self) {
        self.shared.reopen.store(true, Ordering::SeqCst);
    }

    /// Returns once every line queued before the call is written.
    pub async fn flush(&self) {
        let target = lock(&self.shared.queue).appended;
        let shared = self.shared.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let mut written = lock(&shared.written);
            while *written < target {
                written = shared.wrote.wait(written).unwrap_or_else(PoisonError::into_inner);
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
    shared: Arc<Shared>,
}

/// The writer logs its own failures once per kind, not per line.
static WRITE_ERROR: Mutex<bool> = Mutex::new(false);

/// How often the writer wakes to take the queue. Requests never wake it: a
/// wake-up per line (a futex call, then a context switch to the writer and
/// a `write` for one line) cost more than the rest of a 1 KiB hit (bench:
/// 2.09x the CPU per request). Short enough that a batch (~450 lines at
/// 90k requests/s) delays requests sharing its core by well under a
/// millisecond (25 ms batches doubled p99); the default buffer holds 8,192.
const BATCH_INTERVAL: Duration = Duration::from_millis(5);

impl Writer {
    fn run(mut self) {
        become_background_thread();
        let (mut batch, mut text) = (Vec::new(), Vec::new());
        loop {
            std::thread::sleep(BATCH_INTERVAL);
            // The last handle gone: write what is left, then stop.
            let last = Arc::strong_count(&self.shared) == 1;
            let appended = {
                let mut q = lock(&self.shared.queue);
                std::mem::swap(&mut q.bytes, &mut batch);
                q.lines = 0;
                q.appended
            };
            // After the swap: a line queued after `reopen()` returned is in
            // this batch or a later one, and goes to the new file.
            self.reopen_if_asked();
            if !batch.is_empty() {
                render(&batch, &self.shared.location, &mut text);
                if let Err(e) = self.out.writer().write_all(&text) {
                    report(&e);
                }
                self.flush();
                batch.clear();
                text.clear();
            }
            *lock(&self.shared.written) = appended;
            self.shared.wrote.notify_all();
            if last {
                return;
            }
        }
    }

    fn reopen_if_asked(&mut self) {
        if self.shared.reopen.swap(false, Ordering::SeqCst) {
            self.flush();
            match Output::open(&self.destination) {
                Ok(out) => self.out = out,
                Err(e) => tracing::error!(error = %e, "access log: reopening failed; writing to the old file"),
            }
        }
    }

    fn flush(&mut self) {
        if let Err(e) = self.out.writer().flush() {
            report(&e);
        }
    }
}

/// Renders a batch of records into lines.
fn render(mut records: &[u8], location: &str, out: &mut Vec<u8>) {
    while let Some((request, response, rest)) = record::read(records) {
        format::line(&request, &response, location, out);
        records = rest;
    }
    debug_assert!(records.is_empty(), "a torn access log record");
}

/// Puts the calling (writer) thread in `SCHED_BATCH`: it keeps its fair
/// share of the CPU, but its wake-ups never preempt a running worker (Linux
/// lets only `SCHED_NORMAL` threads preempt on wake-up). A batch takes
/// 65-170 µs to write (strace, ~450 lines at 90k requests/s); woken at
/// normal priority it stopped the worker sharing its core in the middle of
/// requests 200 times a second. As a batch thread it runs when the worker
/// waits for I/O, or at the next tick. The thread takes its name only then,
/// so a thread called `access-log` is always a batch thread.
fn become_background_thread() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; `param` is a valid
        // sched_param for SCHED_BATCH, whose priority must be 0.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
        if rc != 0 {
            tracing::debug!(error = %io::Error::last_os_error(), "access log: SCHED_BATCH refused");
        }
        let _ = rustix::thread::set_name(c"access-log");
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

/// SIGUSR1: reopen the access log file (after logrotate moved it). The
/// handler is registered when this is called, not when the future is first
/// polled: a SIGUSR1 before that would end the process.
pub fn reopen_on_usr1(log: AccessLog) -> impl Future<Output = ()> {
    #[cfg(unix)]
    let usr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
        .inspect_err(|e| tracing::warn!(error = %e, "no SIGUSR1: the access log cannot be reopened"))
        .ok();
    async move {
        #[cfg(unix)]
        if let Some(mut usr1) = usr1 {
            while usr1.recv().await.is_some() {
                tracing::info!("SIGUSR1: reopening the access log");
                log.reopen();
            }
        }
        #[cfg(not(unix))]
        let _ = log;
    }
}
