package pipeline

import (
	"context"
	"fmt"
	"strings"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/manifest"
)

// Host resources, before the lock: every host is asked (the host script's
// status) what its release volume has free, in disk and inodes, and what
// memory is available; the deployment is refused, before it takes the
// lock or asks for an approval, when one has less than the preflight's
// HostFloor, naming the host and the figure.

// sendResourceCheck asks every target for its free resources.
func (h *Deploy) sendResourceCheck(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	id, err := h.Fleet.Send(ctx, in.Environment, fleet.Command{DeploymentID: in.DeploymentID, Action: fleet.ActionStatus, InstanceIDs: in.InstanceIDs})
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error { return Refuse("ask the hosts what disk and memory they have free: %s", m) })
	}
	return contract.DeployOutput{CommandID: id, Status: contract.CommandInProgress, Total: len(in.InstanceIDs), Pending: len(in.InstanceIDs)}, nil
}

// checkResources refuses the deployment when a host has less free than
// the floor. A host that cannot tell a figure (no inode limit, no
// /proc/meminfo) is not refused for it; one that does not answer is.
func (h *Deploy) checkResources(ctx context.Context, in contract.DeployInput) (contract.DeployOutput, error) {
	if in.HostFloor == nil {
		return contract.DeployOutput{}, fmt.Errorf("resources-poll: no host_floor in the input (Preflight sets it)")
	}
	res, err := h.Fleet.Status(ctx, in.CommandID)
	if err != nil {
		return contract.DeployOutput{}, Classify(err, func(m string) error { return Refuse("read what the hosts have free: %s", m) })
	}
	out := contract.DeployOutput{CommandID: in.CommandID, Status: contract.CommandInProgress, Total: len(in.InstanceIDs)}
	f := *in.HostFloor
	var short, shortIDs, unknown []string
	silent := statusReports(res, in.InstanceIDs, &out, func(id string, _ fleet.Invocation, rep fleet.Report) {
		var why []string
		switch {
		case rep.DiskFreeKB == nil:
			unknown = append(unknown, id+" (free disk)")
		case *rep.DiskFreeKB < f.DiskKB:
			why = append(why, fmt.Sprintf("%s free on its release volume (%s), needs %s: %s",
				kib(*rep.DiskFreeKB), rep.Root, kib(f.DiskKB), f.Need))
		}
		if f.Inodes > 0 {
			switch {
			case rep.InodesFree == nil:
				unknown = append(unknown, id+" (free inodes)")
			case *rep.InodesFree < f.Inodes:
				why = append(why, fmt.Sprintf("%d inodes free, below host.min_inodes %d", *rep.InodesFree, f.Inodes))
			}
		}
		if f.MemoryKB > 0 {
			switch {
			case rep.MemAvailableKB == nil:
				unknown = append(unknown, id+" (available memory)")
			case *rep.MemAvailableKB < f.MemoryKB:
				why = append(why, fmt.Sprintf("%s of memory available, below host.min_memory %s", kib(*rep.MemAvailableKB), kib(f.MemoryKB)))
			}
		}
		if len(why) > 0 {
			short = append(short, id+" has "+strings.Join(why, "; "))
			shortIDs = append(shortIDs, id)
		}
	})
	if out.Pending > 0 {
		return out, nil
	}
	out.Status = contract.CommandSuccess
	detail := contract.HostResources{Kind: contract.DetailHostResources, Floor: f, Short: shortIDs, Unreachable: silent, Unknown: unknown}
	switch {
	case len(silent) > 0:
		msg := fmt.Sprintf("hosts did not say what they have free: %s; bring them back or take them out of the target tags, then deploy again", List(silent))
		h.Step(ctx, in.DeploymentID, contract.StagePreflight, StepFailed, msg, detail)
		return out, Refuse("%s", msg)
	case len(short) > 0:
		msg := fmt.Sprintf("%s; free space on the host (`slipway-host.sh prune` removes old releases; lower keep_releases), or lower the floor in %s (host:), then deploy again",
			strings.Join(short, "; "), manifest.FileName)
		h.Step(ctx, in.DeploymentID, contract.StagePreflight, StepFailed, msg, detail)
		return out, Refuse("%s", msg)
	}
	msg := fmt.Sprintf("every host has the room %s needs: at least %s free on its release volume (%s)", in.Version, kib(f.DiskKB), f.Need)
	if len(unknown) > 0 {
		msg += "; not known, so not checked: " + List(unknown)
	}
	h.Step(ctx, in.DeploymentID, contract.StagePreflight, StepOK, msg, detail)
	return out, nil
}

// kib writes a figure in KiB as a size.
func kib(v int64) string { return manifest.Size(v * 1024).String() }
