// go_skynet: Go peer of braid's skynet benchmark (perf/skynet.c), same shape.
//
// A 10-ary tree of goroutines with N leaves (default 1,000,000): leaf i
// returns i; every parent starts its 10 children as goroutines, each sending
// its sum on the parent's channel, and adds them up. ns_per_op is per
// goroutine, root included (1,111,111 for 1M leaves); result N(N-1)/2.
package main

import (
	"fmt"
	"os"

	"braidpeers/bench"
)

func skynet(num, size int64) int64 {
	if size == 1 {
		return num
	}
	sub := size / 10
	c := make(chan int64, 10)
	for i := int64(0); i < 10; i++ {
		go func(i int64) { c <- skynet(num+i*sub, sub) }(i)
	}
	var sum int64
	for i := 0; i < 10; i++ {
		sum += <-c
	}
	return sum
}

func main() {
	a := bench.Parse(1000000)
	var tasks int64
	s := int64(1)
	for ; s < a.N; s *= 10 {
		tasks += s
	}
	if a.N < 1 || s != a.N {
		fmt.Fprintln(os.Stderr, "go_skynet: -n (leaves) must be a power of 10")
		os.Exit(2)
	}
	tasks += s
	expect := a.N * (a.N - 1) / 2
	ms := bench.Time("skynet", a.Reps, expect, func() int64 { return skynet(0, a.N) })
	bench.Report("skynet", "go", a.Workers, a.N, ms, float64(tasks), expect)
}
