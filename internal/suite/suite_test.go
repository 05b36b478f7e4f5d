package suite

import (
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
	for name, want := range map[string]bool{"blob": true, "chunked": true, "save": true, "ping": false, "json": false, "docker": false} {
		if got := (Scenario{Name: name, Conc: 1}).bulk(); got != want {
			t.Errorf("Scenario{Name: %q}.bulk() = %v; want %v", name, got, want)
		}
	}
}

func TestScenarioArgs(t *testing.T) {
	sc := Scenario{Name: "json", Size: "1536B", Conc: 16}
	if got, want := strings.Join(sc.Args(), " "), "-scenario json -c 16 -size 1536B"; got != want {
		t.Errorf("Args = %q; want %q", got, want)
	}
	if got, want := sc.String(), "json/size=1536B/conc=16"; got != want {
		t.Errorf("String = %q; want %q", got, want)
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
