package proxy

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// docker-py (and docker-compose 1.29 through it, with
// COMPOSE_INTERACTIVE_NO_CLI=1) reads an upgrade's 101 with http.client,
// whose reader buffers the socket 8 KiB at a time, and then hands its
// caller the socket under that buffer (APIClient._get_raw_response_socket:
// response.raw._fp.fp.raw). Whatever arrived in the same read as the 101 is
// lost. The tests below replay compose's exact sequences with a client that
// checks that nothing but the 101 was there to lose.

// dockerdUpgraded is dockerd's 101, written alone before any stream byte.
const dockerdUpgraded = "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n" +
	"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"

// dockerPyHeader is the header docker-py 5.0.3 under compose 1.29.2 sends
// on an upgrade request, after the request line.
const dockerPyHeader = "Host: localhost\r\nUser-Agent: docker-compose/1.29.2 docker-py/5.0.3\r\n" +
	"Accept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n"

// stdFrame is one frame of Docker's multiplexed stream (stream 1 stdout,
// 2 stderr).
func stdFrame(stream byte, p string) string {
	var h [8]byte
	h[0] = stream
	binary.BigEndian.PutUint32(h[4:], uint32(len(p)))
	return string(h[:]) + p
}

// demux returns the payloads of a multiplexed stream per stream number.
func demux(b []byte) (map[byte]string, error) {
	out := map[byte]string{}
	for len(b) > 0 {
		if len(b) < 8 {
			return out, fmt.Errorf("%d bytes left, short of a frame header", len(b))
		}
		n := int(binary.BigEndian.Uint32(b[4:8]))
		if len(b) < 8+n {
			return out, fmt.Errorf("frame of %d bytes has %d", n, len(b)-8)
		}
		out[b[0]] += string(b[8 : 8+n])
		b = b[8+n:]
	}
	return out, nil
}

// dockerPyUpgrade sends an upgrade request as docker-py does and reads the
// 101 as http.client does. It fails when the read that brought the 101
// brought stream bytes too: docker-py would drop them.
func dockerPyUpgrade(c net.Conn, requestLine, body string) error {
	header := dockerPyHeader + fmt.Sprintf("Content-Length: %d\r\n", len(body))
	if body != "" {
		header += "Content-Type: application/json\r\n"
	}
	if _, err := io.WriteString(c, requestLine+"\r\n"+header+"\r\n"+body); err != nil {
		return fmt.Errorf("sending %s: %w", requestLine, err)
	}
	br := bufio.NewReaderSize(c, 8192) // socket.makefile("rb")'s buffer
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodPost})
	if err != nil {
		return fmt.Errorf("%s: reading 101: %w", requestLine, err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		return fmt.Errorf("%s: got %s; want 101", requestLine, res.Status)
	}
	if n := br.Buffered(); n > 0 {
		p, _ := br.Peek(n)
		return fmt.Errorf("%s: %d stream bytes %q came with the 101; docker-py drops them", requestLine, n, p)
	}
	return nil
}

// dockerPyRequest sends a plain request on c, a keep-alive connection, and
// returns the response's status and body.
func dockerPyRequest(c net.Conn, br *bufio.Reader, method, path string) (int, string, error) {
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: docker-compose/1.29.2 docker-py/5.0.3\r\n"+
		"Accept-Encoding: gzip, deflate\r\nAccept: */*\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", method, path)
	res, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		return 0, "", fmt.Errorf("%s %s: %w", method, path, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return res.StatusCode, string(body), fmt.Errorf("%s %s: reading body: %w", method, path, err)
	}
	return res.StatusCode, string(body), nil
}

// runEngine is the part of dockerd that docker-compose run -T SVC CMD
// talks to, for one container whose CMD writes "once\n" and exits. It
// answers each attach with dockerd's 101 alone; start runs the container:
// the frame goes to the stdout attach, then the container exits, which
// closes the stdout and stderr attach connections, all before start is
// answered, so the container is gone before the client reads a byte.
type runEngine struct {
	mu       sync.Mutex
	attached map[string]net.Conn // stdout, stderr: the open attach connections
	stdin    chan result         // what the stdin attach read, once it ended
}

func newRunEngine() *runEngine {
	return &runEngine{attached: map[string]net.Conn{}, stdin: make(chan result, 1)}
}

