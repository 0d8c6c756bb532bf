package awsrds

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/slipway-deploy/slipway/internal/moto"
	"github.com/slipway-deploy/slipway/internal/snapshot"
)

func TestMain(m *testing.M) { moto.Main(m) }

// TestRDSOnMoto creates a DB instance and an Aurora cluster in moto, then
// takes, describes and prunes snapshots of each through the adapter.
func TestRDSOnMoto(t *testing.T) {
	ctx := context.Background()
	client := rds.NewFromConfig(moto.Shared(t).Config())
	tests := []struct {
		name   string
		create func(id string) error
		// handMade takes a snapshot the adapter did not: no slipway tags.
		handMade func(db, id string) error
		adapter  func(db string) *RDS
	}{
		{
			name: "instance",
			create: func(id string) error {
				_, err := client.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{DBInstanceIdentifier: aws.String(id), Engine: aws.String("postgres"),
					DBInstanceClass: aws.String("db.t3.micro"), AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("app"), MasterUserPassword: aws.String("password1")})
				return err
			},
			handMade: func(db, id string) error {
				_, err := client.CreateDBSnapshot(ctx, &rds.CreateDBSnapshotInput{DBInstanceIdentifier: aws.String(db), DBSnapshotIdentifier: aws.String(id)})
				return err
			},
			adapter: func(db string) *RDS { return &RDS{Client: client, RDSDatabase: snapshot.RDSDatabase{DBInstance: db}} },
		},
		{
			name: "aurora cluster",
			create: func(id string) error {
				_, err := client.CreateDBCluster(ctx, &rds.CreateDBClusterInput{DBClusterIdentifier: aws.String(id), Engine: aws.String("aurora-postgresql"),
					MasterUsername: aws.String("app"), MasterUserPassword: aws.String("password1")})
				return err
			},
			handMade: func(db, id string) error {
				_, err := client.CreateDBClusterSnapshot(ctx, &rds.CreateDBClusterSnapshotInput{DBClusterIdentifier: aws.String(db), DBClusterSnapshotIdentifier: aws.String(id)})
				return err
			},
			adapter: func(db string) *RDS { return &RDS{Client: client, RDSDatabase: snapshot.RDSDatabase{DBCluster: db}} },
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := fmt.Sprintf("slipway-moto-db-%d", i)
			if err := tt.create(db); err != nil {
				t.Fatalf("create %s %s in moto: %v", tt.name, db, err)
			}
			r := tt.adapter(db)
			r.Tags = map[string]string{"slipway:app": "demo", "slipway:env": "staging"}
			prefix := fmt.Sprintf("slipway-demo-staging-%d-", i)
			if err := tt.handMade(db, prefix+"hand-made"); err != nil {
				t.Fatalf("take a hand-made snapshot in moto: %v", err)
			}
			var ids []string
			for d := 1; d <= 4; d++ {
				id := fmt.Sprintf("%sd%d", prefix, d)
				ids = append(ids, id)
				if st, err := r.Create(ctx, id); err != nil || st != snapshot.Creating {
					t.Fatalf("Create(%s) = %q, %v; want %q", id, st, err, snapshot.Creating)
				}
				// moto's snapshots are available at once; AWS's are creating.
				if st, err := r.Status(ctx, id); err != nil || st != snapshot.Available {
					t.Fatalf("Status(%s) = %q, %v; want %q", id, st, err, snapshot.Available)
				}
			}
			if st, err := r.Create(ctx, ids[0]); err != nil || st != snapshot.Available {
				t.Errorf("Create(%s) again = %q, %v; want its status, no error", ids[0], st, err)
			}
			if _, err := r.Status(ctx, prefix+"missing"); err == nil {
				t.Errorf("Status(missing) = nil error, want one")
			}
			deleted, err := r.Prune(ctx, prefix, ids[3], 2)
			if err != nil {
				t.Fatalf("Prune = %v", err)
			}
			slices.Sort(deleted)
			if want := ids[:2]; !slices.Equal(deleted, want) {
				t.Errorf("Prune(keep 2) deleted %v, want %v", deleted, want)
			}
			for _, id := range append(ids[2:], prefix+"hand-made") {
				if _, err := r.Status(ctx, id); err != nil {
					t.Errorf("Status(%s) after Prune = %v, want it kept", id, err)
				}
			}
			for _, id := range ids[:2] {
				if _, err := r.Status(ctx, id); err == nil {
					t.Errorf("Status(%s) after Prune found it, want it deleted", id)
				}
			}
			missing := tt.adapter(db + "-missing")
			if _, err := missing.Create(ctx, prefix+"x"); err == nil || !strings.Contains(err.Error(), "not found: fix db_instance or db_cluster") {
				t.Errorf("Create on a missing database = %v, want it to say the database is not found", err)
			}
		})
	}
}
