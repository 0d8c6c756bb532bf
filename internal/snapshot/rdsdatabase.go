package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// RDSDatabase names an RDS instance (DBInstance) or an Aurora cluster
// (DBCluster) and says how to restore one of its snapshots. It links no
// AWS client: the functions that only explain a restore (migrate, record,
// the CLI) use it as their snapshotter, and its Create and Status refuse.
// internal/snapshot/awsrds.RDS, which embeds it, takes the snapshots.
type RDSDatabase struct {
	DBInstance string
	DBCluster  string
}

// ErrNoClient is what RDSDatabase's Create and Status return.
var ErrNoClient = errors.New("snapshot: no RDS client here (this function only says how to restore; the snapshot function takes snapshots)")

// Create refuses: see RDSDatabase.
func (r RDSDatabase) Create(context.Context, string) (string, error) { return "", ErrNoClient }

// Status refuses: see RDSDatabase.
func (r RDSDatabase) Status(context.Context, string) (string, error) { return "", ErrNoClient }

// Name is the instance's or the cluster's identifier.
func (r RDSDatabase) Name() string {
	if r.DBCluster != "" {
		return r.DBCluster
	}
	return r.DBInstance
}

// RestoreProcedure says how to restore the snapshot.
func (r RDSDatabase) RestoreProcedure(id string) string {
	if r.DBCluster != "" {
		return strings.Join([]string{
			fmt.Sprintf("Restore Aurora cluster %s from snapshot %s:", r.DBCluster, id),
			fmt.Sprintf("  aws rds restore-db-cluster-from-snapshot --db-cluster-identifier %s-restored --snapshot-identifier %s --engine <engine>", r.DBCluster, id),
			fmt.Sprintf("  aws rds create-db-instance --db-cluster-identifier %s-restored --db-instance-identifier %s-restored-1 --db-instance-class <class> --engine <engine>", r.DBCluster, r.DBCluster),
			"  then point the app's database secret at the new cluster endpoint and restart the app.",
			"Caveats: a restore creates a NEW cluster (new endpoint); every write made after the snapshot was taken is lost.",
		}, "\n")
	}
	return strings.Join([]string{
		fmt.Sprintf("Restore RDS instance %s from snapshot %s:", r.DBInstance, id),
		fmt.Sprintf("  aws rds restore-db-instance-from-db-snapshot --db-instance-identifier %s-restored --db-snapshot-identifier %s", r.DBInstance, id),
		fmt.Sprintf("  aws rds wait db-instance-available --db-instance-identifier %s-restored", r.DBInstance),
		"  then point the app's database secret at the new instance's endpoint and restart the app.",
		"Caveats: a restore creates a NEW instance (new endpoint); every write made after the snapshot was taken is lost.",
	}, "\n")
}
