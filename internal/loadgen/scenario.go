package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sockproxylab/sockproxy/internal/units"
)

// Scenarios lists the scenario names -scenario accepts.
func Scenarios() []string {
	return []string{"ping", "json", "blob", "chunked", "save", "load", "load-chunked", "events", "attach", "docker", "mix"}
}

// SaveImage is the image the save scenario exports: the 128 MiB
// incompressible lab/big the suite imports into its sandboxed dockerd
// (internal/dockerd's BigImage). The simulator answers any image name.
const SaveImage = "lab/big"

// mixable are the scenarios a -mix may name.
var mixable = map[string]bool{"ping": true, "json": true, "blob": true, "chunked": true, "docker": true}

// DefaultSize returns the body or message size a scenario uses when -size is
// not given, or 0 when the scenario has no size.
func DefaultSize(scenario string) int64 {
	switch scenario {
	case "blob":
		return 64 << 10
	case "chunked", "load", "load-chunked":
		return 1 << 20
	case "attach":
		return 64
	}
	return 0
}

// A Scenario makes the per-worker connections that perform its operations.
type Scenario interface {
	// NewConn returns the state of one worker; worker numbers from 0
	// spread workers over a scenario's request sequence.
	NewConn(worker int) Conn
}

// A Conn performs operations one at a time for a single worker.
type Conn interface {
	// Do performs one operation.
	Do(ctx context.Context) Outcome
	// Close releases what the Conn holds (a hijacked stream, an event
	// stream).
	Close() error
}

// env is what scenarios are built from.
type env struct {
	target  Target
	client  *http.Client
	size    int64 // 0: the scenario's default
	timeout time.Duration
	// stdClient sends the HTTP scenarios through client (net/http)
	// instead of the lean rawConn.
	stdClient bool
	// every is the events scenario's interval; 0 means DefaultEvery.
	every time.Duration
}

// newScenario prepares the named scenario: it may ask the target questions
// first (the json calibration, the docker container ids).
func newScenario(ctx context.Context, name, mix string, e *env) (Scenario, error) {
	size := e.size
	if size == 0 {
		size = DefaultSize(name)
	}
	switch name {
	case "ping":
		return &httpScenario{e: e, reqs: []httpReq{{path: "/_ping", want: 2}}}, nil
	case "json":
		path, err := jsonPath(ctx, e, e.size)
		if err != nil {
			return nil, err
		}
		return &httpScenario{e: e, reqs: []httpReq{{path: path, want: -1}}}, nil
	case "blob":
		return &httpScenario{e: e, reqs: []httpReq{{path: "/_lab/blob?size=" + strconv.FormatInt(size, 10), want: size}}}, nil
	case "chunked":
		return &httpScenario{e: e, reqs: []httpReq{{path: "/images/lab/get?size=" + strconv.FormatInt(size, 10), want: size}}}, nil
	case "save":
		return &httpScenario{e: e, reqs: []httpReq{{path: "/images/" + SaveImage + "/get", want: -1}}}, nil
	case "load", "load-chunked":
		return &uploadScenario{e: e, size: size, chunked: name == "load-chunked"}, nil
	case "docker":
		return dockerScenario(ctx, e)
	case "events":
		every := e.every
		if every == 0 {
			every = DefaultEvery
		}
		return &eventsScenario{e: e, every: every, count: eventsCount}, nil
	case "attach":
		return &attachScenario{e: e, size: int(size)}, nil
	case "mix":
		return mixScenario(ctx, mix, e)
	}
	return nil, fmt.Errorf("unknown scenario %q (want one of %s)", name, strings.Join(Scenarios(), ", "))
}

// httpReq is one GET of a scenario; want is the body size it must have, or
// -1 when only the Content-Length (if any) is checked.
type httpReq struct {
	path string
	want int64
}

// httpScenario cycles through reqs; each worker starts at its own offset.
type httpScenario struct {
	e    *env
	reqs []httpReq
}

