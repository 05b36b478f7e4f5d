package policy

import (
	"net"
	"strings"
)

// LocalListener reports whether a -listen address can only be reached from
// this host: a Unix socket ("unix:/path") or a loopback address
// ("127.0.0.1:2375", "[::1]:2375", "localhost:2375"). Without a policy the
// binary forwards everything only on such a listener; any other address
// (":2375" listens on every interface) needs a policy, preset:allow-all
// included.
func LocalListener(addr string) bool {
	if strings.HasPrefix(addr, "unix:") {
		return true
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Configure picks the policy of a binary: the -policy value when given
// (a file or "preset:NAME"), else the environment's Tecnativa variables
// when any is set, else none (p == nil: the caller decides, with
// LocalListener, whether forwarding everything is safe). from says which
// ("-policy FILE", "environment", "").
func Configure(flagValue string, lookup func(string) (string, bool)) (p *Policy, from string, err error) {
	if flagValue != "" {
		p, err = Load(flagValue)
		return p, "-policy " + flagValue, err
	}
	p, set, err := FromEnv(lookup)
	if err != nil || !set {
		return nil, "", err
	}
	return p, "environment", nil
}
