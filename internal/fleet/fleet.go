package fleet

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// Actions of the host script that a Command can name.
const (
	ActionActivate = "activate"
	ActionRollback = "rollback"
	ActionStatus   = "status"
	ActionPrune    = "prune"
	// ActionHook runs one traffic hook (Command.Hook) of the current
	// release, Command.Version.
	ActionHook = "hook"
)

// TrafficHook reports whether name is a hook the hook action runs:
// before_traffic or after_traffic.
func TrafficHook(name string) bool { return name == "before_traffic" || name == "after_traffic" }

// Invocation and command statuses. They are SSM Run Command's names.
const (
	StatusPending          = "Pending"
	StatusInProgress       = "InProgress"
	StatusSuccess          = "Success"
	StatusFailed           = "Failed"
	StatusTimedOut         = "TimedOut"
	StatusCancelled        = "Cancelled"
	StatusDeliveryTimedOut = "DeliveryTimedOut"
	StatusUndeliverable    = "Undeliverable"
	StatusTerminated       = "Terminated"
)

// Exit codes of the host script; its header documents each one.
const (
	ExitOK            = 0
	ExitInternal      = 1
	ExitUsage         = 2
	ExitChecksum      = 3
	ExitUnpack        = 4
	ExitRestart       = 5
	ExitHealth        = 6
	ExitMissingTarget = 7
	ExitLocked        = 8
	// ExitConfig: the release's configuration could not be resolved;
	// ExitConfigChanged: its values changed since Preflight fingerprinted
	// them.
	ExitConfig        = 9
	ExitConfigChanged = 10
	// ExitHook: a lifecycle hook of the release failed or timed out.
	ExitHook = 11
)

// MaxOutput is how many characters of an invocation's output are kept, as
// SSM keeps in StandardOutputContent; Slipway keeps the tail, where the
// script prints its result.
const MaxOutput = 24000

// Instance is a deploy target.
type Instance struct {
	// ID names the instance, e.g. "local-staging-1" or "i-0abc…".
	ID string `json:"id"`
	// Address is the host:port the app serves on, the HTTP probe's target.
	Address string `json:"address"`
	// Tags are the instance's tags; Slipway targets by app and env.
	Tags map[string]string `json:"tags"`
	// Online reports whether the instance can take commands (the SSM
	// agent's PingStatus is Online).
	Online bool `json:"online"`
}

// Command is what to run on instances: an action of the host script.
type Command struct {
	// DeploymentID names the deployment the command belongs to; the host
	// script records it in the host's history.
	DeploymentID string `json:"deployment_id"`
	// Action is ActionActivate, ActionRollback, ActionStatus, ActionHook
	// or ActionPrune.
	Action string `json:"action"`
	// Version is, for activate, the version to activate, for rollback,
	// the target ("" means the host's previous release), and for hook the
	// release whose hook runs (it must be current).
	Version string `json:"version"`
	// ArtifactURI locates the release bundle for activate:
	// file:///abs/path.tar.gz (embedded fleet) or s3://bucket/key (SSM).
	ArtifactURI string `json:"artifact_uri"`
	// SHA256 is the bundle's expected checksum, hex encoded.
	SHA256 string `json:"sha256"`
	// ConfigFingerprint is, for activate and rollback, the configuration
	// the release runs with (appconfig.Fingerprint); the host resolves it
	// unless it keeps it already, and refuses when the values it resolves
	// have another fingerprint. Empty: the release declares no
	// configuration (activate), or runs with the one it last ran with
	// (rollback). Values never travel in a Command.
	ConfigFingerprint string `json:"config_fingerprint,omitempty"`
	// ConfigEnv is the environment whose values the host resolves.
	ConfigEnv string `json:"config_env,omitempty"`
	// Hook is, for hook, the hook to run: before_traffic or after_traffic.
	Hook string `json:"hook,omitempty"`
	// Keep is, for prune, how many releases to keep; 0 means the host's
	// SLIPWAY_KEEP (5 unless its host.env says otherwise).
	Keep int `json:"keep,omitempty"`
	// InstanceIDs are the instances to run the command on.
	InstanceIDs []string `json:"instance_ids"`
}

