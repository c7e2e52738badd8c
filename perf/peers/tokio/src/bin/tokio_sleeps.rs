//! tokio_sleeps: Tokio peer of braid's sleeps benchmark.
//!
//! N (default 100,000) tasks at once, task i doing tokio::time::sleep for
//! sleep_micros(i) (uniform 0..100 ms, the same seeded sequence in every
//! peer; Tokio's timer rounds up to whole ms); the time is the wall time
//! until all are done. result is the number that finished (N). A second
//! line, sleeps-lateness, reports each run's mean lateness (woken - due)
//! in ms.
use braid_tokio_peers::*;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

async fn sleeps(d: Arc<Vec<Duration>>, late: Arc<Mutex<Vec<f64>>>) -> u64 {
    let late_ns = Arc::new(AtomicU64::new(0));
    let hs: Vec<_> = (0..d.len())
        .map(|i| {
            let (d, late_ns) = (d[i], late_ns.clone());
            tokio::spawn(async move {
                let t0 = Instant::now();
                tokio::time::sleep(d).await;
                late_ns.fetch_add(t0.elapsed().saturating_sub(d).as_nanos() as u64, Relaxed);
            })
        })
        .collect();
    let mut done = 0;
    for h in hs {
        h.await.unwrap();
        done += 1;
    }
    let n = d.len().max(1) as f64;
    late.lock().unwrap().push(late_ns.load(Relaxed) as f64 / n / 1e6);
    done
}

fn main() {
    let a = Args::parse(100_000);
    let n = a.n;
    let d: Arc<Vec<Duration>> =
        Arc::new((0..n).map(|i| Duration::from_micros(sleep_micros(i))).collect());
    for (imp, w, rt) in a.runtimes() {
        let late = Arc::new(Mutex::new(Vec::new()));
        let ms = time_runs("sleeps", &rt, a.reps, n, || sleeps(d.clone(), late.clone()));
        report("sleeps", imp, w, n, &ms, n as f64, n);
        let late = late.lock().unwrap();
        report("sleeps-lateness", imp, w, n, &late[1..], 1.0, n);
    }
}
