package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// okUpstream serves 200 "OK" to everything on a fresh socket.
func okUpstream(t *testing.T) string {
	t.Helper()
	sock := testsock.Path(t, "up.sock")
	serveUnix(t, sock, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "OK")
	}))
	return sock
}

// TestSecureByDefault: with no policy, sockproxy serves a loopback or
// Unix-socket listener with one warning, and refuses to start on any other
// address, saying how to choose a policy; preset:allow-all is the explicit
// way to forward everything there.
func TestSecureByDefault(t *testing.T) {
	sock := okUpstream(t)
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"-listen", "0.0.0.0:0", "-socket", sock}, io.Discard, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "-policy preset:") || !strings.Contains(stderr.String(), "refusing to start") {
		t.Errorf("-listen 0.0.0.0:0 with no policy: exit %d, stderr %q; want 2 and how to choose a policy", code, stderr.String())
	}

	in := start(t, "-socket", sock)
	if got := strings.Count(in.stderr.String(), "warning: no policy"); got != 1 {
		t.Errorf("loopback with no policy: %d warnings in %q; want 1", got, in.stderr.String())
	}
	if code, body := get(t, newClient(t), "http://"+in.addr+"/containers/c1/exec"); code != 200 || body != "OK" {
		t.Errorf("loopback with no policy: got %d %q; want everything forwarded", code, body)
	}

	// preset:allow-all is the explicit way to forward everything there.
	all := startArgs(t, "-listen", "0.0.0.0:0", "-socket", sock, "-policy", "preset:allow-all")
	all.stop()
	if code := all.waitExit(t); code != 0 {
		t.Errorf("allow-all instance exited %d", code)
	}
}

// TestPolicyFlagAndEnv restricts sockproxy by -policy and by Tecnativa's
// variables: granted operations pass, others get 403 with dockerd's error
// body naming the operation, and the refusal is logged once.
func TestPolicyFlagAndEnv(t *testing.T) {
	sock := okUpstream(t)
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"flag", nil, []string{"-policy", "preset:traefik"}},
		{"env", map[string]string{"CONTAINERS": "1"}, nil},
		{"sockproxy-env", map[string]string{"SOCKPROXY_POLICY": "preset:traefik"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			in := start(t, append([]string{"-socket", sock}, tc.args...)...)
			c := newClient(t)
			if code, body := get(t, c, "http://"+in.addr+"/v1.41/containers/json"); code != 200 || body != "OK" {
				t.Errorf("ContainerList: got %d %q; want 200 OK", code, body)
			}
			res, err := c.Post("http://"+in.addr+"/v1.41/containers/c1/exec", "application/json", strings.NewReader(`{"Cmd":["sh"]}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 403 || !strings.Contains(string(body), `"message":"sockproxy: operation ContainerExec`) {
				t.Errorf("ContainerExec: got %d %q; want 403 with dockerd's error body naming the operation", res.StatusCode, body)
			}
			waitUntil(t, "the audit line", func() bool { return strings.Contains(in.stderr.String(), "op=ContainerExec") })
		})
	}
}

// TestExplain prints a preset's grants without a listener or upstream.
func TestExplain(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-policy", "preset:traefik", "-explain"}, &stdout, &stderr); code != 0 {
		t.Fatalf("-explain: exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"ContainerList", "ContainerInspect", "SystemEvents", "SystemPing"} {
		if !strings.Contains(out, want) {
			t.Errorf("-explain output lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ContainerExec") {
		t.Errorf("-explain of traefik grants ContainerExec:\n%s", out)
	}
	if code := run(context.Background(), []string{"-policy", "preset:nonesuch", "-explain"}, io.Discard, io.Discard); code != 2 {
		t.Errorf("-explain of an unknown preset: exit %d; want 2", code)
	}
}
