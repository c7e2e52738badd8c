//! tokio_echo: Tokio peer of braid's TCP echo server (perf/io-compare).
//!
//! Multi-thread runtime with -t THREADS workers; one task per connection
//! reads into a 16 KiB buffer and writes back what it read. Listens on
//! 127.0.0.1:PORT (-p), TCP_NODELAY on every connection. Prints one READY
//! line on stdout once it listens, then serves until killed.
use braid_tokio_peers::ServerArgs;
use std::io::Write;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(mut s: TcpStream) {
    let _ = s.set_nodelay(true);
    let mut buf = vec![0u8; 16384];
    loop {
        let n = match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if s.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

fn main() {
    let a = ServerArgs::parse();
    let rt = a.runtime();
    // the accept loop runs as a task too, so only the -t workers run code
    rt.block_on(async move {
        let ln = TcpListener::bind(("127.0.0.1", a.port)).await.unwrap_or_else(|e| {
            eprintln!("tokio_echo: {e}");
            std::process::exit(1)
        });
        println!("READY name=echo impl=tokio workers={} port={}", a.workers, a.port);
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
