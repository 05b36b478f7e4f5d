// Command labreport prints the proxy's own cost (each BenchmarkProxy row
// minus the `direct` row, paired per round), its ratio to `stdlib` with a
// 95 % bootstrap interval, the lab's goals judged on the default strategy,
// and the cross-process suite's tables and goals, from raw benchfmt files
// (gotest.txt, loadgen.txt); with -plots it also writes the SVG plots. See
// package internal/labreport.
//
//	labreport [-plots DIR] [-default STRATEGY] gotest.txt [loadgen.txt]
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
	plots := fs.String("plots", "", "write the plots (throughput.svg, allocs.svg; from the suite latency.svg, cpu-request.svg, cpu-gib.svg, memory.svg) into this `dir`")
	def := fs.String("default", labreport.DefaultStrategy, "the default `strategy` the goals are judged on, as BenchmarkProxy names it (the suite's target is sockproxy-<strategy>)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: labreport [-plots DIR] [-default STRATEGY] gotest.txt [loadgen.txt]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		if err == nil {
			fs.Usage()
		}
		return 2
	}
	labreport.DefaultStrategy = *def
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
	if err == nil && *plots != "" {
		err = s.WriteSuitePlots(*plots)
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
