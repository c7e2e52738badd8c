//! tokio_skynet: Tokio peer of braid's skynet benchmark (perf/skynet.c),
//! same shape.
//!
//! A 10-ary tree of tasks with N leaves (default 1,000,000): leaf i returns
//! i; every parent tokio::spawns its 10 children, awaits their JoinHandles
//! and sums them. ns_per_op is per task, root included (1,111,111 for 1M
//! leaves); result N(N-1)/2.
use braid_tokio_peers::*;
use std::future::Future;
use std::pin::Pin;

fn skynet(num: u64, size: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if size == 1 {
            return num;
        }
        let sub = size / 10;
        let hs: Vec<_> = (0..10).map(|i| tokio::spawn(skynet(num + i * sub, sub))).collect();
        let mut sum = 0;
        for h in hs {
            sum += h.await.unwrap();
        }
        sum
    })
}

fn main() {
    let a = Args::parse(1_000_000);
    let (mut tasks, mut s) = (0u64, 1u64);
    while s < a.n {
        tasks += s;
        s *= 10;
    }
    if a.n < 1 || s != a.n {
        eprintln!("tokio_skynet: -n (leaves) must be a power of 10");
        std::process::exit(2);
    }
    tasks += s;
    let (n, expect) = (a.n, a.n * (a.n - 1) / 2);
    for (imp, w, rt) in a.runtimes() {
        let ms = time_runs("skynet", &rt, a.reps, expect, || skynet(0, n));
        report("skynet", imp, w, n, &ms, tasks as f64, expect);
    }
}
