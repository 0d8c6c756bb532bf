package awsrds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/snapshot"
)

// fakeRDS speaks RDS's query protocol: form-encoded requests, XML answers
// and XML errors, as the service does.
type fakeRDS struct {
	mu       sync.Mutex
	requests []url.Values
	// answer returns the status code and body for a request.
	answer func(n int, form url.Values) (int, string)
}

func (f *fakeRDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.PostForm)
	n := len(f.requests)
	f.mu.Unlock()
	code, body := f.answer(n, r.PostForm)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(code)
	fmt.Fprint(w, body)
}

func (f *fakeRDS) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		out = append(out, r.Get("Action"))
	}
	return out
}

const xmlns = `xmlns="http://rds.amazonaws.com/doc/2014-10-31/"`

func rdsError(code, msg string) (int, string) {
	status := http.StatusBadRequest
	if code == "DBInstanceNotFound" || code == "DBSnapshotNotFound" {
		status = http.StatusNotFound
	}
	return status, fmt.Sprintf(`<ErrorResponse %s><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`, xmlns, code, msg)
}

func ok(action, inner string) (int, string) {
	return http.StatusOK, fmt.Sprintf(`<%sResponse %s><%sResult>%s</%sResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></%sResponse>`,
		action, xmlns, action, inner, action, action)
}

func dbSnapshot(id, status string, created time.Time, tags ...string) string {
	var tl strings.Builder
	for i := 0; i+1 < len(tags); i += 2 {
		fmt.Fprintf(&tl, "<Tag><Key>%s</Key><Value>%s</Value></Tag>", tags[i], tags[i+1])
	}
	return fmt.Sprintf(`<DBSnapshot><DBSnapshotIdentifier>%s</DBSnapshotIdentifier><DBInstanceIdentifier>app-db</DBInstanceIdentifier><Status>%s</Status><SnapshotCreateTime>%s</SnapshotCreateTime><SnapshotType>manual</SnapshotType><TagList>%s</TagList></DBSnapshot>`,
		id, status, created.UTC().Format(time.RFC3339), tl.String())
}

func newRDS(t *testing.T, f *fakeRDS, cluster bool) *RDS {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := rds.New(rds.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxBackoff = 5 * time.Millisecond
		}),
	})
	r := &RDS{Client: client, Tags: map[string]string{"slipway:app": "demo"}}
	if cluster {
		r.DBCluster = "app-cluster"
	} else {
		r.DBInstance = "app-db"
	}
	return r
}

