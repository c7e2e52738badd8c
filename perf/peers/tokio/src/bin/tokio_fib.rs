//! tokio_fib: Tokio peer of braid's fib benchmark (perf/fib.c), same shape.
//!
//! fib(N) (default 30) where every call with n >= 2 spawns BOTH children
//! with tokio::spawn and awaits both JoinHandles; no serial cutoff.
//! ns_per_op is per spawned task: 2*fib(N+1)-2 of them.
use braid_tokio_peers::*;
use std::future::Future;
use std::pin::Pin;

fn fib(n: u64) -> Pin<Box<dyn Future<Output = u64> + Send>> {
    Box::pin(async move {
        if n < 2 {
            return n;
        }
        let a = tokio::spawn(fib(n - 1));
        let b = tokio::spawn(fib(n - 2));
        b.await.unwrap() + a.await.unwrap()
    })
}

fn main() {
    let a = Args::parse(30);
    let (mut f0, mut f1) = (0u64, 1u64); // fib(k), fib(k+1)
    for _ in 0..a.n {
        (f0, f1) = (f1, f0 + f1);
    }
    let n = a.n;
    for (imp, w, rt) in a.runtimes() {
        let ms = time_runs("fib", &rt, a.reps, f0, || fib(n));
        report("fib", imp, w, n, &ms, (2 * f1 - 2) as f64, f0);
    }
}
