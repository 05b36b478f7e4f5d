package soak

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func samples(get func(i int) int64, n int) []Sample {
	ss := make([]Sample, n)
	for i := range ss {
		v := get(i)
		ss[i] = Sample{RSSKiB: 100 << 10, Threads: 10, FDs: 100, Streams: 5, Slow: 2}
		ss[i].RSSKiB += v
	}
	return ss
}

func TestJudge(t *testing.T) {
	lim := DefaultLimits
	lim.MinStreams = 5
	lim.MinSlow = 2
	cases := []struct {
		name    string
		samples []Sample
		fail    string // substring of the error; "" for none
	}{
		{"flat", samples(func(int) int64 { return 0 }, 9), ""},
		{"small-absolute", samples(func(i int) int64 { return int64(i) * 1024 }, 9), ""}, // +8 MiB on 100 MiB: under 20 % and the floor
		{"leak", samples(func(i int) int64 { return int64(i) * 20 << 10 }, 9), "rss_kib grew"},
		{"too-few", samples(func(i int) int64 { return int64(i) * 100 << 10 }, 2), ""},
		{"dropped", func() []Sample {
			ss := samples(func(int) int64 { return 0 }, 3)
			ss[2].Streams = 4
			return ss
		}(), "4 of 5 idle streams"},
		{"slow-dropped", func() []Sample {
			ss := samples(func(int) int64 { return 0 }, 3)
			ss[2].Slow = 1
			return ss
		}(), "1 of 2 slow readers"},
	}
	for _, tc := range cases {
		err := Judge(tc.samples, lim)
		switch {
		case tc.fail == "" && err != nil:
			t.Errorf("%s: Judge = %v; want nil", tc.name, err)
		case tc.fail != "" && (err == nil || !strings.Contains(err.Error(), tc.fail)):
			t.Errorf("%s: Judge = %v; want an error containing %q", tc.name, err, tc.fail)
		}
	}
}

func TestReadSelf(t *testing.T) {
	s, err := Read(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSKiB <= 0 || s.Threads <= 0 || s.FDs <= 0 {
		t.Errorf("Read(self) = %+v; want positive RSS, threads and fds", s)
	}
	var buf bytes.Buffer
	WriteCSVHeader(&buf)
	WriteCSV(&buf, Sample{Elapsed: 1500 * time.Millisecond, RSSKiB: 1, Threads: 2, FDs: 3, Streams: 4, Slow: 5})
	if got, want := buf.String(), "elapsed_s,rss_kib,threads,fds,streams,slow\n1.5,1,2,3,4,5\n"; got != want {
		t.Errorf("CSV %q; want %q", got, want)
	}
}

func TestStreams(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})}
	go srv.Serve(ln)
	defer srv.Close()
	s, err := Open(context.Background(), ln.Addr().String(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Count(); n != 10 {
		t.Errorf("Count = %d; want 10", n)
	}
	srv.Close() // drops every stream
	deadline := time.Now().Add(10 * time.Second)
	for s.Count() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := s.Count(); n != 0 {
		t.Errorf("Count after the server closed = %d; want 0", n)
	}
	s.Close()
}
