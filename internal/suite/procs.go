package suite

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of /proc/PID/stat times; 100 on Linux.
const clockTick = 100

// procStat is what the suite reads of one process from /proc.
type procStat struct {
	ppid     int
	cpu      time.Duration // utime+stime+cutime+cstime
	children time.Duration // cutime+cstime: reaped children
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	// The command name is in parentheses and may hold spaces: split after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); ppid is field 4, utime..cstime fields 14..17.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("parsing /proc/%d/stat: %d fields", pid, len(f))
	}
	ppid, _ := strconv.Atoi(f[1])
	var ticks, childTicks int64
	for i, s := range f[11:15] {
		v, _ := strconv.ParseInt(s, 10, 64)
		ticks += v
		if i >= 2 {
			childTicks += v
		}
	}
	tick := func(n int64) time.Duration { return time.Duration(n) * time.Second / clockTick }
	return procStat{ppid: ppid, cpu: tick(ticks), children: tick(childTicks)}, nil
}

// tree returns pid and all its live descendants.
func tree(pid int) []int {
	children := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := readStat(p); err == nil {
			children[st.ppid] = append(children[st.ppid], p)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// treeCPU returns the CPU time of pid and its descendants, including
// children that have exited and been reaped. Live threads are read from
// /proc/PID/task/TID/schedstat (nanoseconds); what reaped children used
// comes from the parents' cutime+cstime (clock ticks), so that a forking
// peer (socat) is counted whole. Falls back to ticks without schedstat.
func treeCPU(pid int) time.Duration {
	var sum time.Duration
	for _, p := range tree(pid) {
		st, err := readStat(p)
		if err != nil {
			continue
		}
		if live, ok := threadsCPU(p); ok {
			sum += live + st.children
		} else {
			sum += st.cpu
		}
	}
	return sum
}

// threadsCPU sums the run time of pid's live threads from schedstat.
func threadsCPU(pid int) (time.Duration, bool) {
	dir := filepath.Join("/proc", strconv.Itoa(pid), "task")
	ents, err := os.ReadDir(dir)
	if err != nil || len(ents) == 0 {
		return 0, false
	}
	var sum time.Duration
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err != nil {
			continue // the thread exited meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) == 0 {
			return 0, false
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, false
		}
		sum += time.Duration(ns)
	}
	return sum, true
}

// treePSS returns the proportional set size, in KiB, of pid and its
// descendants (shared pages split among sharers, so forked children are not
// counted twice), from /proc/PID/smaps_rollup.
func treePSS(pid int) int64 {
	var sum int64
	for _, p := range tree(pid) {
		f, err := os.Open(filepath.Join("/proc", strconv.Itoa(p), "smaps_rollup"))
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				sum += n
				break
			}
		}
		f.Close()
	}
	return sum
}

// waitChildren waits, up to d, until pid has no live children: forked
// per-connection workers (socat) have exited and their CPU time has moved
// into the parent's cutime/cstime.
func waitChildren(pid int, d time.Duration) {
	deadline := time.Now().Add(d)
	for len(tree(pid)) > 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
}

// peakSampler records the largest treePSS seen until stopped.
type peakSampler struct {
	done chan struct{}
	max  chan int64
}

// samplePeak samples treePSS(pid) every interval until stop is called.
func samplePeak(pid int, interval time.Duration) *peakSampler {
	p := &peakSampler{done: make(chan struct{}), max: make(chan int64, 1)}
	go func() {
		peak := treePSS(pid)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				p.max <- max(peak, treePSS(pid))
				return
			case <-t.C:
				peak = max(peak, treePSS(pid))
			}
		}
	}()
	return p
}

// stop ends the sampling and returns the peak in KiB.
func (p *peakSampler) stop() int64 {
	close(p.done)
	return <-p.max
}

// kernelKiB returns the kernel memory the machine holds for sockets: slab
// (where struct sock, the socket inodes and dentries live) from
// /proc/meminfo plus the socket buffers TCP accounts in /proc/net/sockstat
// (its "mem", in pages). Both are machine-wide, so a difference between
// two readings counts both ends of every connection opened between them.
func kernelKiB() int64 {
	var kib int64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if v, ok := strings.CutPrefix(line, "Slab:"); ok {
				n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				kib += n
			}
		}
	}
	if b, err := os.ReadFile("/proc/net/sockstat"); err == nil {
		for line := range strings.Lines(string(b)) {
			f := strings.Fields(line)
			if len(f) == 0 || f[0] != "TCP:" {
				continue
			}
			for i := 1; i+1 < len(f); i += 2 {
				if f[i] == "mem" {
					n, _ := strconv.ParseInt(f[i+1], 10, 64)
					kib += n * int64(os.Getpagesize()) / 1024
				}
			}
		}
	}
	return kib
}
