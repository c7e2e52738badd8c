//! What the Tokio peers of braid's benchmarks share: the -n/-t/-r options,
//! the two runtimes (multi-thread with -t workers, and current-thread, the
//! latter only when -t is 1), timing (warm-up once, then reps timed runs on
//! the monotonic clock, results checked) and the one-line BENCH report that
//! braid's own benchmarks print (perf/bench.h).

use std::future::Future;
use std::time::Instant;
use tokio::runtime::{Builder, Runtime};

pub struct Args {
    pub n: u64,         // -n: workload size
    pub workers: usize, // -t: worker threads (0 = all cores), resolved
    pub reps: usize,    // -r: timed repetitions
}

fn usage() -> ! {
    eprintln!("usage: [-n N] [-t THREADS (0 = all cores)] [-r REPS]");
    std::process::exit(2)
}

impl Args {
    pub fn parse(default_n: u64) -> Args {
        let mut a = Args { n: default_n, workers: 0, reps: 5 };
        let v: Vec<String> = std::env::args().skip(1).collect();
        if v.len() % 2 != 0 {
            usage();
        }
        for p in v.chunks(2) {
            let x: u64 = p[1].parse().unwrap_or_else(|_| usage());
            match p[0].as_str() {
                "-n" => a.n = x,
                "-t" => a.workers = x as usize,
                "-r" => a.reps = x.max(1) as usize,
                _ => usage(),
            }
        }
        if a.workers == 0 {
            a.workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        }
        a
    }

    /// (impl name, workers, runtime): the multi-thread runtime with -t
    /// workers, then, when -t is 1, the current-thread runtime.
    pub fn runtimes(&self) -> Vec<(&'static str, usize, Runtime)> {
        let mt = Builder::new_multi_thread()
            .worker_threads(self.workers)
            .enable_time()
            .build()
            .unwrap();
        let mut v = vec![("tokio-mt", self.workers, mt)];
        if self.workers == 1 {
            let ct = Builder::new_current_thread().enable_time().build().unwrap();
            v.push(("tokio-ct", 1, ct));
        }
        v
    }
}

/// Warm up once, then time reps runs of the future made by f, each spawned
/// as a task on rt (so it runs on a worker) and waited for. Exits if a
/// result differs from expect; returns the per-run times in ms.
pub fn time_runs<F, Fut>(name: &str, rt: &Runtime, reps: usize, expect: u64, f: F) -> Vec<f64>
where
    F: Fn() -> Fut,
    Fut: Future<Output = u64> + Send + 'static,
{
    let mut ms = Vec::with_capacity(reps);
    for i in 0..=reps {
        let t0 = Instant::now();
        let fut = f();
        let got = rt.block_on(async move { tokio::spawn(fut).await.unwrap() });
        let dt = t0.elapsed().as_secs_f64() * 1e3;
        if got != expect {
            eprintln!("{name}: wrong result {got} (expected {expect})");
            std::process::exit(1);
        }
        if i > 0 {
            ms.push(dt);
        }
    }
    ms
}

/// Prints one BENCH line; ops divides the median into ns_per_op.
pub fn report(name: &str, imp: &str, workers: usize, param: u64, ms: &[f64], ops: f64, result: u64) {
    let mut s = ms.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    let med = if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 };
    println!(
        "BENCH name={name} impl={imp} workers={workers} param={param} reps={n} median_ms={:.3} min_ms={:.3} ns_per_op={:.2} result={result}",
        med, s[0], med * 1e6 / ops
    );
}

/// The sleep of task i in the sleeps workload, in microseconds: uniform in
/// 0..=100,000, from splitmix64(i), so every peer sleeps the same set.
pub fn sleep_micros(i: u64) -> u64 {
    let mut z = (i + 1).wrapping_mul(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^= z >> 31;
    z % 100001
}

/// The options of the server peers (tokio_echo, tokio_http): -p PORT and
/// -t THREADS (0 = all cores), resolved.
pub struct ServerArgs {
    pub port: u16,
    pub workers: usize,
}

fn server_usage() -> ! {
    eprintln!("usage: [-p PORT] [-t THREADS (0 = all cores)]");
    std::process::exit(2)
}

impl ServerArgs {
    pub fn parse() -> ServerArgs {
        let mut a = ServerArgs { port: 8080, workers: 0 };
        let v: Vec<String> = std::env::args().skip(1).collect();
        if v.len() % 2 != 0 {
            server_usage();
        }
        for p in v.chunks(2) {
            match p[0].as_str() {
                "-p" => a.port = p[1].parse().unwrap_or_else(|_| server_usage()),
                "-t" => a.workers = p[1].parse().unwrap_or_else(|_| server_usage()),
                _ => server_usage(),
            }
        }
        if a.workers == 0 {
            a.workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        }
        a
    }

    /// The multi-thread runtime with -t workers and the I/O driver on.
    pub fn runtime(&self) -> Runtime {
        Builder::new_multi_thread().worker_threads(self.workers).enable_io().build().unwrap()
    }
}
