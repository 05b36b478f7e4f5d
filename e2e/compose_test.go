package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// composeRepeat is how often each compose step runs its command: a proxy
// that loses a stream's first or last frame loses it only some of the time.
const composeRepeat = 2

// composeFile is the project every mode runs: one service on the imported
// busybox, with no network, whose default command runs until SIGTERM (for
// exec).
const composeFile = `version: "2.4"
services:
  svc:
    image: ` + img + `
    network_mode: none
    command:
      - sh
      - -c
      - '` + stoppable + `'
`

// TestCompose drives Debian's docker-compose 1.29 (Python, through
// docker-py and dockerpty, with COMPOSE_INTERACTIVE_NO_CLI=1 so that it
// never shells out to the docker CLI) through every mode: run (three attach
// upgrades read through docker-py's raw sockets, stdin pumped and closed,
// start, wait, rm). compose's exec -T is not here: it sends no stdin, so its
// command must print at once, and that output can reach docker-py in the
// same segment as the 101, which docker-py reads through a buffer it then
// drops — with no proxy too (it failed once in CI through pooled over raw,
// and passes by chance elsewhere). proxy's TestDockerPyExec replays its exact
// sequence deterministically instead.
//
// run's command reads a line before it prints: compose 1.29 starts the
// container before it attaches (dockerpty's RunOperation.sockets returns a
// lazy map under Python 3, so the attaches happen inside pty.start, after
// start), which loses the output of a command that prints at once, with no
// proxy too (d11wtq/dockerpty#67). Here the output exists only after the
// stdin pump ran, which runs after every attach: the step is deterministic.
func TestCompose(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		t.Fatalf("SOCKPROXY_E2E=1 but docker-compose is not on PATH (apt-get install docker-compose): %v", err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docker-compose.yml"), []byte(composeFile), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachMode(t, func(t *testing.T, mode string) {
		composeSteps(t, mode, &dockerCompose{bin: bin, host: startTarget(t, mode), dir: dir,
			project: composeProject(mode), config: t.TempDir()})
	})
}

func composeSteps(t *testing.T, mode string, d *dockerCompose) {
	s := func(name string, f func(c *check)) { step(t, mode, "compose", name, f) }

	s("run", func(c *check) {
		c.Cleanup(func() { d.removeAll(c) })
		for i := range composeRepeat {
			want := fmt.Sprintf("once:%d\n", i)
			out := d.run(c, strings.NewReader(fmt.Sprintf("%d\n", i)),
				"run", "--rm", "--no-deps", "svc", "sh", "-c", "read x; echo once:$x")
			if out != want {
				c.Fatalf("docker-compose run (stdin %d), run %d of %d: got %q; want %q", i, i+1, composeRepeat, out, want)
			}
		}
	})
}

// composeProject is the compose project name of mode: compose 1.29 keeps
// only [-_a-z0-9] of a project name.
func composeProject(mode string) string {
	return "e2e-" + regexp.MustCompile(`[^-_a-z0-9]+`).ReplaceAllString(strings.ToLower(mode), "-")
}

// dockerCompose runs docker-compose against one target.
type dockerCompose struct {
	bin     string // docker-compose
	host    string // -H
	dir     string // holds docker-compose.yml
	project string // COMPOSE_PROJECT_NAME, one per mode
	config  string // DOCKER_CONFIG: an empty directory of this test
}

// run runs docker-compose args under CommandTimeout with stdin from in
// (nil: none) and returns its standard output. A failure, including a
// timeout, ends the step.
func (d *dockerCompose) run(c *check, in io.Reader, args ...string) string {
	c.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, append([]string{"-H", d.host, "--ansi", "never"}, args...)...)
	cmd.Dir = d.dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DOCKER_") && !strings.HasPrefix(kv, "COMPOSE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "DOCKER_CONFIG="+d.config, "COMPOSE_PROJECT_NAME="+d.project,
		"COMPOSE_INTERACTIVE_NO_CLI=1")
	cmd.Stdin = in
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errOut
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	line := "docker-compose " + strings.Join(args, " ")
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		c.Fatalf("%s: no result within %v, killed (hang); stdout %q, stderr %q", line, CommandTimeout, out.String(), errOut.String())
	case err != nil:
		c.Fatalf("%s: %v; stdout %q, stderr %q", line, err, out.String(), errOut.String())
	}
	return out.String()
}

// removeAll removes every container of d's project straight through the
// engine's socket.
func (d *dockerCompose) removeAll(c *check) {
	ctx, cancel := context.WithTimeout(context.Background(), CommandTimeout)
	defer cancel()
	cl, err := engine.Client()
	if err != nil {
		c.Errorf("cleanup: %v", err)
		return
	}
	defer cl.Close()
	list, err := cl.ContainerList(ctx, client.ContainerListOptions{All: true,
		Filters: make(client.Filters).Add("label", "com.docker.compose.project="+d.project)})
	if err != nil {
		c.Errorf("cleanup: list containers of project %s: %v", d.project, err)
		return
	}
	for _, ct := range list.Items {
		removeContainer(c, ct.ID)
	}
}
