package dockerapi

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestRouteTableGolden prints the route table, one route a line in moby's
// order, so that a change to it shows in review as a diff of
// testdata/routes.txt.
func TestRouteTableGolden(t *testing.T) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# method template operation risk [body] [min-version] [experimental] [not-in-swagger]\n")
	for _, r := range routes {
		info := r.Op.Info()
		line := fmt.Sprintf("%-7s %-46s %-26s %s", r.Method, r.Template, r.Op, info.Risk)
		if info.Body {
			line += " body"
		}
		if r.MinVersion != "" {
			line += " min=" + r.MinVersion
		}
		if r.Experimental {
			line += " experimental"
		}
		if !info.Swagger {
			line += " not-in-swagger"
		}
		fmt.Fprintln(&b, line)
	}
	path := filepath.Join("testdata", "routes.txt")
	if *update {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("%s differs (go test -update rewrites it):\n%s", path, b.String())
	}
}

// TestSwaggerOperationIds checks every operation of moby's swagger.yaml
// (testdata/swagger-ops.txt, extracted from github.com/moby/moby/api
// v1.56.1) has a route here with that name, and every operation here that
// claims a swagger name is in it.
func TestSwaggerOperationIds(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "swagger-ops.txt"))
	if err != nil {
		t.Fatal(err)
	}
	inSwagger := map[Op]bool{}
	for _, line := range bytes.Split(data, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) != 3 || f[0][0] == '#' {
			continue
		}
		method, path, id := string(f[0]), string(f[1]), string(f[2])
		i, ok := LookupRoute(method, path)
		if !ok {
			t.Errorf("swagger %s %s (%s): no route", method, path, id)
			continue
		}
		if got := routes[i].Op.String(); got != id {
			t.Errorf("swagger %s %s: operation %s here, %s in swagger", method, path, got, id)
		}
		inSwagger[routes[i].Op] = true
	}
	for _, op := range Ops() {
		if op.Info().Swagger != inSwagger[op] {
			t.Errorf("%v: Swagger = %v, in swagger.yaml = %v", op, op.Info().Swagger, inSwagger[op])
		}
	}
}
