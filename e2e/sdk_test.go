package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/sockproxylab/sockproxy/internal/dockerd"
)

func TestSDK(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode string) {
		sdkSteps(t, mode, startTarget(t, mode))
	})
}

// newSDK returns a client of host with API-version negotiation, closed when
// the step ends.
func newSDK(c *check, host string) *client.Client {
	c.Helper()
	cl, err := client.New(client.WithHost(host), client.WithAPIVersionNegotiation())
	if err != nil {
		c.Fatalf("client.New(%s): %v", host, err)
	}
	c.Cleanup(func() { cl.Close() })
	return cl
}

// stepCtx is the deadline of one SDK step.
func stepCtx(c *check) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	c.Cleanup(cancel)
	return ctx
}

func sdkSteps(t *testing.T, mode, host string) {
	s := func(name string, f func(c *check)) { step(t, mode, "sdk", name, f) }

	s("ping", func(c *check) {
		cl := newSDK(c, host)
		p, err := cl.Ping(stepCtx(c), client.PingOptions{NegotiateAPIVersion: true})
		if err != nil {
			c.Fatalf("Ping: %v", err)
		}
		if p.APIVersion != engineAPI {
			c.Fatalf("Ping: API version got %q; want %q", p.APIVersion, engineAPI)
		}
		if got := cl.ClientVersion(); got != engineAPI {
			c.Fatalf("after negotiation, ClientVersion() = %q; want %q", got, engineAPI)
		}
	})
	s("create+start+wait", func(c *check) {
		cl, ctx := newSDK(c, host), stepCtx(c)
		id := create(c, cl, ctx, false, "sh", "-c", "echo started; exit 7")
		// next-exit, asked before the start: the wait's headers must reach
		// the client at once, its body only when the container exits.
		w := cl.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
		start(c, cl, ctx, id)
		select {
		case res := <-w.Result:
			if res.StatusCode != 7 {
				c.Fatalf("ContainerWait: status got %d; want 7", res.StatusCode)
			}
		case err := <-w.Error:
			c.Fatalf("ContainerWait: %v", err)
		}
	})
	s("logs follow", func(c *check) {
		cl, ctx := newSDK(c, host), stepCtx(c)
		const n = 100
		id := create(c, cl, ctx, false, "sh", "-c", printLines(n))
		start(c, cl, ctx, id)
		rc, err := cl.ContainerLogs(ctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			c.Fatalf("ContainerLogs: %v", err)
		}
		defer rc.Close()
		var stdout, stderr bytes.Buffer
		if _, err := stdcopy.StdCopy(&stdout, &stderr, rc); err != nil {
			c.Fatalf("ContainerLogs: demultiplex: %v", err)
		}
		if got, want := stdout.String(), numbered("out", n); got != want {
			c.Fatalf("logs stdout: got %d bytes ending %q; want %d lines", len(got), tail(got), n)
		}
		if got, want := stderr.String(), numbered("err", n); got != want {
			c.Fatalf("logs stderr: got %d bytes ending %q; want %d lines", len(got), tail(got), n)
		}
	})
	s("events", func(c *check) {
		cl, ctx := newSDK(c, host), stepCtx(c)
		since := time.Now().Add(-time.Second)
		id := create(c, cl, ctx, false, "true")
		w := cl.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
		start(c, cl, ctx, id)
		select {
		case <-w.Result:
		case err := <-w.Error:
			c.Fatalf("ContainerWait: %v", err)
		}
		until := time.Now().Add(time.Second)
		ev := cl.Events(ctx, client.EventsListOptions{
			Since: unixNano(since), Until: unixNano(until),
			Filters: make(client.Filters).Add("container", id),
		})
		var actions []string
		for done := false; !done; {
			select {
			case m := <-ev.Messages:
				actions = append(actions, string(m.Action))
			case err := <-ev.Err:
				if !errors.Is(err, io.EOF) {
					c.Fatalf("Events: %v (after actions %q)", err, actions)
				}
				done = true
			}
		}
		for _, want := range []string{"start", "die"} {
			if !contains(actions, want) {
				c.Fatalf("Events: got actions %q; want %q among them", actions, want)
			}
		}
	})
	s("exec attach stdin", func(c *check) {
		cl, ctx := newSDK(c, host), stepCtx(c)
		id := create(c, cl, ctx, false, "sleep", "3600")
		start(c, cl, ctx, id)
		for i := range repeat {
			// More than one buffer each way, and a different size each run.
			payload := make([]byte, 64<<10+i)
			rand.NewChaCha8([32]byte{byte(i)}).Read(payload)
			got, err := execCat(ctx, cl, id, payload)
			if err != nil {
				c.Fatalf("exec cat, run %d of %d: %v", i+1, repeat, err)
			}
			if !bytes.Equal(got, payload) {
				c.Fatalf("exec cat, run %d of %d: got %d bytes back; want the %d sent", i+1, repeat, len(got), len(payload))
			}
		}
	})
	s("image save", func(c *check) {
		defer bulkSlot()()
		cl, ctx := newSDK(c, host), stepCtx(c)
		rc, err := cl.ImageSave(ctx, []string{dockerd.BigImage})
		if err != nil {
			c.Fatalf("ImageSave: %v", err)
		}
		defer rc.Close()
		h := sha256.New()
		n, err := io.Copy(h, rc)
		if err != nil {
			c.Fatalf("ImageSave: read after %d bytes: %v", n, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != directSaveHash {
			c.Fatalf("ImageSave(%s): sha256 got %s (%d bytes); want %s (a direct save)", dockerd.BigImage, got, n, directSaveHash)
		}
	})
}

// create creates a container of img with cmd, --network none, removed when
// the step ends.
func create(c *check, cl *client.Client, ctx context.Context, stdin bool, cmd ...string) string {
	c.Helper()
	res, err := cl.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: img, Cmd: cmd, OpenStdin: stdin},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		c.Fatalf("ContainerCreate: %v", err)
	}
	c.Cleanup(func() { removeContainer(c, res.ID) })
	return res.ID
}

