package main

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
)

// newLogger returns the logger of -log-format and -log-level writing to w.
func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}

// lineLogger is a *log.Logger whose every line becomes one record of
// logger at level: for package proxy's ErrorLog (its one line per failed
// request and its audit lines) and net/http's.
func lineLogger(logger *slog.Logger, level slog.Level) *log.Logger {
	return slog.NewLogLogger(logger.Handler(), level)
}
