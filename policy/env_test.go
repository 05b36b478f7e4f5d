package policy

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sockproxylab/sockproxy/dockerapi"
)

// tecnativa is the decision of Tecnativa's docker-socket-proxy
// (haproxy.cfg at github.com/Tecnativa/docker-socket-proxy a6fbf38, the
// image's defaults from its Dockerfile): deny unless GET/HEAD or POST=1,
// then the first allow rule whose regex matches the URL-decoded path
// (case-insensitive, anchored at the start only) and whose variable is on,
// else deny.
type tecnativa struct {
	rules []tecRule
}

type tecRule struct {
	re  *regexp.Regexp
	env string
}

func newTecnativa() *tecnativa {
	t := &tecnativa{}
	add := func(path, env string) {
		t.rules = append(t.rules, tecRule{regexp.MustCompile(`(?i)^(/v[\d\.]+)?` + path), env})
	}
	add(`/containers/[a-zA-Z0-9_.-]+/((stop)|(restart)|(kill))`, "ALLOW_RESTARTS")
	add(`/containers/[a-zA-Z0-9_.-]+/start`, "ALLOW_START")
	add(`/containers/[a-zA-Z0-9_.-]+/stop`, "ALLOW_STOP")
	for _, s := range []string{"auth", "build", "commit", "configs", "containers", "distribution", "events", "exec",
		"grpc", "images", "info", "networks", "nodes", "_ping", "plugins", "secrets", "services", "session",
		"swarm", "system", "tasks", "version", "volumes"} {
		env := strings.ToUpper(s)
		if s == "_ping" {
			env = "PING"
		}
		add("/"+s, env)
	}
	return t
}

// tecnativaDefaults are the Dockerfile's ENV values.
var tecnativaDefaults = map[string]bool{"EVENTS": true, "PING": true, "VERSION": true}

func (t *tecnativa) allows(env map[string]bool, method, path string) bool {
	if method != "GET" && method != "HEAD" && !env["POST"] {
		return false
	}
	for _, r := range t.rules {
		if r.re.MatchString(path) && env[r.env] {
			return true
		}
	}
	return false
}

// tecnativaVars are the variables Tecnativa's haproxy.cfg reads.
var tecnativaVars = []string{"ALLOW_RESTARTS", "ALLOW_START", "ALLOW_STOP", "AUTH", "BUILD", "COMMIT", "CONFIGS",
	"CONTAINERS", "DISTRIBUTION", "EVENTS", "EXEC", "GRPC", "IMAGES", "INFO", "NETWORKS", "NODES", "PING",
	"PLUGINS", "SECRETS", "SERVICES", "SESSION", "SWARM", "SYSTEM", "TASKS", "VERSION", "VOLUMES"}

