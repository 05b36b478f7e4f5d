// Package wire is sockproxy's own HTTP/1.1 wire code: a connection pool to
// one Unix socket ([Transport], an http.RoundTripper), the request writer,
// the head reader (status line and header fields, byte-scanned, common keys
// and repeated values taken without allocating), the framing decision
// (RFC 9112 section 6.3) and one file per body type with all of its
// methods:
//
//	file             what
//	transport.go     Transport: the pool (getConn, putIdle), RoundTrip, retries
//	conn.go          one connection: its buffers, the unsolicited-bytes probe, the wait without a buffer
//	request.go       the request head and body writer (a FramedReader's chunks sent as they came)
//	head.go          the head reader shared by both directions: lines, fields, keys, values
//	response.go      the status line and the 1xx loop
//	framing.go       how a response is delimited: Content-Length, chunked, close, none
//	finish.go        a response's end on its connection: back to the pool or closed
//	chunked.go       chunked framing alone: the size line reader and the chunk writer
//	chunk_scan.go    chunked framing validated as it passes (ReadFramed, both directions)
//	body_length.go   a Content-Length body (one splice span)
//	body_chunked.go  a chunked body (one span per chunk; framed relay; parkable)
//	body_close.go    a body delimited by the connection's end
//	body_upgrade.go  a 101's connection
//	token.go         header tokens
//
// and, for a front end that owns the client side, the same parsing the
// other way round:
//
//	file                     what
//	request_read.go          RequestReader: a request head into a reused http.Request, framing, RequestError
//	body_request_length.go   a request's Content-Length body (one splice span)
//	body_request_chunked.go  a request's chunked body (one span per chunk; framed pass-through; trailer)
//	response_write.go        WriteResponseHead: status line, fields, framing fields
//
// The head reader and writer work on a connection's bufio buffers, not on
// a message, so that requests and responses are read by the same code.
// The request reader is at least as strict as net/http's server
// (FuzzRequestReader compares them); see [RequestReader.Read] for where
// it is stricter.
//
// The package is internal: the proxy package exposes it as
// proxy.RawTransport, and uses beyond RoundTrip only a 1xx hook
// ([Transport.RoundTripInformed]), the release of a relayed response's
// header ([Transport.Release]), and the stream bodies' methods to splice,
// wait without a buffer and park ([ChunkedBody], [UpgradeBody]), and to
// pass chunk framing through ([FramedReader], [FramedBufs]). Its bodies are
// copy.SpliceSources and copy.ReadWaiters.
package wire
