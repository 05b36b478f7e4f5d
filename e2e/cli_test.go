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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/sockproxylab/sockproxy/internal/dockerd"
)

// CommandTimeout is the hard deadline of one docker command or SDK call
// sequence; past it the command is killed and the step fails.
const CommandTimeout = 60 * time.Second

// repeat is how often each exec step runs its command: a proxy that races
// a half-close against the last output frame loses output only some of the
// time. SOCKPROXY_E2E_REPEAT=N overrides it (for a soak); set by TestMain.
var repeat = 10

// img is the image every container runs.
const img = dockerd.BusyboxImage

func TestCLI(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode string) {
		cliSteps(t, mode, &dockerCLI{host: startTarget(t, mode), config: t.TempDir()})
	})
}

func cliSteps(t *testing.T, mode string, d *dockerCLI) {
	s := func(name string, f func(c *check)) { step(t, mode, "cli", name, f) }

	s("version", func(c *check) {
		out := d.run(c, nil, "version", "--format", "{{.Server.Version}} {{.Server.APIVersion}}")
		if want := engineVersion + " " + engineAPI + "\n"; out != want {
			c.Fatalf("docker version: got %q; want %q", out, want)
		}
	})
	s("info", func(c *check) {
		out := d.run(c, nil, "info", "--format", "{{.ServerVersion}} {{.Driver}}")
		if want := engineVersion + " " + engineDriver + "\n"; out != want {
			c.Fatalf("docker info: got %q; want %q", out, want)
		}
	})
	s("images", func(c *check) {
		out := d.run(c, nil, "images", "--format", "{{.Repository}}:{{.Tag}}")
		for _, want := range []string{dockerd.BusyboxImage, dockerd.BigImage} {
			if !contains(strings.Fields(out), want) {
				c.Fatalf("docker images: got %q; want a line %q", out, want)
			}
		}
	})
	s("run", func(c *check) {
		if out := d.run(c, nil, "run", "--rm", "--network", "none", img, "echo", "hi"); out != "hi\n" {
			c.Fatalf("docker run echo hi: got %q; want %q", out, "hi\n")
		}
	})
	s("run -i", func(c *check) {
		// No newline: cat must see stdin's EOF to exit, and the output is exact.
		out := d.run(c, strings.NewReader("data"), "run", "-i", "--rm", "--network", "none", img, "cat")
		if out != "data" {
			c.Fatalf("echo data | docker run -i cat: got %q; want %q", out, "data")
		}
	})
	s("logs -f", func(c *check) {
		const n = 100
		id := d.runDetached(c, "sh", "-c",
			printLines(n))
		stdout, stderr := d.runSplit(c, nil, nil, "logs", "-f", id)
		if want := numbered("out", n); stdout != want {
			c.Fatalf("docker logs -f stdout: got %d bytes ending %q; want %d lines", len(stdout), tail(stdout), n)
		}
		if want := numbered("err", n); stderr != want {
			c.Fatalf("docker logs -f stderr: got %d bytes ending %q; want %d lines", len(stderr), tail(stderr), n)
		}
	})
	s("exec", func(c *check) {
		id := d.runDetached(c, "sleep", "3600")
		for i := range repeat {
			want := fmt.Sprintf("hi-%d\n", i)
			if out := d.run(c, nil, "exec", id, "echo", strings.TrimSpace(want)); out != want {
				c.Fatalf("docker exec echo, run %d of %d: got %q; want %q", i+1, repeat, out, want)
			}
		}
	})
	s("exec -i", func(c *check) {
		id := d.runDetached(c, "sleep", "3600")
		for i := range repeat {
			want := fmt.Sprintf("payload-%d", i)
			if out := d.run(c, strings.NewReader(want), "exec", "-i", id, "cat"); out != want {
				c.Fatalf("docker exec -i cat, run %d of %d: got %q; want %q", i+1, repeat, out, want)
			}
		}
	})
	s("attach", func(c *check) {
		// create -i sets StdinOnce, as an attached run -i does: stdin's EOF
		// then closes the container's stdin. (A run -d -i container would
		// instead have the engine end the attach at stdin's EOF, racing
		// the output.)
		id := strings.TrimSpace(d.run(c, nil, "create", "-i", "--network", "none", img, "sh", "-c", "read x; echo got:$x"))
		c.Cleanup(func() { removeContainer(c, id) })
		d.run(c, nil, "start", id)
		if out := d.run(c, strings.NewReader("hello\n"), "attach", id); out != "got:hello\n" {
			c.Fatalf("docker attach: got %q; want %q", out, "got:hello\n")
		}
	})
	s("wait", func(c *check) {
		id := d.runDetached(c, "sh", "-c", "exit 3")
		if out := d.run(c, nil, "wait", id); out != "3\n" {
			c.Fatalf("docker wait: got %q; want %q", out, "3\n")
		}
	})
	s("events", func(c *check) {
		since := time.Now().Add(-time.Second)
		id := d.runDetached(c, "true")
		d.run(c, nil, "wait", id)
		// An --until a moment ahead makes the engine stream live events
		// and end the response itself: both must pass the proxy.
		until := time.Now().Add(time.Second)
		out := d.run(c, nil, "events", "--since", unixNano(since), "--until", unixNano(until),
			"--filter", "container="+id, "--format", "{{.Action}}")
		got := strings.Fields(out)
		for _, want := range []string{"start", "die"} {
			if !contains(got, want) {
				c.Fatalf("docker events: got actions %q; want %q among them", got, want)
			}
		}
	})
	s("stop", func(c *check) {
		id := d.runDetached(c, "sh", "-c", stoppable)
		if out := d.run(c, nil, "stop", id); out != id+"\n" {
			c.Fatalf("docker stop: got %q; want %q", out, id+"\n")
		}
		if running := d.run(c, nil, "inspect", "--format", "{{.State.Running}}", id); running != "false\n" {
			c.Fatalf("after docker stop, State.Running: got %q; want %q", running, "false\n")
		}
	})
	s("rm", func(c *check) {
		id := d.runDetached(c, "true")
		d.run(c, nil, "wait", id)
		if out := d.run(c, nil, "rm", id); out != id+"\n" {
			c.Fatalf("docker rm: got %q; want %q", out, id+"\n")
		}
		if out := d.run(c, nil, "ps", "-a", "-q", "--no-trunc", "--filter", "id="+id); out != "" {
			c.Fatalf("after docker rm, docker ps -a: got %q; want nothing", out)
		}
	})
	s("cp", func(c *check) {
		id := d.runDetached(c, "sleep", "3600")
		dir := c.TempDir()
		in := filepath.Join(dir, "in.bin")
		data := make([]byte, 1<<20+7)
		rand.NewChaCha8([32]byte{'c', 'p'}).Read(data)
		if err := os.WriteFile(in, data, 0o644); err != nil {
			c.Fatalf("write %s: %v", in, err)
		}
		d.run(c, nil, "cp", in, id+":/tmp/in.bin")
		out := filepath.Join(dir, "out.bin")
		d.run(c, nil, "cp", id+":/tmp/in.bin", out)
		got, err := os.ReadFile(out)
		if err != nil {
			c.Fatalf("docker cp from the container: %v", err)
		}
		if !bytes.Equal(got, data) {
			c.Fatalf("docker cp round trip: got %d bytes; want the %d bytes sent", len(got), len(data))
		}
	})
	s("build", func(c *check) {
		dir := c.TempDir()
		payload := "payload of mode " + mode + "\n"
		files := map[string]string{
			"payload.txt": payload,
			"Dockerfile": "FROM " + img + "\nCOPY payload.txt /payload.txt\n" +
				"RUN cat /payload.txt > /built.txt && echo built >> /built.txt\nCMD [\"cat\", \"/built.txt\"]\n",
		}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				c.Fatalf("write build context: %v", err)
			}
		}
		// An image name holds no "=" ("pooled/transport=raw" → "pooled-raw").
		tag := "lab/built-" + strings.ReplaceAll(mode, "/transport=", "-") + ":e2e"
		c.Cleanup(func() { removeImage(c, tag) })
		d.runSplit(c, []string{"DOCKER_BUILDKIT=0"}, nil, "build", "--network", "none", "-t", tag, dir)
		if out := d.run(c, nil, "run", "--rm", "--network", "none", tag); out != payload+"built\n" {
			c.Fatalf("run of the built image: got %q; want %q", out, payload+"built\n")
		}
	})
	s("save+load", func(c *check) {
		defer bulkSlot()()
		// docker save | tee >(sha256sum) | docker load, with no file between.
		pr, pw := io.Pipe()
		h := sha256.New()
		saved := make(chan error, 1)
		go func() {
			_, err := d.exec(nil, io.MultiWriter(h, pw), nil, "save", dockerd.BigImage)
			pw.CloseWithError(err) // nil: load sees EOF
			saved <- err
		}()
		var out bytes.Buffer
		_, lerr := d.exec(nil, &out, pr, "load")
		pr.Close() // a load that quit early must not leave save blocked
		if err := <-saved; err != nil {
			c.Fatalf("%v", err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != directSaveHash {
			c.Fatalf("docker save %s | sha256sum: got %s; want %s (a direct save)", dockerd.BigImage, got, directSaveHash)
		}
		if lerr != nil {
			c.Fatalf("%v", lerr)
		}
		if want := "Loaded image: " + dockerd.BigImage; !strings.Contains(out.String(), want) {
			c.Fatalf("docker load: got %q; want %q", out.String(), want)
		}
	})
}

// bulkSlots bounds the 128 MiB transfers (save+load, the SDK's image save)
// running at once across the modes, which run side by side: on two cores
// a dozen concurrent saves through one dockerd can outlast CommandTimeout
// even with no proxy. Each command's deadline starts once it has a slot.
var bulkSlots = make(chan struct{}, 4)

// bulkSlot waits for a slot in bulkSlots and returns its release.
func bulkSlot() func() {
	bulkSlots <- struct{}{}
	return func() { <-bulkSlots }
}

// dockerCLI runs the docker CLI against one target.
type dockerCLI struct {
	host   string // -H
	config string // DOCKER_CONFIG: an empty directory of this test
}

// run runs docker args with stdin from in (nil: none) and returns its
// standard output. A failure, including a timeout, ends the step.
func (d *dockerCLI) run(c *check, in io.Reader, args ...string) string {
	c.Helper()
	stdout, _ := d.runSplit(c, nil, in, args...)
	return stdout
}

// runSplit is run with extra environment variables, returning standard
// output and standard error.
func (d *dockerCLI) runSplit(c *check, env []string, in io.Reader, args ...string) (stdout, stderr string) {
	c.Helper()
	var out bytes.Buffer
	errOut, err := d.exec(env, &out, in, args...)
	if err != nil {
		c.Fatalf("%v", err)
	}
	return out.String(), errOut
}

// exec runs docker args under CommandTimeout with its standard output going
// to stdout, and returns its standard error and an error that quotes it.
// It may run on any goroutine.
func (d *dockerCLI) exec(env []string, stdout io.Writer, in io.Reader, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, dockerBin, append([]string{"-H", d.host}, args...)...)
	cmd.Env = d.env(env)
	cmd.Stdin = in
	cmd.Stdout = stdout
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	cmd.WaitDelay = 5 * time.Second // after the kill, do not wait on pipes a child may hold
	err := cmd.Run()
	line := "docker " + strings.Join(args, " ")
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return errOut.String(), fmt.Errorf("%s: no result within %v, killed (hang); stderr %q", line, CommandTimeout, errOut.String())
	case err != nil:
		return errOut.String(), fmt.Errorf("%s: %w; stderr %q", line, err, errOut.String())
	}
	return errOut.String(), nil
}

