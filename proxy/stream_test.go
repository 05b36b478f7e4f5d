package proxy

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestStreamHeadersFirst is POST /containers/{id}/wait: the upstream sends
// its header at once and its body only when the container exits. The
// client must get the header while the body is still held back (docker
// run waits for it before attaching).
func TestStreamHeadersFirst(t *testing.T) {
	forEachSetup(t, func(t *testing.T, s Setup) {
		release := make(chan struct{})
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, `{"StatusCode":0}`+"\n")
		}))
		f := startFront(t, s, up, parkAtOnce)

		ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", f.URL+"/containers/c1/wait", nil)
		res, err := f.Client().Do(req) // returns at the header, or at the deadline
		close(release)
		if err != nil {
			t.Fatalf("header did not arrive before the body was released: %v", err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if err != nil || string(body) != `{"StatusCode":0}`+"\n" {
			t.Errorf("body = %q, %v; want the exit status", body, err)
		}
	})
}

// TestStreamLockStep is GET /events: the upstream sends the next line only
// after the client has read the previous one, so a proxy that holds any
// piece back deadlocks (and fails at the deadline).
func TestStreamLockStep(t *testing.T) {
	const lines = 5
	forEachSetup(t, func(t *testing.T, s Setup) {
		ack := make(chan struct{})
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rc := http.NewResponseController(w)
			w.Header().Set("Content-Type", "application/json")
			for i := range lines {
				fmt.Fprintf(w, `{"id":%d}`+"\n", i)
				rc.Flush()
				select {
				case <-ack:
				case <-r.Context().Done():
					return
				}
			}
		}))
		f := startFront(t, s, up, parkAtOnce)

		ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", f.URL+"/events", nil)
		res, err := f.Client().Do(req)
		if err != nil {
			t.Fatalf("GET /events: %v", err)
		}
		defer res.Body.Close()
		if res.ContentLength != -1 || strings.Join(res.TransferEncoding, ",") != "chunked" {
			t.Errorf("Content-Length %d, Transfer-Encoding %q; want -1, chunked", res.ContentLength, res.TransferEncoding)
		}
		br := bufio.NewReader(res.Body)
		for i := range lines {
			line, err := br.ReadString('\n')
			if want := fmt.Sprintf(`{"id":%d}`+"\n", i); err != nil || line != want {
				t.Fatalf("event %d = %q, %v; want %q", i, line, err, want)
			}
			ack <- struct{}{}
		}
		if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
			t.Errorf("after the last event: %q, %v; want EOF", rest, err)
		}
	})
}

// largeSize is the size of the large bodies: 64 MiB, 16 MiB under the race
// detector, 4 MiB with -short. The pause at firstPart, not the size, is what
// proves a body streams; the size shows nothing holds it whole.
func largeSize() int64 {
	switch {
	case testing.Short():
		return 4 << 20
	case raceEnabled:
		return 16 << 20
	}
	return 64 << 20
}

const (
	// The sender pauses after firstPart bytes until the receiver has
	// seen readMark of them: a proxy that held the body back before
	// sending it on would deadlock there. The gap leaves room for the
	// buffers between them.
	firstPart = 1 << 20
	readMark  = 512 << 10
)

// markReader signals once when at least mark bytes have been read.
type markReader struct {
	r    io.Reader
	n    int64
	mark int64
	hit  chan struct{}
}

func (m *markReader) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	before := m.n
	m.n += int64(n)
	if before < m.mark && m.n >= m.mark {
		close(m.hit)
	}
	return n, err
}

// pausedGen writes newGen(size) to w, pausing after firstPart bytes until
// go is closed or ctx is done.
func pausedGen(ctx context.Context, w io.Writer, size int64, flush func(), resume <-chan struct{}) error {
	g := newGen(size)
	if _, err := io.CopyN(w, g, firstPart); err != nil {
		return err
	}
	flush()
	select {
	case <-resume:
	case <-ctx.Done():
		return ctx.Err()
	}
	_, err := io.Copy(w, g)
	return err
}

// TestLargeResponse streams 64 MiB with a Content-Length (GET
// /_lab/blob) and chunked (docker save), and checks length, framing and
// sha256.
func TestLargeResponse(t *testing.T) {
	largeSize := largeSize()
	want := genSHA256(t, largeSize)
	forEachSetup(t, func(t *testing.T, s Setup) {
		for _, chunked := range []bool{false, true} {
			name := map[bool]string{false: "content-length", true: "chunked"}[chunked]
			t.Run("framing="+name, func(t *testing.T) {
				hit := make(chan struct{})
				up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if !chunked {
						w.Header().Set("Content-Length", strconv.FormatInt(largeSize, 10))
					}
					rc := http.NewResponseController(w)
					pausedGen(r.Context(), w, largeSize, func() { rc.Flush() }, hit)
				}))
				f := startFront(t, s, up, parkAtOnce)
				ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "GET", f.URL+"/images/x/get", nil)
				res, err := f.Client().Do(req)
				if err != nil {
					t.Fatalf("GET: %v", err)
				}
				defer res.Body.Close()
				switch {
				case chunked && closeDelimited(s):
					// A bulk body (sniffed octet-stream) answered
					// close-delimited, so that it can be spliced.
					if res.ContentLength != -1 || len(res.TransferEncoding) != 0 || !res.Close {
						t.Errorf("Content-Length %d, Transfer-Encoding %q, Close %v; want -1, none, true", res.ContentLength, res.TransferEncoding, res.Close)
					}
				case chunked:
					if res.ContentLength != -1 || strings.Join(res.TransferEncoding, ",") != "chunked" {
						t.Errorf("Content-Length %d, Transfer-Encoding %q; want -1, chunked", res.ContentLength, res.TransferEncoding)
					}
				default:
					if res.ContentLength != largeSize {
						t.Errorf("Content-Length %d; want %d", res.ContentLength, largeSize)
					}
				}
				h := sha256.New()
				n, err := io.Copy(h, &markReader{r: res.Body, mark: readMark, hit: hit})
				if err != nil || n != largeSize {
					t.Fatalf("read %d bytes, %v; want %d, nil", n, err, largeSize)
				}
				if got := [32]byte(h.Sum(nil)); got != want {
					t.Errorf("sha256 %x; want %x", got, want)
				}
			})
		}
	})
}

// TestLargeRequest streams a 64 MiB request body of unknown length (POST
// /images/load) and checks the upstream's sha256.
func TestLargeRequest(t *testing.T) {
	largeSize := largeSize()
	want := genSHA256(t, largeSize)
	forEachSetup(t, func(t *testing.T, s Setup) {
		hit := make(chan struct{})
		up := startUpstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := sha256.New()
			n, err := io.Copy(h, &markReader{r: r.Body, mark: readMark, hit: hit})
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "%d %x", n, h.Sum(nil))
		}))
		f := startFront(t, s, up, parkAtOnce)
		ctx, cancel := context.WithTimeout(context.Background(), testDeadline)
		defer cancel()
		pr, pw := io.Pipe()
		go func() {
			pw.CloseWithError(pausedGen(ctx, pw, largeSize, func() {}, hit))
		}()
		req, _ := http.NewRequestWithContext(ctx, "POST", f.URL+"/images/load", pr)
		res, err := f.Client().Do(req)
		if err != nil {
			pr.Close()
			t.Fatalf("POST: %v", err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if w := fmt.Sprintf("%d %s", largeSize, hex.EncodeToString(want[:])); string(body) != w {
			t.Errorf("upstream answered %d %q; want 200 %q", res.StatusCode, body, w)
		}
	})
}
