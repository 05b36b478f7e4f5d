package dockerapi

import (
	"errors"
	"testing"
)

// bypassCorpus holds request targets as a client sends them on the wire,
// each with what Classify must make of it (method GET unless given).
var bypassCorpus = []struct {
	method string
	target string
	want   Op
	err    error
}{
	// plain and versioned forms
	{"", "/containers/json", ContainerList, nil},
	{"", "/v1.41/containers/json", ContainerList, nil},
	{"", "/v1.56/containers/c1/json", ContainerInspect, nil},
	{"HEAD", "/_ping", SystemPingHead, nil},
	{"HEAD", "/v1.45/_ping", SystemPingHead, nil},
	{"HEAD", "/containers/json", Unknown, nil}, // mux maps no HEAD to GET
	{"", "/v1.41", Unknown, nil},
	{"", "/v1.41/", Unknown, nil},
	{"", "/v/containers/json", Unknown, nil},
	{"", "/vx1.41/containers/json", Unknown, nil},
	{"", "/V1.41/containers/json", Unknown, nil},
	{"", "/v1/containers/json", Unknown, ErrVersion},
	{"", "/v1.41.1/containers/json", Unknown, ErrVersion},
	{"", "/v../containers/json", Unknown, ErrVersion},
	{"", "/v1.41/v1.41/containers/json", Unknown, nil},

	// case of method and path
	{"get", "/containers/json", Unknown, nil},
	{"Get", "/_ping", Unknown, nil},
	{"", "/Containers/json", Unknown, nil},
	{"", "/containers/JSON", Unknown, nil},
	{"PATCH", "/containers/c1/update", Unknown, nil},

	// percent-encoding: mux matches the decoded path
	{"", "/containers/%6Aeon", Unknown, nil},
	{"", "/%63ontainers/json", ContainerList, nil},
	{"", "/containers%2Fjson", Unknown, ErrEncodedSlash},
	{"", "/containers%2fjson", Unknown, ErrEncodedSlash},
	{"", "/containers/c1%2F..%2F..%2Fexec", Unknown, ErrDotSegment},
	{"", "/containers/c1%2Fexec", Unknown, ErrEncodedSlash},
	{"", "/containers/c1%252Fexport", Unknown, ErrPercent},
	{"", "/containers/c1%25/json", Unknown, ErrPercent},
	{"", "/containers/c1/%2e%2e/export", Unknown, ErrDotSegment},
	{"", "/containers/c1%00/json", Unknown, ErrControl},

	// dot segments, doubled and trailing slashes
	{"", "/containers/c1/../json", Unknown, ErrDotSegment},
	{"", "/containers/./json", Unknown, ErrDotSegment},
	{"", "/containers/json/.", Unknown, ErrDotSegment},
	{"", "/v1.41/../containers/json", Unknown, ErrDotSegment},
	{"", "//containers/json", Unknown, ErrEmptySegment},
	{"", "/containers//json", Unknown, ErrEmptySegment},
	{"", "/v1.41//containers/json", Unknown, ErrEmptySegment},
	{"", "/containers/json/", Unknown, nil},
	{"", "/networks/", NetworkList, nil},
	{"", "/volumes/", VolumeInspect, nil}, // {name:.*} matches the empty name
	{"", "/containers/c1/json/", Unknown, nil},
	{"", "/containers/..c1/json", ContainerInspect, nil},
	{"", "/containers/c1./json", ContainerInspect, nil},

	// absolute-form and odd targets: routing uses the path alone
	{"", "http://evil/containers/json", ContainerList, nil},
	{"", "http://docker/v1.41/containers/c1/archive?path=/", ContainerArchive, nil},
	{"OPTIONS", "*", Unknown, ErrNoPath},
	{"OPTIONS", "/containers/json", Options, nil},
	{"OPTIONS", "/v1.41/anything/at/all", Options, nil},

	// container names that look like routes: {name:.*} takes slashes, the
	// suffix decides
	{"", "/containers/json/json", ContainerInspect, nil},
	{"", "/containers/x/export/json", ContainerInspect, nil},
	{"", "/containers/x/json/export", ContainerExport, nil},
	{"", "/containers/create/json", ContainerInspect, nil},
	{"POST", "/containers/create", ContainerCreate, nil},
	{"POST", "/containers/c1/exec/start", ContainerStart, nil}, // name "c1/exec"
	{"POST", "/containers/x/start/exec", ContainerExec, nil},
	{"", "/images/get", ImageGetAll, nil},
	{"", "/images/library/alpine:3/get", ImageGet, nil},
	{"", "/images/library/alpine:3/json", ImageInspect, nil},
	{"", "/images/json/history", ImageHistory, nil},
	{"", "/exec/e1/json", ExecInspect, nil},
	{"DELETE", "/containers/c1/checkpoints/cp1", ContainerCheckpointDelete, nil},
	{"DELETE", "/containers/a/b/checkpoints/cp1", ContainerDelete, nil},
	{"", "/services/s1/logs", ServiceLogs, nil},
	{"", "/services/a/b", Unknown, nil},
	{"", "/debug/pprof/heap", DebugPprof, nil},
	{"", "/debug/pprof/a/b", Unknown, nil},
	{"POST", "/session", Session, nil},
	{"POST", "/grpc", GRPC, nil},
	{"POST", "/v1.44/grpc", GRPC, nil},
	{"", "/grpc", Unknown, nil},
}

