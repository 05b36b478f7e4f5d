// Command labreport prints the proxy's own cost (each BenchmarkProxy row
// minus the `direct` row), its ratio to `stdlib`, the lab's goals and a
// summary of the cross-process suite, from raw benchfmt files (gotest.txt,
// loadgen.txt); with -plots it also writes the SVG plots.
//
//	labreport [-plots DIR] gotest.txt [loadgen.txt]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sockproxylab/sockproxy/internal/labreport"
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("labreport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	plots := fs.String("plots", "", "write throughput.svg and allocs.svg into this `dir`")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: labreport [-plots DIR] gotest.txt [loadgen.txt]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		if err == nil {
			fs.Usage()
		}
		return 2
	}
	s, err := labreport.ReadFiles(fs.Args()...)
	if err == nil {
		err = s.WriteOwnCost(stdout)
	}
	if err == nil {
		fmt.Fprintln(stdout)
		err = s.WriteGoals(stdout)
	}
	if err == nil {
		fmt.Fprintln(stdout)
		err = s.WriteSuite(stdout)
	}
	if err == nil {
		fmt.Fprintln(stdout)
		err = s.WriteSpliceGoals(stdout)
	}
	if err == nil && *plots != "" {
		err = s.WritePlots(*plots)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
