package loadgen

import (
	"cmp"
	"context"
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestScenarios(t *testing.T) {
	cases := []struct {
		scenario string
		size     int64
		path     string // the fake's counter that must reach n
		bytes    int64  // per request, 0: not checked
	}{
		{"ping", 0, "/_ping", 2},
		{"json", 0, "/containers/json", int64(len(containerList(3)))},
		{"blob", 1536, "/_lab/blob", 1536},
		{"blob", 0, "/_lab/blob", 64 << 10},
		{"chunked", 100 << 10, "/images/lab/get", 100 << 10},
		{"save", 0, "/images/" + SaveImage + "/get", fakeSaveSize},
		{"attach", 64, "", 64},
		{"attach", 40000, "", 40000},
		{"events", 0, "", 0},
		{"load", 100 << 10, "/images/load", 100 << 10},
		{"load-chunked", 100<<10 + 1, "/images/load chunked", 100<<10 + 1},
		{"load", 0, "/images/load", 1 << 20},
	}
	for _, network := range []string{"unix", "tcp", "unix-std"} {
		for _, c := range cases {
			t.Run(network+"/"+c.scenario, func(t *testing.T) {
				client := ""
				if network == "unix-std" {
					network, client = "unix", "std"
				}
				f := newFake()
				url := serve(t, f, network)
				const n = 40
				rep, err := Run(context.Background(), Config{Target: url, Scenario: c.scenario, Size: c.size, Conc: 4, Count: n, Client: client})
				if err != nil {
					t.Fatal(err)
				}
				m := rep.Metrics
				if m.Requests != n || m.Success != n {
					t.Fatalf("requests %d, success %d (first error %q); want %d", m.Requests, m.Success, m.FirstError, n)
				}
				if c.path != "" && f.count(c.path) < n {
					t.Errorf("fake saw %d requests for %s; want at least %d", f.count(c.path), c.path, n)
				}
				if c.bytes > 0 && m.Bytes != n*c.bytes {
					t.Errorf("bytes %d; want %d", m.Bytes, n*c.bytes)
				}
				if m.Latency.Max <= 0 || m.Elapsed <= 0 || m.Rate <= 0 {
					t.Errorf("latency max %v, elapsed %v, rate %v; want all positive", m.Latency.Max, m.Elapsed, m.Rate)
				}
			})
		}
	}
}

// Every sets the interval the events scenario asks the server for; the
// default is DefaultEvery.
func TestEventsEvery(t *testing.T) {
	f := newFake()
	url := serve(t, f, "unix")
	for _, every := range []time.Duration{0, 10 * time.Millisecond} {
		rep, err := Run(context.Background(), Config{Target: url, Scenario: "events", Every: every, Conc: 1, Count: 3})
		if err != nil {
			t.Fatal(err)
		}
		if m := rep.Metrics; m.Success != 3 {
			t.Fatalf("every %v: success %d (first error %q); want 3", every, m.Success, m.FirstError)
		}
		want := cmp.Or(every, DefaultEvery)
		if key := "/events?every=" + want.String(); f.count(key) != 1 {
			t.Errorf("every %v: fake saw %d requests for %s; want 1", every, f.count(key), key)
		}
	}
	if err := (&Config{Target: url, Scenario: "ping", Every: time.Millisecond}).Check(); err == nil {
		t.Error("Check accepted -every for ping; want an error")
	}
}

// TestCloseDelimited checks that both clients read bodies that end when
// the server closes the connection (what sockproxy's splice-chunked
// strategy answers a chunked upstream body with), reconnect for the next
// request, and count a reset or a short body as a read error.
func TestCloseDelimited(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		for _, client := range []string{"raw", "std"} {
			for _, c := range []struct {
				scenario string
				size     int64
				bytes    int64
			}{
				{"chunked", 100 << 10, 100 << 10},
				{"chunked", 0, 1 << 20},
				{"save", 0, fakeSaveSize},
			} {
				name := fmt.Sprintf("%s/%s/%s/%d", network, client, c.scenario, c.size)
				f := newFake()
				f.closeDelimited = true
				url := serve(t, f, network)
				const n = 12
				rep, err := Run(context.Background(), Config{Target: url, Scenario: c.scenario, Size: c.size, Conc: 3, Count: n, Client: client})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				m := rep.Metrics
				if m.Success != n || m.Bytes != n*c.bytes {
					t.Errorf("%s: success %d, bytes %d (first error %q); want %d, %d", name, m.Success, m.Bytes, m.FirstError, n, n*c.bytes)
				}
			}
		}
	}
}

func TestCloseDelimitedAbort(t *testing.T) {
	for _, c := range []struct {
		network, scenario string
	}{
		{"tcp", "chunked"},  // reset
		{"tcp", "save"},     // reset
		{"unix", "chunked"}, // clean close, short body: the size tells
	} {
		for _, client := range []string{"raw", "std"} {
			f := newFake()
			f.closeDelimited = true
			f.failAfter = 100000
			url := serve(t, f, c.network)
			size := int64(0)
			if c.scenario == "chunked" {
				size = 200000
			}
			rep, err := Run(context.Background(), Config{Target: url, Scenario: c.scenario, Size: size, Conc: 2, Count: 10, Client: client})
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Metrics.Errors; got.Read != 10 || got.Total() != 10 || rep.Metrics.Success != 0 {
				t.Errorf("%s/%s/%s: errors %+v, success %d; want 10 read errors", c.network, client, c.scenario, got, rep.Metrics.Success)
			}
		}
	}
}

