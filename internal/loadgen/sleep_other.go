//go:build !linux

package loadgen

import "time"

// sleepShort sleeps d (under 2ms); elsewhere than Linux, with Go's timers.
func sleepShort(d time.Duration) { time.Sleep(d) }
