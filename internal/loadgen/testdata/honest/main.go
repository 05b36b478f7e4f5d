// Command honest is the fixed target of loadgen's honesty checks (run by
// honest.sh): GET /_ping answers "OK" on a TCP address and a Unix socket,
// with two faults: every -slow-every'th request sleeps -slow, and once,
// -stall-at after the first request, every request is held for -stall.
package main

import (
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18080", "TCP address")
	socket := flag.String("socket", "", "Unix socket path (optional)")
	slowEvery := flag.Int64("slow-every", 0, "every Nth request sleeps -slow (0: never)")
	slow := flag.Duration("slow", 10*time.Millisecond, "sleep of the slow requests")
	stallAt := flag.Duration("stall-at", 0, "when, after the first request, to stall everything once (0: never)")
	stall := flag.Duration("stall", 200*time.Millisecond, "length of the stall")
	flag.Parse()

	var n atomic.Int64
	var first sync.Once
	var stallStart, stallEnd time.Time
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first.Do(func() {
			stallStart = time.Now().Add(*stallAt)
			stallEnd = stallStart.Add(*stall)
		})
		i := n.Add(1)
		if *stallAt > 0 {
			if now := time.Now(); now.After(stallStart) && now.Before(stallEnd) {
				time.Sleep(stallEnd.Sub(now))
			}
		}
		if *slowEvery > 0 && i%*slowEvery == 0 {
			time.Sleep(*slow)
		}
		w.Header().Set("Content-Length", "2")
		io.WriteString(w, "OK")
	})
	if *socket != "" {
		os.Remove(*socket)
		ln, err := net.Listen("unix", *socket)
		if err != nil {
			log.Fatal(err)
		}
		go func() { log.Fatal(http.Serve(ln, h)) }()
	}
	log.Fatal(http.ListenAndServe(*listen, h))
}
