//! tokio_pingpong: Tokio peer of braid's pingpong benchmark.
//!
//! Two tasks pass a counter back and forth over two tokio::sync::mpsc
//! channels of capacity 1, N (default 1,000,000) round trips (ping + pong =
//! one round trip). ns_per_op is per round trip; result is N.
use braid_tokio_peers::*;
use tokio::sync::mpsc;

async fn pingpong(n: u64) -> u64 {
    let (ping_tx, mut ping_rx) = mpsc::channel::<u64>(1);
    let (pong_tx, mut pong_rx) = mpsc::channel::<u64>(1);
    let ponger = tokio::spawn(async move {
        while let Some(v) = ping_rx.recv().await {
            pong_tx.send(v + 1).await.unwrap();
        }
    });
    let mut v = 0;
    for _ in 0..n {
        ping_tx.send(v).await.unwrap();
        v = pong_rx.recv().await.unwrap();
    }
    drop(ping_tx);
    ponger.await.unwrap();
    v
}

fn main() {
    let a = Args::parse(1_000_000);
    let n = a.n;
    for (imp, w, rt) in a.runtimes() {
        let ms = time_runs("pingpong", &rt, a.reps, n, || pingpong(n));
        report("pingpong", imp, w, n, &ms, n as f64, n);
    }
}
