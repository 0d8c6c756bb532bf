package localenv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/slipway-deploy/slipway/internal/ledger"
)

// run is runs/<deployment id>.json: which process runs an execution of the
// embedded engine. Step Functions knows whether an execution still runs;
// locally, the process that runs it is the execution, so its liveness is
// the execution's.
type run struct {
	PID int `json:"pid"`
	// Start is the process's start time in clock ticks since boot
	// (/proc/<pid>/stat), so that a recycled pid is not taken for it.
	Start string `json:"start,omitempty"`
}

func (e *Env) runPath(id string) string { return filepath.Join(e.Root, "runs", id+".json") }

// markRunning records that this process runs execution id.
func (e *Env) markRunning(id string) error {
	if err := os.MkdirAll(filepath.Join(e.Root, "runs"), 0o755); err != nil {
		return fmt.Errorf("record the runner of %s: %w", id, err)
	}
	b, _ := json.Marshal(run{PID: os.Getpid(), Start: procStart(os.Getpid())})
	tmp := e.runPath(id) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("record the runner of %s: %w", id, err)
	}
	return os.Rename(tmp, e.runPath(id))
}

// markDone removes the record of execution id's runner.
func (e *Env) markDone(id string) { os.Remove(e.runPath(id)) }

// alive reports whether the process that runs deployment d's execution is
// still there. A record with no runner file was left by a process that is
// gone.
func (e *Env) alive(_ context.Context, d ledger.Deployment) (bool, error) {
	b, err := os.ReadFile(e.runPath(d.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var r run
	if err := json.Unmarshal(b, &r); err != nil || r.PID <= 0 {
		return false, nil
	}
	return processAlive(r.PID, r.Start), nil
}

// processAlive reports whether process pid exists, is not a zombie, and
// (where /proc says) started at start.
func processAlive(pid int, start string) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true // no /proc: trust the signal
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X") {
		return false
	}
	return start == "" || len(fields) < 20 || fields[19] == start
}

// procStart returns process pid's start time from /proc, "" where unknown.
func procStart(pid int) string {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(fields) < 20 {
		return ""
	}
	return fields[19]
}

// CloseAbandoned closes the records of the environment's deployments that
// are RUNNING while no process runs them (a `slipway deploy` that was
// killed), from what the fleet is observed to be, and releases their
// leases. `slipway status` and `slipway history` call it, so that they
// never show a dead execution as RUNNING. It returns the ids it closed.
func (e *Env) CloseAbandoned(ctx context.Context, env string) ([]string, error) {
	ds, err := e.Ledger.ListDeployments(ctx, e.Config.App, env, 200)
	if err != nil {
		return nil, err
	}
	var closed []string
	for _, d := range ds {
		if d.Final() {
			continue
		}
		alive, err := e.alive(ctx, d)
		if err != nil || alive {
			continue
		}
		why := "its process is gone (killed, or the machine stopped); found by `slipway status`"
		if _, err := e.Deps.CloseUnfinished(ctx, d, contractAbandoned(why), nil); err != nil {
			return closed, fmt.Errorf("close abandoned deployment %s: %w", d.ID, err)
		}
		closed = append(closed, d.ID)
	}
	return closed, nil
}
