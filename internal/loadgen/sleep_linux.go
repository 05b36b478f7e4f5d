package loadgen

import (
	"syscall"
	"time"
)

// sleepShort sleeps d (under 2ms) in nanosleep(2), which wakes within tens
// of microseconds. Go's timers would round it to the netpoller's
// millisecond, making an open loop at 1000 req/s up to 1ms late on every
// send, a bias that counts against the target.
func sleepShort(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	syscall.Nanosleep(&ts, nil)
}