func (e *runEngine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case strings.HasSuffix(r.URL.Path, "/attach"):
		e.attach(w, r)
	case strings.HasSuffix(r.URL.Path, "/start"):
		e.mu.Lock()
		out, errs := e.attached["stdout"], e.attached["stderr"]
		e.mu.Unlock()
		if out == nil || errs == nil {
			http.Error(w, `{"message":"start before attach"}`, http.StatusConflict)
			return
		}
		io.WriteString(out, stdFrame(1, "once\n"))
		out.Close()
		errs.Close()
		w.WriteHeader(http.StatusNoContent)
	case strings.HasSuffix(r.URL.Path, "/json"):
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"Id":"c1","State":{"Status":"created","Running":false},`+
			`"Config":{"Tty":false,"AttachStdin":true,"AttachStdout":true,"AttachStderr":true}}`)
	case strings.HasSuffix(r.URL.Path, "/wait"):
		w.Header().Set("Content-Type", "application/json")
		w.(http.Flusher).Flush()
		io.WriteString(w, `{"Error":null,"StatusCode":0}`+"\n")
	default:
		http.NotFound(w, r)
	}
}

func (e *runEngine) attach(w http.ResponseWriter, r *http.Request) {
	var which string
	for _, s := range []string{"stdin", "stdout", "stderr"} {
		if r.URL.Query().Get(s) == "1" {
			which = s
		}
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		if which == "stdin" {
			e.stdin <- result{err: err}
		}
		return
	}
	conn.SetDeadline(time.Now().Add(testDeadline))
	if which != "stdin" {
		// Registered before the 101 goes out: the client sends start
		// once it has read the 101s, and start must find the stream.
		e.mu.Lock()
		e.attached[which] = conn
		e.mu.Unlock()
		io.WriteString(conn, dockerdUpgraded)
		return // start writes and closes it
	}
	io.WriteString(conn, dockerdUpgraded)
	defer conn.Close()
	in, err := io.ReadAll(brw)
	e.stdin <- result{data: string(in), err: err}
}

// TestDockerPyRun replays docker-compose run -T SVC echo once (compose
// 1.29, COMPOSE_INTERACTIVE_NO_CLI=1) as compose sends it once its
// container exists: three attach requests (stdin, stdout, stderr; each a
// connection of its own, its 101 read through an 8 KiB buffer that docker-py
// then drops), an inspect, start, reading stdout and stderr until EOF after
// the container has already exited, wait, and at exit closing every socket,
// the never-written stdin attach included. The output must arrive whole,
// followed by EOF, and the stdin attach must see EOF.
func TestDockerPyRun(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		e := newRunEngine()
		f := startFront(t, s, startUpstream(t, e), parkAtOnce)
		api := f.dial(t) // docker-py's pooled connection for plain requests
		apiBR := bufio.NewReader(api)

		streams := map[string]net.Conn{}
		for _, s := range []string{"stdin", "stdout", "stderr"} {
			c := f.dial(t)
			if err := dockerPyUpgrade(c, "POST /v1.41/containers/c1/attach?"+s+"=1&stream=1&logs=False HTTP/1.1", ""); err != nil {
				t.Fatal(err)
			}
			streams[s] = c
		}
		if code, body, err := dockerPyRequest(api, apiBR, "GET", "/v1.41/containers/c1/json"); err != nil || code != 200 {
			t.Fatalf("inspect: got %d %q, %v; want 200", code, body, err)
		}
		if code, body, err := dockerPyRequest(api, apiBR, "POST", "/v1.41/containers/c1/start"); err != nil || code != 204 {
			t.Fatalf("start: got %d %q, %v; want 204", code, body, err)
		}
		// dockerpty's select loop: read each stream until EOF.
		for _, s := range []string{"stdout", "stderr"} {
			b, err := io.ReadAll(streams[s])
			if err != nil {
				t.Fatalf("reading the %s attach: got %q, %v; want EOF", s, b, err)
			}
			got, err := demux(b)
			want := map[string]map[byte]string{"stdout": {1: "once\n"}, "stderr": {}}[s]
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s attach: got frames %q (%v); want %q", s, got, err, want)
			}
		}
		if code, body, err := dockerPyRequest(api, apiBR, "POST", "/v1.41/containers/c1/wait"); err != nil || code != 200 ||
			!strings.Contains(body, `"StatusCode":0`) {
			t.Fatalf("wait: got %d %q, %v; want 200 with StatusCode 0", code, body, err)
		}
		for _, c := range streams {
			c.Close()
		}
		r, err := testsock.WaitFor(e.stdin, "the stdin attach to end")
		if err == nil && (r.err != nil || r.data != "") {
			err = fmt.Errorf("the stdin attach read %q, %v; want EOF and nothing", r.data, r.err)
		}
		if err != nil {
			t.Error(err)
		}
	})
}

// TestDockerPyExec replays docker-compose exec -T SVC CMD: exec start is an
// upgrade request with a JSON body, whose output the engine writes as soon
// as the process runs, here only once the client has read its 101, and
// then closes the stream. The client never writes; it reads until EOF.
func TestDockerPyExec(t *testing.T) {
	const config = `{"Tty": false, "Detach": false}`
	forEachSetup(t, func(t *testing.T, s Setup) {
		read101 := make(chan struct{})
		done := make(chan error, 1)
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if body, err := io.ReadAll(r.Body); err != nil || string(body) != config {
				done <- fmt.Errorf("upstream read body %q, %v; want %q", body, err, config)
				http.Error(w, "bad body", http.StatusBadRequest)
				return
			}
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				done <- err
				return
			}
			defer conn.Close()
			io.WriteString(conn, dockerdUpgraded)
			if _, err := testsock.WaitFor(read101, "the client to read the 101"); err != nil {
				done <- err
				return
			}
			_, err = io.WriteString(conn, stdFrame(1, "hi\n")+stdFrame(2, "warn\n"))
			done <- err
		}))
		f := startFront(t, s, up, parkAtOnce)
		c := f.dial(t)
		err := dockerPyUpgrade(c, "POST /v1.41/exec/e1/start HTTP/1.1", config)
		close(read101)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("reading the exec stream: got %q, %v; want EOF", b, err)
		}
		got, err := demux(b)
		if want := map[byte]string{1: "hi\n", 2: "warn\n"}; err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("exec stream: got frames %q (%v); want %q", got, err, want)
		}
		if err, werr := testsock.WaitFor(done, "the upstream to finish"); werr != nil || err != nil {
			t.Error(errors.Join(err, werr))
		}
	})
}
