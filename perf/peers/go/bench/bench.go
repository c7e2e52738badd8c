// Package bench holds what the Go peers of braid's benchmarks share:
// the -n/-t/-r flags, timing (warm-up once, then reps timed runs on the
// monotonic clock), result checking and the one-line BENCH report that
// braid's own benchmarks print (perf/bench.h).
package bench

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"time"
)

// Args are the command-line options every peer takes.
type Args struct {
	N       int64 // -n: workload size
	Workers int   // -t: GOMAXPROCS (0 = all cores), resolved
	Reps    int   // -r: timed repetitions
}

// Parse reads -n, -t and -r and sets GOMAXPROCS to the worker count.
func Parse(defaultN int64) Args {
	var a Args
	flag.Int64Var(&a.N, "n", defaultN, "workload size")
	flag.IntVar(&a.Workers, "t", 0, "threads (GOMAXPROCS), 0 = all cores")
	flag.IntVar(&a.Reps, "r", 5, "timed repetitions")
	flag.Parse()
	if a.N < 0 || a.Reps < 1 || a.Workers < 0 {
		fmt.Fprintln(os.Stderr, "bad -n, -t or -r")
		os.Exit(2)
	}
	if a.Workers == 0 {
		a.Workers = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(a.Workers)
	return a
}

// Time warms up once, then times reps runs of fn, exiting if any run's
// result differs from expect. It returns the per-run times in ms.
func Time(name string, reps int, expect int64, fn func() int64) []float64 {
	ms := make([]float64, 0, reps)
	for i := -1; i < reps; i++ {
		t0 := time.Now() // carries a monotonic reading
		got := fn()
		d := time.Since(t0)
		if got != expect {
			fmt.Fprintf(os.Stderr, "%s: wrong result %d (expected %d)\n", name, got, expect)
			os.Exit(1)
		}
		if i >= 0 {
			ms = append(ms, float64(d.Nanoseconds())/1e6)
		}
	}
	return ms
}

// Report prints one BENCH line; ops divides the median into ns_per_op.
func Report(name, impl string, workers int, param int64, ms []float64, ops float64, result int64) {
	s := append([]float64(nil), ms...)
	sort.Float64s(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	fmt.Printf("BENCH name=%s impl=%s workers=%d param=%d reps=%d median_ms=%.3f min_ms=%.3f ns_per_op=%.2f result=%d\n",
		name, impl, workers, param, n, med, s[0], med*1e6/ops, result)
}

// SleepMicros is the sleep of task i in the sleeps workload: uniform in
// 0..100,000 us, from splitmix64(i) so every peer sleeps the same set.
func SleepMicros(i int64) int64 {
	z := uint64(i+1) * 0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return int64(z % 100001)
}
