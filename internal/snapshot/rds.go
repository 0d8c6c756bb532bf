package snapshot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"
)

// RDSAPI is the part of *rds.Client that RDS uses.
type RDSAPI interface {
	CreateDBSnapshot(ctx context.Context, in *rds.CreateDBSnapshotInput, optFns ...func(*rds.Options)) (*rds.CreateDBSnapshotOutput, error)
	CreateDBClusterSnapshot(ctx context.Context, in *rds.CreateDBClusterSnapshotInput, optFns ...func(*rds.Options)) (*rds.CreateDBClusterSnapshotOutput, error)
	DescribeDBSnapshots(ctx context.Context, in *rds.DescribeDBSnapshotsInput, optFns ...func(*rds.Options)) (*rds.DescribeDBSnapshotsOutput, error)
	DescribeDBClusterSnapshots(ctx context.Context, in *rds.DescribeDBClusterSnapshotsInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClusterSnapshotsOutput, error)
}

var _ RDSAPI = (*rds.Client)(nil)

// RDS snapshots an RDS instance (DBInstance) or an Aurora cluster (DBCluster).
type RDS struct {
	Client     RDSAPI
	DBInstance string
	DBCluster  string
	Tags       map[string]string
}

func (r *RDS) tags() []rdstypes.Tag {
	out := []rdstypes.Tag{{Key: aws.String("slipway:managed"), Value: aws.String("true")}}
	for k, v := range r.Tags {
		out = append(out, rdstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// Create starts the snapshot. An existing snapshot with the id is reported
// with its status, so a retried Create does not fail.
func (r *RDS) Create(ctx context.Context, id string) (string, error) {
	var err error
	if r.DBCluster != "" {
		_, err = r.Client.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{
			DBClusterIdentifier: aws.String(r.DBCluster), DBClusterSnapshotIdentifier: aws.String(id), Tags: r.tags()})
	} else {
		_, err = r.Client.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{
			DBInstanceIdentifier: aws.String(r.DBInstance), DBSnapshotIdentifier: aws.String(id), Tags: r.tags()})
	}
	if err != nil {
		var ae smithy.APIError
		if errors.As(err, &ae) && strings.Contains(ae.ErrorCode(), "AlreadyExists") {
			return r.Status(ctx, id)
		}
		return "", r.explain("create snapshot "+id, err)
	}
	return Creating, nil
}

// Status reports the snapshot's status: creating, available, or an error
// for a failed or missing snapshot.
func (r *RDS) Status(ctx context.Context, id string) (string, error) {
	var status string
	if r.DBCluster != "" {
		out, err := r.Client.DescribeDBClusterSnapshots(ctx, &rds.DescribeDBClusterSnapshotsInput{DBClusterSnapshotIdentifier: aws.String(id)})
		if err != nil {
			return "", r.explain("describe snapshot "+id, err)
		}
		if len(out.DBClusterSnapshots) == 0 {
			return "", fmt.Errorf("describe snapshot %s: not found", id)
		}
		status = aws.ToString(out.DBClusterSnapshots[0].Status)
	} else {
		out, err := r.Client.DescribeDBSnapshots(ctx, &rds.DescribeDBSnapshotsInput{DBSnapshotIdentifier: aws.String(id)})
		if err != nil {
			return "", r.explain("describe snapshot "+id, err)
		}
		if len(out.DBSnapshots) == 0 {
			return "", fmt.Errorf("describe snapshot %s: not found", id)
		}
		status = aws.ToString(out.DBSnapshots[0].Status)
	}
	switch status {
	case "available":
		return Available, nil
	case "creating", "pending", "backing-up":
		return Creating, nil
	default:
		return "", fmt.Errorf("snapshot %s is %q: it will not become available; look at it in the RDS console", id, status)
	}
}

func (r *RDS) explain(what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "SnapshotQuotaExceeded":
			return fmt.Errorf("%s: the account's manual snapshot quota is used up: delete old snapshots or lower keep_snapshots: %w", what, err)
		case "InvalidDBInstanceState", "InvalidDBClusterStateFault":
			return fmt.Errorf("%s: the database is not in a state that allows a snapshot (it may be modifying or already snapshotting); retry when it is available: %w", what, err)
		case "DBInstanceNotFound", "DBClusterNotFoundFault":
			return fmt.Errorf("%s: database %s not found: fix db_instance or db_cluster in the Slipway configuration: %w", what, r.target(), err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func (r *RDS) target() string {
	if r.DBCluster != "" {
		return r.DBCluster
	}
	return r.DBInstance
}

// RestoreProcedure says how to restore the snapshot.
func (r *RDS) RestoreProcedure(id string) string {
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
