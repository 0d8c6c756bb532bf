package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/ledger"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
	"github.com/slipway-deploy/slipway/internal/notify"
	"github.com/slipway-deploy/slipway/internal/report"
)

type captured struct{ msgs []notify.Message }

func (c *captured) Notify(_ context.Context, m notify.Message) error {
	c.msgs = append(c.msgs, m)
	return nil
}

// TestRecordStoresTheReportAndSendsItsText checks that Record stores the
// six-section report in the ledger and sends its text to the topic.
func TestRecordStoresTheReportAndSendsItsText(t *testing.T) {
	ctx := context.Background()
	led, err := ledgersqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	t0 := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	n := &captured{}
	d := &Deps{Config: &config.Config{App: "shop", Environments: map[string]config.Environment{"staging": {}}}, Ledger: led, Notifier: n,
		Now: func() time.Time { return t0.Add(time.Minute) }}
	id := "staging-v2-x"
	if err := led.PutDeployment(ctx, ledger.Deployment{ID: id, App: "shop", Environment: "staging", Version: "v2", PreviousVersion: "v1",
		Kind: contract.KindDeploy, Status: contract.StatusRunning, StartedAt: t0, SchemaBefore: 1, SchemaAfter: -1}); err != nil {
		t.Fatal(err)
	}
	led.AddStep(ctx, ledger.Step{DeploymentID: id, Stage: "preflight", Status: "ok", Message: "deploy v2 to staging", At: t0.Add(time.Second)})
	req, _ := json.Marshal(contract.DeployRequest{App: "shop", Environment: "staging", Version: "v2"})
	st := contract.State{Request: req, Kind: contract.KindDeploy, DeploymentID: id, Preflight: &contract.PreflightOutput{
		App: "shop", Environment: "staging", Version: "v2", PreviousVersion: "v1", Instances: []string{"i-1"}, Waves: [][]string{{"i-1"}},
		Health: contract.HealthSpec{Path: "/healthz", ExpectStatus: 200, Successes: 2, IntervalSeconds: 1, MaxAttempts: 4}, Alarms: []string{"shop-5xx"},
		Migrations: contract.MigrationPlan{Current: 1, Target: 1, Pending: []int64{}}},
		Observation: &contract.Observation{Status: "Success", Fleet: &contract.FleetObservation{Total: 1, Versions: map[string]int{"v2": 1}, Uniform: "v2", Healthy: 1}}}
	out, err := (&Record{Deps: d}).Handle(ctx, st)
	if err != nil || out.Status != contract.StatusSucceeded {
		t.Fatalf("Record() = %+v, %v", out, err)
	}
	got, err := led.GetDeployment(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	r, ok := report.Parse(got.Report)
	if !ok || r.Outcome == nil || r.Outcome.Status != contract.StatusSucceeded || len(r.Steps) == 0 || r.DeploymentID != id {
		t.Fatalf("stored report = %s, want a report with the outcome and the steps", got.Report)
	}
	var unlock, record report.Step
	for _, s := range r.Steps {
		switch s.Stage {
		case "unlock":
			unlock = s
		case "record":
			record = s
		}
	}
	if record.Status != report.StatusOK || unlock.Status != report.StatusPlanned {
		t.Errorf("stored steps: record %s, unlock %s; want record ok and unlock still to come", record.Status, unlock.Status)
	}
	if len(n.msgs) != 1 {
		t.Fatalf("notifications = %d, want 1", len(n.msgs))
	}
	body := n.msgs[0].Body
	for _, want := range []string{"Deployment " + id, "Outcome: SUCCEEDED", "1. Deployment Plan", "2. Risk Assessment", "6. Monitoring Points", "Full report: slipway show " + id} {
		if !strings.Contains(body, want) {
			t.Errorf("notification body lacks %q:\n%s", want, body)
		}
	}
}

// TestPlanWritesNothing runs a plan through read-only adapters and checks
// that every write is refused, not performed.
func TestPlanWritesNothing(t *testing.T) {
	p := &PlanNotes{}
	l := roLedger{p: p}
	ctx := context.Background()
	for name, err := range map[string]error{
		"PutDeployment":      l.PutDeployment(ctx, ledger.Deployment{}),
		"PutInstanceResults": l.PutInstanceResults(ctx, nil),
		"PutApproval":        l.PutApproval(ctx, ledger.Approval{}),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s = %v, want ErrReadOnly", name, err)
		}
	}
	if _, err := l.AcquireLease(ctx, "a", "e", "o", "d", time.Hour, time.Now()); !errors.Is(err, ErrReadOnly) {
		t.Errorf("AcquireLease = %v, want ErrReadOnly", err)
	}
	if _, err := (roFleet{p: p}).Send(ctx, "e", fleetCommand()); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Send = %v, want ErrReadOnly", err)
	}
	if err := l.AddStep(ctx, ledger.Step{Message: "note"}); err != nil || len(p.steps) != 1 {
		t.Errorf("AddStep = %v, notes %v; want the step kept as a note", err, p.steps)
	}
}

func fleetCommand() fleet.Command { return fleet.Command{Action: "activate"} }
