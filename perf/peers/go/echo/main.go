// go_echo: Go peer of braid's TCP echo server (perf/io-compare).
//
// One goroutine per connection reads into a 16 KiB buffer and writes back
// what it read (a plain loop, not io.Copy, so Linux's splice path is not
// taken). Listens on 127.0.0.1:PORT; GOMAXPROCS is -t THREADS (0 = all
// cores). Prints one READY line on stdout once it listens, then serves
// until killed.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 16384)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	port := flag.Int("p", 8080, "TCP port (127.0.0.1)")
	threads := flag.Int("t", 0, "threads (GOMAXPROCS), 0 = all cores")
	flag.Parse()
	if *threads <= 0 {
		*threads = runtime.NumCPU()
	}
	runtime.GOMAXPROCS(*threads)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_echo:", err)
		os.Exit(1)
	}
	fmt.Printf("READY name=echo impl=go workers=%d port=%d\n", *threads, *port)
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c)
	}
}
