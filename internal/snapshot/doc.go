// Package snapshot takes the database snapshot that precedes every
// migration, keeps the last few and says, in words a person can follow,
// how to restore one.
//
// awsrds.RDS (internal/snapshot/awsrds) snapshots an instance with
// CreateDBSnapshot or an Aurora cluster with CreateDBClusterSnapshot, named slipway-<app>-<env>-<deployment> and
// tagged slipway:managed; the state machine polls Status between Wait
// states rather than a Lambda waiting. Prune deletes Slipway's own older
// snapshots (prefix and tag both match) beyond the newest N. In the
// embedded environment SQLite snapshots with VACUUM INTO, and a local
// PostgreSQL or MySQL with pg_dump -Fc or mysqldump (Dump).
//
// Every RestoreProcedure names the snapshot, the commands and the caveats:
// a restore creates a new instance (RDS), and writes made after the
// snapshot are lost. RDSDatabase gives RDS's without linking the RDS
// client, for what only explains a restore.
package snapshot

// Statuses a snapshot reports.
const (
	Creating  = "creating"
	Available = "available"
)

// ID is the snapshot identifier for a deployment: slipway-<app>-<env>-<deployment>,
// cut to RDS's 255 characters and its alphabet.
func ID(app, env, deploymentID string) string {
	id := "slipway-" + app + "-" + env + "-" + deploymentID
	b := make([]byte, 0, len(id))
	dash := false
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			b, dash = append(b, c), false
		case c >= 'A' && c <= 'Z':
			b, dash = append(b, c+'a'-'A'), false
		default:
			if !dash {
				b, dash = append(b, '-'), true
			}
		}
	}
	for len(b) > 0 && b[len(b)-1] == '-' {
		b = b[:len(b)-1]
	}
	if len(b) > 255 {
		b = b[:255]
	}
	return string(b)
}
