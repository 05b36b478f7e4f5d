// Package policy decides which Docker Engine API requests may reach the
// daemon: policies over the operations of package dockerapi, read from a
// file, a built-in preset or Tecnativa-style environment variables.
//
// # Deciding
//
// [Policy.Decide] classifies a request as dockerd would route it
// ([dockerapi.ClassifyRequest]) and returns a [Decision]:
//
//   - a path dockerd would not route as it stands (dot segments, //, %2F,
//     double encoding, a version prefix other than /vMAJOR.MINOR): 400;
//   - no Docker Engine API route (unknown): 403;
//   - an operation a deny rule names: 403, whatever grants it;
//   - an operation no rule grants: 403;
//   - a granted operation whose body a body check refuses: 403 (400 when the
//     body cannot be decoded, 413 when it is over max-body);
//   - otherwise allowed, citing the rule that granted it.
//
// A refusal carries dockerd's error body ([Decision.WriteError] writes
// {"message":"…"} so the docker CLI prints "Error response from daemon:
// sockproxy: operation ContainerExec not granted by policy preset:traefik")
// and one audit line ([Decision.AuditLine]). An allowed GET costs no
// allocation (BenchmarkDecide).
//
// # The policy file
//
// One directive per line; blank lines and # comments ignored:
//
//	allow OP [OP…]             grant operations (swagger operationIds)
//	allow METHOD TEMPLATE      grant one route's operation: allow GET /containers/{id}/json
//	deny OP [OP…]              deny; deny wins over every allow
//	deny METHOD TEMPLATE
//	preset NAME                include a preset
//	deny-body CHECK [CHECK…]   body checks: privileged host-mounts host-namespaces
//	                           capabilities devices security-options exec-root, or all
//	max-body SIZE              bytes a body check reads (default 1MiB)
//	allow-all                  let everything through (the lab)
//
// A grant names operations, never path prefixes, so granting ContainerList
// never opens ContainerArchive. Operation names are case-sensitive and
// checked when the file is read: a typo is an error naming the line.
//
// # Presets
//
// [Preset] and "-policy preset:NAME": traefik, traefik-swarm,
// portainer-readonly, watchtower, ci-build, allow-all ([PresetNames],
// [PresetText]). Each preset's comment says what its client calls and where
// that was read.
//
// # Environment
//
// [FromEnv] reads the variables of Tecnativa's docker-socket-proxy with its
// names and defaults (EVENTS, PING, VERSION on; everything else off;
// POST=0). [EnvVars] is the table; where it decides more strictly than
// Tecnativa is in each entry's Note, and the test that runs every route
// through both (TestEnvAgainstTecnativa) lists every such request in
// testdata/env-stricter-than-tecnativa.txt. An environment policy checks
// every body (deny-body all).
//
// # Body checks
//
// For ContainerCreate, ContainerUpdate, ContainerExec, ServiceCreate,
// ServiceUpdate and VolumeCreate, enabled checks read the body (at most
// max-body bytes) and decode it as dockerd does (encoding/json, keys in any
// letter case), after refusing what dockerd would decode by guessing:
// duplicate keys (compared without letter case), non-ASCII keys (the
// decoder folds ſ onto s and the Kelvin sign onto k), trailing data. The body is
// then handed back to the caller as exactly the bytes checked. Bodies with
// a Content-Encoding are refused.
//
// # Exfiltration and escalation
//
// Every operation has a risk ([dockerapi.Risk]). Reading files
// (ContainerArchive, ContainerExport, ImageGet, …) and escalation (exec,
// attach, build, commit, plugins, session, gRPC) are never part of a broad
// grant: the environment table grants them only through their own
// variables, and [Policy.Explain] marks them "!" with their risk, along
// with create operations whose bodies go unchecked.
//
// # Wiring it into a server
//
//	p, from, err := policy.Configure(*policyFlag, os.LookupEnv)
//	// err: exit 2 with the message (it names the file and line).
//	// p == nil: no policy; forward everything only if
//	//   policy.LocalListener(*listen), with one warning; otherwise refuse to
//	//   start and suggest -policy preset:NAME or preset:allow-all.
//	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		if d := p.Decide(r); !d.Allowed {
//			log.Print(d.AuditLine(r))
//			d.WriteError(w)
//			return
//		}
//		proxy.ServeHTTP(w, r) // r.Body is the checked body, if one was checked
//	})
//
// Decide runs per request, so each request of a pipelined connection and
// each upgrade request is decided before anything of it is forwarded.
package policy
