package pipeline

import (
	"context"
	"os"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// TestCloserClosesWhatEndedOutsideACatch checks the execution-status rule's
// closer on the sample events: a record left RUNNING by an execution that
// timed out, was stopped or failed outside a Catch is closed from
// observation and its lease released; a final record is left alone.
func TestCloserClosesWhatEndedOutsideACatch(t *testing.T) {
	raw, err := os.ReadFile("../../events/states/deploy-failed.json")
	if err != nil {
		t.Fatal(err)
	}
	base, err := ParseExecutionStatusChange(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		status, final, wantAction, wantError string
	}{
		{status: "TIMED_OUT", wantAction: "closed", wantError: TimedOutError},
		{status: "ABORTED", wantAction: "closed", wantError: StoppedError},
		{status: "FAILED", wantAction: "closed", wantError: AbandonedError},
		{status: "FAILED", final: contract.StatusRolledBack, wantAction: "checked"},
		{status: "SUCCEEDED", wantAction: "ignored"},
	} {
		t.Run(tt.status+"/"+tt.final, func(t *testing.T) {
			h, led, _ := lockWorld(t, true)
			h.Fleet = noFleet{}
			ctx := context.Background()
			ev := base
			ev.Detail.Name, ev.Detail.ExecutionArn, ev.Detail.Status = "holder", "exec-holder", tt.status
			if tt.final != "" {
				led.UpdateDeployment(ctx, "holder", func(d *ledger.Deployment) error { d.Status = tt.final; return nil })
			}
			out, err := (&Closer{Deps: h.Deps}).Handle(ctx, ev)
			if err != nil || out.Action != tt.wantAction {
				t.Fatalf("Handle() = %+v, %v; want %s", out, err, tt.wantAction)
			}
			d, _ := led.GetDeployment(ctx, "holder")
			locks, _ := led.Locks(ctx, "demo", "staging")
			if tt.wantAction == "closed" {
				if !d.Final() || d.Error != tt.wantError || len(locks) != 0 || d.Observed == nil {
					t.Errorf("record = %s %s, observed %v, locks %+v; want it closed with %s, observed, the lease released", d.Status, d.Error, d.Observed != nil, locks, tt.wantError)
				}
				return
			}
			if len(locks) != 1 || (tt.final == "" && d.Status != contract.StatusRunning) {
				t.Errorf("an ignored event changed the record (%s) or the lease (%+v)", d.Status, locks)
			}
		})
	}
}
