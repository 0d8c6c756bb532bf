package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
	"github.com/slipway-deploy/slipway/internal/cli/execute"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// TestExitCodes runs whole command lines against the fake backend and
// checks the exit code and that a failure says what to do next.
func TestExitCodes(t *testing.T) {
	gate := "the migration policy blocks 1 pending migration(s) of this release, so nothing was locked, snapshotted or migrated: 0004_drop_email is destructive"
	tests := []struct {
		name      string
		args      []string
		setup     func(*backendtest.Fake)
		openErr   error
		wantCode  int
		wantInErr string
	}{
		{name: "deploy succeeds", args: []string{"deploy", "--env", "staging", "--version", "v2", "--wait"},
			setup: func(f *backendtest.Fake) { f.StartFunc = f.Finish(contract.StatusSucceeded, "", "") }, wantCode: factory.ExitOK},
		{name: "deploy rolls back", args: []string{"deploy", "--env", "staging", "--version", "v3", "--wait"},
			setup: func(f *backendtest.Fake) {
				f.StartFunc = f.Finish(contract.StatusRolledBack, "HealthCheckFailed", "wave 1: v3 not healthy")
			}, wantCode: factory.ExitFailed, wantInErr: "ROLLED_BACK (HealthCheckFailed)"},
		{name: "deploy fails its rollback", args: []string{"deploy", "--env", "staging", "--version", "v3", "--wait"},
			setup: func(f *backendtest.Fake) {
				f.StartFunc = f.Finish(contract.StatusRollbackFailed, "RollbackFailed", "x")
			},
			wantCode: factory.ExitFailed, wantInErr: "ROLLBACK_FAILED"},
		{name: "deploy fails in preflight", args: []string{"deploy", "--env", "staging", "--version", "v4", "--wait"},
			setup: func(f *backendtest.Fake) {
				f.StartFunc = f.Finish(contract.StatusFailed, "PreflightFailed", "rollback target v1 is missing on staging-2")
			},
			wantCode: factory.ExitFailed},
		{name: "deploy of a version never published is refused before it starts", args: []string{"deploy", "--env", "staging", "--version", "v9", "--wait"},
			setup: func(f *backendtest.Fake) {
				f.StartFunc = func(context.Context, string, string, []byte, backend.StartOptions) (backend.Execution, error) {
					t.Errorf("deploy of an unpublished version started an execution")
					return backend.Execution{}, errors.New("started")
				}
			},
			wantCode: factory.ExitRefused, wantInErr: "release v9 of shop is not published"},
		{name: "deploy refused by a manual lock", args: []string{"deploy", "--env", "staging", "--version", "v2", "--wait"},
			setup: func(f *backendtest.Fake) {
				f.StartFunc = f.Finish(contract.StatusFailed, "LockHeld", "frozen by grace")
			},
			wantCode: factory.ExitRefused, wantInErr: "LockHeld"},
		{name: "deploy refused by a freeze", args: []string{"deploy", "--env", "production", "--version", "v2", "--wait"},
			setup: func(f *backendtest.Fake) {
				f.StartFunc = f.Finish(contract.StatusFailed, "Frozen", "production is frozen")
			},
			wantCode: factory.ExitRefused},
		{name: "deploy refused by the migration gate", args: []string{"deploy", "--env", "staging", "--version", "v4", "--wait"},
			setup:    func(f *backendtest.Fake) { f.StartFunc = f.Finish(contract.StatusFailed, "MigrationBlocked", gate) },
			wantCode: factory.ExitRefused},
		{name: "deploy rejected", args: []string{"deploy", "--env", "production", "--version", "v2", "--wait"},
			setup: func(f *backendtest.Fake) {
				f.StartFunc = f.Finish(contract.StatusFailed, "Rejected", "rejected by grace: no")
			},
			wantCode: factory.ExitRefused},
		{name: "deploy on AWS without --wait returns once started", args: []string{"deploy", "--env", "staging", "--version", "v3"},
			setup: func(f *backendtest.Fake) {
				f.StartFunc = func(_ context.Context, _, name string, _ []byte, opts backend.StartOptions) (backend.Execution, error) {
					if opts.Wait {
						t.Errorf("deploy without --wait asked the backend to wait")
					}
					return backend.Execution{Name: name, ARN: "arn:x", Status: "RUNNING"}, nil
				}
			}, wantCode: factory.ExitOK},
		{name: "deploy to an unknown environment", args: []string{"deploy", "--env", "qa", "--version", "v2", "--wait"}, wantCode: factory.ExitUsage},
		{name: "deploy without flags", args: []string{"deploy"}, wantCode: factory.ExitUsage},
		{name: "a missing AWS setting", args: []string{"history"}, openErr: &backend.MissingSettingError{Name: "SLIPWAY_TABLE", What: "the ledger table", Where: "the stack's LedgerTableName output"},
			wantCode: factory.ExitUsage, wantInErr: "SLIPWAY_TABLE"},
		{name: "AWS access denied", args: []string{"status"}, openErr: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not authorized"},
			wantCode: factory.ExitAuth},
		{name: "rollback succeeds", args: []string{"rollback", "--env", "staging", "--wait"},
			setup: func(f *backendtest.Fake) { f.StartFunc = f.Finish(contract.StatusRolledBack, "", "") }, wantCode: factory.ExitOK},
		{name: "rollback refused by a lock", args: []string{"rollback", "--env", "staging", "--wait"},
			setup: func(f *backendtest.Fake) { f.StartFunc = f.Finish(contract.StatusFailed, "LockHeld", "frozen") }, wantCode: factory.ExitRefused},
		{name: "promote a release that never succeeded", args: []string{"promote", "--from", "staging", "--to", "production", "--version", "v9"},
			setup: func(f *backendtest.Fake) { backendtest.Seed(t, f) }, wantCode: factory.ExitRefused, wantInErr: "never deployed to staging"},
		{name: "promote a release rolled back since", args: []string{"promote", "--from", "staging", "--to", "production", "--version", "v2"},
			setup: func(f *backendtest.Fake) { backendtest.Seed(t, f) }, wantCode: factory.ExitRefused, wantInErr: "was rolled back by " + backendtest.StagingBack},
		{name: "promote a release that succeeded", args: []string{"promote", "--from", "staging", "--to", "production", "--version", "v1"},
			setup: func(f *backendtest.Fake) {
				backendtest.Seed(t, f)
				f.StartFunc = f.Finish(contract.StatusSucceeded, "", "")
			}, wantCode: factory.ExitOK},
		{name: "show an unknown deployment", args: []string{"show", "nope"}, wantCode: factory.ExitUsage},
		{name: "reject without a reason", args: []string{"reject", "x"}, wantCode: factory.ExitUsage},
		{name: "approve a deployment that asked for none", args: []string{"approve", backendtest.StagingV1},
			setup: func(f *backendtest.Fake) { backendtest.Seed(t, f) }, wantCode: factory.ExitUsage, wantInErr: "has no approval request"},
		{name: "approve a deployment that ended", args: []string{"approve", backendtest.ProductionV1},
			setup: func(f *backendtest.Fake) { backendtest.Seed(t, f) }, wantCode: factory.ExitRefused},
		{name: "lock acquire over someone else's lock", args: []string{"lock", "acquire", "--env", "staging", "-m", "mine"},
			setup: func(f *backendtest.Fake) {
				f.Store.Freeze(context.Background(), "shop", "staging", "grace", "hers", time.Now())
			}, wantCode: factory.ExitRefused, wantInErr: "already frozen by grace"},
		{name: "unlock without --force", args: []string{"unlock", "--env", "staging"}, wantCode: factory.ExitUsage},
		{name: "an unknown command", args: []string{"yeet"}, wantCode: factory.ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := backendtest.New(t)
			for _, v := range []string{"v1", "v2", "v3", "v4"} {
				fake.Published[v] = []byte(v)
			}
			if tt.setup != nil {
				tt.setup(fake)
			}
			io, _, errOut := backendtest.IO()
			f := &factory.Factory{IO: io, Backend: fake.Open}
			if tt.openErr != nil {
				f.Backend = func(context.Context) (backend.Backend, error) { return nil, tt.openErr }
			}
			if code := Run(context.Background(), f, tt.args); code != tt.wantCode {
				t.Fatalf("slipway %s = exit %d, want %d; stderr:\n%s", strings.Join(tt.args, " "), code, tt.wantCode, errOut)
			}
			if tt.wantCode == factory.ExitOK {
				return
			}
			stderr := errOut.String()
			if !strings.Contains(stderr, "error: ") || !strings.Contains(stderr, tt.wantInErr) {
				t.Errorf("slipway %s: stderr %q, want an error naming %q", strings.Join(tt.args, " "), stderr, tt.wantInErr)
			}
			if tt.wantCode != factory.ExitUsage && tt.wantCode != factory.ExitFailed && !strings.Contains(stderr, "hint: ") {
				t.Errorf("slipway %s: stderr %q has no hint of what to do next", strings.Join(tt.args, " "), stderr)
			}
		})
	}
}

