package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"strconv"
	"syscall"
	"time"
)

// listenUnix listens on the Unix socket path, replacing a stale socket
// left by a previous run (a container restarted with the directory
// mounted), then sets the socket's mode (when mode is not 0) and group
// (a name or a numeric gid, when group is not ""), so that a client
// container in that group can connect while others cannot.
func listenUnix(path string, mode os.FileMode, group string) (net.Listener, error) {
	gid := -1
	if group != "" {
		var err error
		if gid, err = lookupGroup(group); err != nil {
			return nil, err
		}
	}
	removeStaleSocket(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on unix:%s: %w", path, err)
	}
	if gid >= 0 {
		if err := os.Chown(path, -1, gid); err != nil {
			ln.Close()
			return nil, fmt.Errorf("-listen-group %s: %w", group, err)
		}
	}
	if mode != 0 {
		if err := os.Chmod(path, mode); err != nil {
			ln.Close()
			return nil, fmt.Errorf("-listen-mode %#o: %w", mode, err)
		}
	}
	return ln, nil
}

// removeStaleSocket removes path when it is a socket nobody accepts on.
// Anything else (a live socket, a regular file) is left for net.Listen to
// refuse.
func removeStaleSocket(path string) {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().Type() != os.ModeSocket {
		return
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		c.Close()
		return // in use
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		os.Remove(path)
	}
}

// lookupGroup returns the gid of a group name or number. A numeric gid
// needs no /etc/group (a scratch image has none).
func lookupGroup(group string) (int, error) {
	if n, err := strconv.Atoi(group); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, fmt.Errorf("-listen-group %s: %w", group, err)
	}
	return strconv.Atoi(g.Gid)
}

// parseMode parses an octal file mode such as 0660 ("" is 0: unchanged).
func parseMode(s string) (os.FileMode, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o777 {
		return 0, fmt.Errorf("-listen-mode %q: want octal permission bits such as 0660", s)
	}
	return os.FileMode(n), nil
}
