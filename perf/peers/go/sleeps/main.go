// go_sleeps: Go peer of braid's sleeps benchmark.
//
// N (default 100,000) goroutines at once, goroutine i sleeping
// bench.SleepMicros(i) (uniform 0..100 ms, the same seeded sequence in every
// peer); the time is the wall time until all are done (about 100 ms plus
// the overhead). result is the number that finished (N). A second line,
// sleeps-lateness, reports each run's mean lateness (woken - due) in ms.
package main

import (
	"sync"
	"sync/atomic"
	"time"

	"braidpeers/bench"
)

func main() {
	a := bench.Parse(100000)
	d := make([]time.Duration, a.N)
	for i := range d {
		d[i] = time.Duration(bench.SleepMicros(int64(i))) * time.Microsecond
	}
	var late []float64
	run := func() int64 {
		var wg sync.WaitGroup
		var done, lateNs int64
		wg.Add(int(a.N))
		for i := range d {
			go func(d time.Duration) {
				t0 := time.Now()
				time.Sleep(d)
				atomic.AddInt64(&lateNs, int64(time.Since(t0)-d))
				atomic.AddInt64(&done, 1)
				wg.Done()
			}(d[i])
		}
		wg.Wait()
		late = append(late, float64(lateNs)/float64(a.N)/1e6)
		return done
	}
	ms := bench.Time("sleeps", a.Reps, a.N, run)
	bench.Report("sleeps", "go", a.Workers, a.N, ms, float64(a.N), a.N)
	bench.Report("sleeps-lateness", "go", a.Workers, a.N, late[1:], 1, a.N)
}
