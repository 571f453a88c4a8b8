//! The listen backlog: a burst of connections beyond tokio's default of
//! 1,024 completes its handshakes at once instead of waiting for SYN
//! retransmissions (the cause of the timeouts in bench/SOAK.md's
//! 10,000-connection run).

use std::time::Duration;

use tokio::net::TcpStream;

/// More than tokio's default backlog (1,024), within `LISTEN_BACKLOG`.
const BURST: usize = 1_200;

/// Raises this process's soft fd limit to hold the burst (the hard limit
/// allows it on any usual machine; CI containers start at 1,024 soft).
fn allow_fds(n: u64) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on a stack struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < n {
            assert!(lim.rlim_max >= n, "hard fd limit {} below {n}", lim.rlim_max);
            lim.rlim_cur = n;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
    }
}

#[tokio::test]
async fn a_burst_beyond_1024_unaccepted_connections_all_complete_their_handshakes() {
    allow_fds(8192);
    // Bound as the node binds its listeners, and never accepted from: every
    // connection waits in the backlog, as during an accept-loop stall.
    let listener = cachefront::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::with_capacity(BURST);
    for i in 0..BURST {
        // A full backlog drops the SYN: the connect would hang for the
        // client's retransmission (1 s and more).
        match tokio::time::timeout(Duration::from_millis(800), TcpStream::connect(addr)).await {
            Ok(Ok(s)) => held.push(s),
            Ok(Err(e)) => panic!("connection {i} failed: {e}"),
            Err(_) => panic!("connection {i} waited: the listen backlog holds only {i}"),
        }
    }
    assert_eq!(held.len(), BURST);
}
