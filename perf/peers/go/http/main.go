// go_http: Go peer of braid's HTTP server (perf/io-compare).
//
// net/http from the standard library; every request is answered 200 with
// the 13-byte body "Hello, World!", Content-Type text/plain, keep-alive
// (net/http's default; it also adds a Date header). Listens on
// 127.0.0.1:PORT; GOMAXPROCS is -t THREADS (0 = all cores). Prints one
// READY line on stdout once it listens, then serves until killed.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
)

var body = []byte("Hello, World!")

func hello(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Content-Type"] = []string{"text/plain"}
	h["Content-Length"] = []string{"13"}
	w.Write(body)
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
		fmt.Fprintln(os.Stderr, "go_http:", err)
		os.Exit(1)
	}
	fmt.Printf("READY name=http impl=go workers=%d port=%d\n", *threads, *port)
	srv := &http.Server{Handler: http.HandlerFunc(hello)}
	if err := srv.Serve(ln); err != nil {
		fmt.Fprintln(os.Stderr, "go_http:", err)
		os.Exit(1)
	}
}