func TestRDSCreateOnTheWire(t *testing.T) {
	tests := []struct {
		name        string
		cluster     bool
		answer      func(n int, form url.Values) (int, string)
		want        string
		wantErr     string
		wantActions []string
		transient   bool
	}{
		{name: "instance", answer: func(n int, f url.Values) (int, string) {
			return ok("CreateDBSnapshot", dbSnapshot(f.Get("DBSnapshotIdentifier"), "creating", time.Now()))
		}, want: snapshot.Creating, wantActions: []string{"CreateDBSnapshot"}},
		{name: "aurora cluster", cluster: true, answer: func(n int, f url.Values) (int, string) {
			return ok("CreateDBClusterSnapshot", `<DBClusterSnapshot><DBClusterSnapshotIdentifier>`+f.Get("DBClusterSnapshotIdentifier")+`</DBClusterSnapshotIdentifier><Status>creating</Status></DBClusterSnapshot>`)
		}, want: snapshot.Creating, wantActions: []string{"CreateDBClusterSnapshot"}},
		{name: "throttled, then created", answer: func(n int, f url.Values) (int, string) {
			if n == 1 {
				return rdsError("Throttling", "Rate exceeded")
			}
			return ok("CreateDBSnapshot", dbSnapshot(f.Get("DBSnapshotIdentifier"), "creating", time.Now()))
		}, want: snapshot.Creating, wantActions: []string{"CreateDBSnapshot", "CreateDBSnapshot"}},
		{name: "throttled throughout", answer: func(n int, f url.Values) (int, string) { return rdsError("Throttling", "Rate exceeded") },
			wantErr: "Throttling", transient: true, wantActions: []string{"CreateDBSnapshot", "CreateDBSnapshot", "CreateDBSnapshot"}},
		{name: "a retried create finds its snapshot", answer: func(n int, f url.Values) (int, string) {
			if f.Get("Action") == "CreateDBSnapshot" {
				return rdsError("DBSnapshotAlreadyExists", "Cannot create the snapshot because a snapshot with the identifier already exists.")
			}
			return ok("DescribeDBSnapshots", "<DBSnapshots>"+dbSnapshot(f.Get("DBSnapshotIdentifier"), "available", time.Now())+"</DBSnapshots>")
		}, want: snapshot.Available, wantActions: []string{"CreateDBSnapshot", "DescribeDBSnapshots"}},
		{name: "quota", answer: func(n int, f url.Values) (int, string) {
			return rdsError("SnapshotQuotaExceeded", "Cannot create more than 100 manual snapshots")
		}, wantErr: "manual snapshot quota is used up", wantActions: []string{"CreateDBSnapshot"}},
		{name: "instance busy", answer: func(n int, f url.Values) (int, string) {
			return rdsError("InvalidDBInstanceState", "Instance app-db is not currently in the available state.")
		}, wantErr: "not in a state that allows a snapshot", wantActions: []string{"CreateDBSnapshot"}},
		{name: "cluster busy", cluster: true, answer: func(n int, f url.Values) (int, string) {
			return rdsError("InvalidDBClusterStateFault", "DbCluster app-cluster is not in the available state.")
		}, wantErr: "not in a state that allows a snapshot", wantActions: []string{"CreateDBClusterSnapshot"}},
		{name: "instance not found", answer: func(n int, f url.Values) (int, string) {
			return rdsError("DBInstanceNotFound", "DBInstance app-db not found.")
		}, wantErr: "database app-db not found: fix db_instance", wantActions: []string{"CreateDBSnapshot"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeRDS{answer: tt.answer}
			r := newRDS(t, f, tt.cluster)
			got, err := r.Create(context.Background(), "slipway-demo-staging-d1")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Create() error = %v, want %q", err, tt.wantErr)
				}
				var ae smithy.APIError
				if tt.transient && !errors.As(err, &ae) {
					t.Errorf("Create() error %v does not wrap the API error, so the pipeline cannot see it is transient", err)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("Create() = %q, %v; want %q", got, err, tt.want)
			}
			if diff := cmp.Diff(tt.wantActions, f.actions()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRDSCreateRequest(t *testing.T) {
	f := &fakeRDS{answer: func(n int, f url.Values) (int, string) {
		return ok("CreateDBSnapshot", dbSnapshot(f.Get("DBSnapshotIdentifier"), "creating", time.Now()))
	}}
	r := newRDS(t, f, false)
	if _, err := r.Create(context.Background(), "slipway-demo-staging-d1"); err != nil {
		t.Fatal(err)
	}
	form := f.requests[0]
	tags := map[string]string{}
	for i := 1; form.Get(fmt.Sprintf("Tags.Tag.%d.Key", i)) != ""; i++ {
		tags[form.Get(fmt.Sprintf("Tags.Tag.%d.Key", i))] = form.Get(fmt.Sprintf("Tags.Tag.%d.Value", i))
	}
	if form.Get("DBInstanceIdentifier") != "app-db" || form.Get("DBSnapshotIdentifier") != "slipway-demo-staging-d1" || form.Get("Version") != "2014-10-31" {
		t.Errorf("request = %v, want app-db, slipway-demo-staging-d1, API version 2014-10-31", form)
	}
	if diff := cmp.Diff(map[string]string{"slipway:managed": "true", "slipway:app": "demo"}, tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

func TestRDSStatusOnTheWire(t *testing.T) {
	tests := []struct {
		name, status string
		missing      bool
		want         string
		wantErr      string
	}{
		{name: "creating", status: "creating", want: snapshot.Creating},
		{name: "backing up", status: "backing-up", want: snapshot.Creating},
		{name: "available", status: "available", want: snapshot.Available},
		{name: "failed", status: "failed", wantErr: `is "failed": it will not become available`},
		{name: "not found", missing: true, wantErr: "no such snapshot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeRDS{answer: func(n int, f url.Values) (int, string) {
				if tt.missing {
					return rdsError("DBSnapshotNotFound", "DBSnapshot slipway-x not found.")
				}
				return ok("DescribeDBSnapshots", "<DBSnapshots>"+dbSnapshot(f.Get("DBSnapshotIdentifier"), tt.status, time.Now())+"</DBSnapshots>")
			}}
			got, err := newRDS(t, f, false).Status(context.Background(), "slipway-x")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Status() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("Status() = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestRDSPruneOnTheWire(t *testing.T) {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	day := func(d int) time.Time { return base.Add(time.Duration(d) * 24 * time.Hour) }
	managed := []string{"slipway:managed", "true", "slipway:env", "staging"}
	page1 := dbSnapshot("slipway-demo-staging-d1", "available", day(1), managed...) +
		dbSnapshot("slipway-demo-staging-d2", "available", day(2), managed...) +
		dbSnapshot("nightly-backup", "available", day(0), managed...)
	page2 := dbSnapshot("slipway-demo-staging-d3", "available", day(3), managed...) +
		dbSnapshot("slipway-demo-staging-hand-made", "available", day(0)) + // no tag: not ours
		dbSnapshot("slipway-demo-staging-d4", "creating", day(4), managed...) +
		dbSnapshot("slipway-demo-staging-d5", "available", day(5), managed...) +
		dbSnapshot("slipway-demo-production-d0", "available", day(0), managed...) +
		dbSnapshot("slipway-demo-staging-2-d0", "available", day(0), "slipway:managed", "true", "slipway:env", "staging-2")
	var deletes []string
	f := &fakeRDS{answer: func(n int, f url.Values) (int, string) {
		switch f.Get("Action") {
		case "DescribeDBSnapshots":
			if f.Get("DBInstanceIdentifier") != "app-db" || f.Get("SnapshotType") != "manual" {
				return rdsError("InvalidParameterValue", "unexpected filter")
			}
			if f.Get("Marker") == "" {
				return ok("DescribeDBSnapshots", "<DBSnapshots>"+page1+"</DBSnapshots><Marker>page2</Marker>")
			}
			return ok("DescribeDBSnapshots", "<DBSnapshots>"+page2+"</DBSnapshots>")
		case "DeleteDBSnapshot":
			id := f.Get("DBSnapshotIdentifier")
			deletes = append(deletes, id)
			if id == "slipway-demo-staging-d1" {
				return rdsError("InvalidDBSnapshotState", "Cannot delete the snapshot because it is in use.")
			}
			return ok("DeleteDBSnapshot", dbSnapshot(id, "deleted", base))
		}
		return rdsError("InvalidAction", "unexpected")
	}}
	r := newRDS(t, f, false)
	r.Tags["slipway:env"] = "staging"
	deleted, err := r.Prune(context.Background(), "slipway-demo-staging-", "slipway-demo-staging-d5", 2)
	// Keep d5 (current) and d3; delete d2 and d1 (d1 fails); never the
	// creating d4, the untagged one, staging-2's (same prefix, other env
	// tag), another environment's or someone else's.
	if diff := cmp.Diff([]string{"slipway-demo-staging-d2", "slipway-demo-staging-d1"}, deletes); diff != "" {
		t.Errorf("DeleteDBSnapshot calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"slipway-demo-staging-d2"}, deleted); diff != "" {
		t.Errorf("Prune() deleted (-want +got):\n%s", diff)
	}
	if err == nil || !strings.Contains(err.Error(), "slipway-demo-staging-d1") {
		t.Errorf("Prune() error = %v, want the failed delete of d1 reported", err)
	}
}

func TestRDSPruneCluster(t *testing.T) {
	var deletes []string
	f := &fakeRDS{answer: func(n int, f url.Values) (int, string) {
		switch f.Get("Action") {
		case "DescribeDBClusterSnapshots":
			var b strings.Builder
			for d := 1; d <= 3; d++ {
				fmt.Fprintf(&b, `<DBClusterSnapshot><DBClusterSnapshotIdentifier>slipway-a-e-d%d</DBClusterSnapshotIdentifier><Status>available</Status><SnapshotCreateTime>2026-11-0%dT00:00:00Z</SnapshotCreateTime><TagList><Tag><Key>slipway:managed</Key><Value>true</Value></Tag></TagList></DBClusterSnapshot>`, d, d)
			}
			return ok("DescribeDBClusterSnapshots", "<DBClusterSnapshots>"+b.String()+"</DBClusterSnapshots>")
		case "DeleteDBClusterSnapshot":
			deletes = append(deletes, f.Get("DBClusterSnapshotIdentifier"))
			return ok("DeleteDBClusterSnapshot", "<DBClusterSnapshot><Status>deleted</Status></DBClusterSnapshot>")
		}
		return rdsError("InvalidAction", "unexpected")
	}}
	if _, err := newRDS(t, f, true).Prune(context.Background(), "slipway-a-e-", "slipway-a-e-d3", 1); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"slipway-a-e-d2", "slipway-a-e-d1"}, deletes); diff != "" {
		t.Errorf("DeleteDBClusterSnapshot calls (-want +got):\n%s", diff)
	}
}

func TestRestoreProcedureSaysWhatIsLost(t *testing.T) {
	for _, s := range []interface{ RestoreProcedure(string) string }{
		&RDS{RDSDatabase: snapshot.RDSDatabase{DBInstance: "app-db"}}, &RDS{RDSDatabase: snapshot.RDSDatabase{DBCluster: "app-cluster"}},
	} {
		p := s.RestoreProcedure("slipway-demo-staging-d1")
		if !strings.Contains(p, "slipway-demo-staging-d1") || !strings.Contains(p, "after the snapshot was taken is lost") {
			t.Errorf("RestoreProcedure() = %q, want the snapshot and the caveat", p)
		}
	}
	if p := (&RDS{RDSDatabase: snapshot.RDSDatabase{DBInstance: "app-db"}}).RestoreProcedure("s"); !strings.Contains(p, "restore-db-instance-from-db-snapshot") || !strings.Contains(p, "NEW instance") {
		t.Errorf("RDS RestoreProcedure() = %q, want the command and that it creates a new instance", p)
	}
}
