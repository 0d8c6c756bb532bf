// Package scripts holds the files Slipway runs outside its own processes,
// embedded so that Go code and the infrastructure use the exact same bytes.
package scripts

import _ "embed"

// HostScript is slipway-host.sh, the POSIX sh script that activates, rolls
// back, reports and prunes the releases of the app on one host. The SSM
// Command document runs it on EC2 instances and the embedded fleet
// (internal/fleet) runs it on each local instance; its header documents the
// usage, the host layout and the exit codes.
//
//go:embed slipway-host.sh
var HostScript []byte
