package dockerd

import (
	"archive/tar"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// The images EnsureImages provides.
const (
	// BusyboxImage is a busybox root filesystem: sh, echo, cat, sleep, seq
	// and every other applet, on PATH=/bin; CMD ["sh"].
	BusyboxImage = "lab/busybox:latest"
	// BigImage holds one incompressible file, /blob, of BigSize bytes.
	BigImage = "lab/big:latest"
	// BigSize is the size of BigImage's /blob: 128 MiB.
	BigSize = 128 << 20
	// BusyboxPath is where Debian's busybox-static installs busybox.
	BusyboxPath = "/bin/busybox"
)

// BigSeed seeds the ChaCha8 generator whose output is BigImage's /blob.
var BigSeed = [32]byte{'s', 'o', 'c', 'k', 'p', 'r', 'o', 'x', 'y', ' ', 'l', 'a', 'b', ' ', 'b', 'i', 'g'}

// BigContent returns a reader of BigImage's /blob: the first BigSize bytes
// of ChaCha8 seeded with BigSeed.
func BigContent() io.Reader {
	return io.LimitReader(rand.NewChaCha8(BigSeed), BigSize)
}

// epoch is the modification time of every file in the imported trees, so
// that the layers are the same bytes on every run.
var epoch = time.Unix(1_700_000_000, 0)

// BusyboxAvailable reports whether BusyboxPath holds a static busybox, which
// the image needs (a dynamic one would find no libc in the container). The
// error wraps ErrUnavailable.
func BusyboxAvailable() error {
	f, err := elf.Open(BusyboxPath)
	if err != nil {
		return fmt.Errorf("%w: busybox: open %s: %v (apt-get install busybox-static)", ErrUnavailable, BusyboxPath, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%w: busybox: %s is dynamically linked (apt-get install busybox-static)", ErrUnavailable, BusyboxPath)
		}
	}
	return nil
}

// Client returns a Go SDK client talking to the daemon's socket directly,
// with API-version negotiation. Callers Close it.
func (d *Daemon) Client() (*client.Client, error) {
	c, err := client.New(client.WithHost(d.Host()), client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("dockerd: client for %s: %w", d.Host(), err)
	}
	return c, nil
}

// EnsureImages imports BusyboxImage and BigImage (see the package doc)
// unless the daemon already has them.
func (d *Daemon) EnsureImages(ctx context.Context) error {
	if err := BusyboxAvailable(); err != nil {
		return err
	}
	c, err := d.Client()
	if err != nil {
		return err
	}
	defer c.Close()
	images := []struct {
		ref     string
		changes []string
		write   func(*tar.Writer) error
	}{
		{BusyboxImage, []string{`CMD ["sh"]`, "ENV PATH=/bin"}, writeBusybox},
		{BigImage, nil, writeBig},
	}
	for _, img := range images {
		if _, err := c.ImageInspect(ctx, img.ref); err == nil {
			continue
		}
		if err := importTree(ctx, c, img.ref, img.changes, img.write); err != nil {
			return err
		}
	}
	return nil
}

// importTree streams the tar that write produces into POST /images/create
// (docker import) and checks the daemon's progress messages for an error.
func importTree(ctx context.Context, c *client.Client, ref string, changes []string, write func(*tar.Writer) error) error {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := write(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	defer pr.Close() // unblocks the writer if the import fails early
	res, err := c.ImageImport(ctx, client.ImageImportSource{Source: pr, SourceName: "-"}, ref,
		client.ImageImportOptions{Changes: changes})
	if err != nil {
		return fmt.Errorf("dockerd: import %s: %w", ref, err)
	}
	defer res.Close()
	dec := json.NewDecoder(res)
	for {
		var msg struct {
			Error       string `json:"error"`
			ErrorDetail struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&msg); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("dockerd: import %s: read progress: %w", ref, err)
		}
		if msg.Error != "" {
			return fmt.Errorf("dockerd: import %s: %s", ref, msg.Error)
		}
	}
}

// writeBusybox writes the busybox root filesystem.
func writeBusybox(tw *tar.Writer) error {
	applets, err := busyboxApplets()
	if err != nil {
		return err
	}
	bb, err := os.ReadFile(BusyboxPath)
	if err != nil {
		return fmt.Errorf("dockerd: busybox: %w", err)
	}
	dirs := []struct {
		name string
		mode int64
	}{{"bin/", 0o755}, {"etc/", 0o755}, {"root/", 0o700}, {"tmp/", 0o1777}}
	for _, dir := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir.name, Mode: dir.mode, ModTime: epoch}); err != nil {
			return err
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"bin/busybox", 0o755, bb},
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		{"etc/group", 0o644, []byte("root:x:0:\nnogroup:x:65534:\n")},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	for _, a := range applets {
		hdr := &tar.Header{Typeflag: tar.TypeSymlink, Name: "bin/" + a, Linkname: "busybox", Mode: 0o777, ModTime: epoch}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	return nil
}

// busyboxApplets lists the applets of the host's busybox (busybox --list),
// less busybox itself and any name that is not a plain file name.
func busyboxApplets() ([]string, error) {
	out, err := exec.Command(BusyboxPath, "--list").Output()
	if err != nil {
		return nil, fmt.Errorf("dockerd: %s --list: %w", BusyboxPath, err)
	}
	var applets []string
	for _, a := range strings.Fields(string(out)) {
		if a == "busybox" || strings.ContainsAny(a, "/.") {
			continue
		}
		applets = append(applets, a)
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("dockerd: %s --list printed no applets", BusyboxPath)
	}
	return applets, nil
}

// writeBig writes the big image's tree: only /blob, from BigContent. The
// image is moved around (save, load), never run.
func writeBig(tw *tar.Writer) error {
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "blob", Mode: 0o644, Size: BigSize, ModTime: epoch}); err != nil {
		return err
	}
	if _, err := io.Copy(tw, BigContent()); err != nil {
		return fmt.Errorf("dockerd: write /blob: %w", err)
	}
	return nil
}
