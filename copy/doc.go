// Package copy holds the body-copy strategies of the socket proxy: the ways
// an upstream response body (or one direction of a hijacked stream) is moved
// to the client.
//
// Every strategy implements [Strategy], whose single Copy method plays the
// role of godoxy's CopyCloseWithContext(ctx, dst, src, sizeHint): it knows the
// request context (cancellation closes src, and dst where it is an
// [io.Closer], so a copy blocked in Read or Write returns) and the body size
// when it is known (the Content-Length, or -1).
//
// The package is named copy, as the design card says, which shadows the
// builtin copy in any file that imports it under that name; importers that
// also need the builtin import it under another name:
//
//	import bodycopy "github.com/sockproxylab/sockproxy/copy"
//
// # Strategies
//
// [Names] lists the strategies in presentation order and [Lookup] finds one
// by name. Each strategy's doc comment says exactly which code path runs and
// what it allocates; the benchmarks (BenchmarkCopy here, BenchmarkProxy in
// package bench) show what that costs.
//
// # Errors
//
// A successful Copy returns err == nil, not io.EOF. A failed Copy returns an
// [*Error] whose Side tells a read failure (the upstream) from a write failure
// (the client); [SideOf] extracts it from a wrapped error. A source that ends
// before the promised size is a read failure wrapping
// [io.ErrUnexpectedEOF], so a truncated upstream body is never mistaken for a
// complete one. A copy stopped by its context returns an error for which
// errors.Is(err, ctx.Err()) holds.
//
// # Flushing
//
// Strategies do not flush. The proxy owns flushing and hands a strategy a
// flushing writer where the response is a stream.
//
// # Conformance
//
// Package copytest holds the one conformance suite that every strategy
// passes.
package copy
