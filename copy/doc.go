// Package copy holds copy strategies: the ways a stream of bytes is moved
// from a source (an io.Reader) to a destination (an io.Writer). The socket
// proxy uses them to move each response body and each direction of an
// upgraded connection, and names the two sides itself.
//
// Every strategy implements [Strategy], whose single Copy method plays the
// role of godoxy's CopyCloseWithContext(ctx, dst, src, sizeHint): it knows a
// context (cancellation closes src, and dst where it is an [io.Closer], so a
// copy blocked in Read or Write returns) and the number of bytes to expect
// when it is known (or -1: a stream).
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
// by name; each is also a package variable. Each strategy's doc comment says
// exactly which code path runs and what it allocates. In short:
//
//	name            variable       code path                                  buffer per copy
//	alloc           Alloc          Read/Write loop                            new 32 KiB (the baseline)
//	sized           Sized          Read/Write loop                            256 B array (escapes: heap) or pooled 2–32 KiB tier
//	pooled          Pooled         Read/Write loop                            pooled 512 B–1 MiB class; streams 4 KiB growing to 256 KiB
//	readerfrom      ReaderFrom     dst.ReadFrom, else src.WriteTo             none of its own; splice(2) for raw sockets
//	splice          Splice         SpliceSource spans into dst.ReadFrom,      none where it splices (a pipe from net's pool);
//	                               raw socket pairs as readerfrom             Pooled's where it falls back
//	splice-chunked  SpliceChunked  as splice, for spans of unknown size       as splice; Pooled's elsewhere
//	                               only; Pooled for sized sources and streams
//
// The three loops are one: copyLoop, which reads into the buffer a
// strategy lends it and writes what it read. alloc is what
// httputil.ReverseProxy does with no BufferPool; sized is the seed's
// behaviour; pooled avoids both the per-copy allocation and the one-size
// buffer; readerfrom lets the standard library pick its fast path, which
// is splice(2) only when src is a raw *net.UnixConn or *net.TCPConn
// (possibly under an *io.LimitedReader) and dst a *net.TCPConn or a writer
// that hands its ReadFrom to one: never for a source of another type,
// where it falls back to a fresh 32 KiB buffer.
//
// The splice strategies ([Splice], [SpliceChunked]) move the bytes of a
// [SpliceSource], whose bytes after those already in memory come straight
// from a *net.UnixConn, and of raw socket pairs, looking through
// connection wrappers that pass their bytes on unchanged (sockio.Wrapper).
// They count every copy on a path they splice as spliced or fallen back
// ([ReadSpliceCounts]); scripts/prove-splice.sh shows the splice(2) calls
// under strace.
//
// A stream (size -1) whose source can wait without a buffer (a
// [ReadWaiter], or a raw socket, also behind connection wrappers:
// [WaitReadable]) holds no copy buffer while it is idle, in pooled,
// readerfrom and the splice strategies.
//
// Every strategy also pays for cancellation: with a context that can be
// done, two small allocations per copy (the context.AfterFunc registration
// that closes src and dst; its state is pooled), and none when dst is not
// an io.Closer and src has a ClosesOnDone(ctx) method that returns true
// (a source whose owner already closes it when that context ends).
//
// # Errors
//
// A successful Copy returns err == nil, not io.EOF. A failed Copy returns an
// [*Error] whose Side tells a read failure (the source) from a write failure
// (the destination); [SideOf] extracts it from a wrapped error. A source
// that ends before the promised size is a read failure wrapping
// [io.ErrUnexpectedEOF], so a truncated source is never mistaken for a
// complete one. A copy stopped by its context returns an error for which
// errors.Is(err, ctx.Err()) holds (and errors.Is(err, cause) for a cause
// given to context.WithCancelCause). Only a failure inside splice(2), which
// moves bytes between both descriptors in one system call, is
// [SideUnknown]; ReaderFrom documents when that happens.
//
// # Flushing
//
// Strategies do not flush. A caller that must pass each piece on at once
// hands a strategy a destination that flushes.
//
// # Conformance and benchmarks
//
// Package copytest holds the one conformance suite that every strategy
// passes (sizes around every buffer boundary, size hints exact, unknown,
// too small and too large, the readers of testing/iotest, read and write
// failures, cancellation of a copy stuck on either side, over in-memory
// pipes and real Unix→TCP sockets, with no goroutine left behind).
// FuzzCopy compares every strategy with io.Copy.
//
// BenchmarkCopy/strategy=S/size=Z measures a strategy alone: src the read
// end of a Unix socket pair under an *io.LimitedReader of Z bytes, dst a
// TCP connection to a loopback listener that discards, size hint Z. Compare
// the strategies with
//
//	go test -run '^$' -bench BenchmarkCopy -count=10 ./copy > copy.txt
//	go tool benchstat -col /strategy copy.txt
//
// and prove that readerfrom splices with
//
//	go test -c -o copy.test ./copy
//	strace -f -c -e trace=splice ./copy.test -test.run '^$' -test.bench 'BenchmarkCopy/strategy=readerfrom'
package copy
