package upstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Stream types of a multiplexed frame, as in Docker's stdcopy package.
const (
	Stdin  byte = 0
	Stdout byte = 1
	Stderr byte = 2
)

// frameHeaderSize is the length of a frame header: the stream type, three
// zero bytes, and the big-endian uint32 payload length.
const frameHeaderSize = 8

// MaxFrameSize bounds the payload ReadFrame accepts, so that a corrupt header
// cannot make it allocate gigabytes.
const MaxFrameSize = 64 << 20

// WriteFrame writes p as one multiplexed frame of the given stream (Stdin,
// Stdout or Stderr): the 8-byte header, then p. It makes two Writes; give it
// a bufio.Writer to send a frame in one system call.
func WriteFrame(w io.Writer, stream byte, p []byte) error {
	if uint64(len(p)) > 1<<32-1 {
		return fmt.Errorf("write frame: payload of %d bytes does not fit a frame", len(p))
	}
	var hdr [frameHeaderSize]byte
	putFrameHeader(hdr[:], stream, len(p))
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("write frame header: %w", err)
	}
	if _, err := w.Write(p); err != nil {
		return fmt.Errorf("write frame payload: %w", err)
	}
	return nil
}

// putFrameHeader fills hdr[:8] with the header of a frame of n bytes.
func putFrameHeader(hdr []byte, stream byte, n int) {
	hdr[0], hdr[1], hdr[2], hdr[3] = stream, 0, 0, 0
	binary.BigEndian.PutUint32(hdr[4:8], uint32(n))
}

// ReadFrame reads one multiplexed frame from r and returns its stream type
// and payload. It returns io.EOF when r ends before a frame starts, and an
// error wrapping io.ErrUnexpectedEOF when r ends inside one. A stream type
// above Stderr, non-zero padding or a payload over MaxFrameSize is an error.
func ReadFrame(r io.Reader) (stream byte, p []byte, err error) {
	var hdr [frameHeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, io.EOF
		}
		return 0, nil, fmt.Errorf("read frame header: %w", err)
	}
	stream = hdr[0]
	if stream > Stderr || hdr[1] != 0 || hdr[2] != 0 || hdr[3] != 0 {
		return 0, nil, fmt.Errorf("read frame header: not a frame header: % x", hdr)
	}
	n := binary.BigEndian.Uint32(hdr[4:])
	if n > MaxFrameSize {
		return 0, nil, fmt.Errorf("read frame header: payload of %d bytes exceeds %d", n, MaxFrameSize)
	}
	p = make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, fmt.Errorf("read frame payload (%d bytes): %w", n, err)
	}
	return stream, p, nil
}
