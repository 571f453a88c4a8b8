//! Clients for requests a well-behaved library will not send: HTTP/1 as
//! raw bytes, and HTTP/2 as hand-written frames (HPACK literals, so any
//! `:authority` byte string goes out as written), plus the `h2` crate for
//! well-formed HTTP/2 requests with headers of our choice.

use std::net::SocketAddr;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Got, PATIENCE};

/// One HTTP/1 request as raw bytes (the caller adds `Connection: close`).
pub async fn h1(addr: SocketAddr, request: &str) -> Got {
    let (status, text) = crate::support::raw_request(addr, request.as_bytes()).await;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_string();
    Got { status, body }
}

/// A GET with these request-target, Host value and cookie, on HTTP/1.1.
pub async fn h1_get(addr: SocketAddr, target: &str, host: &str, cookie: Option<&str>) -> Got {
    let cookie = cookie.map_or(String::new(), |c| format!("Cookie: {c}\r\n"));
    h1(
        addr,
        &format!("GET {target} HTTP/1.1\r\nHost: {host}\r\n{cookie}Connection: close\r\n\r\n"),
    )
    .await
}

/// A well-formed HTTP/2 request (h2c prior knowledge) through the `h2`
/// crate: `uri` gives `:scheme`, `:authority` and `:path`; `headers` are
/// sent as given (a `host` among them too). Status 0: the stream was reset.
pub async fn h2_get(addr: SocketAddr, uri: &str, headers: &[(&str, &str)]) -> Got {
    let run = async {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let (client, conn) = h2::client::handshake(tcp).await.unwrap();
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut client = client.ready().await.unwrap();
        let mut req = http::Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let (resp, _) = client.send_request(req.body(()).unwrap(), true).unwrap();
        let Ok(resp) = resp.await else {
            return Got {
                status: 0,
                body: String::new(),
            };
        };
        let status = resp.status().as_u16();
        let mut body = resp.into_body();
        let mut bytes = Vec::new();
        for _ in 0..10_000 {
            match body.data().await {
                Some(Ok(chunk)) => {
                    let _ = body.flow_control().release_capacity(chunk.len());
                    bytes.extend_from_slice(&chunk);
                }
                _ => break,
            }
        }
        Got {
            status,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    };
    tokio::time::timeout(PATIENCE, run).await.expect("an h2 answer")
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.extend([kind, flags]);
    f.extend(stream.to_be_bytes());
    f.extend(payload);
    f
}

/// An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1).
fn integer(out: &mut Vec<u8>, first: u8, n: u8, mut value: usize) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(first | value as u8);
        return;
    }
    out.push(first | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// A GET whose header block is exactly `fields` (pseudo-headers included),
/// each a literal without indexing with a literal name and no Huffman.
pub async fn h2_raw(addr: SocketAddr, fields: &[(&str, &str)]) -> Got {
    let mut block = Vec::new();
    for (name, value) in fields {
        block.push(0x00);
        integer(&mut block, 0, 7, name.len());
        block.extend(name.as_bytes());
        integer(&mut block, 0, 7, value.len());
        block.extend(value.as_bytes());
    }
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    out.extend(frame(HEADERS, 0x5, 1, &block));
    s.write_all(&out).await.unwrap();
    tokio::time::timeout(PATIENCE, read_answer(&mut s))
        .await
        .expect("an answer to the raw h2 request")
}

/// Frames until stream 1 ends: its status (0 on a reset) and its DATA.
async fn read_answer(s: &mut TcpStream) -> Got {
    let mut got = Got {
        status: 0,
        body: String::new(),
    };
    let mut data = Vec::new();
    for _ in 0..1000 {
        let mut head = [0u8; 9];
        if s.read_exact(&mut head).await.is_err() {
            break;
        }
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let (kind, flags) = (head[3], head[4]);
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
        let mut payload = vec![0u8; len];
        s.read_exact(&mut payload).await.unwrap();
        match kind {
            SETTINGS if flags & 1 == 0 => s.write_all(&frame(SETTINGS, 1, 0, &[])).await.unwrap(),
            HEADERS if stream == 1 => got.status = status(&payload),
            DATA if stream == 1 => data.extend_from_slice(&payload),
            RST_STREAM if stream == 1 => break,
            GOAWAY => break,
            _ => {}
        }
        if stream == 1 && flags & 1 == 1 && matches!(kind, DATA | HEADERS) {
            break;
        }
    }
    got.body = String::from_utf8_lossy(&Bytes::from(data)).into_owned();
    got
}

/// `:status` from a response header block: the encoder puts it first, as
/// an indexed static entry (200, 204, 206, 304, 400, 404, 500) or as a
/// literal with the indexed name 8 (three digits, possibly Huffman coded).
fn status(block: &[u8]) -> u16 {
    let mut i = 0;
    // Skip dynamic table size updates.
    while i < block.len() && block[i] & 0xe0 == 0x20 {
        i += 1;
        while block[i - 1] & 0x1f == 0x1f && i < block.len() && block[i] & 0x80 != 0 {
            i += 1;
        }
    }
    let first = block[i];
    if first & 0x80 != 0 {
        let statuses = [200, 204, 206, 304, 400, 404, 500];
        return statuses[(first & 0x7f) as usize - 8];
    }
    let (len, huffman) = ((block[i + 1] & 0x7f) as usize, block[i + 1] & 0x80 != 0);
    let value = &block[i + 2..i + 2 + len];
    let digits = if huffman { huffman_digits(value) } else { value.to_vec() };
    std::str::from_utf8(&digits).unwrap().parse().unwrap()
}

/// The HPACK Huffman codes of the digits (RFC 7541 Appendix B): '0'-'2'
/// are 5 bits (00000-00010), '3'-'9' 6 bits (011001-011111).
fn huffman_digits(bytes: &[u8]) -> Vec<u8> {
    let bits: Vec<u8> = bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < 3 && i + 5 <= bits.len() {
        let five = bits[i..i + 5].iter().fold(0u8, |a, b| a << 1 | b);
        if five <= 2 {
            out.push(b'0' + five);
            i += 5;
        } else {
            let six = five << 1 | bits[i + 5];
            out.push(b'3' + (six - 0b011001));
            i += 6;
        }
    }
    out
}
