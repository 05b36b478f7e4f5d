// Package dockerapi classifies HTTP requests into Docker Engine API
// operations the way dockerd routes them.
//
// # What it decides
//
// [Classify] (or [ClassifyRequest]) takes a method and the decoded path a
// net/http handler sees and returns the [Op] dockerd would run: the route
// table ([Routes]) is moby's own, in its registration order (read from
// daemon/server/router for the API versions the moby client in go.mod
// knows, [MinAPIVersion] to [MaxAPIVersion]), each route with its swagger
// operationId ([Op.String]). Matching follows moby's gorilla/mux router:
//
//   - the method compared exactly (no HEAD-for-GET, "get" is no method);
//   - the decoded path (mux runs without UseEncodedPath), optionally behind
//     "/v{version:[0-9.]+}";
//   - the first registered route that matches wins ({name:.*} variables
//     take slashes, so the suffix decides: GET /containers/a/export/json is
//     ContainerInspect of "a/export");
//   - no route: [Unknown] (dockerd answers "page not found").
//
// A path dockerd would not route as it stands is refused with a
// [*PathError] before any matching, and never normalised into another:
// empty or dot segments (mux redirects those to the cleaned path), an
// encoded slash (mux would decode it into a separator), a percent sign left
// after decoding, control characters, a version prefix other than
// MAJOR.MINOR. A test runs every route and a bypass corpus through
// gorilla/mux configured as moby's server configures it, and a fuzz test
// checks that Classify never names an operation other than the one the
// router would run.
//
// # Cost
//
// Classify does not allocate: routes are indexed by method and first path
// segment, templates are matched without capturing variables, and refusals
// are preallocated errors. BenchmarkClassify measures it.
//
// # Risk
//
// Every operation carries a [Risk] (read, write, exfiltrate, escalate) and
// whether its body can ask for the host ([OpInfo.Body]); package policy
// uses both to keep dangerous operations out of broad grants.
package dockerapi
