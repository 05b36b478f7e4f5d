package wire

import (
	"errors"
	"fmt"
	"time"

	bodycopy "github.com/sockproxylab/sockproxy/copy"
)

// Limits of the raw transport's response parsing.
const (
	// maxHeaderBytes bounds a response's status line and header (and a
	// chunked body's trailer), as http.Transport's MaxResponseHeaderBytes.
	maxHeaderBytes = 1 << 20
	// max1xx bounds the informational responses before the final one.
	max1xx = 16
	// idleTimeout is how long an idle connection is kept, as
	// [NewTransport]'s IdleConnTimeout.
	idleTimeout = 90 * time.Second
	// bufSize is the size of each connection's read buffer and of a request's write buffer.
	bufSize = 4096
)

// errMalformed marks a message the head reader, the chunk reader or the
// request reader refused to parse; errHeaderTooLong, a head (or trailer,
// or chunk size line) over its limit, is one.
var (
	errMalformed     = errors.New("malformed HTTP message")
	errHeaderTooLong = fmt.Errorf("%w: header too long", errMalformed)
)

// The bodies are copy.ReadWaiters: a copy strategy waits on them before it
// takes a buffer, so that an idle stream (Docker's events, logs -f, an
// attached shell) holds no copy buffer. While one waits, its connection's
// read buffer, which is empty then, goes back to idleReaders: an idle
// stream holds neither buffer, only its goroutine. The Content-Length and
// chunked bodies are copy.SpliceSources.
var (
	_ bodycopy.ReadWaiter   = (*lengthBody)(nil)
	_ bodycopy.ReadWaiter   = (*ChunkedBody)(nil)
	_ bodycopy.ReadWaiter   = (*closeBody)(nil)
	_ bodycopy.ReadWaiter   = (*UpgradeBody)(nil)
	_ bodycopy.SpliceSource = (*lengthBody)(nil)
	_ bodycopy.SpliceSource = (*ChunkedBody)(nil)

	// A request body can be spliced to the upstream the same way.
	_ bodycopy.SpliceSource = (*requestLengthBody)(nil)
	_ bodycopy.SpliceSource = (*requestChunkedBody)(nil)
)
