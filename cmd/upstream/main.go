// Command upstream serves the lab's Docker-shaped simulator on a Unix socket
// until SIGINT or SIGTERM. See package internal/upstream for its endpoints.
//
// Usage:
//
//	upstream -socket PATH
//
// A stale socket left at PATH by a dead process is removed; any other file
// there is an error. The socket is removed on exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/sockproxylab/sockproxy/internal/upstream"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Stderr, os.Args[1:])
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// errUsage marks a bad command line; run has already printed the usage.
var errUsage = errors.New("usage")

// exitCode maps run's error to the exit status: 0, 2 for a bad command line
// (with the usage already printed), 1 otherwise (printed here).
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil || errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(stderr, "upstream:", err)
	return 1
}

// run serves the simulator until ctx is done.
func run(ctx context.Context, stdout, stderr io.Writer, args []string) error {
	fs := flag.NewFlagSet("upstream", flag.ContinueOnError)
	fs.SetOutput(stderr)
	socket := fs.String("socket", "", "the Unix socket `PATH` to serve on (required)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: upstream -socket PATH\n\nServes the Docker-shaped simulator until SIGINT or SIGTERM.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if *socket == "" || fs.NArg() > 0 {
		if fs.NArg() > 0 {
			fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		} else {
			fmt.Fprintln(stderr, "-socket is required")
		}
		fs.Usage()
		return errUsage
	}
	if err := removeStale(*socket); err != nil {
		return err
	}
	srv, err := upstream.Start(*socket)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "upstream: serving on %s\n", srv.Path())
	<-ctx.Done()
	return srv.Close()
}

// removeStale removes a socket at path that nothing listens on. A live
// socket, or a file that is not a socket, is an error.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("check socket %s: %w", path, err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("socket %s: exists and is not a socket (%s)", path, fi.Mode().Type())
	}
	c, err := net.Dial("unix", path)
	if err == nil {
		c.Close()
		return fmt.Errorf("socket %s: in use by another server", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("check socket %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}
