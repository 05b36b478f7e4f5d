package main

import (
	"bytes"
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/suite"
)

func TestScenariosRoundTrip(t *testing.T) {
	for _, scs := range [][]suite.Scenario{suite.DefaultClosed, suite.DefaultFixed, {suite.DefaultSweep}, suite.DockerScenarios} {
		got, err := parseScenarios(formatScenarios(scs))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, scs) {
			t.Errorf("round trip of %q: got %+v; want %+v", formatScenarios(scs), got, scs)
		}
	}
	got, err := parseScenarios("blob:64MiB:16:rate=3:d=2s, ping:4:n=10, events:1:n=50:every=10ms")
	if err != nil {
		t.Fatal(err)
	}
	want := []suite.Scenario{{Name: "blob", Size: "64MiB", Conc: 16, Rate: 3, D: 2 * time.Second}, {Name: "ping", Conc: 4, N: 10}, {Name: "events", Conc: 1, N: 50, Every: 10 * time.Millisecond}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v; want %+v", got, want)
	}
	for _, bad := range []string{"ping", "ping:0", "ping:4:rate=0", "ping:4:x=1", "a:b:c:d"} {
		if _, err := parseScenarios(bad); err == nil {
			t.Errorf("parseScenarios(%q) succeeded; want an error", bad)
		}
	}
}

func TestParseRates(t *testing.T) {
	if got, err := parseRates("1000,2500"); err != nil || !reflect.DeepEqual(got, []float64{1000, 2500}) {
		t.Errorf("parseRates = %v, %v", got, err)
	}
	if _, err := parseRates("2500,1000"); err == nil {
		t.Errorf("decreasing rates accepted")
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), nil, &out, &errb); code != 2 {
		t.Errorf("no flags: exit %d; want 2", code)
	}
	if code := run(context.Background(), []string{"-loadgen", "x", "-sockproxy", "y", "-fixed", "ping:0"}, &out, &errb); code != 2 {
		t.Errorf("bad -fixed: exit %d; want 2", code)
	}
}
