// go_pingpong: Go peer of braid's pingpong benchmark.
//
// Two goroutines pass a counter back and forth over two unbuffered
// channels, N (default 1,000,000) round trips (ping + pong = one round
// trip). ns_per_op is per round trip; result is N.
package main

import "braidpeers/bench"

func pingpong(n int64) int64 {
	ping, pong := make(chan int64), make(chan int64)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
		close(pong)
	}()
	var v int64
	for i := int64(0); i < n; i++ {
		ping <- v
		v = <-pong
	}
	close(ping)
	<-pong // wait for the ponger to finish
	return v
}

func main() {
	a := bench.Parse(1000000)
	// the pinger runs as a goroutine too, so both ends are goroutines
	run := func() int64 {
		c := make(chan int64)
		go func() { c <- pingpong(a.N) }()
		return <-c
	}
	ms := bench.Time("pingpong", a.Reps, a.N, run)
	bench.Report("pingpong", "go", a.Workers, a.N, ms, float64(a.N), a.N)
}
