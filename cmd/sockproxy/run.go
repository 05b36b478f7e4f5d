package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pkg/profile"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
	"github.com/sockproxylab/sockproxy/internal/metrics"
	"github.com/sockproxylab/sockproxy/policy"
	"github.com/sockproxylab/sockproxy/proxy"
)

// options are the parsed command line.
type options struct {
	listen            string
	socket            string
	setup             proxy.Setup // -strategy and -transport
	profile           string
	profileDir        string
	readHeaderTimeout time.Duration
	maxConns          int
	grace             time.Duration
	parkIdle          parkIdle
	policy            string
	explain           bool
	healthcheck       bool
	metrics           string
	logFormat         string
	logLevel          string
	accessLog         bool
	listenMode        os.FileMode
	listenGroup       string
	version           bool
}

// version is the sockproxy version, stamped at build time
// (-ldflags "-X main.version=…"; see the Makefile's image target).
var version = "dev"

// errList is returned by parseFlags for -strategy list.
var errList = errors.New("list strategies")

// parseFlags parses args; usage and errors go to stderr.
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("sockproxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", "", "address to serve on: `host:port` or unix:/path (required)")
	fs.StringVar(&o.socket, "socket", "", "upstream Unix socket `path` (required)")
	fs.StringVar(&o.setup.Mode, "strategy", proxy.DefaultMode, "proxy mode `name`, or list to print the names")
	fs.StringVar(&o.setup.Transport, "transport", "", "upstream `transport`: std (Go's http.Transport) or raw (the lean one); default raw, but std for -strategy stdlib and stdlib-default (Go's proxy over Go's transport)")
	fs.StringVar(&o.profile, "profile", "", "write a `kind` of profile: cpu, mem, block, mutex or trace")
	fs.StringVar(&o.profileDir, "profile-dir", ".", "`directory` for -profile output")
	fs.DurationVar(&o.readHeaderTimeout, "read-header-timeout", 10*time.Second, "time allowed to read a request header")
	fs.IntVar(&o.maxConns, "max-conns", 0, "cap on concurrent client connections, and the upstream pool size (0: no cap, pool of 64)")
	fs.DurationVar(&o.grace, "grace", 10*time.Second, "time in-flight requests and streams get at shutdown")
	o.parkIdle = parkIdle(proxy.DefaultParkIdle)
	fs.Var(&o.parkIdle, "park-idle", "idle `time` after which a chunked stream over the raw transport (events, logs -f) is parked, freeing its request's buffers and goroutine (0: the default; never, or a negative time: never park)")
	fs.StringVar(&o.policy, "policy", "", "access policy: a policy `file`, or preset:NAME ("+strings.Join(policy.PresetNames(), ", ")+"); default: Tecnativa's variables (CONTAINERS=1, POST=0, …) when any is set, else none, which only a Unix-socket or loopback -listen accepts")
	fs.BoolVar(&o.explain, "explain", false, "print every operation the policy grants, grouped, risky ones marked, and exit")
	fs.BoolVar(&o.healthcheck, "healthcheck", false, "ask the sockproxy on -listen for /_ping and exit 0 when it and the upstream answer, 1 otherwise (for HEALTHCHECK)")
	fs.StringVar(&o.metrics, "metrics", "", "serve Prometheus metrics at /metrics on `addr` (host:port or unix:/path; off by default)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log `format`: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "least `level` logged: debug, info, warn or error")
	fs.BoolVar(&o.accessLog, "access-log", false, "log one line per request (client, method, path, operation, decision, status, bytes, duration) at level info")
	listenMode := fs.String("listen-mode", "", "permission `bits` of a unix: -listen socket, octal (e.g. 0660; default: the umask's)")
	fs.StringVar(&o.listenGroup, "listen-group", "", "`group` (name or gid) owning a unix: -listen socket")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: sockproxy -listen ADDR -socket PATH [flags]\n\nEvery flag can also be set as SOCKPROXY_<FLAG> (upper case, - as _); the command line wins.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if err := flagsFromEnv(fs, os.LookupEnv); err != nil {
		fmt.Fprintf(stderr, "sockproxy: %v\n", err)
		fs.Usage()
		return nil, err
	}
	if o.setup.Mode == "list" {
		return o, errList
	}
	bad := func(format string, a ...any) (*options, error) {
		err := fmt.Errorf(format, a...)
		fmt.Fprintf(stderr, "sockproxy: %v\n", err)
		fs.Usage()
		return nil, err
	}
	if _, err := newLogger(o.logFormat, o.logLevel, io.Discard); err != nil {
		return bad("%v", err)
	}
	mode, err := parseMode(*listenMode)
	if err != nil {
		return bad("%v", err)
	}
	o.listenMode = mode
	if o.explain || o.version {
		return o, nil // needs no listener nor upstream
	}
	if o.healthcheck {
		if o.listen == "" {
			return bad("-healthcheck needs -listen (or SOCKPROXY_LISTEN)")
		}
		return o, nil // needs no upstream
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected arguments: %q", fs.Args())
	case o.listen == "":
		return bad("-listen is required")
	case o.socket == "":
		return bad("-socket is required")
	case !proxy.IsMode(o.setup.Mode):
		return bad("unknown -strategy %q (have: %s)", o.setup.Mode, strings.Join(proxy.Modes(), ", "))
	case o.setup.Validate() != nil:
		return bad("-strategy, -transport: %v", o.setup.Validate())
	case o.maxConns < 0:
		return bad("-max-conns must be >= 0, got %d", o.maxConns)
	case o.grace < 0:
		return bad("-grace must be >= 0, got %s", o.grace)
	}
	if o.profile != "" {
		if _, ok := profileModes[o.profile]; !ok {
			return bad("unknown -profile %q (have: cpu, mem, block, mutex, trace)", o.profile)
		}
	}
	return o, nil
}