// TestApproveAndRejectResumeTheExecution decides a waiting approval and
// checks the ledger's decision, its step and what the backend was asked.
func TestApproveAndRejectResumeTheExecution(t *testing.T) {
	ctx := context.Background()
	for _, decision := range []string{ledger.ApprovalApproved, ledger.ApprovalRejected} {
		t.Run(decision, func(t *testing.T) {
			fake := backendtest.New(t)
			id := "production-v2-x"
			fake.Store.PutDeployment(ctx, ledger.Deployment{ID: id, App: "shop", Environment: "production", Version: "v2", Kind: "deploy", Status: contract.StatusRunning, StartedAt: backendtest.T0})
			fake.Store.PutApproval(ctx, ledger.Approval{App: "shop", Environment: "production", DeploymentID: id, Version: "v2", Token: "tok", RequestedAt: backendtest.T0})
			io, out, errOut := backendtest.IO()
			args := []string{"approve", id, "--as", "grace", "--reason", "checked"}
			if decision == ledger.ApprovalRejected {
				args[0] = "reject"
			}
			if code := Run(ctx, &factory.Factory{IO: io, Backend: fake.Open}, args); code != 0 {
				t.Fatalf("%v = exit %d: %s", args, code, errOut)
			}
			a, _ := fake.Store.GetApproval(ctx, "shop", "production", id)
			if a.Decision != decision || a.DecidedBy != "grace" || a.Reason != "checked" {
				t.Errorf("approval = %+v, want %s by grace: checked", a, decision)
			}
			if len(fake.Resumed) != 1 || fake.Resumed[0].Token != "tok" || fake.Resumed[0].Decision != decision {
				t.Errorf("backend resumed %+v, want the token with the decision", fake.Resumed)
			}
			steps, _ := fake.Store.Steps(ctx, id)
			if len(steps) != 1 || steps[0].Stage != "approval" || !strings.Contains(steps[0].Message, "by grace: checked") {
				t.Errorf("steps = %+v, want the decision recorded as an approval step", steps)
			}
			if !strings.Contains(out.String(), "deployment "+id) {
				t.Errorf("output %q does not name the deployment", out)
			}
		})
	}
	t.Run("the execution cannot be told", func(t *testing.T) {
		fake := backendtest.New(t)
		fake.ResumeErr = &smithy.GenericAPIError{Code: "TaskTimedOut", Message: "Task Timed Out"}
		fake.Store.PutDeployment(ctx, ledger.Deployment{ID: "d", App: "shop", Environment: "production", Kind: "deploy", Status: contract.StatusRunning})
		fake.Store.PutApproval(ctx, ledger.Approval{App: "shop", Environment: "production", DeploymentID: "d", Token: "tok"})
		io, _, errOut := backendtest.IO()
		if code := Run(ctx, &factory.Factory{IO: io, Backend: fake.Open}, []string{"approve", "d"}); code != factory.ExitFailed {
			t.Errorf("approve with a timed-out token = exit %d (%s), want 1", code, errOut)
		}
	})
}