func (s *httpScenario) NewConn(worker int) Conn {
	if !s.e.stdClient {
		return newRawConn(s.e, s.reqs, worker)
	}
	c := &httpConn{e: s.e, reqs: s.reqs, next: worker % len(s.reqs)}
	c.prepared = make([]*http.Request, len(s.reqs))
	return c
}

type httpConn struct {
	e        *env
	reqs     []httpReq
	prepared []*http.Request // built on first use, reused (net/http allows it once the body is closed)
	next     int
	buf      []byte
}

func (c *httpConn) Do(ctx context.Context) Outcome {
	i := c.next
	c.next = (c.next + 1) % len(c.reqs)
	req := c.prepared[i]
	if req == nil || req.Context() != ctx {
		r, err := http.NewRequestWithContext(ctx, http.MethodGet, c.e.target.Base+c.reqs[i].path, nil)
		if err != nil {
			return Outcome{Err: &Error{Kind: KindConnect, Err: err}}
		}
		req, c.prepared[i] = r, r
	}
	if c.buf == nil {
		c.buf = make([]byte, 64<<10)
	}
	n, err := get(c.e.client, req, c.reqs[i].want, c.buf)
	return Outcome{Bytes: n, Err: err}
}

func (c *httpConn) Close() error { return nil }

// get sends req, checks for 200, and drains the body into buf, checking
// that it has want bytes (when want >= 0) and its Content-Length.
func get(client *http.Client, req *http.Request, want int64, buf []byte) (int64, error) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, &Error{Kind: KindOf(err), Err: fmt.Errorf("GET %s: %w", req.URL.RequestURI(), err)}
	}
	n, rerr := drain(resp.Body, buf)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return n, &Error{Kind: KindStatus, Err: fmt.Errorf("GET %s: status %s", req.URL.RequestURI(), resp.Status)}
	}
	if rerr != nil {
		return n, &Error{Kind: KindOf(rerr), Err: fmt.Errorf("GET %s: read body after %d bytes: %w", req.URL.RequestURI(), n, rerr)}
	}
	if want >= 0 && n != want {
		return n, &Error{Kind: KindRead, Err: fmt.Errorf("GET %s: body has %d bytes; want %d", req.URL.RequestURI(), n, want)}
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, &Error{Kind: KindRead, Err: fmt.Errorf("GET %s: body has %d bytes; Content-Length %d", req.URL.RequestURI(), n, resp.ContentLength)}
	}
	return n, nil
}

