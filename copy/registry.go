package copy

import (
	"fmt"
	"strings"
)

// registry lists every strategy in presentation order: the baseline first,
// then each optimisation, the splice strategies last.
var registry = []Strategy{
	Alloc,
	Sized,
	Pooled,
	ReaderFrom,
	Splice,
	SpliceChunked,
}

// Names returns the names of all strategies in presentation order.
func Names() []string {
	names := make([]string, len(registry))
	for i, s := range registry {
		names[i] = s.Name()
	}
	return names
}

// Lookup returns the strategy called name. The error lists the valid names.
func Lookup(name string) (Strategy, error) {
	for _, s := range registry {
		if s.Name() == name {
			return s, nil
		}
	}
	return nil, fmt.Errorf("unknown copy strategy %q (have: %s)", name, strings.Join(Names(), ", "))
}
