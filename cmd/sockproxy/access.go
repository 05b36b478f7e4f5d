package main

import (
	"context"
	"log/slog"

	"github.com/sockproxylab/sockproxy/proxy"
)

// accessLog is a proxy.Observer that logs one record per request at
// level Info: client, method, path (never the query nor any header, so no
// credential such as X-Registry-Auth is logged), operation, decision,
// status, bytes and duration.
type accessLog struct {
	logger *slog.Logger
}

func (a accessLog) Observe(o proxy.Outcome) {
	if !a.logger.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{
		slog.String("client", o.Req.RemoteAddr),
		slog.String("method", o.Req.Method),
		slog.String("path", o.Req.URL.Path),
		slog.String("op", o.Op.String()),
		slog.String("decision", o.Verdict.String()),
		slog.Int("status", o.Status),
		slog.Int64("bytes_in", o.BytesIn),
		slog.Int64("bytes_out", o.BytesOut),
		slog.Duration("duration", o.Duration),
	}
	if o.Verdict == proxy.Denied {
		attrs = append(attrs, slog.String("rule", o.Rule))
	}
	a.logger.LogAttrs(context.Background(), slog.LevelInfo, "access", attrs...)
}

func (accessLog) Stream(proxy.StreamKind, int) {}

// observers sends each call to every observer in turn.
type observers []proxy.Observer

func (os observers) Observe(o proxy.Outcome) {
	for _, ob := range os {
		ob.Observe(o)
	}
}

func (os observers) Stream(k proxy.StreamKind, delta int) {
	for _, ob := range os {
		ob.Stream(k, delta)
	}
}
