package wire

import (
	"context"
	"io"
)

// closeBody is a body delimited by the upstream closing the
// connection.
type closeBody struct {
	fin finisher
	f   *finisher // &fin
	eof bool
	err error
}

// ClosesOnDone is as [lengthBody.ClosesOnDone].
func (b *closeBody) ClosesOnDone(ctx context.Context) bool { return b.f.closesOnDone(ctx) }

func (b *closeBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.eof {
		return 0, io.EOF
	}
	n, err := b.f.rc.br.Read(p)
	if err == io.EOF {
		b.eof = true
		b.f.finish(false)
		return n, io.EOF
	}
	if err != nil {
		b.err = b.f.readErr(err)
		return n, b.err
	}
	return n, nil
}

func (b *closeBody) Close() error {
	b.f.finish(false)
	return nil
}

// WaitReadable blocks until a Read would not block; see
// [lengthBody.WaitReadable].
func (b *closeBody) WaitReadable() error {
	if b.err != nil || b.eof {
		return nil
	}
	return b.f.rc.waitReadable()
}
