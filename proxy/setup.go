package proxy

import (
	"fmt"
	"slices"
	"strings"
)

// Setup names one proxy: a mode (a copy strategy of this package's
// [ReverseProxy], or one of the two modes that run Go's own proxy) over an
// upstream transport. It is the one place that knows the valid pairs and
// their defaults; the command, the benchmarks, the suite and the tests all
// take their setups from here.
type Setup struct {
	// Mode is a name from [Modes]. If empty, [DefaultMode] is used.
	Mode string

	// Transport is a name from [Transports]. If empty, [DefaultTransport]
	// of the mode is used: "raw" for this package's ReverseProxy, "std"
	// for the modes that run Go's own proxy.
	Transport string
}

// DefaultSetup is the setup of a zero [Config]: [DefaultMode] over the raw
// transport, the pair the latest benchmark results favour.
var DefaultSetup = Setup{Mode: DefaultMode, Transport: TransportRaw}

// DefaultTransport returns the transport a setup of mode gets when it names
// none: Go's ("std") for [ModeStdlib] and [ModeStdlibDefault], which are
// defined as Go's proxy over Go's transport, and the raw transport for every
// other mode, where the results favour it.
func DefaultTransport(mode string) string {
	if isStdlibMode(mode) {
		return TransportStd
	}
	return TransportRaw
}

// Setups returns every valid setup in presentation order: the modes in the
// order of [Modes], each over "std" and then, where it runs over it, "raw".
func Setups() []Setup {
	var out []Setup
	for _, mode := range Modes() {
		for _, tr := range Transports() {
			if s := (Setup{Mode: mode, Transport: tr}); s.Validate() == nil {
				out = append(out, s)
			}
		}
	}
	return out
}

// IsStdlib reports whether s runs Go's httputil.ReverseProxy (modes
// "stdlib" and "stdlib-default") rather than this package's ReverseProxy.
func (s Setup) IsStdlib() bool { return isStdlibMode(s.withDefaults().Mode) }

// Parks reports whether a proxy of s parks idle chunked streams (see
// [ReverseProxy.ParkIdle]): this package's ReverseProxy, or the lean
// front end, over the raw transport.
func (s Setup) Parks() bool {
	s = s.withDefaults()
	return !isStdlibMode(s.Mode) && s.Transport == TransportRaw
}

// withDefaults returns s with an empty Mode or Transport replaced by its
// default.
func (s Setup) withDefaults() Setup {
	if s.Mode == "" {
		s.Mode = DefaultMode
	}
	if s.Transport == "" {
		s.Transport = DefaultTransport(s.Mode)
	}
	return s
}

// Validate reports whether s (after its defaults) is a valid pair. The
// error names what is wrong and lists the valid values.
func (s Setup) Validate() error {
	s = s.withDefaults()
	if !IsMode(s.Mode) {
		return fmt.Errorf("proxy: unknown mode %q (have: %s)", s.Mode, strings.Join(Modes(), ", "))
	}
	if !slices.Contains(Transports(), s.Transport) {
		return fmt.Errorf("proxy: unknown transport %q (have: %s)", s.Transport, strings.Join(Transports(), ", "))
	}
	if s.Mode == ModeLean && s.Transport != TransportRaw {
		return fmt.Errorf("proxy: mode %s is the lean front end over the raw transport; transport %q does not apply (mode %s takes only %q)",
			s.Mode, s.Transport, s.Mode, TransportRaw)
	}
	if s.Mode == ModeStdlibDefault && s.Transport != TransportStd {
		return fmt.Errorf("proxy: mode %s is Go's default transport; transport %q applies to the other modes (mode %s takes only %q)",
			s.Mode, s.Transport, s.Mode, TransportStd)
	}
	return nil
}

// String returns "mode=M/transport=T", with the defaults filled in: the
// name the tests give their subtests.
func (s Setup) String() string {
	s = s.withDefaults()
	return "mode=" + s.Mode + "/transport=" + s.Transport
}

func isStdlibMode(mode string) bool { return mode == ModeStdlib || mode == ModeStdlibDefault }
