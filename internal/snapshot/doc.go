// Package snapshot takes the database snapshot that precedes every
// migration and says, in words a person can follow, how to restore it.
// SQLite snapshots with VACUUM INTO (the embedded environment); RDS with
// CreateDBSnapshot or, for Aurora, CreateDBClusterSnapshot, polled by the
// state machine rather than waited on in a Lambda.
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
