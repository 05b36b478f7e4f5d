package sockio_test

import (
	"net"
	"testing"

	"github.com/sockproxylab/sockproxy/internal/sockio"
	"github.com/sockproxylab/sockproxy/internal/testsock"
)

// wrapped is a bookkeeping wrapper, as a listener's.
type wrapped struct{ net.Conn }

func (w wrapped) UnwrapConn() net.Conn { return w.Conn }

func TestUnwrap(t *testing.T) {
	a, _ := testsock.UnixPair(t)
	for _, tc := range []struct {
		name string
		x    any
		want any
	}{
		{"socket", a, a},
		{"wrapped", wrapped{a}, a},
		{"wrapped twice", wrapped{wrapped{a}}, a},
		{"no conn", "x", "x"},
		{"nil", nil, nil},
	} {
		if got := sockio.Unwrap(tc.x); got != tc.want {
			t.Errorf("%s: Unwrap = %T %v; want %T %v", tc.name, got, got, tc.want, tc.want)
		}
	}
	var x any = wrapped{wrapped{a}}
	if n := testing.AllocsPerRun(100, func() { sockio.Unwrap(x) }); n != 0 {
		t.Errorf("Unwrap: %v allocs; want 0", n)
	}
}
