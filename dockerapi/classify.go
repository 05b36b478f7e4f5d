package dockerapi

import (
	"net/http"
	"strings"
)

// Match is what dockerd would route a request to.
type Match struct {
	// Op is the operation; Unknown when dockerd would route the request to
	// no handler (its "page not found").
	Op Op
	// Route is the index of the route in [Routes], -1 when Op is Unknown.
	Route int
	// Version is the API version of a "/vX.Y" prefix ("" without one).
	// dockerd routes every version alike and refuses unsupported ones in
	// its handlers, so it does not change Op.
	Version string
}

// PathError is why a request's path is refused before any route is
// matched: dockerd would not route the path as it stands (gorilla/mux
// redirects unclean paths, and decodes %2F into a separator), or proxies
// and dockerd could read it differently. Such a request gets 400 and never
// reaches the upstream; it is not normalised into something else.
type PathError struct {
	// Reason says what is wrong, for the message of the 400 answer.
	Reason string
}

func (e *PathError) Error() string { return "dockerapi: refused path: " + e.Reason }

// The reasons a path is refused. Each is one allocated value, so refusing
// costs no allocation and callers can compare with errors.Is.
var (
	ErrNoPath       = &PathError{"the request target is not an absolute path"}
	ErrEmptySegment = &PathError{"the path has an empty segment (//)"}
	ErrDotSegment   = &PathError{"the path has a dot segment (/./ or /../)"}
	ErrEncodedSlash = &PathError{"the path has an encoded slash (%2F)"}
	ErrPercent      = &PathError{"the decoded path still holds a percent sign (double encoding)"}
	ErrControl      = &PathError{"the path holds a control character"}
	ErrVersion      = &PathError{"the API version prefix is not /vMAJOR.MINOR"}
)

// ClassifyRequest classifies a request as net/http's server hands it to a
// handler: r.Method as sent, r.URL.Path decoded, r.URL.RawPath the
// original encoding when it differs. The query, the host (absolute-form
// targets carry one), the headers (X-HTTP-Method-Override and friends:
// dockerd ignores them) and the body play no part in routing.
func ClassifyRequest(r *http.Request) (Match, error) {
	if r.URL == nil || r.URL.Opaque != "" {
		return Match{Route: -1}, ErrNoPath
	}
	return Classify(r.Method, r.URL.Path, r.URL.RawPath)
}

// Classify decides what dockerd routes method and path to, as its
// gorilla/mux router does: the method compared exactly (so "get" is
// Unknown), path the decoded path (what mux matches without
// UseEncodedPath), the "/v{version:[0-9.]+}" prefix optional, the first
// registered route that matches wins. rawPath is the path as the client
// encoded it, "" when it is path's default encoding (url.URL.RawPath).
//
// A path dockerd would not route as it stands returns a *PathError: one
// that is not clean (gorilla/mux answers those with a redirect to the
// cleaned path: empty segments, dot segments), an encoded slash (mux would
// decode it into a separator), a percent sign left after decoding (double
// encoding), control characters, a version prefix that is not MAJOR.MINOR.
// A trailing slash is not refused: mux routes it as it stands (GET
// /networks/ is a route; GET /containers/json/ is none).
//
// Classify does not allocate.
func Classify(method, path, rawPath string) (Match, error) {
	if err := checkPath(path, rawPath); err != nil {
		return Match{Route: -1}, err
	}
	var version string
	rest := path
	if seg := firstSegment(path); len(seg) > 1 && seg[0] == 'v' && versionChars(seg[1:]) && len(path) > len(seg)+1 {
		// Only a version followed by a path is routed: "/v1.41" alone is
		// no route and falls to the check below as an unversioned
		// first segment that nothing registers.
		version = seg[1:]
		if !majorMinor(version) {
			return Match{Route: -1}, ErrVersion
		}
		rest = path[len(seg)+1:]
	}
	if method == http.MethodOptions {
		// system router: OPTIONS /{anyroute:.*}, at either prefix.
		return Match{Op: Options, Route: optionsRoute, Version: version}, nil
	}
	m := methodIndex(method)
	if m < 0 {
		return Match{Route: -1, Version: version}, nil
	}
	for _, i := range index[m][firstSegment(rest)] {
		if routeMatchers[i].match(rest) {
			return Match{Op: routes[i].Op, Route: i, Version: version}, nil
		}
	}
	return Match{Route: -1, Version: version}, nil
}

// checkPath refuses what dockerd would not route as it stands.
func checkPath(path, rawPath string) error {
	if len(path) == 0 || path[0] != '/' {
		return ErrNoPath
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c < 0x20 || c == 0x7f:
			return ErrControl
		case c == '%':
			return ErrPercent
		case c == '/':
			// Look at the segment that starts after this slash.
			j := i + 1
			switch {
			case j == len(path):
				// trailing slash: clean for gorilla/mux
			case path[j] == '/':
				return ErrEmptySegment
			case path[j] == '.' && (j+1 == len(path) || path[j+1] == '/'):
				return ErrDotSegment
			case path[j] == '.' && path[j+1] == '.' && (j+2 == len(path) || path[j+2] == '/'):
				return ErrDotSegment
			}
		}
	}
	for i := 0; i+2 < len(rawPath); i++ {
		if rawPath[i] == '%' && rawPath[i+1] == '2' && (rawPath[i+2] == 'f' || rawPath[i+2] == 'F') {
			return ErrEncodedSlash
		}
	}
	return nil
}

// firstSegment returns the first segment of an absolute path, without its
// slashes.
func firstSegment(path string) string {
	s := path[1:]
	if i := strings.IndexByte(s, '/'); i >= 0 {
		return s[:i]
	}
	return s
}

func versionChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '.' {
			return false
		}
	}
	return true
}

// majorMinor reports whether s is digits, one dot, digits.
func majorMinor(s string) bool {
	dot := strings.IndexByte(s, '.')
	return dot > 0 && dot < len(s)-1 && strings.IndexByte(s[dot+1:], '.') < 0
}

var methods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE"}

func methodIndex(method string) int {
	for i, m := range methods {
		if m == method {
			return i
		}
	}
	return -1
}

// index maps method, then first path segment, to the routes that can
// match, in registration order. Every template but OPTIONS' starts with a
// literal segment, so routes in other buckets cannot match.
var index [len(methods)]map[string][]int

var (
	routeMatchers []matcher
	optionsRoute  = -1
)

func init() {
	for m := range index {
		index[m] = make(map[string][]int)
	}
	routeMatchers = make([]matcher, len(routes))
	for i, r := range routes {
		routeMatchers[i] = compile(r.Template)
		if r.Method == http.MethodOptions {
			optionsRoute = i
			continue
		}
		m := methodIndex(r.Method)
		seg := firstSegment(r.Template)
		if m < 0 || strings.ContainsAny(seg, "{}") {
			panic("dockerapi: route " + r.Method + " " + r.Template + " cannot be indexed")
		}
		index[m][seg] = append(index[m][seg], i)
	}
}
