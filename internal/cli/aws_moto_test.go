package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/moto"
)

func TestMain(m *testing.M) { moto.Main(m) }

// passMachine stands in for the deploy and rollback definitions: moto
// 5.2.1 does not run a state machine (its executions stay RUNNING), so
// what the definition says does not matter here.
const passMachine = `{"StartAt":"Preflight","States":{"Preflight":{"Type":"Pass","End":true}}}`

// motoStack is what the Slipway stack would hold, made in moto: the
// ledger table, the artifact bucket and the two state machines.
type motoStack struct {
	ledger   *ledger.Dynamo
	sfn      *sfn.Client
	deploy   string // the deploy state machine's ARN
	rollback string
}

// newMotoStack creates the stack's resources in the package's moto server
// and points the CLI at them through the environment, as a person on AWS
// does: SLIPWAY_* for the stack's outputs, AWS_* for the SDK.
func newMotoStack(t *testing.T) *motoStack {
	t.Helper()
	srv := moto.Shared(t)
	ctx := context.Background()
	const table, bucket = "slipway-shop-cli", "slipway-shop-cli-artifacts"
	st := &motoStack{ledger: &ledger.Dynamo{Client: srv.CreateLedgerTable(t, table), Table: table}, sfn: sfn.NewFromConfig(srv.Config())}
	if _, err := s3.NewFromConfig(srv.Config()).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket in moto: %v", err)
	}
	// v2 is published: deploy refuses a version that is not, before it
	// starts an execution.
	if _, err := (&artifact.S3{Client: s3.NewFromConfig(srv.Config()), Bucket: bucket}).Publish(ctx, "shop", "v2", []byte("v2 bundle")); err != nil {
		t.Fatalf("publish v2 in moto: %v", err)
	}
	for _, m := range []struct {
		name string
		arn  *string
	}{{"slipway-shop-cli-deploy", &st.deploy}, {"slipway-shop-cli-rollback", &st.rollback}} {
		out, err := st.sfn.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{Name: aws.String(m.name), Definition: aws.String(passMachine),
			RoleArn: aws.String("arn:aws:iam::" + moto.AccountID + ":role/slipway-shop-states")})
		if err != nil {
			t.Fatalf("create state machine %s in moto: %v", m.name, err)
		}
		*m.arn = aws.ToString(out.StateMachineArn)
	}
	noFile := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		backend.EnvConfig:             `{"app":"shop","environments":{"staging":{},"production":{"production":true}}}`,
		backend.EnvTable:              table,
		backend.EnvArtifactBucket:     bucket,
		backend.EnvDeployMachine:      st.deploy,
		backend.EnvRollbackMachine:    st.rollback,
		backend.EnvLocalDir:           "",
		"AWS_ENDPOINT_URL":            srv.URL,
		"AWS_REGION":                  moto.Region,
		"AWS_ACCESS_KEY_ID":           "AKIDMOTO",
		"AWS_SECRET_ACCESS_KEY":       "SECRET",
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_CONFIG_FILE":             noFile,
		"AWS_SHARED_CREDENTIALS_FILE": noFile,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_MAX_ATTEMPTS":            "2",
	} {
		t.Setenv(k, v)
	}
	return st
}

