package dockerapi

import "strings"

// A matcher is a compiled route template: literal parts and variables,
// matched against a whole path as gorilla/mux's anchored regexp would.
// Only whether it matches is computed, never the variables' values, so a
// match does not allocate.
type matcher []part

type part struct {
	lit  string   // literal text, when kind == literal
	kind partKind // what a variable accepts
}

type partKind uint8

const (
	literal  partKind = iota
	segment           // {name}: [^/]+
	anyText           // {name:.*}
	someText          // {name:.+}
)

// compile turns a moby template into a matcher. It panics on a variable
// pattern other than the three moby's routes use, so the table cannot
// quietly gain one this matcher reads differently from mux.
func compile(tpl string) matcher {
	var m matcher
	for len(tpl) > 0 {
		open := strings.IndexByte(tpl, '{')
		if open < 0 {
			m = append(m, part{lit: tpl})
			break
		}
		if open > 0 {
			m = append(m, part{lit: tpl[:open]})
		}
		end := strings.IndexByte(tpl[open:], '}')
		if end < 0 {
			panic("dockerapi: unterminated variable in " + tpl)
		}
		v := tpl[open+1 : open+end]
		kind := segment
		if _, pat, ok := strings.Cut(v, ":"); ok {
			switch pat {
			case ".*":
				kind = anyText
			case ".+":
				kind = someText
			default:
				panic("dockerapi: unsupported variable pattern " + pat)
			}
		}
		m = append(m, part{kind: kind})
		tpl = tpl[open+end+1:]
		if strings.HasPrefix(tpl, "{") {
			panic("dockerapi: two variables side by side in a template")
		}
	}
	return m
}

func (m matcher) match(s string) bool {
	if len(m) == 0 {
		return s == ""
	}
	p := m[0]
	if p.kind == literal {
		return strings.HasPrefix(s, p.lit) && m[1:].match(s[len(p.lit):])
	}
	lo := 1
	if p.kind == anyText {
		lo = 0
	}
	if len(m) == 1 {
		return len(s) >= lo && (p.kind != segment || strings.IndexByte(s, '/') < 0)
	}
	// A variable is always followed by a literal (templates never put two
	// variables side by side): try only where that literal occurs.
	next := m[1].lit
	if len(m) == 2 {
		// The common case, {name:.*}/json: the literal must end the path.
		n := len(s) - len(next)
		return n >= lo && strings.HasSuffix(s, next) && (p.kind != segment || strings.IndexByte(s[:n], '/') < 0)
	}
	for n := lo; n <= len(s); {
		i := strings.Index(s[n:], next)
		if i < 0 {
			return false
		}
		n += i
		if p.kind == segment && strings.IndexByte(s[:n], '/') >= 0 {
			return false
		}
		if n >= lo && m[2:].match(s[n+len(next):]) {
			return true
		}
		n++
	}
	return false
}

// normal returns the template with every variable written "{}", so that
// templates differing only in variable names and patterns compare equal
// ("/containers/{id}/json" and moby's "/containers/{name:.*}/json").
func normal(tpl string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(tpl, '{')
		if open < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		end := strings.IndexByte(tpl[open:], '}')
		if end < 0 {
			b.WriteString(tpl)
			return b.String()
		}
		b.WriteString(tpl[:open])
		b.WriteString("{}")
		tpl = tpl[open+end+1:]
	}
}

// LookupRoute returns the index in [Routes] of the route with that method
// and template, variables compared by position only (so the swagger form
// "/containers/{id}/json" finds moby's "/containers/{name:.*}/json"); ok is
// false when there is none.
func LookupRoute(method, template string) (i int, ok bool) {
	want := normal(template)
	for i, r := range routes {
		if r.Method == method && normal(r.Template) == want {
			return i, true
		}
	}
	return -1, false
}