func TestSaveSize(t *testing.T) {
	err := (&Config{Target: "unix:///x.sock", Scenario: "save", Size: 1 << 20, Conc: 1, Count: 1}).Check()
	if err == nil {
		t.Errorf("Check(save with -size) succeeded; want an error")
	}
}

func TestMixCounts(t *testing.T) {
	f := newFake()
	url := serve(t, f, "unix")
	rep, err := Run(context.Background(), Config{Target: url, Scenario: "mix", Mix: "ping=80,json=15,chunked=5", Size: 4096, Conc: 1, Count: 200})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Metrics.Success != 200 {
		t.Fatalf("success %d (first error %q); want 200", rep.Metrics.Success, rep.Metrics.FirstError)
	}
	// json calibrates with two extra GETs of /containers/json.
	for path, want := range map[string]int{"/_ping": 160, "/containers/json": 30 + 2, "/images/lab/get": 10} {
		if got := f.count(path); got != want {
			t.Errorf("%s: got %d requests; want %d", path, got, want)
		}
	}
}

func TestDocker(t *testing.T) {
	for _, containers := range []int{0, 3} {
		f := newFake()
		f.containers = containers
		url := serve(t, f, "unix")
		rep, err := Run(context.Background(), Config{Target: url, Scenario: "docker", Conc: 1, Count: 100})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Metrics.Success != 100 {
			t.Fatalf("containers=%d: success %d (first error %q); want 100", containers, rep.Metrics.Success, rep.Metrics.FirstError)
		}
		want := map[string]int{"/_ping": 20, "/version": 10, "/containers/json": 30 + 1, "/images/json": 20, "/containers/{id}/json": 20}
		if containers == 0 {
			// 8 per cycle: ping 2, containers 3, version 1, images 2; 100 = 12 cycles + 4.
			want = map[string]int{"/_ping": 25, "/version": 13, "/containers/json": 37 + 1, "/images/json": 25, "/containers/{id}/json": 0}
		}
		for path, n := range want {
			if got := f.count(path); got != n {
				t.Errorf("containers=%d: %s: got %d requests; want %d", containers, path, got, n)
			}
		}
	}
}

func TestJSONSize(t *testing.T) {
	f := newFake()
	url := serve(t, f, "tcp")
	rep, err := Run(context.Background(), Config{Target: url, Scenario: "json", Size: 64 << 10, Conc: 2, Count: 10})
	if err != nil {
		t.Fatal(err)
	}
	per := rep.Metrics.Bytes / 10
	if per < 63<<10 || per > 65<<10 {
		t.Errorf("json body %d bytes; want about %d", per, 64<<10)
	}
}

func TestErrors(t *testing.T) {
	f := newFake()
	f.failAfter = 1000
	url := serve(t, f, "unix")
	for _, client := range []string{"raw", "std"} {
		for _, scenario := range []string{"blob", "chunked"} {
			rep, err := Run(context.Background(), Config{Target: url, Scenario: scenario, Size: 40000, Conc: 2, Count: 10, Client: client})
			if err != nil {
				t.Fatal(err)
			}
			if got := rep.Metrics.Errors; got.Read != 10 || got.Total() != 10 || rep.Metrics.Success != 0 {
				t.Errorf("%s/%s: errors %+v, success %d; want 10 read errors", client, scenario, got, rep.Metrics.Success)
			}
		}
	}

	rep, err := Run(context.Background(), Config{Target: "unix:///nonexistent/x.sock", Scenario: "ping", Conc: 2, Count: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Metrics.Errors; got.Connect != 5 || got.Total() != 5 {
		t.Errorf("errors %+v; want 5 connect errors", got)
	}
}

func TestStatusError(t *testing.T) {
	f := newFake()
	url := serve(t, f, "tcp")
	for _, std := range []bool{false, true} {
		e := &env{target: mustTarget(t, url), timeout: time.Minute, stdClient: std}
		e.client = e.target.client(1, time.Minute)
		defer e.client.CloseIdleConnections()
		s := &httpScenario{e: e, reqs: []httpReq{{path: "/status?code=503", want: -1}}}
		c := s.NewConn(0)
		defer c.Close()
		for range 2 { // the connection stays usable
			out := c.Do(context.Background())
			if KindOf(out.Err) != KindStatus {
				t.Errorf("std=%v: kind %v (err %v); want status", std, KindOf(out.Err), out.Err)
			}
		}
	}
}

func mustTarget(t *testing.T, url string) Target {
	t.Helper()
	tg, err := ParseTarget(url)
	if err != nil {
		t.Fatal(err)
	}
	return tg
}
