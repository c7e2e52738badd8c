//! tokio_spawn: Tokio peer of braid's spawn-all benchmark (perf/spawn.c),
//! same shape.
//!
//! tokio::spawn N (default 1,000,000) tasks with the empty body i & 1, then
//! await every JoinHandle in spawn order and sum. ns_per_op is per task;
//! result is the sum (N/2).
use braid_tokio_peers::*;

async fn spawn_all(n: u64) -> u64 {
    let hs: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i & 1 })).collect();
    let mut sum = 0;
    for h in hs {
        sum += h.await.unwrap();
    }
    sum
}

fn main() {
    let a = Args::parse(1_000_000);
    let n = a.n;
    for (imp, w, rt) in a.runtimes() {
        let ms = time_runs("spawn-all", &rt, a.reps, n / 2, || spawn_all(n));
        report("spawn-all", imp, w, n, &ms, n as f64, n / 2);
    }
}
