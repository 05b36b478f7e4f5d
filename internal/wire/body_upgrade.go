package wire

import "net"

// UpgradeBody is a 101 response's Body: the upgraded connection.
type UpgradeBody struct{ rc *conn }

// Read reads bytes the upstream sent after its 101 (already buffered)
// first, then from the connection.
func (b *UpgradeBody) Read(p []byte) (int, error) { return b.rc.br.Read(p) }

// Write writes to the connection.
func (b *UpgradeBody) Write(p []byte) (int, error) { return b.rc.c.Write(p) }

// CloseWrite half-closes the connection.
func (b *UpgradeBody) CloseWrite() error { return b.rc.c.CloseWrite() }

// Close closes the connection.
func (b *UpgradeBody) Close() error { return b.rc.c.Close() }

// WaitReadable blocks until a Read would not block; see
// [lengthBody.WaitReadable]. Closing the connection ends the wait.
func (b *UpgradeBody) WaitReadable() error { return b.rc.waitReadable() }

// Stream returns the upgraded connection itself and the bytes the upstream
// sent after its 101 that are already buffered (taken out of the buffer:
// the caller sends them first, and then reads only the connection).
// Handing the copy strategies the *net.UnixConn itself lets a splice
// strategy splice both directions.
func (b *UpgradeBody) Stream() (c *net.UnixConn, buffered []byte) {
	br := b.rc.br
	buffered, _ = br.Peek(br.Buffered())
	br.Discard(len(buffered)) // buffered stays valid: br is not read again
	return b.rc.c, buffered
}
