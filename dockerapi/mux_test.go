package dockerapi

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/mux"
)

// mobyMux builds the router dockerd builds (daemon/server/server.go
// CreateMux): for every route, the versioned path then the plain one, with
// its method; a versioned catch-all; 404 for no route and for a method
// mismatch. Each handler writes the index of its route in a header.
func mobyMux() *mux.Router {
	const versionMatcher = "/v{version:[0-9.]+}"
	m := mux.NewRouter()
	for i, r := range routes {
		if r.Op == ContainerCopy {
			continue // removed from current daemons; see routes
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Route", routes[i].Method+" "+routes[i].Template)
			w.Header().Set("Op", routes[i].Op.String())
		})
		m.Path(versionMatcher + r.Template).Methods(r.Method).Handler(h)
		m.Path(r.Template).Methods(r.Method).Handler(h)
	}
	notFound := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
	})
	m.HandleFunc(versionMatcher+"/{path:.*}", notFound)
	m.NotFoundHandler = notFound
	m.MethodNotAllowedHandler = notFound
	return m
}

// parseRequest builds the request net/http's server would hand a handler
// for that request line; ok is false when the server would refuse it.
func parseRequest(method, target string) (*http.Request, bool) {
	if strings.ContainsAny(method+target, " \r\n") || method == "" || target == "" {
		return nil, false
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " " + target + " HTTP/1.1\r\nHost: docker\r\n\r\n")))
	if err != nil {
		return nil, false
	}
	return r, true
}

// checkAgainstMux fails when Classify names an operation moby's router
// would not run, or names none where the router runs one.
func checkAgainstMux(t *testing.T, m *mux.Router, method, target string) {
	t.Helper()
	r, ok := parseRequest(method, target)
	if !ok {
		return
	}
	got, err := ClassifyRequest(r)
	rec := httptest.NewRecorder()
	m.ServeHTTP(rec, r)
	muxOp := rec.Header().Get("Op")
	if err != nil {
		return // refused with 400 before routing: grants nothing
	}
	if got.Op == ContainerCopy {
		return
	}
	if got.Op == Unknown {
		if muxOp != "" {
			t.Errorf("%s %s: Classify = Unknown; moby's router runs %s (%s)", method, target, muxOp, rec.Header().Get("Route"))
		}
		return
	}
	if muxOp != got.Op.String() {
		t.Errorf("%s %s: Classify = %v; moby's router answers %d running %q", method, target, got.Op, rec.Code, muxOp)
	}
}

// TestRoutesAgainstMux runs a sample path of every route, in several
// forms and with other methods, and the bypass corpus with every method,
// through both.
func TestRoutesAgainstMux(t *testing.T) {
	m := mobyMux()
	for _, r := range routes {
		other := "GET"
		if r.Method == "GET" {
			other = "POST"
		}
		for _, target := range routeTargets(r) {
			for _, method := range []string{r.Method, other, strings.ToLower(r.Method)} {
				checkAgainstMux(t, m, method, target)
			}
		}
	}
	for _, c := range bypassCorpus {
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "get"} {
			checkAgainstMux(t, m, method, c.target)
		}
	}
}

// FuzzClassifyAgainstMux: whatever the method and request target, Classify
// never names an operation other than the one moby's router would run.
func FuzzClassifyAgainstMux(f *testing.F) {
	for _, c := range bypassCorpus {
		f.Add("GET", c.target)
		f.Add("POST", c.target)
	}
	m := mobyMux()
	f.Fuzz(func(t *testing.T, method, target string) {
		checkAgainstMux(t, m, method, target)
	})
}

// samplePath fills a template's variables with name.
func samplePath(tpl, name string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(tpl, '{')
		if open < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		end := strings.IndexByte(tpl[open:], '}')
		b.WriteString(tpl[:open])
		b.WriteString(name)
		tpl = tpl[open+end+1:]
	}
}

// routeTargets returns sample paths of a route, with and without a
// version prefix, with a trailing slash, with a three-part version.
func routeTargets(r Route) []string {
	var out []string
	for _, name := range []string{"c1", "a/json", "create"} {
		p := samplePath(r.Template, name)
		out = append(out, p, "/v1.41"+p, p+"/", "/v1.41.0"+p)
	}
	return out
}