func start(c *check, cl *client.Client, ctx context.Context, id string) {
	c.Helper()
	if _, err := cl.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		c.Fatalf("ContainerStart: %v", err)
	}
}

// execCat runs cat in container id through an attached exec: it writes
// payload to stdin, half-closes, and returns all of stdout once the stream
// ends. Anything on stderr is an error.
func execCat(ctx context.Context, cl *client.Client, id string, payload []byte) ([]byte, error) {
	ex, err := cl.ExecCreate(ctx, id, client.ExecCreateOptions{
		AttachStdin: true, AttachStdout: true, AttachStderr: true, Cmd: []string{"cat"},
	})
	if err != nil {
		return nil, fmt.Errorf("ExecCreate: %w", err)
	}
	at, err := cl.ExecAttach(ctx, ex.ID, client.ExecAttachOptions{})
	if err != nil {
		return nil, fmt.Errorf("ExecAttach: %w", err)
	}
	defer at.Close()
	if dl, ok := ctx.Deadline(); ok {
		at.Conn.SetDeadline(dl)
	}
	werr := make(chan error, 1)
	go func() {
		_, err := at.Conn.Write(payload)
		if err == nil {
			err = at.CloseWrite()
		}
		werr <- err
	}()
	var stdout, stderr bytes.Buffer
	_, rerr := stdcopy.StdCopy(&stdout, &stderr, at.Reader)
	at.Close() // unblocks the writer if the read failed first
	if err := <-werr; err != nil && rerr == nil {
		return nil, fmt.Errorf("write stdin: %w", err)
	}
	if rerr != nil {
		return nil, fmt.Errorf("read output after %d bytes: %w", stdout.Len(), rerr)
	}
	if stderr.Len() > 0 {
		return nil, fmt.Errorf("stderr: %q", stderr.String())
	}
	return stdout.Bytes(), nil
}