// Invocation is the run of a command on one instance.
type Invocation struct {
	// InstanceID is the instance the command ran on.
	InstanceID string `json:"instance_id"`
	// Status is one of the Status constants.
	Status string `json:"status"`
	// ExitCode is the host script's exit code; -1 when it did not run to an
	// exit (not delivered, timed out, cancelled).
	ExitCode int `json:"exit_code"`
	// Output is the script's stdout and stderr, interleaved, truncated to
	// the last MaxOutput characters.
	Output string `json:"output"`
	// StartedAt is when the script started; zero while Pending.
	StartedAt time.Time `json:"started_at,omitzero"`
	// FinishedAt is when the invocation reached a final status.
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Final reports whether the invocation's status can no longer change.
func (inv Invocation) Final() bool {
	return Final(inv.Status)
}

// Report parses the JSON line the host script printed last in the
// invocation's output.
func (inv Invocation) Report() (Report, error) {
	return ParseReport(inv.Output)
}

// CommandResult is the state of a command across its instances.
type CommandResult struct {
	// CommandID names the command.
	CommandID string `json:"command_id"`
	// Status is InProgress until every invocation is final; then Success
	// if all of them succeeded, else Failed.
	Status string `json:"status"`
	// Invocations has one entry per instance, in the command's order.
	Invocations []Invocation `json:"invocations"`
}

// Final reports whether status is final: the invocation or command it
// describes will not change any more.
// Only the statuses SSM documents as terminal are: Delayed (the agent
// will retry) and Cancelling are not, nor is a status this package does
// not know.
func Final(status string) bool {
	switch status {
	case StatusSuccess, StatusFailed, StatusTimedOut, StatusCancelled, StatusDeliveryTimedOut, StatusUndeliverable, StatusTerminated:
		return true
	}
	return false
}

// Aggregate computes a command's status from its invocations: InProgress
// until every invocation is final, then Success if all succeeded, else
// Failed.
func Aggregate(invocations []Invocation) string {
	status := StatusSuccess
	for _, inv := range invocations {
		if !inv.Final() {
			return StatusInProgress
		}
		if inv.Status != StatusSuccess {
			status = StatusFailed
		}
	}
	return status
}

// Report is the JSON line the host script prints last on stdout, on
// success and on failure. Fields that an action does not print are zero.
type Report struct {
	// Action is the host script's action.
	Action string `json:"action"`
	// Version is the version activated or rolled back to.
	Version string `json:"version,omitempty"`
	// Previous is the host's previous release after the action.
	Previous string `json:"previous"`
	// Current is the host's current release after the action.
	Current string `json:"current"`
	// Changed reports whether the action switched or removed anything.
	Changed bool `json:"changed"`
	// Restarted reports whether activate or rollback restarted the app
	// (a switch, or a current release that was not healthy).
	Restarted bool `json:"restarted"`
	// SHA256 is, for status, the current release's artifact checksum.
	SHA256 string `json:"sha256,omitempty"`
	// Config is the fingerprint of the configuration the current release
	// runs with ("" for none).
	Config string `json:"config,omitempty"`
	// Serving is, for status, the version the app's local health endpoint
	// answered; Healthy whether it answered the expected status with the
	// current version; Health what was wrong when not.
	Serving string `json:"serving,omitempty"`
	Healthy bool   `json:"healthy"`
	Health  string `json:"health,omitempty"`
	// Busy is, for status, set when another run of the script kept the
	// host's lock: the report may describe a host in the middle of a change.
	Busy bool `json:"busy"`
	// DiskFreeKB and InodesFree are, for status, what the release volume
	// (the app root's file system) has free; MemAvailableKB the host's
	// available memory. Nil when the host cannot tell.
	DiskFreeKB     *int64 `json:"disk_free_kb,omitempty"`
	InodesFree     *int64 `json:"inodes_free,omitempty"`
	MemAvailableKB *int64 `json:"mem_available_kb,omitempty"`
	// Releases lists the complete releases, oldest install first (status).
	Releases []string `json:"releases,omitempty"`
	// Root is the host's app root (status).
	Root string `json:"root,omitempty"`
	// Keep is the number of releases prune kept at least.
	Keep int `json:"keep,omitempty"`
	// Removed lists the releases prune removed.
	Removed []string `json:"removed,omitempty"`
	// Kept lists the releases prune left.
	Kept []string `json:"kept,omitempty"`
	// Error says why the action failed; empty on success.
	Error string `json:"error,omitempty"`
	// ExitCode is the script's exit code when it failed.
	ExitCode int `json:"exit_code,omitempty"`
}

// ErrNoReport means an output holds no JSON line from the host script.
var ErrNoReport = errors.New("no host script report in output")

// ParseReport finds the last line of output that is a JSON object and
// decodes it as the host script's Report.
func ParseReport(output string) (Report, error) {
	lines := strings.Split(output, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var r Report
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			continue
		}
		return r, nil
	}
	return Report{}, ErrNoReport
}

// truncateOutput keeps the last limit characters of s.
func truncateOutput(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	r := []rune(s)
	if len(r) <= limit {
		return s
	}
	return string(r[len(r)-limit:])
}

// HookLines keeps, of a host command's output, what hook name printed (its
// lines, which the host script prefixes "hook NAME: ") and the host
// script's own lines about it ("hook NAME of VERSION: ...").
func HookLines(output, name string) string {
	var keep []string
	for _, l := range strings.Split(output, "\n") {
		if strings.HasPrefix(l, "hook "+name+": ") || strings.Contains(l, "slipway-host.sh: hook "+name+" of ") ||
			strings.Contains(l, "slipway-host.sh: error: hook "+name+" of ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}