func TestBypassCorpus(t *testing.T) {
	for _, c := range bypassCorpus {
		method := c.method
		if method == "" {
			method = "GET"
		}
		r, ok := parseRequest(method, c.target)
		if !ok {
			t.Errorf("%s %s: net/http refuses the request line", method, c.target)
			continue
		}
		got, err := ClassifyRequest(r)
		if !errors.Is(err, c.err) {
			t.Errorf("%s %s: err = %v; want %v", method, c.target, err, c.err)
		}
		if got.Op != c.want {
			t.Errorf("%s %s: Op = %v; want %v", method, c.target, got.Op, c.want)
		}
	}
}

// TestEveryRouteClassifies checks each route's own sample path, in both
// forms, comes back as that route (or an earlier one moby would prefer).
func TestEveryRouteClassifies(t *testing.T) {
	for i, r := range routes {
		for _, prefix := range []string{"", "/v1.40", "/v1.56"} {
			p := prefix + samplePath(r.Template, "c1")
			got, err := Classify(r.Method, p, "")
			if err != nil {
				t.Errorf("%s %s: %v", r.Method, p, err)
				continue
			}
			if got.Op != r.Op || got.Route > i {
				t.Errorf("%s %s: got %v (route %d); want %v (route %d)", r.Method, p, got.Op, got.Route, r.Op, i)
			}
			if want := prefix; want != "" && "/v"+got.Version != want {
				t.Errorf("%s %s: Version = %q", r.Method, p, got.Version)
			}
		}
	}
}

func TestOpsTable(t *testing.T) {
	seen := map[string]bool{}
	for o := Unknown; o < numOps; o++ {
		info := o.Info()
		if info.Name == "" || info.Group == "" {
			t.Errorf("op %d has no name or group", o)
		}
		if seen[info.Name] {
			t.Errorf("op name %s twice", info.Name)
		}
		seen[info.Name] = true
		if o != Unknown {
			if got, ok := Lookup(info.Name); !ok || got != o {
				t.Errorf("Lookup(%s) = %v, %v", info.Name, got, ok)
			}
		}
	}
	routed := map[Op]bool{}
	for _, r := range routes {
		routed[r.Op] = true
	}
	for _, o := range Ops() {
		if !routed[o] {
			t.Errorf("op %v has no route", o)
		}
	}
	if _, ok := Lookup("Unknown"); ok {
		t.Error(`Lookup("Unknown") succeeded`)
	}
}

func TestLookupRoute(t *testing.T) {
	for _, c := range []struct {
		method, tpl string
		want        Op
	}{
		{"GET", "/containers/{id}/json", ContainerInspect},
		{"GET", "/containers/{name:.*}/json", ContainerInspect},
		{"GET", "/containers/json", ContainerList},
		{"HEAD", "/_ping", SystemPingHead},
		{"GET", "/networks/{id}", NetworkInspect},
	} {
		i, ok := LookupRoute(c.method, c.tpl)
		if !ok || routes[i].Op != c.want {
			t.Errorf("LookupRoute(%s, %s) = %d, %v", c.method, c.tpl, i, ok)
		}
	}
	if _, ok := LookupRoute("GET", "/containers/{id}/nope"); ok {
		t.Error("LookupRoute found a route that does not exist")
	}
}

func TestClassifyAllocs(t *testing.T) {
	for _, p := range []string{"/v1.41/containers/json", "/_ping", "/v1.41/containers/0123456789ab/json", "/events", "/v1.41/../x"} {
		n := testing.AllocsPerRun(100, func() { _, _ = Classify("GET", p, "") })
		if n != 0 {
			t.Errorf("Classify(GET %s) allocates %v times", p, n)
		}
	}
}

var sinkMatch Match

func BenchmarkClassify(b *testing.B) {
	for _, c := range []struct{ name, method, path string }{
		{"ping", "GET", "/_ping"},
		{"list", "GET", "/v1.51/containers/json"},
		{"inspect", "GET", "/v1.51/containers/4f66ad9a0b2e4f66ad9a0b2e4f66ad9a0b2e4f66ad9a0b2e4f66ad9a0b2e1234/json"},
		{"events", "GET", "/v1.51/events"},
		{"unknown", "GET", "/v1.51/nope/json"},
		{"refused", "GET", "/v1.51/containers/../json"},
	} {
		b.Run("route="+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkMatch, _ = Classify(c.method, c.path, "")
			}
		})
	}
}
