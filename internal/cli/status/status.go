// Package status is `slipway status`: what runs now in each environment,
// what each serves, who holds it, and what waits for a person.
package status

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
)

// Options are the status command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)
	Now     func() time.Time

	Env  string
	JSON bool
}

// NewCmdStatus returns the status command. runF, when not nil, replaces
// the run.
func NewCmdStatus(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend}
	cmd := &cobra.Command{
		Use:   "status [--env ENV] [--json]",
		Short: "Show what runs now and what each environment serves",
		Long: `For each environment (or --env): the release it serves according to the ledger and the
deployment that put it there, the deployments running now, the lease or manual lock on it, the
deployments that wait for an approval, a queued push, and its instances (with the release each
serves, where that can be read without a command: locally, yes; on AWS, only that they are online).
On AWS it also says whether events wait in the stack's dead-letter queue (SLIPWAY_DEAD_LETTER_QUEUE,
the stack's DeadLetterQueueUrl output): pushes or alarms that never started what they should have.`,
		Example: `  slipway status
  slipway status --local --env staging --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Env, "env", "e", "", "only this environment")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// Environment is one environment's status.
type Environment struct {
	App         string             `json:"app"`
	Environment string             `json:"environment"`
	Production  bool               `json:"production"`
	Serves      string             `json:"serves"`
	ServedBy    *Deployment        `json:"served_by,omitempty"`
	Running     []Deployment       `json:"running"`
	Locks       []ledger.Lock      `json:"locks"`
	Waiting     []Approval         `json:"waiting_for_approval"`
	Queued      *ledger.Pending    `json:"queued_push,omitempty"`
	Instances   []backend.Instance `json:"instances"`
	// InstancesNote says why the instances are not listed.
	InstancesNote string `json:"instances_note,omitempty"`
	// Observed is what the fleet was observed to be when the last finished
	// deployment closed its record; Closed lists the deployments whose
	// owner was gone and which this status closed.
	Observed *contract.FleetObservation `json:"observed,omitempty"`
	Closed   []string                   `json:"closed,omitempty"`
	// DeadLetters are the events waiting in the stack's dead-letter queue
	// (AWS); the queue serves every environment, so each shows the same.
	DeadLetters *backend.DeadLetters `json:"dead_letters,omitempty"`
	// DeadLettersNote says why the queue was not read.
	DeadLettersNote string `json:"dead_letters_note,omitempty"`
	// ScaleOut is the newest launch lifecycle decision of the
	// environment's Auto Scaling groups (CONTINUE or ABANDON, and why).
	ScaleOut *ledger.Event `json:"scale_out,omitempty"`
}

// deadLetterReader is a backend with a dead-letter queue: AWS's.
type deadLetterReader interface {
	DeadLetters(ctx context.Context) (backend.DeadLetters, error)
}

// Deployment is a deployment as status shows it.
type Deployment struct {
	ID         string    `json:"id"`
	Kind       string    `json:"kind"`
	Version    string    `json:"version"`
	Status     string    `json:"status"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at,omitzero"`
}

// Approval is a deployment that waits for a person (without its task
// token, which only the backend needs).
type Approval struct {
	DeploymentID string    `json:"deployment_id"`
	Version      string    `json:"version"`
	Summary      string    `json:"summary"`
	RequestedAt  time.Time `json:"requested_at"`
}