// TestUnlockForceRecordsWhoseLease breaks a lease and checks the event.
func TestUnlockForceRecordsWhoseLease(t *testing.T) {
	ctx := context.Background()
	fake := backendtest.New(t)
	if _, err := fake.Store.AcquireLease(ctx, "shop", "staging", "arn:exec:1", "staging-v2-x", time.Hour, time.Now()); err != nil {
		t.Fatal(err)
	}
	io, out, errOut := backendtest.IO()
	if code := Run(ctx, &factory.Factory{IO: io, Backend: fake.Open}, []string{"unlock", "--env", "staging", "--force", "--as", "grace", "--reason", "aborted"}); code != 0 {
		t.Fatalf("unlock = exit %d: %s", code, errOut)
	}
	if !strings.Contains(out.String(), "staging-v2-x") || !strings.Contains(out.String(), "arn:exec:1") {
		t.Errorf("unlock output %q does not say whose lease it broke", out)
	}
	locks, _ := fake.Store.Locks(ctx, "shop", "staging")
	evs, _ := fake.Store.Events(ctx, "shop", "staging", 0)
	if len(locks) != 0 || len(evs) != 1 || evs[0].Kind != "lease-broken" || evs[0].DeploymentID != "staging-v2-x" ||
		!strings.Contains(evs[0].Message, "grace broke the lease of deployment staging-v2-x") || !strings.Contains(evs[0].Message, "aborted") {
		t.Errorf("locks %+v, events %+v; want no lock and one lease-broken event naming grace, the deployment and the reason", locks, evs)
	}
}

func TestMissingAWSSettingsSayWhereToFindThem(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"no configuration", map[string]string{}, "SLIPWAY_CONFIG"},
		{"no table", map[string]string{"SLIPWAY_CONFIG": `{"app":"shop","environments":{"staging":{}}}`}, "LedgerTableName"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := backend.Open(context.Background(), backend.Options{Getenv: func(k string) string { return tt.env[k] }})
			var m *backend.MissingSettingError
			if !errors.As(err, &m) || !strings.Contains(m.Error()+m.Hint(), tt.want) {
				t.Errorf("Open() = %v, want a missing setting that names %s", err, tt.want)
			}
		})
	}
}

