// Package sockio looks at stream sockets without reading them: whether a
// Read would return at once ([Readable], [Probe]), whether the peer has
// ended ([Ended]), and a wait in the runtime's network poller until one of
// those holds ([WaitConn]), each with a one-byte recv(MSG_PEEK) that leaves
// the byte for the next Read. None of them holds a buffer, so a goroutine
// waiting on an idle connection costs nothing else.
//
// It also holds the one way of looking through connection wrappers
// ([Unwrap], [Wrapper]): a connection that passes its bytes on unchanged
// (a listener's bookkeeping wrapper) may be probed, waited on and spliced
// as the socket under it.
//
// And [RawIO]: a socket's reads and writes as raw system calls inside its
// RawConn (the poller still waits), which spare the Go scheduler's
// system-call bookkeeping on the lean paths.
//
// The copy strategies (package copy) wait with it before they take a
// buffer and look through wrappers with it before they splice; the proxy
// probes pooled and parked connections with it.
package sockio
