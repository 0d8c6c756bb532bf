package lambdaenvtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/execution"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/ledger/ledgertest"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/notify"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/schema"
	"github.com/slipway-deploy/slipway/internal/secret"
	"github.com/slipway-deploy/slipway/internal/snapshot"
	"github.com/slipway-deploy/slipway/internal/snapshot/awsrds"
	"github.com/slipway-deploy/slipway/internal/traffic/elbv2"
	"github.com/slipway-deploy/slipway/statemachine"
)

var update = flag.Bool("update", false, "rewrite infra/stack/testdata/operations/<function>.json from the calls recorded")

// Scenario is something that happens in a world, beyond the standard
// ones: invoke calls the function under test with a JSON payload, as
// Lambda would.
type Scenario struct {
	Name string
	Run  func(ctx context.Context, t *testing.T, w *World, invoke func(payload []byte) ([]byte, error))
}

// Operations is the test of one function's AWS calls. build is the
// function's own wiring (its main's handler function) returning the
// handler it passes to lambda.Start; it gets an environment whose every
// client records its calls. Operations then runs the standard scenarios
// in a fresh World with that handler in place of the function's (see
// Run), then the extra ones, and compares the calls with the function's
// operations file, infra/stack/testdata/operations/<name>.json, which the
// infra module checks against the function's IAM role. With -update it
// rewrites the file instead.
func Operations(t *testing.T, name string, build func(*lambdaenv.Env) (any, error), extra ...Scenario) {
	t.Helper()
	w := NewWorld(t)
	rec := &Recorder{Account: Account}
	h, err := build(w.Env(t, rec))
	if err != nil {
		t.Fatalf("build the %s handler: %v", name, err)
	}
	w.Run(t, name, h)
	invoke := lambda.NewHandler(h)
	for _, s := range extra {
		t.Run(s.Name, func(t *testing.T) {
			s.Run(context.Background(), t, w, func(p []byte) ([]byte, error) { return invoke.Invoke(context.Background(), p) })
		})
	}
	w.CheckOperations(t, name, rec)
}

