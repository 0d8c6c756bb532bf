package pipeline_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
)

// TestCheckResources: CheckResources refuses, naming the host and the
// figure, a host with less free disk than the floor, fewer inodes or less
// memory than the manifest's floors; a figure the host cannot tell is
// noted, not refused; a host that does not answer is refused.
func TestCheckResources(t *testing.T) {
	n := func(v int64) *int64 { return &v }
	status := func(id string, disk, inodes, mem *int64) fleet.Invocation {
		rep := fmt.Sprintf(`{"action":"status","root":"/opt/demo","disk_free_kb":%s,"inodes_free":%s,"mem_available_kb":%s}`, js(disk), js(inodes), js(mem))
		return fleet.Invocation{InstanceID: id, Status: fleet.StatusSuccess, Output: rep}
	}
	floor := &contract.HostFloor{DiskKB: 200 * 1024, Need: "90MiB unpacked + 10MiB bundle + 100MiB margin (host.disk_margin)", MemoryKB: 512 * 1024, Inodes: 1000}
	tests := []struct {
		name      string
		invs      []fleet.Invocation
		cmdStatus string
		wantErr   string
		wantInMsg []string
		notInMsg  string
	}{
		{name: "every host has room", invs: []fleet.Invocation{status("a", n(300*1024), n(5000), n(1<<20)), status("b", n(200*1024), n(1000), n(512*1024))},
			wantInMsg: []string{"every host has the room v2 needs: at least 200MiB free on its release volume"}},
		{name: "a host short of disk", invs: []fleet.Invocation{status("a", n(300*1024), n(5000), n(1<<20)), status("b", n(150*1024), n(5000), n(1<<20))},
			wantErr: "PreflightFailed", wantInMsg: []string{"b has 150MiB free on its release volume (/opt/demo), needs 200MiB: 90MiB unpacked + 10MiB bundle + 100MiB margin (host.disk_margin)"}, notInMsg: "a has"},
		{name: "inodes and memory below the floors", invs: []fleet.Invocation{status("a", n(300*1024), n(999), n(100*1024)), status("b", n(300*1024), n(5000), n(1<<20))},
			wantErr: "PreflightFailed", wantInMsg: []string{"a has 999 inodes free, below host.min_inodes 1000; 100MiB of memory available, below host.min_memory 512MiB"}},
		{name: "figures a host cannot tell are noted", invs: []fleet.Invocation{status("a", n(300*1024), nil, nil), status("b", n(300*1024), n(5000), n(1<<20))},
			wantInMsg: []string{"not known, so not checked: a (free inodes), a (available memory)"}},
		{name: "a host that does not answer", cmdStatus: "Failed", invs: []fleet.Invocation{status("a", n(300*1024), n(5000), n(1<<20)), {InstanceID: "b", Status: "TimedOut"}},
			wantErr: "PreflightFailed", wantInMsg: []string{"hosts did not say what they have free: b (TimedOut)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.cmdStatus
			if st == "" {
				st = fleet.StatusSuccess
			}
			f := &pipelinetest.Fleet{Results: map[string]fleet.CommandResult{"res": {Status: st, Invocations: tt.invs}}}
			d, led := deps(t, f)
			h := &pipeline.Deploy{Deps: d}
			out, err := h.Handle(context.Background(), contract.DeployInput{Action: contract.DeployResourcesPoll, DeploymentID: "dep-1", App: "demo", Environment: "staging",
				Version: "v2", InstanceIDs: []string{"a", "b"}, CommandID: "res", HostFloor: floor})
			if name := errorName(err); name != tt.wantErr {
				t.Fatalf("CheckResources error = %v (%s), want %q", err, name, tt.wantErr)
			}
			if out.Status != contract.CommandSuccess {
				t.Errorf("CheckResources status = %s, want %s", out.Status, contract.CommandSuccess)
			}
			steps, _ := led.Steps(context.Background(), "dep-1")
			if len(steps) != 1 {
				t.Fatalf("CheckResources wrote %d steps, want 1", len(steps))
			}
			for _, w := range tt.wantInMsg {
				if !strings.Contains(steps[0].Message, w) {
					t.Errorf("CheckResources step = %q, want it to say %q", steps[0].Message, w)
				}
			}
			if tt.notInMsg != "" && strings.Contains(steps[0].Message, tt.notInMsg) {
				t.Errorf("CheckResources step = %q, want it not to say %q", steps[0].Message, tt.notInMsg)
			}
		})
	}
}

func js(v *int64) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(*v)
}
