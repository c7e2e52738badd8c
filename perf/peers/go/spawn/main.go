// go_spawn: Go peer of braid's spawn-all benchmark (perf/spawn.c), same shape.
//
// Start N (default 1,000,000) goroutines, each computing the empty body
// i & 1 into its slot, then wait for all of them (sync.WaitGroup) and sum
// the slots. ns_per_op is per goroutine; result is the sum (N/2).
package main

import (
	"sync"

	"braidpeers/bench"
)

func spawnAll(n int64, out []int64) int64 {
	var wg sync.WaitGroup
	wg.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func(i int64) { out[i] = i & 1; wg.Done() }(i)
	}
	wg.Wait()
	var sum int64
	for _, r := range out {
		sum += r
	}
	return sum
}

func main() {
	a := bench.Parse(1000000)
	out := make([]int64, a.N)
	ms := bench.Time("spawn-all", a.Reps, a.N/2, func() int64 { return spawnAll(a.N, out) })
	bench.Report("spawn-all", "go", a.Workers, a.N, ms, float64(a.N), a.N/2)
}
