package trigger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// Machines a Starter starts.
const (
	MachineDeploy   = "deploy"
	MachineRollback = "rollback"
)

// ErrAlreadyStarted is what a Starter returns when an execution of that
// name exists (Step Functions' ExecutionAlreadyExists, which it answers for
// 90 days after the execution closed): the names derive from what must
// start once (an event, a deployment to roll back), so for a redelivered
// event that is success.
var ErrAlreadyStarted = errors.New("execution already exists")

// Starter starts state machine executions.
type Starter interface {
	Start(ctx context.Context, machine, name string, input []byte) (executionID string, err error)
}

// Ledger is what the routers read and record.
type Ledger interface {
	ListDeployments(ctx context.Context, app, env string, limit int) ([]ledger.Deployment, error)
	AddEvent(ctx context.Context, e ledger.Event) error
	SetPending(ctx context.Context, p ledger.Pending) error
	GetPending(ctx context.Context, app, env string) (ledger.Pending, bool, error)
	ClearPending(ctx context.Context, app, env, version string) (bool, error)
}

// Artifacts finds published releases.
type Artifacts interface {
	Stat(ctx context.Context, app, version string) (contract.Artifact, error)
}

// Result says what a router did with an event.
type Result struct {
	Action       string `json:"action"` // started, already-started, no-artifact, ignored, ...
	Environment  string `json:"environment,omitempty"`
	Version      string `json:"version,omitempty"`
	Execution    string `json:"execution,omitempty"`
	DeploymentID string `json:"deployment_id,omitempty"`
	Message      string `json:"message"`
}

// EventError reports a malformed or unexpected event. EventBridge invokes
// the routers asynchronously: Lambda retries a failed invocation twice,
// then sends the event, with this text, to the function's failure queue
// (the stack's dead-letter queue; `slipway status` says when one waits).
type EventError struct {
	Message string
}

func (e *EventError) Error() string { return e.Message }

