package suite

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestCPUMetric(t *testing.T) {
	// 4 requests of 64 MiB in 2 s at 134.2 MB/s: 256 MiB moved; 0.5 s CPU is 2 s/GiB.
	line := "BenchmarkLoadgen/target=x/scenario=blob/size=64MiB/conc=4 4 5e+08 ns/op 2 req/s 134.217728 MB/s"
	if got, want := cpuMetric(line, 500*time.Millisecond, true), "\t2.0000 proxy-cpu-s/GiB"; got != want {
		t.Errorf("bulk: got %q; want %q", got, want)
	}
	line = "BenchmarkLoadgen/target=x/scenario=ping/conc=16 1000 1000 ns/op"
	if got, want := cpuMetric(line, 50*time.Millisecond, false), "\t50000 proxy-cpu-ns/op"; got != want {
		t.Errorf("requests: got %q; want %q", got, want)
	}
	if got := cpuMetric("BenchmarkLoadgen/x 0 1 ns/op", time.Second, false); got != "" {
		t.Errorf("zero requests: got %q; want none", got)
	}
}

func TestBulk(t *testing.T) {
	for name, want := range map[string]bool{"blob": true, "chunked": true, "save": true, "load": true, "load-chunked": true, "events": false, "ping": false, "json": false, "docker": false} {
		if got := (Scenario{Name: name, Conc: 1}).bulk(); got != want {
			t.Errorf("Scenario{Name: %q}.bulk() = %v; want %v", name, got, want)
		}
	}
}

func TestScenarioArgs(t *testing.T) {
	for _, c := range []struct {
		sc         Scenario
		args, name string
	}{
		{Scenario{Name: "json", Size: "1536B", Conc: 16}, "-scenario json -c 16 -size 1536B -d 1s", "json/size=1536B/conc=16"},
		{Scenario{Name: "blob", Size: "64MiB", Conc: 4, N: 8}, "-scenario blob -c 4 -size 64MiB -n 8", "blob/size=64MiB/conc=4"},
		{Scenario{Name: "ping", Conc: 256, Rate: 2500, D: 2 * time.Second}, "-scenario ping -c 256 -rate 2500 -d 2s", "ping/rate=2500"},
		{Scenario{Name: "events", Conc: 1, N: 200, Every: 10 * time.Millisecond}, "-scenario events -c 1 -every 10ms -n 200", "events/conc=1"},
	} {
		if got := strings.Join(c.sc.Args(time.Second), " "); got != c.args {
			t.Errorf("Args = %q; want %q", got, c.args)
		}
		if got := c.sc.String(); got != c.name {
			t.Errorf("String = %q; want %q", got, c.name)
		}
	}
}

func TestLineValues(t *testing.T) {
	v := lineValues("BenchmarkLoadgen/target=x/scenario=ping/rate=1000 990 1e6 ns/op 990 req/s 0.01 dropped/op")
	if v["req/s"] != 990 || v["dropped/op"] != 0.01 || v["ns/op"] != 1e6 {
		t.Errorf("lineValues = %v", v)
	}
}

func TestKernelKiB(t *testing.T) {
	if k := kernelKiB(); k <= 0 {
		t.Errorf("kernelKiB() = %d; want > 0 (slab)", k)
	}
}

// Every peer writes a configuration that names its listen address and the
// upstream socket; the tuned ones carry the larger buffer.
func TestPeerConfigs(t *testing.T) {
	for _, tuned := range []bool{false, true} {
		extra := ""
		if tuned {
			extra = "X\n"
		}
		for name, conf := range map[string]string{
			"haproxy": fmt.Sprintf(haproxyConf, "127.0.0.1:1", "/up.sock", extra, extra),
			"nginx":   fmt.Sprintf(nginxConf, "/dir", "/up.sock", "127.0.0.1:1", extra),
			"caddy":   fmt.Sprintf(caddyfile, "127.0.0.1:1", "/up.sock"),
		} {
			if !strings.Contains(conf, "127.0.0.1:1") || !strings.Contains(conf, "/up.sock") || strings.Contains(conf, "%!") {
				t.Errorf("%s (tuned %v):\n%s", name, tuned, conf)
			}
		}
	}
}

func TestProcReadings(t *testing.T) {
	pid := os.Getpid()
	st, err := readStat(pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != os.Getppid() {
		t.Errorf("ppid = %d; want %d", st.ppid, os.Getppid())
	}
	if tr := tree(pid); len(tr) == 0 || tr[0] != pid {
		t.Errorf("tree(self) = %v; want it to start with %d", tr, pid)
	}
	if pss := treePSS(pid); pss <= 0 {
		t.Errorf("treePSS(self) = %d KiB; want > 0", pss)
	}
	p := samplePeak(pid, time.Millisecond)
	if peak := p.stop(); peak <= 0 {
		t.Errorf("peak PSS = %d KiB; want > 0", peak)
	}
}

func TestWriteConfigs(t *testing.T) {
	dir := t.TempDir()
	targets := []*Target{
		{Name: "direct"},
		{Name: "nginx", Argv: []string{"/usr/sbin/nginx", "-c", "/tmp/s1/t01/nginx.conf"}, ConfName: "nginx.conf", Conf: []byte("daemon off;\n")},
	}
	if err := writeConfigs(dir, "/tmp/s1", targets); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dir + "/commands.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), "nginx: /usr/sbin/nginx -c $SCRATCH/t01/nginx.conf\n"; got != want {
		t.Errorf("commands.txt = %q; want %q", got, want)
	}
	if b, err := os.ReadFile(dir + "/nginx.conf"); err != nil || string(b) != "daemon off;\n" {
		t.Errorf("nginx.conf = %q, %v", b, err)
	}
}
