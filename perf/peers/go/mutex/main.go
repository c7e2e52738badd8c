// go_mutex: Go peer of braid's mutex benchmark (perf/mutex.c), same shape.
//
// 4 goroutines per GOMAXPROCS share one sync.Mutex, each taking it K times
// around one increment of a shared counter; N (default 1,000,000) lock
// operations in all, split evenly. The final count must be N. ns_per_op is
// per lock + increment + unlock. (sync.Mutex lets a running goroutine barge
// ahead of woken waiters, with a starvation mode after 1 ms; Go preempts, so
// the goroutines interleave even on one thread.)
package main

import (
	"sync"

	"braidpeers/bench"
)

func contend(n int64, tasks int64) int64 {
	var mu sync.Mutex
	var counter int64
	var wg sync.WaitGroup
	wg.Add(int(tasks))
	for i := int64(0); i < tasks; i++ {
		k := n / tasks
		if i < n%tasks {
			k++
		}
		go func(k int64) {
			for j := int64(0); j < k; j++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}(k)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return counter
}

func main() {
	a := bench.Parse(1000000)
	tasks := int64(4 * a.Workers)
	run := func() int64 {
		c := make(chan int64)
		go func() { c <- contend(a.N, tasks) }()
		return <-c
	}
	ms := bench.Time("mutex", a.Reps, a.N, run)
	ops := float64(a.N)
	if ops == 0 {
		ops = 1
	}
	bench.Report("mutex", "go", a.Workers, a.N, ms, ops, a.N)
}
