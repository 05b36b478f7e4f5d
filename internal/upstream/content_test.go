package upstream

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// The generator is part of the contract: other programs may recompute it.
func TestContentPinned(t *testing.T) {
	const want = "4df720cb5f0dd1c9a0c0e494578894affcd051054c1511020228c96758339724"
	sum := ContentSHA256(1 << 20)
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Errorf("ContentSHA256(1MiB) = %s; want %s (the seed or generator changed)", got, want)
	}
}

func TestContent(t *testing.T) {
	sizes := []int64{0, 1, pieceSize - 1, pieceSize, blockSize - 1, blockSize, blockSize + 1, 2*blockSize + 5}
	full, err := io.ReadAll(Content(2*blockSize + 5))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range sizes {
		read, err := io.ReadAll(iotest.HalfReader(Content(size)))
		if err != nil {
			t.Fatalf("size %d: read: %v", size, err)
		}
		if int64(len(read)) != size {
			t.Fatalf("size %d: read %d bytes; want %d", size, len(read), size)
		}
		var wt bytes.Buffer
		if n, err := Content(size).(io.WriterTo).WriteTo(&wt); err != nil || n != size {
			t.Fatalf("size %d: WriteTo = %d, %v; want %d, nil", size, n, err, size)
		}
		if !bytes.Equal(read, wt.Bytes()) {
			t.Errorf("size %d: Read and WriteTo differ", size)
		}
		if !bytes.Equal(read, full[:size]) {
			t.Errorf("size %d: not a prefix of the larger body", size)
		}
		if got, want := ContentSHA256(size), sha256.Sum256(read); got != want {
			t.Errorf("size %d: ContentSHA256 = %x; want %x", size, got, want)
		}
	}
	if !bytes.Equal(full[blockSize:2*blockSize], full[:blockSize]) {
		t.Error("the content does not repeat the 1 MiB block")
	}
	if n, _ := io.Copy(io.Discard, Content(-5)); n != 0 {
		t.Errorf("Content(-5) gave %d bytes; want 0", n)
	}
}

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	payloads := []struct {
		stream byte
		p      string
	}{{Stdout, "out\n"}, {Stderr, ""}, {Stdin, strings.Repeat("x", 70000)}}
	for _, f := range payloads {
		if err := WriteFrame(&buf, f.stream, []byte(f.p)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := buf.Bytes()[:8], []byte{1, 0, 0, 0, 0, 0, 0, 4}; !bytes.Equal(got, want) {
		t.Errorf("header = % x; want % x", got, want)
	}
	r := iotest.OneByteReader(&buf)
	for _, f := range payloads {
		s, p, err := ReadFrame(r)
		if err != nil || s != f.stream || string(p) != f.p {
			t.Fatalf("ReadFrame = %d, %d bytes, %v; want %d, %d bytes, nil", s, len(p), err, f.stream, len(f.p))
		}
	}
	if _, _, err := ReadFrame(r); err != io.EOF {
		t.Errorf("ReadFrame at end = %v; want io.EOF", err)
	}

	bad := []struct {
		name string
		in   []byte
		want error
	}{
		{"short header", []byte{1, 0, 0}, io.ErrUnexpectedEOF},
		{"short payload", []byte{1, 0, 0, 0, 0, 0, 0, 4, 'a'}, io.ErrUnexpectedEOF},
		{"bad stream", []byte{3, 0, 0, 0, 0, 0, 0, 0}, nil},
		{"bad padding", []byte{1, 0, 1, 0, 0, 0, 0, 0}, nil},
		{"too large", []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, nil},
	}
	for _, tc := range bad {
		_, _, err := ReadFrame(bytes.NewReader(tc.in))
		if err == nil || err == io.EOF || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: ReadFrame error = %v; want an error (wrapping %v)", tc.name, err, tc.want)
		}
	}
}
