//! tokio_http: Tokio peer of braid's HTTP server (perf/io-compare).
//!
//! A minimal hand-written HTTP/1.1 keep-alive responder: every request
//! (bytes up to the blank line; bodies are not expected) is answered with
//! `200 OK`, `Content-Length: 13`, `Content-Type: text/plain` and the body
//! `Hello, World!`. All complete requests of one read (pipelining) are
//! answered by one write. Multi-thread runtime with -t THREADS workers,
//! one task per connection, 127.0.0.1:PORT (-p), TCP_NODELAY. Prints one
//! READY line on stdout once it listens, then serves until killed.
use braid_tokio_peers::ServerArgs;
use std::io::Write;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";
const MAX_HEADER: usize = 65536;

/// Index just past the first "\r\n\r\n" in b, if any.
fn request_end(b: &[u8]) -> Option<usize> {
    b.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

async fn serve(mut s: TcpStream) {
    let _ = s.set_nodelay(true);
    let mut inb: Vec<u8> = Vec::with_capacity(4096);
    let mut out: Vec<u8> = Vec::with_capacity(4096);
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        inb.extend_from_slice(&buf[..n]);
        let mut start = 0;
        while let Some(e) = request_end(&inb[start..]) {
            out.extend_from_slice(RESPONSE);
            start += e;
        }
        inb.drain(..start);
        if inb.len() > MAX_HEADER {
            return; // a header that never ends: drop the connection
        }
        if !out.is_empty() {
            if s.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
    }
}

fn main() {
    let a = ServerArgs::parse();
    let rt = a.runtime();
    // the accept loop runs as a task too, so only the -t workers run code
    rt.block_on(async move {
        let ln = TcpListener::bind(("127.0.0.1", a.port)).await.unwrap_or_else(|e| {
            eprintln!("tokio_http: {e}");
            std::process::exit(1)
        });
        println!("READY name=http impl=tokio workers={} port={}", a.workers, a.port);
        let _ = std::io::stdout().flush();
        tokio::spawn(async move {
            loop {
                if let Ok((s, _)) = ln.accept().await {
                    tokio::spawn(serve(s));
                }
            }
        })
        .await
        .unwrap();
    });
}
