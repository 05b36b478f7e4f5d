package policy

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/sockproxylab/sockproxy/dockerapi"
)

// Load returns the policy a -policy value names: "preset:NAME" for a
// built-in preset, anything else a file in the format [Parse] reads.
func Load(spec string) (*Policy, error) {
	if name, ok := strings.CutPrefix(spec, "preset:"); ok {
		return Preset(name)
	}
	f, err := os.Open(spec)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	return Parse(spec, f)
}

// Parse reads a policy file. name is how decisions cite it ("NAME:LINE:
// TEXT"). The format, one directive per line, blank lines and # comments
// (to the end of a line) ignored:
//
//	allow OP [OP…]             grant operations by swagger operationId
//	allow METHOD TEMPLATE      grant the operation of one route, e.g.
//	                           allow GET /containers/{id}/json
//	deny OP [OP…]              deny; a deny wins over every allow
//	deny METHOD TEMPLATE
//	preset NAME                include a built-in preset's lines
//	deny-body CHECK [CHECK…]   refuse bodies that ask for the host (see
//	                           Checks; "all" for every check)
//	max-body SIZE              most bytes a body check reads (default 1MiB;
//	                           B, KiB, MiB suffixes)
//	allow-all                  let everything through (the lab; explicit)
//
// Anything else is an error naming the line: an unknown operation, a
// template that is no route, a method in lower case. A policy grants
// nothing it does not name.
func Parse(name string, src io.Reader) (*Policy, error) {
	b := newBuilder(name)
	if err := b.read(name, src, 0); err != nil {
		return nil, err
	}
	return b.p, nil
}

type builder struct {
	p *Policy
}

func newBuilder(name string) *builder {
	return &builder{p: &Policy{name: name, maxBody: DefaultMaxBody}}
}

func (b *builder) addRule(source string, line int, text string) int32 {
	loc := source
	if line > 0 {
		loc = source + ":" + strconv.Itoa(line)
	}
	b.p.rules = append(b.p.rules, rule{desc: loc + ": " + text, loc: loc})
	return int32(len(b.p.rules))
}

// read parses src into the policy; depth bounds preset inclusion.
func (b *builder) read(source string, src io.Reader, depth int) error {
	sc := bufio.NewScanner(src)
	for n := 1; sc.Scan(); n++ {
		text, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(text)
		if len(fields) == 0 {
			continue
		}
		text = strings.Join(fields, " ")
		if err := b.directive(source, n, text, fields, depth); err != nil {
			return fmt.Errorf("policy %s:%d: %w", source, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("policy %s: %w", source, err)
	}
	return nil
}

func (b *builder) directive(source string, n int, text string, f []string, depth int) error {
	switch f[0] {
	case "allow", "deny":
		if len(f) < 2 {
			return fmt.Errorf("%s needs at least one operation", f[0])
		}
		ops, err := parseOps(f[1:])
		if err != nil {
			return err
		}
		r := b.addRule(source, n, text)
		table := &b.p.grant
		if f[0] == "deny" {
			table = &b.p.deny
		}
		for _, op := range ops {
			if table[op] == 0 {
				table[op] = r
			}
		}
	case "preset":
		if len(f) != 2 {
			return fmt.Errorf("preset takes one name")
		}
		text, ok := presets[f[1]]
		if !ok {
			return fmt.Errorf("no preset %q (presets: %s)", f[1], strings.Join(PresetNames(), ", "))
		}
		if depth > 4 {
			return fmt.Errorf("presets nest too deep")
		}
		return b.read("preset:"+f[1], strings.NewReader(text), depth+1)
	case "deny-body":
		if len(f) < 2 {
			return fmt.Errorf("deny-body needs at least one check (%s or all)", strings.Join(checkNames[:], " "))
		}
		r := b.addRule(source, n, text)
		for _, name := range f[1:] {
			if name == "all" {
				for c := range b.p.checks {
					if b.p.checks[c] == 0 {
						b.p.checks[c] = r
					}
				}
				continue
			}
			c, ok := lookupCheck(name)
			if !ok {
				return fmt.Errorf("no body check %q (checks: %s, all)", name, strings.Join(checkNames[:], " "))
			}
			if b.p.checks[c] == 0 {
				b.p.checks[c] = r
			}
		}
	case "max-body":
		if len(f) != 2 {
			return fmt.Errorf("max-body takes one size")
		}
		size, err := parseSize(f[1])
		if err != nil {
			return err
		}
		b.p.maxBody = size
	case "allow-all":
		if len(f) != 1 {
			return fmt.Errorf("allow-all takes no argument")
		}
		b.addRule(source, n, text)
		b.p.allowAll = true
	default:
		return fmt.Errorf("unknown directive %q (allow, deny, preset, deny-body, max-body, allow-all)", f[0])
	}
	return nil
}

// parseOps reads operation names, or one METHOD TEMPLATE pair.
func parseOps(args []string) ([]dockerapi.Op, error) {
	if len(args) == 2 && strings.HasPrefix(args[1], "/") {
		i, ok := dockerapi.LookupRoute(args[0], args[1])
		if !ok {
			return nil, fmt.Errorf("%s %s is no route of the Docker Engine API (methods are upper case; templates as in swagger.yaml or moby's routers)", args[0], args[1])
		}
		return []dockerapi.Op{dockerapi.Routes()[i].Op}, nil
	}
	ops := make([]dockerapi.Op, 0, len(args))
	for _, a := range args {
		op, ok := dockerapi.Lookup(a)
		if !ok {
			return nil, fmt.Errorf("unknown operation %q (names are swagger operationIds, e.g. ContainerList)", a)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	num := s
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"B", 1}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			num, mult = v, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > (1<<30)/mult {
		return 0, fmt.Errorf("bad size %q (a positive number of B, KiB or MiB, at most 1GiB)", s)
	}
	return n * mult, nil
}
