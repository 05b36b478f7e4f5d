package proxy

import (
	"net/http"
	"strings"

	"github.com/sockproxylab/sockproxy/internal/wire"
)

// This file holds what the proxy knows of the Docker Engine API, apart
// from the access policy (package policy): the host its client names, the
// media types of its bulk transfers, and the header vocabulary the raw
// transport interns. Everything else in the package is plain HTTP/1.1.

// DefaultHost is the host the default Director puts in outbound URLs. A
// transport from [NewTransport] ignores it; it is the name Docker's own
// client uses for its socket.
const DefaultHost = "api.moby.localhost"

func defaultDirector(req *http.Request) {
	req.URL.Scheme = "http"
	req.URL.Host = DefaultHost
}

// isBulk reports whether a body of this media type is a bulk transfer:
// Docker's image save (application/x-tar) and container export
// (application/octet-stream).
func isBulk(contentType string) bool {
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.TrimSpace(ct)
	return strings.EqualFold(ct, "application/x-tar") || strings.EqualFold(ct, "application/octet-stream")
}

// dockerd's own header keys and common values, read by the raw transport
// without allocating.
func init() {
	wire.Intern([]string{
		"Api-Version", "Docker-Experimental", "Docker-Content-Digest", "Ostype",
		"X-Docker-Container-Path-Stat", "Builder-Version", "Swarm",
	}, []string{
		"application/x-tar", "application/vnd.docker.raw-stream",
		"application/vnd.docker.multiplexed-stream", "linux",
	})
}
