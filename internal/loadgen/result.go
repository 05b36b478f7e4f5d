package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// A Kind classifies a failed operation.
type Kind int

// The kinds of failure, as counted in [Metrics.Errors].
const (
	// KindConnect: the connection could not be made (dial failed).
	KindConnect Kind = iota
	// KindStatus: the response had an unexpected status code (or an
	// upgrade was refused).
	KindStatus
	// KindRead: the response or stream broke: a short or aborted body, a
	// body of the wrong size, a malformed frame or event, a reset.
	KindRead
	// KindTimeout: the per-request timeout expired.
	KindTimeout
	numKinds
)

var kindNames = [numKinds]string{"connect", "status", "read", "timeout"}

// String returns "connect", "status", "read" or "timeout".
func (k Kind) String() string {
	if k < 0 || k >= numKinds {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// An Error is a failed operation with its [Kind].
type Error struct {
	Kind Kind  // what failed
	Err  error // the failure, naming the operation and path
}

// Error returns the kind, then the underlying message.
func (e *Error) Error() string { return e.Kind.String() + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// KindOf classifies err: an [*Error] keeps its kind; otherwise a timeout is
// KindTimeout, a failed dial KindConnect and anything else KindRead.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return KindTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return KindTimeout
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return KindConnect
	}
	return KindRead
}

// A Result is the outcome of one operation (one request, one event, one echo
// round trip), as the runner hands it to [Metrics.Add].
type Result struct {
	// Intended is when the operation was meant to start: the pacer's tick in
	// an open loop, the actual start in a closed loop.
	Intended time.Time
	// Start and End are when it actually started and finished.
	Start, End time.Time
	// Latency is End minus Intended, except for events, where it is the
	// receipt time minus the send time the event carries.
	Latency time.Duration
	// Bytes counts the payload bytes received.
	Bytes int64
	// Err is nil on success.
	Err error
	// Warmup marks a result of the warmup, which is not measured.
	Warmup bool
	// Late marks an open-loop send that started more than LateAfter
	// behind its intended time.
	Late bool
	// Dropped marks an open-loop send that never started: the in-flight
	// cap was reached at its intended time.
	Dropped bool
}

// An Outcome is what a [Conn] reports for one operation; the runner turns it
// into a [Result].
type Outcome struct {
	// Bytes counts the payload bytes received.
	Bytes int64
	// Latency, when non-zero, overrides End minus Intended (events measure
	// from their own send timestamp).
	Latency time.Duration
	// Err is nil on success.
	Err error
}
