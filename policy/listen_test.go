package policy

import "testing"

func TestLocalListener(t *testing.T) {
	for addr, want := range map[string]bool{
		"unix:/run/sockproxy.sock": true,
		"127.0.0.1:2375":           true,
		"127.0.0.2:2375":           true,
		"[::1]:2375":               true,
		"localhost:2375":           true,
		":2375":                    false,
		"0.0.0.0:2375":             false,
		"[::]:2375":                false,
		"192.168.1.2:2375":         false,
		"docker.example:2375":      false,
		"garbage":                  false,
	} {
		if got := LocalListener(addr); got != want {
			t.Errorf("LocalListener(%q) = %v; want %v", addr, got, want)
		}
	}
}

func TestConfigure(t *testing.T) {
	env := func(k string) (string, bool) {
		if k == "CONTAINERS" {
			return "1", true
		}
		return "", false
	}
	none := func(string) (string, bool) { return "", false }
	if p, from, err := Configure("preset:traefik", env); err != nil || p.Name() != "preset:traefik" || from != "-policy preset:traefik" {
		t.Errorf("flag: %v %q %v", p, from, err)
	}
	if p, from, err := Configure("", env); err != nil || p.Name() != "env" || from != "environment" {
		t.Errorf("env: %v %q %v", p, from, err)
	}
	if p, from, err := Configure("", none); err != nil || p != nil || from != "" {
		t.Errorf("none: %v %q %v", p, from, err)
	}
	if _, _, err := Configure("preset:nope", none); err == nil {
		t.Error("bad preset accepted")
	}
}
