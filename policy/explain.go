package policy

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/sockproxylab/sockproxy/dockerapi"
)

// Explain prints what the policy grants: every granted operation, grouped
// by API area, with its routes and the rule that grants it; risky
// operations marked "!" with their risk (exfiltrate: hands out files;
// escalate: runs code or opens a channel into a container or the daemon),
// operations whose body can ask for the host marked with the checks that
// apply or "UNCHECKED"; then the explicit denies and the body checks.
func (p *Policy) Explain(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "policy %s\n", p.name)
	if p.allowAll {
		fmt.Fprintf(bw, "allow-all: every request passes, unknown routes and refused paths included\n")
		return bw.Flush()
	}
	routes := dockerapi.Routes()
	var granted []dockerapi.Op
	for _, op := range dockerapi.Ops() {
		if p.Grants(op) {
			granted = append(granted, op)
		}
	}
	fmt.Fprintf(bw, "grants %d of %d operations; everything else is denied (403)\n", len(granted), dockerapi.NumOps-1)
	group := ""
	for _, g := range groupsInOrder(granted) {
		for _, op := range granted {
			info := op.Info()
			if info.Group != g {
				continue
			}
			if g != group {
				fmt.Fprintf(bw, "\n%s\n", g)
				group = g
			}
			mark := " "
			risk := ""
			if info.Risk >= dockerapi.Exfiltrate {
				mark = "!"
				risk = "  " + info.Risk.String()
			}
			body := ""
			if info.Body {
				if on := p.checksFor(op); on != "" {
					body = "  body-checked(" + on + ")"
				} else {
					mark = "!"
					body = "  body-UNCHECKED"
				}
			}
			line := fmt.Sprintf("  %s %-26s %-40s %-22s%s%s", mark, op, routesOf(routes, op), p.rules[p.grant[op]-1].loc, risk, body)
			fmt.Fprintln(bw, strings.TrimRight(line, " "))
		}
	}
	var denied []string
	for _, op := range dockerapi.Ops() {
		if p.deny[op] != 0 {
			denied = append(denied, op.String())
		}
	}
	if len(denied) > 0 {
		fmt.Fprintf(bw, "\ndenied explicitly: %s\n", strings.Join(denied, " "))
	}
	var checks []string
	for c := Check(0); c < numChecks; c++ {
		if p.checks[c] != 0 {
			checks = append(checks, c.String())
		}
	}
	if len(checks) > 0 {
		fmt.Fprintf(bw, "body checks (max-body %d bytes): %s\n", p.maxBody, strings.Join(checks, " "))
	} else {
		fmt.Fprintf(bw, "body checks: none\n")
	}
	return bw.Flush()
}

// checksFor lists the enabled checks that apply to op's body.
func (p *Policy) checksFor(op dockerapi.Op) string {
	var on []string
	for _, c := range appliesTo[op] {
		if p.checks[c] != 0 {
			on = append(on, c.String())
		}
	}
	return strings.Join(on, ",")
}

// appliesTo lists, per operation with a checked body, the checks that look
// at it.
var appliesTo = map[dockerapi.Op][]Check{
	dockerapi.ContainerCreate: {Privileged, HostMounts, HostNamespaces, Capabilities, Devices, SecurityOptions},
	dockerapi.ContainerUpdate: {Devices},
	dockerapi.ContainerExec:   {Privileged, ExecRoot},
	dockerapi.ServiceCreate:   {HostMounts, HostNamespaces, Capabilities, SecurityOptions},
	dockerapi.ServiceUpdate:   {HostMounts, HostNamespaces, Capabilities, SecurityOptions},
	dockerapi.VolumeCreate:    {HostMounts},
}

func groupsInOrder(ops []dockerapi.Op) []string {
	var out []string
	seen := map[string]bool{}
	for _, op := range ops {
		if g := op.Info().Group; !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	return out
}

func routesOf(routes []dockerapi.Route, op dockerapi.Op) string {
	var out []string
	for _, r := range routes {
		if r.Op == op {
			out = append(out, r.Method+" "+r.Template)
		}
	}
	if len(out) > 2 {
		return out[0] + " (+" + fmt.Sprint(len(out)-1) + ")"
	}
	return strings.Join(out, ", ")
}