func run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	envs := b.Config().Names()
	if opts.Env != "" {
		if _, err := b.Config().Env(opts.Env); err != nil {
			return outcome.Error(err)
		}
		envs = []string{opts.Env}
	}
	var dl *backend.DeadLetters
	var dlNote string
	if r, ok := b.(deadLetterReader); ok {
		d, err := r.DeadLetters(ctx)
		if m, missing := backend.IsMissingSetting(err); missing {
			dlNote = fmt.Sprintf("not read: %v; %s", m, m.Hint())
		} else if err != nil {
			dlNote = "not read: " + err.Error()
		} else {
			dl = &d
		}
	}
	var out []Environment
	for _, env := range envs {
		s, err := Read(ctx, b, env)
		if err != nil {
			return outcome.Error(err)
		}
		s.DeadLetters, s.DeadLettersNote = dl, dlNote
		out = append(out, s)
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	fmt.Fprintf(opts.IO.Out, "%s\n", b.Describe())
	if line := DeadLetterLine(dl, dlNote); line != "" {
		fmt.Fprintln(opts.IO.Out, line)
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	for _, s := range out {
		Text(opts.IO.Out, s, now())
	}
	return nil
}

// Read reads one environment's status.
func Read(ctx context.Context, b backend.Backend, env string) (Environment, error) {
	app := b.Config().App
	e, _ := b.Config().Env(env)
	s := Environment{App: app, Environment: env, Production: e.Production, Running: []Deployment{}, Waiting: []Approval{}}
	closed, err := b.Reconcile(ctx, env)
	if err != nil {
		return s, err
	}
	s.Closed = closed
	l := b.Ledger()
	ds, err := l.ListDeployments(ctx, app, env, 200)
	if err != nil {
		return s, err
	}
	for _, d := range ds {
		if d.Final() {
			if d.Observed != nil {
				s.Observed = d.Observed.Fleet
			}
			break
		}
	}
	serves, by := ledger.Serving(ds)
	s.Serves = serves
	if by != nil {
		ref := ref(*by)
		s.ServedBy = &ref
	}
	for _, d := range ds {
		if !d.Final() {
			s.Running = append(s.Running, ref(d))
		}
	}
	if s.Locks, err = l.Locks(ctx, app, env); err != nil {
		return s, err
	}
	if s.Locks == nil {
		s.Locks = []ledger.Lock{}
	}
	as, err := l.Approvals(ctx, app, env)
	if err != nil {
		return s, err
	}
	running := map[string]bool{}
	for _, d := range s.Running {
		running[d.ID] = true
	}
	for _, a := range as {
		if a.Decision == ledger.ApprovalPending && running[a.DeploymentID] {
			s.Waiting = append(s.Waiting, Approval{DeploymentID: a.DeploymentID, Version: a.Version, Summary: a.Summary, RequestedAt: a.RequestedAt})
		}
	}
	if p, ok, err := l.GetPending(ctx, app, env); err != nil {
		return s, err
	} else if ok {
		s.Queued = &p
	}
	if evs, err := l.Events(ctx, app, env, 50); err == nil {
		for _, ev := range evs {
			if ev.Source == "autoscaling" {
				s.ScaleOut = &ev
				break
			}
		}
	}
	insts, err := b.Instances(ctx, env)
	if err != nil {
		s.InstancesNote = err.Error()
	}
	s.Instances = insts
	if s.Instances == nil {
		s.Instances = []backend.Instance{}
	}
	return s, nil
}

// DeadLetterLine says whether dead letters wait: "" for a backend without
// a dead-letter queue.
func DeadLetterLine(d *backend.DeadLetters, note string) string {
	switch {
	case note != "":
		return "dead letters: " + note
	case d == nil:
		return ""
	case d.Waiting == 0 && d.InFlight == 0:
		return "dead letters: none"
	}
	n := d.Waiting + d.InFlight
	what := "events that did not reach Slipway, or that a trigger failed on"
	if n == 1 {
		what = "an event that did not reach Slipway, or that a trigger failed on"
	}
	return fmt.Sprintf("dead letters: %d WAITING (%s): read them with aws sqs receive-message --queue-url %s --attribute-names All --message-attribute-names All --max-number-of-messages 10, act on them (deploy or roll back by hand), then delete them",
		n, what, d.Queue)
}

func ref(d ledger.Deployment) Deployment {
	return Deployment{ID: d.ID, Kind: d.Kind, Version: d.Version, Status: d.Status, StartedAt: d.StartedAt.UTC(), FinishedAt: d.FinishedAt.UTC()}
}

// Text writes one environment's status for people.
func Text(w io.Writer, s Environment, now time.Time) {
	prod := ""
	if s.Production {
		prod = " (production)"
	}
	fmt.Fprintf(w, "\n%s/%s%s\n", s.App, s.Environment, prod)
	field := func(label, format string, a ...any) { fmt.Fprintf(w, "  %-11s %s\n", label, fmt.Sprintf(format, a...)) }
	switch {
	case s.ServedBy == nil:
		field("serves", "nothing yet")
	default:
		d := s.ServedBy
		field("serves", "%s (deployment %s, %s %s)", orDash(s.Serves), d.ID, d.Status, ago(d.FinishedAt, now))
	}
	if o := s.Observed; o != nil && o.Uniform == "" && o.Problem != "" {
		field("observed", "%s", o.Problem)
	}
	for _, id := range s.Closed {
		field("closed", "%s: its process was gone; `slipway show %s` says what it left", id, id)
	}
	if len(s.Running) == 0 {
		field("running", "none")
	}
	for i, d := range s.Running {
		label := "running"
		if i > 0 {
			label = ""
		}
		field(label, "%s %s %s, %s since %s", d.ID, d.Kind, d.Version, d.Status, ago(d.StartedAt, now))
	}
	if len(s.Locks) == 0 {
		field("lock", "free")
	}
	for i, l := range s.Locks {
		label := "lock"
		if i > 0 {
			label = ""
		}
		if l.Kind == ledger.LockManual {
			field(label, "FROZEN by %s %s: %q (slipway lock release --env %s)", l.Owner, ago(l.AcquiredAt, now), l.Message, s.Environment)
		} else {
			exp := "expires " + l.ExpiresAt.UTC().Format("2006-01-02 15:04:05 UTC")
			if !now.Before(l.ExpiresAt) {
				exp = "EXPIRED " + ago(l.ExpiresAt, now)
			}
			field(label, "lease of deployment %s (execution %s), %s", l.DeploymentID, l.Owner, exp)
		}
	}
	if len(s.Waiting) == 0 {
		field("approvals", "none waiting")
	}
	for i, a := range s.Waiting {
		label := "approvals"
		if i > 0 {
			label = ""
		}
		field(label, "%s waits %s: %s; slipway approve|reject %s", a.DeploymentID, ago(a.RequestedAt, now), a.Summary, a.DeploymentID)
	}
	if s.Queued != nil {
		field("queued", "push of %s %s", s.Queued.Version, ago(s.Queued.At, now))
	}
	if e := s.ScaleOut; e != nil {
		field("scale-out", "%s %s: %s", e.Kind, ago(e.At, now), e.Message)
	}
	switch {
	case s.InstancesNote != "":
		field("instances", "not listed: %s", s.InstancesNote)
	case len(s.Instances) == 0:
		field("instances", "none")
	default:
		var parts []string
		for _, i := range s.Instances {
			p := i.ID
			if i.Serves != "" {
				p += "=" + i.Serves
			}
			if !i.Online {
				p += " (OFFLINE)"
			}
			parts = append(parts, p)
		}
		field("instances", "%s", strings.Join(parts, ", "))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ago says when t was, relative to now: "3m ago", or the date past a day.
func ago(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "at " + t.UTC().Format("2006-01-02 15:04:05 UTC")
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm ago", int(d.Hours()), int(d.Minutes())%60)
	}
	return "on " + t.UTC().Format("2006-01-02 15:04 UTC")
}