// TestEnvAgainstTecnativa runs every route, for each variable turned on
// alone (with and without POST=1) and for all of them at once, through
// both Tecnativa's rules and FromEnv's policy. sockproxy must never allow
// what Tecnativa denies; every request Tecnativa allows and sockproxy
// denies is listed in testdata/env-stricter-than-tecnativa.txt, which the
// README's table summarises.
func TestEnvAgainstTecnativa(t *testing.T) {
	tec := newTecnativa()
	type combo struct {
		name string
		on   map[string]bool
	}
	var combos []combo
	for _, v := range tecnativaVars {
		for _, post := range []bool{false, true} {
			on := map[string]bool{}
			for k, d := range tecnativaDefaults {
				on[k] = d
			}
			on[v] = true
			name := v + "=1"
			if post {
				on["POST"] = true
				name += " POST=1"
			}
			combos = append(combos, combo{name, on})
		}
	}
	all := map[string]bool{"POST": true}
	for _, v := range tecnativaVars {
		all[v] = true
	}
	combos = append(combos, combo{"all=1 POST=1", all})

	stricter := map[string][]string{} // op -> combos
	for _, c := range combos {
		p, set, err := FromEnv(func(k string) (string, bool) {
			if v, ok := c.on[k]; ok {
				if v {
					return "1", true
				}
				return "0", true
			}
			return "", false
		})
		if err != nil || !set {
			t.Fatalf("%s: FromEnv = %v, %v", c.name, set, err)
		}
		for _, r := range dockerapi.Routes() {
			for _, prefix := range []string{"", "/v1.51"} {
				path := prefix + sample(r.Template)
				req, err := http.NewRequest(r.Method, "http://docker"+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				ours := p.Decide(req).Allowed
				theirs := tec.allows(c.on, r.Method, path)
				if ours && !theirs {
					t.Errorf("%s: %s %s (%v) allowed here, denied by Tecnativa", c.name, r.Method, path, r.Op)
				}
				if theirs && !ours && prefix == "" {
					key := fmt.Sprintf("%-26s %-6s %s", r.Op, r.Method, r.Template)
					stricter[key] = append(stricter[key], c.name)
				}
			}
		}
	}
	var keys []string
	for k := range stricter {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	golden(t, "env-stricter-than-tecnativa.txt", func(w io.Writer) error {
		fmt.Fprintf(w, "# Requests Tecnativa's haproxy.cfg allows and sockproxy's environment policy denies,\n")
		fmt.Fprintf(w, "# with the smallest variable settings (defaults: EVENTS PING VERSION) under which Tecnativa allows them.\n")
		for _, k := range keys {
			fmt.Fprintf(w, "%s  <- %s\n", k, smallest(stricter[k]))
		}
		return nil
	})
}

// smallest returns the first combination, the one with one variable when
// there is one.
func smallest(combos []string) string {
	for _, c := range combos {
		if !strings.HasPrefix(c, "all=1") {
			return c
		}
	}
	return combos[0]
}

func sample(tpl string) string {
	re := regexp.MustCompile(`\{[^}]*\}`)
	return re.ReplaceAllString(tpl, "c1")
}

func TestFromEnv(t *testing.T) {
	p, set, err := FromEnv(func(string) (string, bool) { return "", false })
	if p != nil || set || err != nil {
		t.Errorf("no variables: %v %v %v", p, set, err)
	}
	if _, _, err := FromEnv(func(k string) (string, bool) { return "maybe", k == "CONTAINERS" }); err == nil || !strings.Contains(err.Error(), "CONTAINERS") {
		t.Errorf("bad value: err = %v", err)
	}
	env := map[string]string{"CONTAINERS": "true", "POST": "1", "EVENTS": "0"}
	p, set, err = FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil || !set {
		t.Fatal(set, err)
	}
	for op, want := range map[dockerapi.Op]bool{
		dockerapi.SystemPing: true, dockerapi.SystemVersion: true, dockerapi.SystemEvents: false,
		dockerapi.ContainerList: true, dockerapi.ContainerCreate: true, dockerapi.ContainerStart: false,
		dockerapi.ContainerDelete: false, dockerapi.ContainerArchive: false, dockerapi.ContainerExport: false,
		dockerapi.ContainerExec: false, dockerapi.ContainerAttach: false, dockerapi.ImageList: false,
	} {
		if p.Grants(op) != want {
			t.Errorf("Grants(%v) = %v; want %v", op, !want, want)
		}
	}
	// env policies check bodies
	d := p.Decide(request(t, "POST", "/containers/create", `{"Image":"alpine","HostConfig":{"Binds":["/:/host"]}}`))
	if d.Status != 403 || !strings.Contains(d.Message, "/") || !strings.Contains(d.Rule, "deny-body") {
		t.Errorf("host bind through env policy: %+v", d)
	}
}

// TestEnvTable keeps the table sound: names unique, every operation it
// names real, and no risky operation granted by a broad section.
func TestEnvTable(t *testing.T) {
	explicit := map[string]bool{"EXEC": true, "ALLOW_EXEC": true, "BUILD": true, "COMMIT": true, "PLUGINS": true,
		"SESSION": true, "GRPC": true, "ALLOW_ATTACH": true, "ALLOW_ARCHIVE": true, "ALLOW_EXPORT": true,
		"ALLOW_IMAGE_SAVE": true, "ALLOW_IMAGE_PUSH": true}
	seen := map[string]bool{}
	for _, v := range EnvVars() {
		if seen[v.Name] {
			t.Errorf("%s twice", v.Name)
		}
		seen[v.Name] = true
		for _, op := range append(v.Ops, v.WithOps...) {
			if op.Info().Risk >= dockerapi.Exfiltrate && !explicit[v.Name] {
				t.Errorf("%s grants %v (%v) as a side effect", v.Name, op, op.Info().Risk)
			}
		}
	}
}

func TestEnvTableGolden(t *testing.T) {
	golden(t, "env-table.md", WriteEnvTable)
}
