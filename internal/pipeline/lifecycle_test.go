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
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
	"github.com/slipway-deploy/slipway/internal/traffic/traffictest"
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

// TestSideRelease: an instance launched by a blue/green side's group gets
// that side's release: what serves on the side with the traffic; on the
// idle side, what a running deployment deploys to it, else the release it
// was kept warm on, else what serves.
func TestSideRelease(t *testing.T) {
	ctx := context.Background()
	bg := &config.BlueGreen{Listener: "lst", Blue: config.Side{TargetGroup: "tg-blue", AutoScalingGroups: []string{"asg-blue"}},
		Green: config.Side{TargetGroup: "tg-green", AutoScalingGroups: []string{"asg-green"}}}
	led := pipelinetest.Ledger(t)
	tr := traffictest.New().AddGroup("tg-blue", traffictest.Group{}).AddGroup("tg-green", traffictest.Group{})
	tr.SetWeightsOf("lst", map[string]int{"tg-blue": 0, "tg-green": 100})
	h := &Lifecycle{Deps: &Deps{Ledger: led, Traffic: tr}}
	v1 := ledger.Deployment{ID: "d-1", App: "demo", Environment: "production", Kind: contract.KindDeploy, Version: "v1", Status: contract.StatusSucceeded}
	v2 := ledger.Deployment{ID: "d-2", App: "demo", Environment: "production", Kind: contract.KindDeploy, Version: "v2", PreviousVersion: "v1", Status: contract.StatusSucceeded}
	ds := []ledger.Deployment{v2, v1}

	check := func(name, side string, ds []ledger.Deployment, rollout bool, wantVersion, wantDeployment, wantNote string) {
		t.Helper()
		v, id, _, note, err := h.sideRelease(ctx, bg, side, ds, rollout)
		if err != nil || v != wantVersion || id != wantDeployment || !strings.Contains(note, wantNote) {
			t.Errorf("%s: sideRelease(%s) = %q, %q, %q, %v; want %s, %q, saying %q", name, side, v, id, note, err, wantVersion, wantDeployment, wantNote)
		}
	}
	check("serving side", config.Green, ds, false, "v2", "", "green side serves")
	check("idle side, nothing kept warm", config.Blue, ds, false, "v2", "", "blue side is idle")
	h.Step(ctx, "d-2", "rollout", StepInfo, "kept warm", WarmSide{Version: "v1", Until: time.Now().Add(time.Hour),
		BlueGreen: contract.BlueGreenState{Listener: "lst", Serving: config.Blue, Idle: config.Green, ServingGroup: "tg-blue", IdleGroup: "tg-green"}})
	check("idle side kept warm", config.Blue, ds, false, "v1", "", "kept warm on v1")
	d3 := ledger.Deployment{ID: "d-3", App: "demo", Environment: "production", Kind: contract.KindDeploy, Version: "v3", PreviousVersion: "v2", Status: contract.StatusRunning}
	check("idle side during a rollout", config.Blue, append([]ledger.Deployment{d3}, ds...), true, "v3", "d-3", "deploying to the idle blue side")
	check("serving side during a rollout", config.Green, append([]ledger.Deployment{d3}, ds...), true, "v2", "", "green side serves")
	h.Traffic = nil
	if _, _, _, _, err := h.sideRelease(ctx, bg, config.Blue, ds, false); err == nil {
		t.Error("sideRelease without a load balancer client: no error")
	}
}

// TestLaunchGetsTraffic: a launched instance runs the release's
// before_traffic only where a load balancer will send it traffic: an
// environment with target groups, or the blue/green side the listener
// serves; not the idle side (its before_traffic runs when a deployment
// goes to it), nor an environment without a load balancer.
func TestLaunchGetsTraffic(t *testing.T) {
	ctx := context.Background()
	bg := &config.BlueGreen{Listener: "lst", Blue: config.Side{TargetGroup: "tg-blue", AutoScalingGroups: []string{"asg-blue"}},
		Green: config.Side{TargetGroup: "tg-green", AutoScalingGroups: []string{"asg-green"}}}
	tr := traffictest.New().AddGroup("tg-blue", traffictest.Group{}).AddGroup("tg-green", traffictest.Group{})
	tr.SetWeightsOf("lst", map[string]int{"tg-blue": 0, "tg-green": 100})
	h := &Lifecycle{Deps: &Deps{Traffic: tr}}
	for _, tt := range []struct {
		name string
		env  *config.Environment
		side string
		want bool
	}{
		{"target groups", &config.Environment{TargetGroups: []string{"tg-web"}}, "", true},
		{"no load balancer", &config.Environment{}, "", false},
		{"unknown environment", nil, "", false},
		{"the side the listener serves", &config.Environment{BlueGreen: bg}, config.Green, true},
		{"the idle side", &config.Environment{BlueGreen: bg}, config.Blue, false},
	} {
		if got := h.getsTraffic(ctx, tt.env, tt.side); got != tt.want {
			t.Errorf("%s: getsTraffic = %v, want %v", tt.name, got, tt.want)
		}
	}
	h.Traffic = nil
	if h.getsTraffic(ctx, &config.Environment{BlueGreen: bg}, config.Green) {
		t.Error("getsTraffic without a load balancer client to read the listener = true, want false")
	}
}