func badEvent(format string, a ...any) error {
	return &EventError{Message: fmt.Sprintf(format, a...)}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// Execution names: Step Functions allows 80 characters.
const (
	maxNameLen  = 80
	nameHashLen = 10 // hex digits of SHA-256: 40 bits
)

// executionName makes a valid, deterministic execution name from the parts
// that identify what it runs: a readable prefix (the shown parts, with
// characters Step Functions refuses replaced by "_" and cut to length),
// then a hash of every part as given. Two different sets of parts get
// different names although their prefixes may read the same ("v1.2" and
// "v1_2", ids that differ past the cut); the same parts get the same name.
func executionName(shown []string, hidden ...string) string {
	h := sha256.New()
	for _, p := range append(append([]string{}, shown...), hidden...) {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	sum := hex.EncodeToString(h.Sum(nil))[:nameHashLen]
	prefix := unsafeName.ReplaceAllString(strings.Join(shown, "-"), "_")
	if max := maxNameLen - 1 - nameHashLen; len(prefix) > max {
		prefix = prefix[:max]
	}
	return prefix + "-" + sum
}

// GitPush is the detail of the custom slipway.git "Git Push" event that a
// webhook relay or CI puts on the event bus.
type GitPush struct {
	Repository string `json:"repository"`
	Branch     string `json:"branch,omitempty"`
	Tag        string `json:"tag,omitempty"`
	Commit     string `json:"commit"`
	Pusher     string `json:"pusher,omitempty"`
	App        string `json:"app,omitempty"`
	// CommittedAt is when the commit was made, if the sender knows:
	// the deployment's trigger keeps it, for lead time.
	CommittedAt time.Time `json:"committed_at,omitzero"`
}

// CodeCommitChange is the detail of a CodeCommit "Repository State Change"
// event (the fields Slipway reads).
type CodeCommitChange struct {
	Event             string `json:"event"`
	ReferenceType     string `json:"referenceType"`
	ReferenceName     string `json:"referenceName"`
	ReferenceFullName string `json:"referenceFullName,omitempty"`
	CommitID          string `json:"commitId"`
	OldCommitID       string `json:"oldCommitId,omitempty"`
	RepositoryName    string `json:"repositoryName"`
	RepositoryID      string `json:"repositoryId,omitempty"`
	CallerUserArn     string `json:"callerUserArn,omitempty"`
}

// push is a push, whichever event carried it.
type push struct {
	repository, branch, commit, pusher, app string
	committedAt                             time.Time
}

// PushRouter starts deployments for git pushes.
type PushRouter struct {
	Config    *config.Config
	Ledger    Ledger
	Artifacts Artifacts
	Starter   Starter
	Now       func() time.Time
	Log       *slog.Logger
}

func (r *PushRouter) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func decodeStrict(raw json.RawMessage, v any) error {
	if len(raw) == 0 {
		return errors.New("the event has no detail")
	}
	return json.Unmarshal(raw, v)
}

// parsePush reads a push from either event.
func parsePush(ev events.EventBridgeEvent) (push, error) {
	switch {
	case ev.Source == "aws.codecommit" && ev.DetailType == "CodeCommit Repository State Change":
		var d CodeCommitChange
		if err := decodeStrict(ev.Detail, &d); err != nil {
			return push{}, badEvent("codecommit event %s: %v", ev.ID, err)
		}
		if d.ReferenceType != "branch" || (d.Event != "referenceUpdated" && d.Event != "referenceCreated") {
			return push{}, nil // a tag, or a branch deleted: not a push to deploy
		}
		return push{repository: d.RepositoryName, branch: d.ReferenceName, commit: d.CommitID, pusher: d.CallerUserArn}, nil
	case ev.Source == "slipway.git" && ev.DetailType == "Git Push":
		var d GitPush
		if err := decodeStrict(ev.Detail, &d); err != nil {
			return push{}, badEvent("slipway.git event %s: %v", ev.ID, err)
		}
		if d.Tag != "" && d.Branch == "" {
			return push{}, nil // a tag push: releases deploy from branches
		}
		var missing []string
		for name, v := range map[string]string{"repository": d.Repository, "branch": d.Branch, "commit": d.Commit} {
			if v == "" {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			return push{}, badEvent("slipway.git event %s: detail lacks %s; put {\"repository\":..., \"branch\":..., \"commit\":...}", ev.ID, strings.Join(missing, ", "))
		}
		if strings.HasPrefix(d.Branch, "refs/tags/") {
			return push{}, nil
		}
		return push{repository: d.Repository, branch: strings.TrimPrefix(d.Branch, "refs/heads/"), commit: d.Commit, pusher: d.Pusher, app: d.App, committedAt: d.CommittedAt}, nil
	}
	return push{}, badEvent("event %s from %q (%q) is not a push Slipway understands: send CodeCommit \"Repository State Change\" or slipway.git \"Git Push\" events", ev.ID, ev.Source, ev.DetailType)
}

// Handle routes one push event.
func (r *PushRouter) Handle(ctx context.Context, ev events.EventBridgeEvent) (Result, error) {
	p, err := parsePush(ev)
	if err != nil {
		return Result{}, err
	}
	if p.commit == "" {
		return Result{Action: "ignored", Message: "not a branch push"}, nil
	}
	app := r.Config.App
	if p.app != "" && p.app != app {
		return Result{Action: "ignored", Message: fmt.Sprintf("push for app %s ignored: this Slipway deploys %s", p.app, app)}, nil
	}
	if !slices.Contains(r.Config.Triggers.Repositories, p.repository) {
		msg := fmt.Sprintf("push to %s ignored: the repository is not in triggers.repositories of the Slipway configuration", p.repository)
		r.log().Warn(msg, "event", ev.ID)
		return Result{Action: "ignored", Message: msg}, nil
	}
	env, ok := r.Config.Triggers.Branches[p.branch]
	if !ok {
		return Result{Action: "ignored", Message: fmt.Sprintf("push to branch %s of %s ignored: no environment is mapped to it (triggers.branches)", p.branch, p.repository)}, nil
	}
	version := p.commit
	trig := contract.Trigger{Source: "push", Actor: p.pusher, Commit: p.commit, Reason: "push to " + p.branch + " of " + p.repository, CommittedAt: p.committedAt}
	record := func(kind, msg, execution string) {
		detail, _ := json.Marshal(map[string]string{"repository": p.repository, "branch": p.branch, "commit": p.commit, "event": ev.ID, "execution": execution})
		if err := r.Ledger.AddEvent(ctx, ledger.Event{App: app, Environment: env, At: r.now(), Source: "push", Kind: kind, Message: msg, DeploymentID: execution, Detail: detail}); err != nil {
			r.log().Error("event not recorded", "kind", kind, "err", err)
		}
	}
	if err := artifact.ValidVersion(version); err != nil {
		return Result{}, badEvent("push event %s: commit %q: %v", ev.ID, p.commit, err)
	}
	if _, err := r.Artifacts.Stat(ctx, app, version); err != nil {
		var nf *artifact.NotFoundError
		if !errors.As(err, &nf) {
			return Result{}, fmt.Errorf("find the release of commit %s: %w", version, err)
		}
		msg := fmt.Sprintf("push of %s to %s not deployed: no release is published for this commit; CI must build it and run `slipway release publish` before pushing, or publish it and run `slipway deploy --env %s --version %s`", ShortCommit(version), p.branch, env, version)
		record("push-no-artifact", msg, "")
		return Result{Action: "no-artifact", Environment: env, Version: version, Message: msg}, nil
	}
	// The push is the event: its time orders it among the pushes, its id
	// names its deployment. A redelivered event has both again, so it
	// starts nothing twice; a commit pushed again (after a failed deploy,
	// or a branch reset to it) is a new event and deploys again.
	at := ev.Time
	if at.IsZero() {
		at = r.now()
	}
	trig.PushedAt = at
	name := executionName([]string{"push", env, ShortCommit(version)}, version, ev.ID)
	queued, ok, err := r.Ledger.GetPending(ctx, app, env)
	if err != nil {
		return Result{}, fmt.Errorf("read the queued push of %s: %w", env, err)
	}
	if ok && queued.At.After(at) {
		msg := fmt.Sprintf("push of %s to %s at %s not deployed: a later push (%s at %s) is queued, and the latest push wins", ShortCommit(version), env,
			at.UTC().Format(time.RFC3339), ShortCommit(queued.Version), queued.At.UTC().Format(time.RFC3339))
		record("push-superseded", msg, "")
		return Result{Action: "superseded", Environment: env, Version: version, Message: msg}, nil
	}
	if err := r.Ledger.SetPending(ctx, ledger.Pending{App: app, Environment: env, Version: version, Trigger: trig, At: at}); err != nil {
		return Result{}, fmt.Errorf("queue the push of %s: %w", version, err)
	}
	in, _ := json.Marshal(contract.DeployRequest{App: app, Environment: env, Version: version, Trigger: trig})
	id, err := r.Starter.Start(ctx, MachineDeploy, name, in)
	switch {
	case errors.Is(err, ErrAlreadyStarted):
		// The event was delivered again. Its deployment took the push out
		// of the queue when it ended (or will, or a newer push replaced
		// it): do not leave it queued again for nothing.
		if _, err := r.Ledger.ClearPending(ctx, app, env, version); err != nil {
			return Result{}, fmt.Errorf("unqueue the redelivered push of %s: %w", version, err)
		}
		msg := fmt.Sprintf("push of %s to %s: its deployment %s was already started (the event was delivered again)", ShortCommit(version), env, name)
		return Result{Action: "already-started", Environment: env, Version: version, Execution: name, DeploymentID: name, Message: msg}, nil
	case err != nil:
		return Result{}, fmt.Errorf("start the deployment of %s to %s: %w", version, env, err)
	}
	msg := fmt.Sprintf("push of %s to %s by %s: deployment %s started; if another deployment holds %s, the latest push waits for it", ShortCommit(version), p.branch, orSomeone(p.pusher), name, env)
	record("push-started", msg, name)
	return Result{Action: "started", Environment: env, Version: version, Execution: id, DeploymentID: name, Message: msg}, nil
}

func (r *PushRouter) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// ShortCommit is a commit id as people read it: its first 12 characters.
func ShortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

func orSomeone(s string) string {
	if s == "" {
		return "someone"
	}
	return s
}
