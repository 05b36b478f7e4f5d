package e2e

import (
	"log"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockproxylab/sockproxy/policy"
	"github.com/sockproxylab/sockproxy/proxy"
)

// restrictedPolicy is what a dashboard that may also create unprivileged
// containers would be given: Traefik's reads, plus ContainerCreate with
// its body checked.
const restrictedPolicy = `# e2e: reads, and creation of unprivileged containers only
preset traefik
allow ContainerCreate
deny-body privileged host-mounts
`

// TestPolicyCLI runs the docker CLI through a proxy restricted by
// restrictedPolicy, for every project strategy over both transports: the
// reads pass, and exec, run --privileged, run -v /:/host, cp and export
// are refused with the daemon's error format naming sockproxy's rule, so
// the CLI prints "Error response from daemon: sockproxy: …".
func TestPolicyCLI(t *testing.T) {
	path := filepath.Join(t.TempDir(), "e2e.policy")
	if err := os.WriteFile(path, []byte(restrictedPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	pol, err := policy.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// The container the reads and refusals are about, made straight
	// through the engine.
	owner := &dockerCLI{host: engine.Host(), config: t.TempDir()}
	var id string
	step(t, "direct", "policy", "setup", func(c *check) {
		id = strings.TrimSpace(owner.run(c, nil, "run", "-d", "--network", "none", img, "sleep", "3600"))
	})
	if len(id) != 64 {
		t.Fatalf("no container to run the policy steps on (got id %q)", id)
	}
	t.Cleanup(func() { owner.exec(nil, nil, nil, "rm", "-f", id) })

	for _, mode := range modes() {
		if mode == "direct" || setupOf(mode).IsStdlib() {
			continue // the project's strategies
		}
		t.Run("mode="+mode, func(t *testing.T) {
			t.Parallel()
			h, err := proxy.New(proxy.Config{Mode: setupOf(mode).Mode, Transport: setupOf(mode).Transport, Socket: engine.Socket(), Policy: pol,
				ErrorLog: log.New(newTestLog(t), "proxy: ", 0)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(h.CloseIdleConnections)
			d := &dockerCLI{host: serve(t, h), config: t.TempDir()}
			s := func(name string, f func(c *check)) { step(t, mode, "policy", name, f) }

			s("reads pass", func(c *check) {
				if out := d.run(c, nil, "version", "--format", "{{.Server.Version}}"); strings.TrimSpace(out) != engineVersion {
					c.Fatalf("docker version: got %q; want %q", out, engineVersion)
				}
				if out := d.run(c, nil, "ps", "-q", "--no-trunc"); !strings.Contains(out, id) {
					c.Fatalf("docker ps: got %q; want it to list %s", out, id)
				}
				if out := d.run(c, nil, "inspect", "--format", "{{.Id}}", id); strings.TrimSpace(out) != id {
					c.Fatalf("docker inspect: got %q; want %s", out, id)
				}
			})
			for _, refused := range []struct {
				name string
				args []string
				op   string // named in the daemon's error
			}{
				{"exec refused", []string{"exec", id, "true"}, "ContainerExec"},
				{"run --privileged refused", []string{"run", "--rm", "--network", "none", "--privileged", img, "true"}, "ContainerCreate"},
				{"run -v /:/host refused", []string{"run", "--rm", "--network", "none", "-v", "/:/host", img, "true"}, "ContainerCreate"},
				{"cp refused", []string{"cp", id + ":/etc/passwd", filepath.Join(t.TempDir(), "passwd")}, "ContainerArchive"},
				{"export refused", []string{"export", "-o", filepath.Join(t.TempDir(), "c.tar"), id}, "ContainerExport"},
			} {
				s(refused.name, func(c *check) {
					stderr, err := d.exec(nil, nil, nil, refused.args...)
					if err == nil {
						c.Fatalf("docker %s: succeeded; want it refused", strings.Join(refused.args, " "))
					}
					if !strings.Contains(stderr, "Error response from daemon: sockproxy:") || !strings.Contains(stderr, refused.op) {
						c.Fatalf("docker %s: stderr %q; want the daemon's error naming sockproxy and %s", strings.Join(refused.args, " "), stderr, refused.op)
					}
				})
			}
		})
	}
}
