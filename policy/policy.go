package policy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sockproxylab/sockproxy/dockerapi"
)

// DefaultMaxBody bounds the body a body check reads when the policy sets
// no max-body: container create bodies are a few KiB.
const DefaultMaxBody = 1 << 20

// A Policy decides, per request, whether it may reach the Docker Engine.
// Everything not granted is denied; a deny rule wins over any grant. A
// Policy is immutable once built (by [Parse], [Preset], [FromEnv] or
// [Load]) and safe for concurrent use.
type Policy struct {
	name     string
	allowAll bool
	// grant and deny hold, per operation, the index+1 in rules of the rule
	// that grants or denies it (0: none).
	grant [dockerapi.NumOps]int32
	deny  [dockerapi.NumOps]int32
	// checks holds, per body check, the index+1 of the rule that enables it.
	checks  [numChecks]int32
	maxBody int64
	rules   []rule
}

// rule is one line of a policy, as the decisions cite it.
type rule struct {
	desc string // "SOURCE:LINE: TEXT", built once so citing it costs nothing
	loc  string // "SOURCE:LINE"
}

// Name returns where the policy came from: a file name, "preset:NAME",
// "env".
func (p *Policy) Name() string { return p.name }

// AllowsAll reports whether the policy is the allow-all one: every request
// passes, unknown routes and refused paths included.
func (p *Policy) AllowsAll() bool { return p.allowAll }

// Grants reports whether the policy lets op through (before body checks).
func (p *Policy) Grants(op dockerapi.Op) bool {
	if p.allowAll {
		return true
	}
	return int(op) < dockerapi.NumOps && op != dockerapi.Unknown && p.grant[op] != 0 && p.deny[op] == 0
}

// MaxBody returns the most bytes a body check reads; a longer body is
// refused with 413.
func (p *Policy) MaxBody() int64 { return p.maxBody }

// Decision is the verdict on one request.
type Decision struct {
	// Allowed is true when the request may go upstream.
	Allowed bool
	// Status is http.StatusOK when allowed; otherwise the status to answer
	// with: 400 (a path dockerd would not route as it stands, a body that
	// cannot be decoded), 403 (not granted, denied, or refused by a body
	// check), 413 (a checked body over the policy's max-body).
	Status int
	// Op is the operation dockerd would run (Unknown when none or when the
	// path was refused).
	Op dockerapi.Op
	// Rule cites what decided: "SOURCE:LINE: TEXT" of the policy rule, or
	// "default deny", "path check", "body decode".
	Rule string
	// Message is the text of dockerd's error body {"message": …} for a
	// refusal, naming the operation and the rule; "" when allowed.
	Message string
}

// Decide classifies r as dockerd would route it and decides it. When the
// operation is granted and a body check applies, Decide reads r.Body (at
// most MaxBody bytes, plus one to detect a longer one) and replaces it with
// a reader over exactly the bytes it checked, followed by nothing: what
// goes upstream is what was checked, byte for byte. r.ContentLength is left
// as it was. A refused request's body is left partly read; do not forward
// it.
//
// An allowed request whose operation needs no body check costs no
// allocation. p must not be nil: "no policy" is the caller's decision (see
// Configure and LocalListener), not a Policy.
func (p *Policy) Decide(r *http.Request) Decision {
	m, err := dockerapi.ClassifyRequest(r)
	if p.allowAll {
		return Decision{Allowed: true, Status: http.StatusOK, Op: m.Op, Rule: allowAllRule}
	}
	if err != nil {
		return Decision{
			Status:  http.StatusBadRequest,
			Rule:    "path check",
			Message: "sockproxy: request refused: " + reasonOf(err) + " (dockerd would not route " + strconv.Quote(escapedPath(r)) + " as it stands)",
		}
	}
	op := m.Op
	if op == dockerapi.Unknown {
		return Decision{
			Status:  http.StatusForbidden,
			Rule:    "default deny of " + p.name,
			Message: "sockproxy: " + r.Method + " " + strconv.Quote(escapedPath(r)) + " is no Docker Engine API operation: denied by policy " + p.name,
		}
	}
	if d := p.deny[op]; d != 0 {
		return p.refuse(op, p.rules[d-1].desc, "denied by "+p.rules[d-1].desc)
	}
	g := p.grant[op]
	if g == 0 {
		return p.refuse(op, "default deny of "+p.name, "not granted by policy "+p.name)
	}
	if op.Info().Body && p.checksOn() {
		if d, checked := p.checkBody(r, op); checked {
			return d
		}
	}
	return Decision{Allowed: true, Status: http.StatusOK, Op: op, Rule: p.rules[g-1].desc}
}

const allowAllRule = "allow-all"

func (p *Policy) refuse(op dockerapi.Op, rule, why string) Decision {
	return Decision{
		Status:  http.StatusForbidden,
		Op:      op,
		Rule:    rule,
		Message: "sockproxy: operation " + op.String() + " " + why,
	}
}

func reasonOf(err error) string {
	if pe, ok := err.(*dockerapi.PathError); ok {
		return pe.Reason
	}
	return err.Error()
}

// WriteError answers a refusal as dockerd answers its errors: the
// decision's status, Content-Type application/json, body
// {"message":"…"}, so that the docker CLI prints "Error response from
// daemon: …".
func (d Decision) WriteError(w http.ResponseWriter) {
	body, _ := json.Marshal(struct {
		Message string `json:"message"`
	}{d.Message})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(d.Status)
	_, _ = w.Write(append(body, '\n'))
}

// AuditLine formats the one log line a refusal gets: client address,
// method, path, operation, rule, status. Values are quoted so a path
// cannot forge another line. The logger adds its own prefix.
func (d Decision) AuditLine(r *http.Request) string {
	return fmt.Sprintf("denied client=%s method=%q path=%q op=%s rule=%q status=%d",
		r.RemoteAddr, r.Method, escapedPath(r), d.Op, d.Rule, d.Status)
}

func escapedPath(r *http.Request) string {
	if r.URL == nil {
		return r.RequestURI
	}
	return r.URL.EscapedPath()
}