// onAWS runs a command line with the real backend selection and
// --local=false (a checkout where make demo ran has a .slipway/local the
// CLI would find), so the AWS backend, built from the environment,
// talking to moto.
func onAWS(t *testing.T, want int, args ...string) string {
	t.Helper()
	io, out, errOut := backendtest.IO()
	if code := Run(context.Background(), &factory.Factory{IO: io}, append(args, "--local=false")); code != want {
		t.Fatalf("slipway %s = exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out.String() + errOut.String()
}

// TestAWSCommandsOnMoto drives status, history, show, deploy, approve,
// lock and unlock against the AWS backend on moto, and checks what the
// ledger and Step Functions hold afterwards.
func TestAWSCommandsOnMoto(t *testing.T) {
	st := newMotoStack(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

	// What the pipeline's functions would have written: a finished staging
	// deployment whose execution exists, and a production deployment that
	// waits for its approval.
	started, err := st.sfn.StartExecution(ctx, &sfn.StartExecutionInput{StateMachineArn: aws.String(st.deploy),
		Name: aws.String("staging-v1-20261126T090000Z-0001"), Input: aws.String(`{"app":"shop","environment":"staging","version":"v1"}`)})
	if err != nil {
		t.Fatal(err)
	}
	const stagingV1, productionV1 = "staging-v1-20261126T090000Z-0001", "production-v1-20261126T100000Z-0002"
	for _, d := range []ledger.Deployment{
		{ID: stagingV1, App: "shop", Environment: "staging", Version: "v1", Kind: "deploy", Status: contract.StatusSucceeded,
			ExecutionID: aws.ToString(started.ExecutionArn), StartedAt: t0, FinishedAt: t0.Add(3 * time.Minute), SchemaBefore: -1, SchemaAfter: -1},
		{ID: productionV1, App: "shop", Environment: "production", Version: "v1", Kind: "deploy", Status: contract.StatusRunning,
			StartedAt: t0.Add(time.Hour), SchemaBefore: -1, SchemaAfter: -1},
	} {
		if err := st.ledger.PutDeployment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ledger.AddStep(ctx, ledger.Step{DeploymentID: stagingV1, Stage: "record", Status: "ok", Message: "SUCCEEDED", At: t0.Add(3 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := st.ledger.PutApproval(ctx, ledger.Approval{App: "shop", Environment: "production", DeploymentID: productionV1,
		Version: "v1", Token: "task-token-1", Summary: "deploy v1 to production", RequestedAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}

	t.Run("status lists the approval that waits", func(t *testing.T) {
		// Finding 1: DynamoDB refused Approvals' query, so status failed.
		var got []struct {
			Environment string `json:"environment"`
			Waiting     []struct {
				DeploymentID string `json:"deployment_id"`
			} `json:"waiting_for_approval"`
		}
		out := onAWS(t, factory.ExitOK, "status", "--env", "production", "--json")
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("status --json: %v\n%s", err, out)
		}
		if len(got) != 1 || len(got[0].Waiting) != 1 || got[0].Waiting[0].DeploymentID != productionV1 {
			t.Errorf("status --env production --json = %s, want the approval of %s waiting", out, productionV1)
		}
		onAWS(t, factory.ExitOK, "status")
	})

	t.Run("history lists the deployments newest first", func(t *testing.T) {
		var got []ledger.Deployment
		out := onAWS(t, factory.ExitOK, "history", "--json")
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("history --json: %v\n%s", err, out)
		}
		var ids []string
		for _, d := range got {
			ids = append(ids, d.ID)
		}
		if diff := cmp.Diff([]string{productionV1, stagingV1}, ids); diff != "" {
			t.Errorf("history --json ids mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("show reads the ledger and the execution's history", func(t *testing.T) {
		out := onAWS(t, factory.ExitOK, "show", stagingV1)
		if !strings.Contains(out, stagingV1) || !strings.Contains(out, "SUCCEEDED") {
			t.Errorf("show %s = %s, want the deployment and its outcome", stagingV1, out)
		}
		onAWS(t, factory.ExitUsage, "show", "staging-v9-nope")
	})

	t.Run("deploy starts an execution", func(t *testing.T) {
		out := onAWS(t, factory.ExitOK, "deploy", "--env", "staging", "--version", "v2", "--as", "ada")
		arn := ""
		for _, line := range strings.Split(out, "\n") {
			if a, ok := strings.CutPrefix(line, "execution "); ok {
				arn = a
			}
		}
		if !strings.HasPrefix(arn, "arn:aws:states:us-east-1:"+moto.AccountID+":execution:slipway-shop-cli-deploy:staging-v2-") {
			t.Fatalf("deploy printed %q, want the execution's ARN", out)
		}
		ex, err := st.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("the execution deploy printed is not in moto: %v", err)
		}
		var req contract.DeployRequest
		if err := json.Unmarshal([]byte(aws.ToString(ex.Input)), &req); err != nil {
			t.Fatal(err)
		}
		if ex.Status != "RUNNING" || req.App != "shop" || req.Environment != "staging" || req.Version != "v2" || req.Trigger.Actor != "ada" || req.Trigger.Source != "cli" {
			t.Errorf("execution %s is %s with input %+v; want RUNNING, shop v2 to staging by ada from the cli", arn, ex.Status, req)
		}
	})

	t.Run("the backend follows an execution to its end", func(t *testing.T) {
		// deploy --wait's loop (DescribeExecution, GetExecutionHistory, the
		// ledger's steps) on moto, whose executions run until stopped: a
		// person stops this one while the backend follows it.
		b, err := backend.Open(ctx, backend.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		const name = "staging-v3-20261126T110000Z-0003"
		arn := strings.Replace(st.deploy, ":stateMachine:", ":execution:", 1) + ":" + name
		stopped := make(chan error, 1)
		go func() {
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				if _, err := st.sfn.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(arn)}); err == nil {
					_, err := st.sfn.StopExecution(ctx, &sfn.StopExecutionInput{ExecutionArn: aws.String(arn), Error: aws.String("Stopped"), Cause: aws.String("by a person")})
					stopped <- err
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
			stopped <- fmt.Errorf("execution %s did not appear", arn)
		}()
		ex, err := b.Start(ctx, backend.MachineDeploy, name, []byte(`{"app":"shop","environment":"staging","version":"v3"}`),
			backend.StartOptions{Wait: true, Poll: 10 * time.Millisecond})
		if err := <-stopped; err != nil {
			t.Fatalf("stop the execution in moto: %v", err)
		}
		if err != nil || ex.ARN != arn || ex.Status != "ABORTED" || ex.StopDate.IsZero() {
			t.Errorf("Start(wait) = %+v, %v; want %s ABORTED with its stop date", ex, err, arn)
		}
	})

	t.Run("approve decides once and tells the execution", func(t *testing.T) {
		onAWS(t, factory.ExitOK, "approve", productionV1, "--as", "grace", "--reason", "plan checked")
		a, err := st.ledger.GetApproval(ctx, "shop", "production", productionV1)
		if err != nil || a.Decision != ledger.ApprovalApproved || a.DecidedBy != "grace" || a.Reason != "plan checked" || a.Token != "task-token-1" {
			t.Errorf("approval after approve = %+v, %v; want approved by grace: plan checked", a, err)
		}
		steps, err := st.ledger.Steps(ctx, productionV1)
		if err != nil || len(steps) != 1 || steps[0].Stage != "approval" || !strings.Contains(steps[0].Message, "approved by grace") {
			t.Errorf("steps after approve = %+v, %v; want the decision as an approval step", steps, err)
		}
		onAWS(t, factory.ExitRefused, "approve", productionV1, "--as", "ada")
		onAWS(t, factory.ExitUsage, "approve", stagingV1)
	})

	t.Run("lock acquire and release", func(t *testing.T) {
		onAWS(t, factory.ExitOK, "lock", "acquire", "--env", "staging", "-m", "sale until 18:00", "--as", "grace")
		locks, err := st.ledger.Locks(ctx, "shop", "staging")
		if err != nil || len(locks) != 1 || locks[0].Kind != ledger.LockManual || locks[0].Owner != "grace" || locks[0].Message != "sale until 18:00" {
			t.Fatalf("locks after lock acquire = %+v, %v; want grace's manual lock", locks, err)
		}
		out := onAWS(t, factory.ExitRefused, "lock", "acquire", "--env", "staging", "-m", "mine", "--as", "ada")
		if !strings.Contains(out, "grace") {
			t.Errorf("a second lock acquire said %q, want it to name grace", out)
		}
		onAWS(t, factory.ExitOK, "lock", "release", "--env", "staging", "--as", "grace")
		if locks, err := st.ledger.Locks(ctx, "shop", "staging"); err != nil || len(locks) != 0 {
			t.Errorf("locks after lock release = %+v, %v; want none", locks, err)
		}
	})

	t.Run("unlock breaks a stuck lease and records it", func(t *testing.T) {
		if _, err := st.ledger.AcquireLease(ctx, "shop", "staging", "arn:exec:stuck", "staging-v2-stuck", time.Hour, time.Now()); err != nil {
			t.Fatal(err)
		}
		onAWS(t, factory.ExitUsage, "unlock", "--env", "staging")
		out := onAWS(t, factory.ExitOK, "unlock", "--env", "staging", "--force", "--as", "grace", "--reason", "execution aborted")
		if !strings.Contains(out, "staging-v2-stuck") {
			t.Errorf("unlock said %q, want it to name the deployment whose lease it broke", out)
		}
		locks, _ := st.ledger.Locks(ctx, "shop", "staging")
		evs, err := st.ledger.Events(ctx, "shop", "staging", 0)
		// Newest first: lock acquire and release recorded theirs before.
		if len(locks) != 0 || err != nil || len(evs) == 0 || evs[0].Kind != "lease-broken" || evs[0].DeploymentID != "staging-v2-stuck" ||
			!strings.Contains(evs[0].Message, "grace broke the lease") {
			t.Errorf("after unlock: locks %+v, events %+v (%v); want no lock and, newest, a lease-broken event by grace", locks, evs, err)
		}
	})
}
