package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/sockproxylab/sockproxy/internal/testsock"
	"golang.org/x/perf/benchfmt"
)

// The relay passes bytes both ways and the half-close of each side on.
func TestRelayEchoHalfClose(t *testing.T) {
	path := testsock.Path(t, "relay")
	up, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		c, err := up.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c) // until the client's half-close
		c.Write(bytes.ToUpper(b))
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go serve(ln, path)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("hello relay")); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "HELLO RELAY" {
		t.Errorf("got %q; want %q", got, "HELLO RELAY")
	}
}

func TestSocketpairLine(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"-socketpair", "4MiB"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	r := benchfmt.NewReader(strings.NewReader(out.String()), "out")
	n := 0
	for r.Scan() {
		res, ok := r.Result().(*benchfmt.Result)
		if !ok {
			t.Fatalf("not a result: %v", r.Result())
		}
		n++
		if got, want := string(res.Name), "Loadgen/target=socketpair/scenario=socketpair/size=4MiB/conc=1"; got != want {
			t.Errorf("name %q; want %q", got, want)
		}
	}
	if n != 1 {
		t.Errorf("%d results; want 1:\n%s", n, out.String())
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), nil, &out, &errb); code != 2 {
		t.Errorf("no flags: exit %d; want 2", code)
	}
}