// drain reads r to EOF into buf and counts the bytes.
func drain(r io.Reader, buf []byte) (int64, error) {
	var n int64
	for {
		m, err := r.Read(buf)
		n += int64(m)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// fetch is a one-off GET used while preparing a scenario.
func fetch(ctx context.Context, e *env, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.target.Base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("prepare: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("prepare: GET %s: read body: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("prepare: GET %s: status %s", path, resp.Status)
	}
	return b, nil
}

// jsonPath picks /containers/json?n=N so the body is about size bytes: it
// measures the bodies for n=1 and n=2 and solves for N (at least 1). With
// size 0 the path is plain /containers/json (the simulator's 10 entries).
func jsonPath(ctx context.Context, e *env, size int64) (string, error) {
	if size == 0 {
		return "/containers/json", nil
	}
	one, err := fetch(ctx, e, "/containers/json?n=1")
	if err != nil {
		return "", err
	}
	two, err := fetch(ctx, e, "/containers/json?n=2")
	if err != nil {
		return "", err
	}
	n := entriesFor(size, int64(len(one)), int64(len(two)))
	return "/containers/json?n=" + strconv.FormatInt(n, 10), nil
}

// entriesFor solves base + n*per ≈ size, given the body lengths for one and
// two entries.
func entriesFor(size, one, two int64) int64 {
	per := two - one
	if per <= 0 {
		return 1
	}
	base := one - per
	n := (size - base + per/2) / per
	return max(n, 1)
}

// dockerScenario is a read-only mix of real Docker API calls, weighted like a
// dashboard polling dockerd: per cycle of 10, 2 × /_ping, 1 × /version,
// 3 × /containers/json, 2 × /images/json, 2 × inspect of a container from the
// list. Container ids are discovered from /containers/json; with no
// containers, inspect is left out.
func dockerScenario(ctx context.Context, e *env) (Scenario, error) {
	b, err := fetch(ctx, e, "/containers/json")
	if err != nil {
		return nil, err
	}
	var list []struct{ Id string }
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("prepare: GET /containers/json: %w", err)
	}
	ids := make([]string, 0, 4)
	for _, c := range list {
		if c.Id != "" && len(ids) < 4 {
			ids = append(ids, c.Id)
		}
	}
	ping := httpReq{path: "/_ping", want: 2}
	version := httpReq{path: "/version", want: -1}
	containers := httpReq{path: "/containers/json", want: -1}
	images := httpReq{path: "/images/json", want: -1}
	reqs := []httpReq{ping, containers, version, images, containers}
	inspect := func(i int) httpReq { return httpReq{path: "/containers/" + ids[i%len(ids)] + "/json", want: -1} }
	if len(ids) > 0 {
		reqs = append(reqs, inspect(0), ping, containers, images, inspect(1))
	} else {
		reqs = append(reqs, ping, containers, images)
	}
	return &httpScenario{e: e, reqs: reqs}, nil
}

// ParseMix parses "ping=80,json=15,chunked=5" into names and weights, sorted
// by name. Names must be among ping, json, blob, chunked and docker; weights
// are positive integers.
func ParseMix(s string) (names []string, weights []int, err error) {
	if s == "" {
		return nil, nil, errors.New("parse -mix: empty; want e.g. ping=80,json=15,chunked=5")
	}
	seen := map[string]int{}
	for part := range strings.SplitSeq(s, ",") {
		name, w, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(w)
		if !ok || err != nil || n <= 0 {
			return nil, nil, fmt.Errorf("parse -mix %q: %q: want name=weight with a positive integer weight", s, part)
		}
		if !mixable[name] {
			return nil, nil, fmt.Errorf("parse -mix %q: %q cannot be mixed (want ping, json, blob, chunked or docker)", s, name)
		}
		if _, dup := seen[name]; dup {
			return nil, nil, fmt.Errorf("parse -mix %q: %q named twice", s, name)
		}
		seen[name] = n
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		weights = append(weights, seen[name])
	}
	return names, weights, nil
}

type mix struct {
	subs    []Scenario
	weights []int
}

func mixScenario(ctx context.Context, spec string, e *env) (Scenario, error) {
	names, weights, err := ParseMix(spec)
	if err != nil {
		return nil, err
	}
	m := &mix{weights: weights}
	for _, name := range names {
		s, err := newScenario(ctx, name, "", e)
		if err != nil {
			return nil, err
		}
		m.subs = append(m.subs, s)
	}
	return m, nil
}

func (m *mix) NewConn(worker int) Conn {
	c := &mixConn{weights: m.weights, current: make([]int, len(m.weights))}
	for _, s := range m.subs {
		c.conns = append(c.conns, s.NewConn(worker))
	}
	for _, w := range m.weights {
		c.total += w
	}
	// Spread workers: advance the sequence by the worker number.
	for range worker % c.total {
		c.pick()
	}
	return c
}

// mixConn interleaves its sub-scenarios by smooth weighted round robin
// (nginx's): ping=80,json=15,chunked=5 yields exactly those counts in every
// 100 operations, spread out rather than in runs.
type mixConn struct {
	conns   []Conn
	weights []int
	current []int
	total   int
}

func (c *mixConn) pick() int {
	best := 0
	for i, w := range c.weights {
		c.current[i] += w
		if c.current[i] > c.current[best] {
			best = i
		}
	}
	c.current[best] -= c.total
	return best
}

func (c *mixConn) Do(ctx context.Context) Outcome { return c.conns[c.pick()].Do(ctx) }

func (c *mixConn) Close() error {
	var errs []error
	for _, sc := range c.conns {
		errs = append(errs, sc.Close())
	}
	return errors.Join(errs...)
}

// sizeLabel is the size as benchmark names spell it.
func sizeLabel(n int64) string { return units.FormatSize(n) }
