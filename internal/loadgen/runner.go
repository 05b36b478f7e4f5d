package loadgen

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// LateAfter is how far behind its intended time an open-loop send may start
// before it counts as late ([Metrics.Late]). Its latency is measured from
// the intended time either way.
const LateAfter = time.Millisecond

// DefaultInFlight caps the operations in flight in an open loop when no
// -c is given.
const DefaultInFlight = 1024

// A Pacer fixes an open loop's schedule.
type Pacer interface {
	// Intended returns when operation i (from 0) is meant to start in a
	// run that starts at start.
	Intended(start time.Time, i int64) time.Time
}

// ConstantPacer sends Rate operations per second, evenly spaced.
type ConstantPacer struct {
	Rate float64 // operations per second; must be positive
}

// Intended returns start + i/Rate seconds.
func (p ConstantPacer) Intended(start time.Time, i int64) time.Time {
	return start.Add(time.Duration(float64(i) * 1e9 / p.Rate))
}

// A Plan says how an [Attack] runs.
type Plan struct {
	// Conc is the number of workers, each with its own Conn, of a closed
	// loop (each sends its next operation when the previous one ends). In
	// an open loop it caps the operations in flight; 0 means
	// DefaultInFlight.
	Conc int
	// Pacer, when non-nil, makes the run an open loop: operations start on
	// its schedule whatever the target does, and latency counts from the
	// intended start, so a stall shows in the tail instead of slowing the
	// sender (no coordinated omission).
	Pacer Pacer
	// Count, when positive, ends the run after that many measured
	// operations (open loop: scheduled sends, including dropped ones).
	// Otherwise Duration does.
	Count int64
	// Duration is the measured time after the warmup, when Count is 0.
	Duration time.Duration
	// Warmup is run first; its results carry Warmup and are not measured.
	Warmup time.Duration
}

// Attack runs s according to p and hands every Result to add, from many
// goroutines at once (add must be safe for that). It returns when every
// operation has ended: at the end of the plan, or when ctx is cancelled
// (operations cut short by the cancellation are not reported).
func Attack(ctx context.Context, s Scenario, p Plan, add func(*Result)) {
	if p.Pacer != nil {
		openLoop(ctx, s, p, add)
		return
	}
	closedLoop(ctx, s, p, add)
}

func closedLoop(ctx context.Context, s Scenario, p Plan, add func(*Result)) {
	t0 := time.Now()
	measureFrom := t0.Add(p.Warmup)
	end := measureFrom.Add(p.Duration)
	var claimed atomic.Int64
	var wg sync.WaitGroup
	for w := range max(p.Conc, 1) {
		wg.Go(func() {
			conn := s.NewConn(w)
			defer conn.Close()
			for ctx.Err() == nil {
				start := time.Now()
				warm := start.Before(measureFrom)
				if !warm {
					if p.Count > 0 {
						if claimed.Add(1) > p.Count {
							return
						}
					} else if !start.Before(end) {
						return
					}
				}
				out := conn.Do(ctx)
				if ctx.Err() != nil && out.Err != nil {
					return
				}
				add(result(start, start, out, warm))
			}
		})
	}
	wg.Wait()
}

type ticket struct {
	intended time.Time
	warm     bool
}

func openLoop(ctx context.Context, s Scenario, p Plan, add func(*Result)) {
	limit := int64(p.Conc)
	if limit <= 0 {
		limit = DefaultInFlight
	}
	var (
		inflight atomic.Int64
		spawned  int64
		wg       sync.WaitGroup
		tickets  = make(chan ticket, limit)
	)
	worker := func(w int) {
		conn := s.NewConn(w)
		defer conn.Close()
		for tk := range tickets {
			start := time.Now()
			out := conn.Do(ctx)
			if ctx.Err() != nil && out.Err != nil {
				inflight.Add(-1)
				continue
			}
			r := result(tk.intended, start, out, tk.warm)
			r.Late = start.Sub(tk.intended) > LateAfter
			add(r)
			inflight.Add(-1)
		}
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	t0 := time.Now()
	measureFrom := t0.Add(p.Warmup)
	end := measureFrom.Add(p.Duration)
	var measured int64
	for i := int64(0); ; i++ {
		t := p.Pacer.Intended(t0, i)
		warm := t.Before(measureFrom)
		if !warm {
			if p.Count > 0 && measured >= p.Count || p.Count <= 0 && !t.Before(end) {
				break
			}
			measured++
		}
		if !sleepUntil(ctx, timer, t) {
			break
		}
		// A worker decrements inflight only once it is idle again, so
		// while inflight <= spawned a queued ticket never waits for
		// another operation to end.
		if n := inflight.Add(1); n > limit {
			inflight.Add(-1)
			add(&Result{Intended: t, Start: t, End: t, Warmup: warm, Dropped: true})
			continue
		} else if n > spawned {
			w := int(spawned)
			wg.Go(func() { worker(w) })
			spawned++
		}
		tickets <- ticket{intended: t, warm: warm}
	}
	close(tickets)
	wg.Wait()
}

// sleepUntil waits for t: with a timer (cancellable) until 2ms before, then
// in nanosleep (precise), then by yielding for the last 50µs. It reports
// false when ctx was cancelled.
func sleepUntil(ctx context.Context, timer *time.Timer, t time.Time) bool {
	for {
		if ctx.Err() != nil {
			return false
		}
		d := time.Until(t)
		switch {
		case d <= 0:
			return true
		case d > 2*time.Millisecond:
			timer.Reset(d - time.Millisecond)
			select {
			case <-ctx.Done():
				return false
			case <-timer.C:
			}
		case d > 50*time.Microsecond:
			sleepShort(d - 20*time.Microsecond)
		default:
			runtime.Gosched()
		}
	}
}

func result(intended, start time.Time, out Outcome, warm bool) *Result {
	end := time.Now()
	r := &Result{Intended: intended, Start: start, End: end, Latency: end.Sub(intended),
		Bytes: out.Bytes, Err: out.Err, Warmup: warm}
	if out.Latency != 0 {
		r.Latency = out.Latency
	}
	return r
}
