//go:build !amd64

package loadgen

// brandName is empty where CPUID is not available; cpuModel falls back to
// /proc/cpuinfo, as Go's testing package does.
func brandName() string { return "" }
