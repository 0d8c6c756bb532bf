// Package awsrds is the snapshot adapter of RDS: it snapshots an RDS
// instance with CreateDBSnapshot or an Aurora cluster with
// CreateDBClusterSnapshot, polls their status and prunes Slipway's own
// older ones. It is the only package that links the RDS client, so that
// what only says how to restore (migrate, record, the CLI) does not
// (snapshot.RDSDatabase).
package awsrds

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/smithy-go"

	"github.com/slipway-deploy/slipway/internal/snapshot"
)

// RDSAPI is the part of *rds.Client that RDS uses.
type RDSAPI interface {
	CreateDBSnapshot(ctx context.Context, in *rds.CreateDBSnapshotInput, optFns ...func(*rds.Options)) (*rds.CreateDBSnapshotOutput, error)
	CreateDBClusterSnapshot(ctx context.Context, in *rds.CreateDBClusterSnapshotInput, optFns ...func(*rds.Options)) (*rds.CreateDBClusterSnapshotOutput, error)
	DescribeDBSnapshots(ctx context.Context, in *rds.DescribeDBSnapshotsInput, optFns ...func(*rds.Options)) (*rds.DescribeDBSnapshotsOutput, error)
	DescribeDBClusterSnapshots(ctx context.Context, in *rds.DescribeDBClusterSnapshotsInput, optFns ...func(*rds.Options)) (*rds.DescribeDBClusterSnapshotsOutput, error)
	DeleteDBSnapshot(ctx context.Context, in *rds.DeleteDBSnapshotInput, optFns ...func(*rds.Options)) (*rds.DeleteDBSnapshotOutput, error)
	DeleteDBClusterSnapshot(ctx context.Context, in *rds.DeleteDBClusterSnapshotInput, optFns ...func(*rds.Options)) (*rds.DeleteDBClusterSnapshotOutput, error)
}

var _ RDSAPI = (*rds.Client)(nil)

// RDS snapshots an RDS instance (DBInstance) or an Aurora cluster (DBCluster).
type RDS struct {
	Client RDSAPI
	snapshot.RDSDatabase
	Tags map[string]string
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
	return snapshot.Creating, nil
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
		return snapshot.Available, nil
	case "creating", "pending", "backing-up":
		return snapshot.Creating, nil
	default:
		return "", fmt.Errorf("snapshot %s is %q: it will not become available; look at it in the RDS console", id, status)
	}
}

func (r *RDS) explain(what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch code := strings.TrimSuffix(ae.ErrorCode(), "Fault"); code {
		case "SnapshotQuotaExceeded":
			return fmt.Errorf("%s: the account's manual snapshot quota is used up, so Slipway will not migrate without its snapshot: delete old manual snapshots or lower migrations.keep_snapshots: %w", what, err)
		case "InvalidDBInstanceState", "InvalidDBClusterState", "InvalidDBClusterStateFault":
			return fmt.Errorf("%s: database %s is not in a state that allows a snapshot (it may be modifying, stopped or already snapshotting); deploy again when it is available: %w", what, r.Name(), err)
		case "DBInstanceNotFound", "DBClusterNotFound":
			return fmt.Errorf("%s: database %s not found: fix db_instance or db_cluster in the Slipway configuration: %w", what, r.Name(), err)
		case "DBSnapshotNotFound", "DBClusterSnapshotNotFound":
			return fmt.Errorf("%s: no such snapshot: %w", what, err)
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// snapshotInfo is what Prune needs of a snapshot.
type snapshotInfo struct {
	id      string
	created time.Time
	status  string
	managed bool
}

// Prune deletes Slipway's older manual snapshots of the database: those
// whose identifier starts with prefix and that carry the slipway:managed
// tag, available, beyond the keep newest. current (the snapshot just taken)
// is never deleted; snapshots of anything else are never touched.
func (r *RDS) Prune(ctx context.Context, prefix, current string, keep int) ([]string, error) {
	var snaps []snapshotInfo
	if r.DBCluster != "" {
		p := rds.NewDescribeDBClusterSnapshotsPaginator(r.Client, &rds.DescribeDBClusterSnapshotsInput{
			DBClusterIdentifier: aws.String(r.DBCluster), SnapshotType: aws.String("manual")})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, r.explain("list snapshots of "+r.DBCluster, err)
			}
			for _, s := range out.DBClusterSnapshots {
				snaps = append(snaps, snapshotInfo{aws.ToString(s.DBClusterSnapshotIdentifier), aws.ToTime(s.SnapshotCreateTime), aws.ToString(s.Status), r.ours(s.TagList)})
			}
		}
	} else {
		p := rds.NewDescribeDBSnapshotsPaginator(r.Client, &rds.DescribeDBSnapshotsInput{
			DBInstanceIdentifier: aws.String(r.DBInstance), SnapshotType: aws.String("manual")})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, r.explain("list snapshots of "+r.DBInstance, err)
			}
			for _, s := range out.DBSnapshots {
				snaps = append(snaps, snapshotInfo{aws.ToString(s.DBSnapshotIdentifier), aws.ToTime(s.SnapshotCreateTime), aws.ToString(s.Status), r.ours(s.TagList)})
			}
		}
	}
	var ours []snapshotInfo
	for _, s := range snaps {
		if strings.HasPrefix(s.id, prefix) && s.managed && s.status == "available" {
			ours = append(ours, s)
		}
	}
	sort.Slice(ours, func(i, j int) bool { return ours[i].created.After(ours[j].created) })
	var deleted []string
	var errs []error
	kept := 0
	for _, s := range ours {
		if s.id == current || kept < keep-1 {
			if s.id != current {
				kept++
			}
			continue
		}
		var err error
		if r.DBCluster != "" {
			_, err = r.Client.DeleteDBClusterSnapshot(ctx, &rds.DeleteDBClusterSnapshotInput{DBClusterSnapshotIdentifier: aws.String(s.id)})
		} else {
			_, err = r.Client.DeleteDBSnapshot(ctx, &rds.DeleteDBSnapshotInput{DBSnapshotIdentifier: aws.String(s.id)})
		}
		if err != nil {
			errs = append(errs, r.explain("delete snapshot "+s.id, err))
			continue
		}
		deleted = append(deleted, s.id)
	}
	return deleted, errors.Join(errs...)
}

// ours reports whether a snapshot's tags say Slipway took it for this
// environment: slipway:managed=true, and the environment tag where the
// adapter has one (an environment named "staging" must not prune
// "staging-2", whose identifiers share its prefix).
func (r *RDS) ours(tags []rdstypes.Tag) bool {
	got := map[string]string{}
	for _, t := range tags {
		got[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if got["slipway:managed"] != "true" {
		return false
	}
	if env := r.Tags["slipway:env"]; env != "" && got["slipway:env"] != env {
		return false
	}
	return true
}
