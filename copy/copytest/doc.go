// Package copytest is the conformance suite for [copy.Strategy]: one
// function, [TestStrategy], that every strategy passes, in the manner of
// golang.org/x/net/nettest.TestConn.
//
// A strategy's test calls it once:
//
//	func TestPooled(t *testing.T) { copytest.TestStrategy(t, bodycopy.Pooled) }
//
// The suite checks, each as a subtest:
//
//   - sizes: bodies of 0 and 1 bytes, around every buffer boundary the
//     strategies use (512 B, 2 KiB, 4 KiB, 32 KiB and 1 MiB, each −1, ±0 and
//     +1) and over many buffers (1 MiB+7); with the size hint exact, -1, too
//     small (everything is still copied) and too large (a read-side error
//     wrapping io.ErrUnexpectedEOF); from a plain reader, an io.WriterTo and
//     an *io.LimitedReader; into a plain writer and an io.ReaderFrom.
//   - iotest: the readers of testing/iotest (OneByteReader, HalfReader,
//     DataErrReader, TimeoutReader, ErrReader) and a reader that fails after
//     some data; a failing reader is a copy.SideRead error.
//   - errors: a writer that fails, writes short, or is an io.ReaderFrom that
//     fails is a copy.SideWrite error, and bytes written before it count.
//   - cancel: cancelling the context unblocks a copy stuck on a silent
//     source (also under an *io.LimitedReader) and one stuck on a
//     destination that never reads, both over net.Pipe; the error satisfies
//     errors.Is(err, context.Canceled) (and the cause, when one is given).
//   - unix-tcp: the same over real sockets, Copy's src the read end of a
//     Unix socket pair (raw, or under an *io.LimitedReader) and dst a
//     loopback TCP connection, so io.ReaderFrom and splice(2) paths run: data
//     and size hints, a destination reset by its peer (SideWrite), a silent
//     source and a destination that never reads.
//
// No goroutine may be left behind (go.uber.org/goleak): TestStrategy
// checks for goroutines it did not find when it started, so do not run it
// in parallel with tests that start goroutines of their own.
//
// A strategy whose doc says that a splice failure cannot be attributed to
// a side passes [AllowSideUnknown]; then copy.SideUnknown is accepted
// wherever SideRead or SideWrite is expected on a socket. Nothing else is
// relaxed.
package copytest
