// Command relay is the lab's physical ceiling for a proxy on this machine:
// the least a relay from TCP to a Unix socket can do. It parses nothing:
// each accepted TCP connection gets its own connection to the upstream
// socket and the bytes are copied both ways with io.Copy, which on Linux
// splices (TCPConn.ReadFrom of a *UnixConn, TCPConn.WriteTo a *UnixConn),
// passing half-closes on. The suite measures it as the target `relay`; a
// proxy that spends no more CPU per GiB than it cannot do better without
// leaving the kernel's copy path.
//
// With -socketpair SIZE it instead writes SIZE bytes through a Unix
// socketpair in 1 MiB writes, read back in 1 MiB reads, and prints one
// benchfmt line: the raw socket throughput of one process (both ends in
// the CPUs it is pinned to) and its CPU seconds per GiB.
//
//	relay -listen 127.0.0.1:PORT -socket PATH
//	relay -socketpair 1GiB [-name LABEL]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/sockproxylab/sockproxy/internal/units"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("relay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "TCP `host:port` to accept on")
	socket := fs.String("socket", "", "the upstream Unix socket `PATH`")
	pair := fs.String("socketpair", "", "measure a Unix socketpair moving this `SIZE` instead (e.g. 1GiB)")
	name := fs.String("name", "socketpair", "benchmark `label` for -socketpair")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *pair != "" {
		size, err := units.ParseSize(*pair)
		if err != nil || size <= 0 {
			fmt.Fprintf(stderr, "relay: bad -socketpair %q\n", *pair)
			return 2
		}
		if err := socketpair(stdout, *name, *pair, size); err != nil {
			fmt.Fprintln(stderr, "relay:", err)
			return 1
		}
		return 0
	}
	if *listen == "" || *socket == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: relay -listen HOST:PORT -socket PATH | relay -socketpair SIZE")
		return 2
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintln(stderr, "relay:", err)
		return 1
	}
	go func() { <-ctx.Done(); ln.Close() }()
	if err := serve(ln, *socket); err != nil && ctx.Err() == nil {
		fmt.Fprintln(stderr, "relay:", err)
		return 1
	}
	return 0
}

// serve relays every connection ln accepts to socket until ln is closed.
func serve(ln net.Listener, socket string) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go relay(c.(*net.TCPConn), socket)
	}
}

// relay copies both ways between c and a new connection to socket; each
// direction passes its EOF on as a half-close.
func relay(c *net.TCPConn, socket string) {
	defer c.Close()
	u, err := net.Dial("unix", socket)
	if err != nil {
		return
	}
	up := u.(*net.UnixConn)
	defer up.Close()
	var wg sync.WaitGroup
	wg.Go(func() {
		io.Copy(up, c)
		up.CloseWrite()
	})
	io.Copy(c, up)
	c.CloseWrite()
	wg.Wait()
}

// socketpair moves size bytes through a Unix stream socketpair and writes
// the benchfmt line BenchmarkLoadgen/target=NAME/scenario=socketpair/size=LABEL/conc=1.
func socketpair(w io.Writer, name, label string, size int64) error {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		return fmt.Errorf("socketpair: %w", err)
	}
	a, b := os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
	defer a.Close()
	defer b.Close()
	cpu0 := cpuTime()
	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 1<<20)
		for left := size; left > 0; {
			n, err := a.Write(buf[:min(left, int64(len(buf)))])
			left -= int64(n)
			if err != nil {
				errc <- err
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, 1<<20)
	var got int64
	for got < size {
		n, err := b.Read(buf)
		got += int64(n)
		if err != nil {
			return fmt.Errorf("reading the socketpair: %w", err)
		}
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("writing the socketpair: %w", err)
	}
	el := time.Since(start)
	cpu := cpuTime() - cpu0
	if el <= 0 {
		return errors.New("no time elapsed")
	}
	fmt.Fprintf(w, "BenchmarkLoadgen/target=%s/scenario=socketpair/size=%s/conc=1\t1\t%d ns/op\t%.2f MB/s\t%.4f proxy-cpu-s/GiB\n",
		name, label, el.Nanoseconds(), float64(size)/el.Seconds()/1e6, cpu.Seconds()/(float64(size)/(1<<30)))
	return nil
}

// cpuTime is this process's user and system time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