// env is the caller's environment less every DOCKER_* variable (no
// DOCKER_HOST may leak in), plus this target's DOCKER_CONFIG and extra.
func (d *dockerCLI) env(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") {
			env = append(env, kv)
		}
	}
	env = append(env, "DOCKER_CONFIG="+d.config, "DOCKER_CLI_HINTS=false")
	return append(env, extra...)
}

// runDetached starts docker run -d --network none img cmd… and
// returns the container's id; the container is removed when the step
// ends.
func (d *dockerCLI) runDetached(c *check, cmd ...string) string {
	c.Helper()
	args := []string{"run", "-d", "--network", "none", img}
	id := strings.TrimSpace(d.run(c, nil, append(args, cmd...)...))
	if len(id) != 64 {
		c.Fatalf("docker run -d: got id %q; want 64 hex digits", id)
	}
	c.Cleanup(func() { removeContainer(c, id) })
	return id
}

// removeContainer removes id straight through the engine's socket, so that
// cleaning up never depends on the proxy under test.
func removeContainer(c *check, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cl, err := engine.Client()
	if err != nil {
		c.Errorf("cleanup: %v", err)
		return
	}
	defer cl.Close()
	_, err = cl.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true})
	if msg := strings.ToLower(fmt.Sprint(err)); err != nil && !strings.Contains(msg, "no such container") && !strings.Contains(msg, "is already in progress") {
		c.Errorf("cleanup: remove container %s: %v", id, err)
	}
}

