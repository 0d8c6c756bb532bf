// Package balancer is the embedded environment's load balancer: a reverse
// proxy on 127.0.0.1 with ELBv2's semantics, so that a deployment on the
// embedded environment drains instances and proves zero failed requests
// exactly as it would behind an Application Load Balancer.
//
// A balancer holds target groups (registered targets, a health check, a
// deregistration delay) and listeners (each on its own 127.0.0.1 port,
// forwarding to one or more groups by weight). Targets move through the
// states package traffic names: initial until the health checks pass,
// healthy, unhealthy, draining after Deregister until their in-flight
// requests finish or the delay runs out, then gone. A request goes to a
// group chosen by weight, then round robin over its healthy targets; with
// none healthy it fails open to every registered target that is not
// draining, as ELB does, else it is answered 503. Proxying never retries.
// Counters per listener and per target (requests, failed: a 5xx answer or
// none) are kept for tests and canary analysis.
//
// The balancer runs as a detached child process so that it outlives the
// command that started it: Start re-executes os.Executable() with
// SLIPWAY_BALANCER_SERVE=<dir>, which this package's init intercepts
// before main (or a test binary's TestMain) runs. An init rather than a
// call in main means every binary that links the package, cmd/slipway and
// any test binary, can serve, and no caller can forget to. Its directory
// holds:
//
//	state.json   control port, groups, targets, listeners and weights
//	pid          the running process
//	log          its standard error
//	lock         held by Start while it starts one
//
// A restart reads state.json and binds the same ports and registers the
// same targets (initial again until their checks pass); draining targets
// and counters are not kept.
//
// Client talks to the control API (JSON over HTTP on 127.0.0.1), found
// through the state file by Dial, and implements traffic.Port.
//
// It is not a production load balancer: one machine, HTTP/1.1, no TLS, no
// rules beyond a listener's weighted forward.
package balancer