// Run runs the standard scenarios with handler standing in for function
// name; the other functions run with the same adapters on clients nobody
// records. On staging (an RDS instance): v1 deploys; v3 deploys; a
// rollback returns staging to v1; v2 fails its health check and rolls
// back, reverting its migration; a deployment is refused because a person
// froze staging; v3 deploys again. On production (an Aurora
// cluster): v1 deploys after its approval; v2, approved, fails and rolls
// back; then, blue/green (rollout.strategy blue-green), bg3 goes to the
// idle green side and the listener shifts to it in two steps, and bg2
// goes to blue, its alarm fires in the first step's bake and the listener
// is switched back to green. Each deployment with pending
// migrations snapshots the database and prunes old snapshots. A function
// that no definition calls is a trigger: every sample event under
// events/ but the manual inputs is then delivered to it, twice (EventBridge
// delivers at least once); one behind a Function URL (its handler takes
// events.LambdaFunctionURLRequest) gets the requests under events/github
// instead, twice too (GitHub redelivers).
func (w *World) Run(t *testing.T, name string, handler any) {
	t.Helper()
	ctx := context.Background()
	handlers := pipeline.Handlers(w.deps(t), w.port)
	handlers["migrate"] = (&schema.Migrate{Deps: w.deps(t)}).Handle
	_, stage := handlers[name]
	if stage {
		handlers[name] = handler
	}
	resolver := asl.Handlers{}
	subs := map[string]string{}
	for _, f := range pipeline.Functions {
		h, ok := handlers[f.Name]
		if !ok {
			t.Fatalf("no handler for function %s", f.Name)
		}
		arn := fmt.Sprintf("arn:aws:lambda:%s:%s:function:slipway-demo-%s", Region, Account, f.Name)
		resolver[arn] = lambda.NewHandler(h)
		subs[f.Placeholder] = arn
	}
	// A person froze staging: the deployment is refused at the lock. The
	// lease transaction's cancellation reasons come without the item that
	// blocked it, so the ledger reads the locks to name the holder.
	freeze := func() {
		if err := w.ledger(t).Freeze(ctx, App, "staging", "ada", "incident", time.Now()); err != nil {
			t.Fatal(err)
		}
		var once sync.Once
		w.Dynamo.Intercept(func(c ledgertest.FakeCall) *ledgertest.FakeReply {
			answered := false
			if c.Op == "TransactWriteItems" {
				once.Do(func() { answered = true })
			}
			if !answered {
				return nil
			}
			return &ledgertest.FakeReply{Status: 400, Body: `{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException",` +
				`"Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]",` +
				`"CancellationReasons":[{"Code":"ConditionalCheckFailed","Message":"The conditional request failed"},{"Code":"None"}]}`}
		})
	}
	unfreeze := func() {
		w.Dynamo.Intercept(nil)
		if _, err := w.ledger(t).Unfreeze(ctx, App, "staging"); err != nil {
			t.Fatal(err)
		}
	}
	// Which side the production listener sends everything to.
	sideServes := func(side, group string) func() {
		return func() {
			if got := w.elb.Weights[productionListener]; got[group] != "100" {
				t.Fatalf("production's listener forwards %v, want all to %s (%s)", got, side, group)
			}
		}
	}
	greenServes, blueServes := sideServes("green", productionGreen), sideServes("blue", productionBlue)
	listenerCalls := func(want int) {
		n := 0
		for _, r := range w.elb.Requests {
			if r.Get("Action") == "ModifyListener" {
				n++
			}
		}
		if n != want {
			t.Fatalf("%d ModifyListener calls so far, want %d", n, want)
		}
	}
	abandon := func(env, machine string) func() {
		return func() { w.Abandon(t, env, machine) }
	}
	runs := []struct {
		machine, execution string
		input              any
		want               string // the deployment's final status in the ledger
		before, after      func()
	}{
		{"deploy", "staging-v1", contract.DeployRequest{App: App, Environment: "staging", Version: "v1"}, contract.StatusSucceeded, nil, nil},
		{"deploy", "staging-v3", contract.DeployRequest{App: App, Environment: "staging", Version: "v3"}, contract.StatusSucceeded, nil, nil},
		{"rollback", "staging-rollback", contract.RollbackRequest{App: App, Environment: "staging"}, contract.StatusRolledBack, nil, nil},
		{"deploy", "staging-v2", contract.DeployRequest{App: App, Environment: "staging", Version: "v2"}, contract.StatusRolledBack, nil, nil},
		{"deploy", "staging-frozen", contract.DeployRequest{App: App, Environment: "staging", Version: "v3"}, contract.StatusFailed, freeze, unfreeze},
		// A deployment whose execution is gone (it timed out, was stopped,
		// or failed outside a Catch, and its closer did not run) still
		// holds the lease: the next one takes it over, closing its record
		// from what it observes.
		{"deploy", "staging-v3-again", contract.DeployRequest{App: App, Environment: "staging", Version: "v3"}, contract.StatusSucceeded, abandon("staging", "deploy"), nil},
		{"deploy", "production-v1", contract.DeployRequest{App: App, Environment: "production", Version: "v1"}, contract.StatusSucceeded, nil, nil},
		{"deploy", "production-v2", contract.DeployRequest{App: App, Environment: "production", Version: "v2"}, contract.StatusRolledBack, abandon("production", "rollback"), nil},
		// Blue/green on production. bg3 goes to the idle green side and
		// the listener shifts to it, blue kept warm on v1; but blue's
		// replaced instance (i-5) is in no group, so the rollback after it
		// cannot switch back and goes in place. bg2 goes to the idle blue
		// side (registering i-5), its alarm fires in its first step's
		// bake and the listener is switched back to green. bg3 again goes
		// to blue and shifts, green kept warm on v1, healthy: the rollback
		// after it is one switch of the listener back to green.
		{"deploy", "production-bg3", contract.DeployRequest{App: App, Environment: "production", Version: "bg3"}, contract.StatusSucceeded, nil, greenServes},
		{"rollback", "production-rollback-in-place", contract.RollbackRequest{App: App, Environment: "production"}, contract.StatusRolledBack, nil, func() {
			greenServes()
			listenerCalls(2)
			if !w.stepSays(t, "production-rollback-in-place", "i-00000000000000005 is not registered") {
				t.Fatal("the rollback after bg3 does not say why it could not switch back to blue")
			}
		}},
		{"deploy", "production-bg2", contract.DeployRequest{App: App, Environment: "production", Version: "bg2"}, contract.StatusRolledBack, nil, func() {
			greenServes()
			// bg3's two steps, then bg2's first step and its switch back.
			listenerCalls(4)
		}},
		{"deploy", "production-bg3-again", contract.DeployRequest{App: App, Environment: "production", Version: "bg3"}, contract.StatusSucceeded, nil, blueServes},
		{"rollback", "production-warm-rollback", contract.RollbackRequest{App: App, Environment: "production"}, contract.StatusRolledBack, nil, func() {
			greenServes()
			// bg3's two steps again, and the rollback's one switch.
			listenerCalls(7)
		}},
	}
	for _, r := range runs {
		definition := statemachine.Deploy
		if r.machine == "rollback" {
			definition = statemachine.Rollback
		}
		def, err := asl.Substitute(definition, subs)
		if err != nil {
			t.Fatalf("substitute the %s definition: %v (a new function? add it to pipeline.Functions)", r.machine, err)
		}
		sm, err := asl.Parse(def)
		if err != nil {
			t.Fatalf("parse the %s definition: %v", r.machine, err)
		}
		if r.before != nil {
			r.before()
		}
		in, _ := json.Marshal(r.input)
		cb := &asl.Callbacks{}
		cb.OnPending = func(p asl.PendingTask) { go w.approve(t, cb, p) }
		exec, err := asl.Run(ctx, sm, in, asl.Options{
			Resolver: resolver, Clock: asl.NewVirtualClock(time.Now()), Callbacks: cb,
			ExecutionName: r.execution, StateMachineName: "slipway-demo-" + r.machine, Region: Region, Account: Account,
		})
		if err != nil {
			t.Fatalf("run %s %s: %v", r.machine, r.execution, err)
		}
		d, err := w.ledger(t).GetDeployment(ctx, r.execution)
		if err != nil || d.Status != r.want {
			t.Fatalf("%s %s ended %s (%s: %s); its deployment is %q (%v), want %s: the scenario no longer takes the path it tests",
				r.machine, r.execution, exec.Status, exec.Error, exec.Cause, d.Status, err, r.want)
		}
		if r.after != nil {
			r.after()
		}
	}
	if stage {
		return
	}
	root := RepoRoot(t)
	files, _ := filepath.Glob(filepath.Join(root, "events", "*", "*.json"))
	sort.Strings(files)
	invoke := lambda.NewHandler(handler)
	// A function behind a Function URL takes the requests under
	// events/github, and EventBridge sends it nothing; the others take
	// every EventBridge event. Only what an EventBridge trigger made of
	// its events is kept: the infra check matches them with the rules.
	_, url := handler.(func(context.Context, events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error))
	if !url {
		w.routed = map[string]string{}
	}
	for _, f := range files {
		dir := filepath.Base(filepath.Dir(f))
		if dir == "manual" || (dir == "github") != url {
			continue
		}
		payload, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel := filepath.Base(filepath.Dir(f)) + "/" + filepath.Base(f)
		for i := range 2 {
			out, err := invoke.Invoke(ctx, payload)
			if i > 0 {
				continue
			}
			if url {
				continue
			}
			// What the router made of the event: the infra check wants a
			// rule to send it every event it acts on, and no other.
			var res struct {
				Action string `json:"action"`
			}
			switch {
			case err != nil:
				w.routed[rel] = "error"
			case json.Unmarshal(out, &res) == nil && res.Action != "":
				w.routed[rel] = res.Action
			default:
				w.routed[rel] = "done"
			}
		}
	}
}