// flagsFromEnv sets every flag of fs not given on the command line from
// SOCKPROXY_<NAME> (upper case, "-" as "_"), when that is set.
func flagsFromEnv(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := "SOCKPROXY_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := lookup(name); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, serr)
			}
		}
	})
	return err
}

// parkIdle is -park-idle: a duration as proxy.Config.ParkIdle takes it
// (0 the default, negative never), or "never".
type parkIdle time.Duration

func (p *parkIdle) String() string {
	if *p < 0 {
		return "never"
	}
	return time.Duration(*p).String()
}

func (p *parkIdle) Set(s string) error {
	if s == "never" {
		*p = -1
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New(`want a duration such as 1ms, or "never"`)
	}
	*p = parkIdle(d)
	return nil
}

var profileModes = map[string]func(*profile.Profile){
	"cpu":   profile.CPUProfile,
	"mem":   profile.MemProfile,
	"block": profile.BlockProfile,
	"mutex": profile.MutexProfile,
	"trace": profile.TraceProfile,
}

// run is the whole command: it serves until ctx is done and returns the
// exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return serve(ctx, args, stdout, stderr, nil)
}

// serve is run with a hook called with the listening address once the
// server accepts connections (for tests).
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(net.Addr)) int {
	o, err := parseFlags(args, stderr)
	if err == errList {
		for _, m := range proxy.Modes() {
			fmt.Fprintln(stdout, m)
		}
		return 0
	}
	if err != nil {
		return 2
	}
	if o.version {
		fmt.Fprintf(stdout, "sockproxy %s\n", version)
		return 0
	}
	if o.healthcheck {
		return healthcheck(ctx, o.listen, stdout)
	}
	logger, _ := newLogger(o.logFormat, o.logLevel, stderr) // checked by parseFlags

	pol, from, err := policy.Configure(o.policy, os.LookupEnv)
	if err != nil {
		logger.Error(err.Error())
		return 2
	}
	if o.explain {
		if pol == nil {
			fmt.Fprintln(stdout, "no policy: every request is forwarded (set -policy, or Tecnativa's variables such as CONTAINERS=1)")
			return 0
		}
		if err := pol.Explain(stdout); err != nil {
			logger.Error(err.Error())
			return 1
		}
		return 0
	}
	switch {
	case pol != nil && pol.AllowsAll():
		logger.Warn(fmt.Sprintf("policy: %s (from %s): every request is forwarded, unclassified", pol.Name(), from))
		pol = nil // nothing to decide
	case pol != nil:
		logger.Info(fmt.Sprintf("policy: %s (from %s)", pol.Name(), from))
	case policy.LocalListener(o.listen):
		logger.Warn(fmt.Sprintf("warning: no policy: every Docker API operation is forwarded, which is root on the upstream's host; -listen %s is reachable from this host only. Restrict it with -policy preset:NAME (%s), -policy FILE or Tecnativa's variables (CONTAINERS=1 …)",
			o.listen, strings.Join(policy.PresetNames(), ", ")))
	default:
		logger.Error(fmt.Sprintf("refusing to start: -listen %s can be reached from other hosts, and with no policy every Docker API operation would be forwarded (root on the upstream's host). Choose one: -policy preset:NAME (%s), -policy FILE, Tecnativa's variables (CONTAINERS=1, POST=0, …), or -policy preset:allow-all if you mean it",
			o.listen, strings.Join(policy.PresetNames(), ", ")))
		return 2
	}

	if _, err := os.Stat(o.socket); err != nil {
		logger.Warn(fmt.Sprintf("warning: upstream socket %s: %v; answering 502 until it appears", o.socket, err))
	}
	errorLog := lineLogger(logger, slog.LevelWarn)
	var (
		obs observers
		met *metrics.Metrics
	)
	if o.metrics != "" {
		met = metrics.New(metrics.Options{Version: version, Socket: o.socket})
		obs = append(obs, met)
	}
	if o.accessLog {
		obs = append(obs, accessLog{logger})
	}
	cfg := proxy.Config{Mode: o.setup.Mode, Transport: o.setup.Transport, Socket: o.socket, MaxConns: o.maxConns, ErrorLog: errorLog,
		ParkIdle: time.Duration(o.parkIdle), Policy: pol, ReadHeaderTimeout: o.readHeaderTimeout}
	switch len(obs) {
	case 0:
	case 1:
		cfg.Observer = obs[0]
	default:
		cfg.Observer = obs
	}
	h, err := proxy.New(cfg)
	if err != nil {
		logger.Error(err.Error())
		return 2
	}

	ln, err := listen(o.listen, o.listenMode, o.listenGroup)
	if err != nil {
		logger.Error(err.Error())
		return 1
	}
	tl := newTrackingListener(ln, o.maxConns, errorLog)

	var metricsSrv *metricsServer
	if met != nil {
		met.Registry().MustRegister(metrics.UpstreamCollector(h.UpstreamStats))
		metricsSrv, err = startMetrics(o.metrics, met.Handler(), lineLogger(logger, slog.LevelWarn))
		if err != nil {
			ln.Close()
			logger.Error(err.Error())
			return 1
		}
		defer metricsSrv.close()
		logger.Info(fmt.Sprintf("metrics on http://%s/metrics", metricsSrv.addr()))
	}

	if o.profile != "" {
		p := profile.Start(profileModes[o.profile], profile.ProfilePath(o.profileDir), profile.NoShutdownHook)
		defer p.Stop()
	}

	var handlers sync.WaitGroup
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handlers.Add(1)
			defer handlers.Done()
			h.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: o.readHeaderTimeout,
		ErrorLog:          lineLogger(logger.With("from", "net/http"), slog.LevelWarn),
	}
	// The lean front end serves the connections itself; every other mode
	// is an http.Handler under net/http's server.
	var front interface {
		Serve(net.Listener) error
		Shutdown(context.Context) error
		Close() error
	} = srv
	if h.Setup().Mode == proxy.ModeLean {
		front = h
	}
	logger.Info(fmt.Sprintf("listening on %s, upstream %s, strategy %s, transport %s", ln.Addr(), o.socket, h.Setup().Mode, h.Setup().Transport),
		"version", version)
	served := make(chan error, 1)
	go func() { served <- front.Serve(tl) }()
	if ready != nil {
		ready(ln.Addr())
	}

	select {
	case err := <-served:
		logger.Error(fmt.Sprintf("serving on %s: %v", ln.Addr(), err))
		return 1
	case <-ctx.Done():
	}

	logger.Info(fmt.Sprintf("shutting down: waiting up to %s for in-flight requests and streams", o.grace))
	graceCtx, cancel := context.WithTimeout(context.Background(), o.grace)
	defer cancel()
	if err := front.Shutdown(graceCtx); err != nil {
		logger.Warn(fmt.Sprintf("shutdown: grace of %s over, closing connections: %v", o.grace, err))
		front.Close()
	}
	<-served
	// Hijacked connections (upgraded streams, parked streams) are not the
	// server's any more: give them what is left of the grace, then close
	// them.
	if n := tl.wait(graceCtx); n > 0 {
		logger.Warn(fmt.Sprintf("shutdown: closed %d hijacked stream(s) still open (upgraded or parked)", n))
	}
	// Closing them ends their handlers; wait for those briefly.
	waitGroup(&handlers, time.Second)
	h.CloseIdleConnections()
	if s, err := bodycopy.Lookup(h.Setup().Mode); err == nil {
		if _, ok := s.(bodycopy.Splicer); ok {
			logger.Info(spliceReport(bodycopy.ReadSpliceCounts()))
		}
	}
	return 0
}

// spliceReport is the shutdown line of a splice strategy: per path, how
// many copies spliced and how many fell back to a buffered copy.
func spliceReport(c bodycopy.SpliceCounts) string {
	return fmt.Sprintf("splice counts: content-length %d spliced, %d fell back; chunked %d spliced, %d fell back; upgraded streams %d spliced, %d fell back",
		c.Sized.Spliced, c.Sized.Fallbacks, c.Spans.Spliced, c.Spans.Fallbacks, c.Stream.Spliced, c.Stream.Fallbacks)
}

// listen listens on host:port or unix:/path; a Unix socket gets mode and
// group when they are set (see listenUnix).
func listen(addr string, mode os.FileMode, group string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return listenUnix(path, mode, group)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// waitGroup waits for wg, at most d.
func waitGroup(wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
