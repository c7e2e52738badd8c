//! tokio_mutex: Tokio peer of braid's mutex benchmark (perf/mutex.c), same
//! shape.
//!
//! 4 tasks per worker share one tokio::sync::Mutex (fair, FIFO), each taking
//! it K times around one increment of a shared counter; N (default
//! 1,000,000) lock operations in all, split evenly. The final count must be
//! N. ns_per_op is per lock + increment + unlock. (Tokio's cooperative
//! budget makes a task yield now and then even when the lock is free, so
//! the tasks interleave on one thread too.)
use braid_tokio_peers::*;
use std::sync::Arc;
use tokio::sync::Mutex;

async fn contend(n: u64, tasks: u64) -> u64 {
    let m = Arc::new(Mutex::new(0u64));
    let hs: Vec<_> = (0..tasks)
        .map(|i| {
            let k = n / tasks + u64::from(i < n % tasks);
            let m = m.clone();
            tokio::spawn(async move {
                for _ in 0..k {
                    *m.lock().await += 1;
                }
            })
        })
        .collect();
    for h in hs {
        h.await.unwrap();
    }
    let c = *m.lock().await;
    c
}

fn main() {
    let a = Args::parse(1_000_000);
    let n = a.n;
    let ops = n.max(1) as f64;
    for (imp, w, rt) in a.runtimes() {
        let tasks = 4 * w as u64;
        let ms = time_runs("mutex", &rt, a.reps, n, move || contend(n, tasks));
        report("mutex", imp, w, n, &ms, ops, n);
    }
}