// Abandon leaves, in env, a RUNNING deployment of machine whose execution
// Step Functions does not know (it timed out, was stopped or failed
// outside a Catch, and nothing closed its record), holding the lease, with
// an activation it sent still unread in the ledger: what the lock's
// takeover and the closer find. It returns the deployment's id.
func (w *World) Abandon(t testing.TB, env, machine string) string {
	t.Helper()
	ctx := context.Background()
	id := env + "-gone-" + machine
	exec := fmt.Sprintf("arn:aws:states:%s:%s:execution:slipway-demo-%s:%s", Region, Account, machine, id)
	kind := contract.KindDeploy
	if machine == "rollback" {
		kind = contract.KindRollback
	}
	l := w.ledger(t)
	if err := l.PutDeployment(ctx, ledger.Deployment{ID: id, App: App, Environment: env, Version: "v2", PreviousVersion: "v1",
		Kind: kind, Status: contract.StatusRunning, ExecutionID: exec, StartedAt: time.Now(), SchemaBefore: -1, SchemaAfter: -1}); err != nil {
		t.Fatal(err)
	}
	var ids, others []string
	for _, h := range w.ssm.hosts {
		switch {
		case h.env != env:
		case len(ids) == 0:
			ids = append(ids, h.id)
		default:
			others = append(others, h.id)
		}
	}
	// Its wave had taken another instance out of the environment's target
	// group (the detach step says so, written before the deregistration):
	// closing the record puts it back (pipeline's reattach).
	group := map[string]string{"staging": stagingGroup, "production": productionGroup}[env]
	if len(others) > 0 && group != "" {
		detached := others[len(others)-1]
		w.deps(t).Step(ctx, id, "rollout", pipeline.StepInfo, "wave 1: draining "+detached+" from "+group,
			pipeline.DetachRecord{Wave: 0, Detached: map[string][]string{group: {detached}}})
		delete(w.elb.Groups[group], detached)
	}
	d := w.deps(t)
	meta, err := d.Artifacts.Stat(ctx, App, "v2")
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := d.Fleet.Send(ctx, env, fleet.Command{DeploymentID: id, Action: fleet.ActionActivate, Version: "v2", ArtifactURI: meta.URI, SHA256: meta.SHA256, InstanceIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.PutInstanceResults(ctx, []ledger.InstanceResult{{DeploymentID: id, CommandID: cmd, InstanceID: ids[0], Action: fleet.ActionActivate,
		Version: "v2", Status: fleet.StatusPending, ExitCode: -1, StartedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.AcquireLease(ctx, App, env, exec, id, time.Hour, time.Now()); err != nil {
		t.Fatal(err)
	}
	return id
}

// stepSays reports whether a step of deployment id says what.
func (w *World) stepSays(t testing.TB, id, what string) bool {
	steps, err := w.ledger(t).Steps(context.Background(), id)
	if err != nil {
		return false
	}
	for _, s := range steps {
		if strings.Contains(s.Message, what) {
			return true
		}
	}
	return false
}

// TargetState is the state of instance id in env's target group on the
// ELBv2 fake ("" when it is not registered there).
func (w *World) TargetState(env, id string) string {
	group := map[string]string{"staging": stagingGroup, "production": productionGroup}[env]
	return w.elb.State(group, id)
}

// approve plays `slipway approve` for a deployment waiting for its
// approval: once the approval function has recorded the request, it
// completes the task token.
func (w *World) approve(t *testing.T, cb *asl.Callbacks, p asl.PendingTask) {
	var in struct {
		Payload struct {
			Environment string `json:"environment"`
		}
	}
	json.Unmarshal(p.Input, &in)
	for range 200 {
		a, err := w.ledger(t).GetApproval(context.Background(), App, in.Payload.Environment, p.ExecutionName)
		if err == nil && a.Token == p.Token {
			out, _ := json.Marshal(contract.ApprovalOutput{ApprovedBy: "ada", Reason: "scenario"})
			cb.SendTaskSuccess(p.Token, out)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	cb.SendTaskFailure(p.Token, "Rejected", "the approval request was never recorded")
}

// deps are the adapters of every function, on clients nobody records.
func (w *World) deps(t testing.TB) *pipeline.Deps {
	env := w.Env(t, nil)
	c := env.AWS
	rdsClient := rds.NewFromConfig(c)
	return &pipeline.Deps{
		Config: env.Config, Log: env.Log,
		Ledger:    &ledger.Dynamo{Client: dynamodb.NewFromConfig(c), Table: table},
		Artifacts: &artifact.S3{Client: s3.NewFromConfig(c), Bucket: bucket},
		Fleet: &fleet.SSM{Client: ssm.NewFromConfig(c), DocumentName: document, OutputPrefix: lambdaenv.OutputPrefix,
			LogGroup: logGroup, TimeoutSeconds: 600, HealthPort: w.port},
		Secrets:     &secret.Manager{Client: secretsmanager.NewFromConfig(c)},
		ConfigStore: &appconfig.AWS{SSM: ssm.NewFromConfig(c), Secrets: secretsmanager.NewFromConfig(c)},
		OpenDB:      migrate.OpenDB,
		Snapshots: func(name string, e config.Environment) (pipeline.Snapshotter, error) {
			return &awsrds.RDS{Client: rdsClient, RDSDatabase: snapshot.RDSDatabase{DBInstance: e.DBInstance, DBCluster: e.DBCluster},
				Tags: map[string]string{"slipway:app": App, "slipway:env": name}}, nil
		},
		Prober:        health.NewProber(2 * time.Second),
		Alarms:        &health.CloudWatch{Client: cloudwatch.NewFromConfig(c)},
		CanaryMetrics: &health.CloudWatchCanary{Client: cloudwatch.NewFromConfig(c)},
		Notifier:      &notify.SNS{Client: sns.NewFromConfig(c), TopicARN: topicARN},
		MigrationPlan: schema.Plan,
		Alive:         (&execution.SFN{Client: sfn.NewFromConfig(c)}).Alive,
		SettleWait:    5 * time.Second,
		Traffic:       &elbv2.ELBv2{Client: elb.NewFromConfig(c)},
	}
}

// RepoRoot is the root of the Slipway repository (where go.mod names the
// module), at or above the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/slipway-deploy/slipway\n")) {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no Slipway repository at or above %s", dir)
		}
	}
}

// File is a function's operations file: what its handler calls on AWS in
// the scenarios, and the settings it ran with. The infra module reads it
// (infra/stack/operations_test.go).
type File struct {
	Function string `json:"function"`
	Note     string `json:"note"`
	// Settings are the environment variables that name AWS resources, as
	// the world set them; the infra check maps them to the stack's.
	Settings map[string]string `json:"settings"`
	// Operations are the calls, by IAM-prefixed operation name, with the
	// grants each needs: "action resource".
	Operations map[string][]string `json:"operations"`
	// ResourceTags are the tags of the world's instances, by ARN, for the
	// conditions on ssm:resourceTag/<key> that limit SendCommand.
	ResourceTags map[string]map[string]string `json:"resource_tags"`
	// Events are, for a function no definition calls (a trigger), what it
	// made of each sample event under events/ (its result's action, or
	// "error"): "ignored" and "error" are events it does not take.
	Events map[string]string `json:"events,omitempty"`
}

// OperationsPath is the operations file of a function.
func OperationsPath(root, function string) string {
	return filepath.Join(root, "infra", "stack", "testdata", "operations", function+".json")
}

// CheckOperations compares what rec recorded with the function's
// operations file, or rewrites the file with -update.
func (w *World) CheckOperations(t *testing.T, function string, rec *Recorder) {
	t.Helper()
	got := File{
		Function:     function,
		Note:         fmt.Sprintf("Written by `go test ./functions/%s -update` from the AWS calls its handler makes in the scenarios of internal/lambdaenv/lambdaenvtest; do not edit.", function),
		Settings:     settings,
		Operations:   map[string][]string{},
		ResourceTags: map[string]map[string]string{},
		Events:       w.routed,
	}
	for _, h := range w.ssm.hosts {
		got.ResourceTags[(arns{Region, Account}).arn("ec2", "instance/"+h.id)] = w.ssm.hostTags(h)
	}
	for op, gs := range rec.Operations() {
		for _, g := range gs {
			if g.Resource == Unknown {
				t.Errorf("%s: the recorder does not know the IAM resource of %s: add its input type to grants in internal/lambdaenv/lambdaenvtest/record.go", function, op)
			}
			got.Operations[op] = append(got.Operations[op], g.Action+" "+g.Resource)
		}
	}
	b, _ := json.MarshalIndent(got, "", "  ")
	b = append(b, '\n')
	path := OperationsPath(RepoRoot(t), function)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s does not exist: run go test ./functions/%s -update", path, function)
	}
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(old, b) {
		return
	}
	var want File
	json.Unmarshal(old, &want)
	t.Errorf("the AWS calls of %s changed: run go test ./functions/%s -update, then make infra-test (its role must allow them) (-file +recorded):\n%s",
		function, function, cmp.Diff(want, got))
}
