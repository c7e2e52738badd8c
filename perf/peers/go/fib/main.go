// go_fib: Go peer of braid's fib benchmark (perf/fib.c), same shape.
//
// fib(N) (default 30) where every call with n >= 2 starts BOTH children as
// goroutines and waits for both (sync.WaitGroup); no serial cutoff.
// ns_per_op is per spawned goroutine: 2*fib(N+1)-2 of them.
package main

import (
	"sync"

	"braidpeers/bench"
)

func fib(n int64) int64 {
	if n < 2 {
		return n
	}
	var a, b int64
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { a = fib(n - 1); wg.Done() }()
	go func() { b = fib(n - 2); wg.Done() }()
	wg.Wait()
	return a + b
}

func main() {
	a := bench.Parse(30)
	var f0, f1 int64 = 0, 1 // fib(k), fib(k+1)
	for k := int64(0); k < a.N; k++ {
		f0, f1 = f1, f0+f1
	}
	ms := bench.Time("fib", a.Reps, f0, func() int64 { return fib(a.N) })
	bench.Report("fib", "go", a.Workers, a.N, ms, float64(2*f1-2), f0)
}