// removeImage removes ref straight through the engine's socket.
func removeImage(c *check, ref string) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cl, err := engine.Client()
	if err != nil {
		c.Errorf("cleanup: %v", err)
		return
	}
	defer cl.Close()
	if _, err := cl.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true}); err != nil && !strings.Contains(strings.ToLower(err.Error()), "no such image") {
		c.Errorf("cleanup: remove image %s: %v", ref, err)
	}
}

// stoppable is a shell command that runs until SIGTERM, then exits at once
// (a plain sleep as pid 1 ignores SIGTERM, so docker stop would wait its
// whole timeout).
const stoppable = `trap "exit 0" TERM; sleep 3600 & wait`

// printLines returns a shell command that prints "out 1".."out n" on
// stdout and "err 1".."err n" on stderr, over about half a second, so that
// a follower sees them arrive while the container runs.
func printLines(n int) string {
	return fmt.Sprintf(`i=0; while [ $i -lt %d ]; do i=$((i+1)); echo out $i; echo err $i >&2; `+
		`[ $((i %% 10)) -eq 0 ] && sleep 0.05; done; true`, n)
}

// numbered returns "prefix 1\nprefix 2\n…prefix n\n".
func numbered(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	return b.String()
}

// tail returns the end of s, for messages.
func tail(s string) string {
	if len(s) > 40 {
		return "…" + s[len(s)-40:]
	}
	return s
}

// unixNano formats t as the engine's seconds.nanoseconds timestamps.
func unixNano(t time.Time) string {
	return fmt.Sprintf("%d.%09d", t.Unix(), t.Nanosecond())
}