// TestErrorHints checks the suggestion that comes with a mistyped command
// line and with an AWS that cannot be reached.
func TestErrorHints(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		openErr  error
		wantCode int
		wantHint string
	}{
		{name: "a mistyped flag", args: []string{"deploy", "--evn", "staging", "--version", "v2"}, wantCode: factory.ExitUsage, wantHint: "hint: did you mean --env?"},
		{name: "a mistyped persistent flag", args: []string{"history", "--local-dri", "x"}, wantCode: factory.ExitUsage, wantHint: "hint: did you mean --local-dir?"},
		{name: "a mistyped command", args: []string{"deplyo"}, wantCode: factory.ExitUsage, wantHint: "Did you mean this?\n\tdeploy"},
		{name: "AWS does not resolve", args: []string{"history"}, openErr: fmt.Errorf("operation error DynamoDB: Query: %w", &net.DNSError{Err: "no such host", Name: "dynamodb.eu-west-1.amazonaws.com"}),
			wantCode: factory.ExitFailed, wantHint: "hint: AWS could not be reached: check the network, the region"},
		{name: "no region", args: []string{"history"}, openErr: errors.New("operation error DynamoDB: Query, failed to resolve service endpoint, an AWS region is required, but was not found"),
			wantCode: factory.ExitFailed, wantHint: "hint: AWS could not be reached"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := backendtest.New(t)
			io, _, errOut := backendtest.IO()
			f := &factory.Factory{IO: io, Backend: fake.Open}
			if tt.openErr != nil {
				f.Backend = func(context.Context) (backend.Backend, error) { return nil, tt.openErr }
			}
			if code := Run(context.Background(), f, tt.args); code != tt.wantCode || !strings.Contains(errOut.String(), tt.wantHint) {
				t.Errorf("slipway %s = exit %d, stderr:\n%s\nwant exit %d and %q", strings.Join(tt.args, " "), code, errOut, tt.wantCode, tt.wantHint)
			}
		})
	}
}

// TestDeployJSON prints a deployment's outcome as JSON on stdout, its
// progress on stderr, with the exit status of the outcome.
func TestDeployJSON(t *testing.T) {
	tests := []struct {
		name               string
		status, errName    string
		wantCode           int
		wantStatus, wantID string
	}{
		{"succeeded", contract.StatusSucceeded, "", factory.ExitOK, contract.StatusSucceeded, "staging-v2-"},
		{"rolled back", contract.StatusRolledBack, "HealthCheckFailed", factory.ExitFailed, contract.StatusRolledBack, "staging-v2-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := backendtest.New(t)
			fake.Published["v2"] = []byte("v2")
			fake.StartFunc = fake.Finish(tt.status, tt.errName, "why")
			io, out, errOut := backendtest.IO()
			code := Run(context.Background(), &factory.Factory{IO: io, Backend: fake.Open}, []string{"deploy", "--env", "staging", "--version", "v2", "--wait", "--json"})
			var got execute.JSON
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("deploy --json stdout is not JSON: %v\n%s", err, out)
			}
			if code != tt.wantCode || got.Status != tt.wantStatus || !strings.HasPrefix(got.ID, tt.wantID) || got.Environment != "staging" || got.Version != "v2" {
				t.Errorf("deploy --json = exit %d, %+v; want exit %d, status %s, id %s…, staging, v2", code, got, tt.wantCode, tt.wantStatus, tt.wantID)
			}
			if !strings.Contains(errOut.String(), "deploy v2 to staging on") {
				t.Errorf("deploy --json: the progress is not on stderr:\n%s", errOut)
			}
		})
	}
}

// TestPrintedCommandsCarryTargetFlags checks that the commands a deploy
// prints name the target as the command line did.
func TestPrintedCommandsCarryTargetFlags(t *testing.T) {
	fake := backendtest.New(t)
	fake.Published["v2"] = []byte("v2")
	fake.StartFunc = func(_ context.Context, _, name string, _ []byte, _ backend.StartOptions) (backend.Execution, error) {
		return backend.Execution{Name: name, ARN: "arn:x", Status: "RUNNING"}, nil
	}
	io, out, errOut := backendtest.IO()
	code := Run(context.Background(), &factory.Factory{IO: io, Backend: fake.Open}, []string{"deploy", "--env", "staging", "--version", "v2", "--region", "eu-west-1", "--profile", "ops"})
	want := "follow it with `slipway status --region eu-west-1 --profile ops`; when it ends, `slipway show staging-v2-"
	if code != 0 || !strings.Contains(out.String(), want) {
		t.Errorf("deploy without --wait = exit %d, stdout:\n%s%s\nwant %q", code, out, errOut, want)
	}
}
