package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/slipway-deploy/slipway/internal/autoscale"
	"github.com/slipway-deploy/slipway/internal/config"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
)

// recordedActions keeps the lifecycle actions a handler completes.
type recordedActions struct{ completed []string }

func (a *recordedActions) Complete(_ context.Context, act autoscale.Action, result string) error {
	a.completed = append(a.completed, act.InstanceID+" "+result)
	return nil
}

func (a *recordedActions) Heartbeat(context.Context, autoscale.Action) error { return nil }

func sampleEvent(t *testing.T, name string) events.EventBridgeEvent {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// TestLifecycleSampleEvents runs the sample Auto Scaling events through
// the lifecycle handler: a test notification is ignored, a malformed
// action, a group of no environment and an event of another kind are
// refused with an error that says why (the hook's default result, ABANDON,
// then applies), and a launch in an environment with no release yet is put
// into service as it is, recorded.
func TestLifecycleSampleEvents(t *testing.T) {
	led, err := ledgersqlite.Open(filepath.Join(t.TempDir(), "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { led.Close() })
	now := time.Date(2026, 11, 26, 2, 10, 41, 0, time.UTC)
	cfg := &config.Config{App: "demo", Environments: map[string]config.Environment{"staging": {AutoScalingGroups: []string{"demo-staging"}}}}
	ctx := context.Background()
	for _, tt := range []struct {
		event, wantAction, wantErr, wantCompleted string
	}{
		{event: "autoscaling/test-notification.json", wantAction: "ignored"},
		{event: "autoscaling/launch-malformed.json", wantErr: "lacks AutoScalingGroupName, LifecycleHookName or EC2InstanceId"},
		{event: "autoscaling/launch-other-group.json", wantErr: "Auto Scaling group batch-workers is not in any environment of demo"},
		{event: "alarm/alarm-to-alarm.json", wantErr: "is not an EC2 Instance-launch Lifecycle Action"},
		{event: "autoscaling/launch-staging.json", wantAction: autoscale.Continue, wantCompleted: "i-00000000000000001 CONTINUE"},
	} {
		t.Run(tt.event, func(t *testing.T) {
			acts := &recordedActions{}
			h := &Lifecycle{Deps: &Deps{Config: cfg, Ledger: led, Now: func() time.Time { return now }}, Actions: acts}
			res, err := h.Handle(ctx, sampleEvent(t, tt.event))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Handle() = %+v, %v; want an error saying %q", res, err, tt.wantErr)
				}
			} else if err != nil || res.Action != tt.wantAction {
				t.Fatalf("Handle() = %+v, %v; want %s", res, err, tt.wantAction)
			}
			if got := strings.Join(acts.completed, ","); got != tt.wantCompleted {
				t.Errorf("completed %q, want %q", got, tt.wantCompleted)
			}
		})
	}
	evs, err := led.Events(ctx, "demo", "staging", 10)
	if err != nil || len(evs) != 1 || evs[0].Kind != "scale-out-empty-environment" || !strings.Contains(evs[0].Message, "i-00000000000000001") {
		t.Fatalf("ledger events = %+v, %v; want the empty environment's scale-out recorded", evs, err)
	}
}
