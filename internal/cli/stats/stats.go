// Package stats is `slipway stats`: the four DORA measures of delivery
// (deployment frequency, lead time for changes, change failure rate,
// time to restore) over a window of the ledger, with rollbacks by what
// started them and the slowest stages. Compute is a pure function of
// ledger records; the command only reads them and prints.
package stats

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/outcome"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/report"
)

// Options are the stats command's inputs.
type Options struct {
	IO      *factory.IOStreams
	Backend func(ctx context.Context) (backend.Backend, error)
	// Now is the end of the window (time.Now when nil).
	Now func() time.Time

	Env   string
	Since time.Duration
	JSON  bool
}

// DefaultSince is the window when --since is not given.
const DefaultSince = 30 * 24 * time.Hour

// NewCmdStats returns the stats command. runF, when not nil, replaces the
// run.
func NewCmdStats(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO, Backend: f.Backend}
	var since string
	cmd := &cobra.Command{
		Use:   "stats [--env ENV] [--since 30d] [--json]",
		Short: "Delivery metrics from the ledger: the four DORA measures",
		Long: "Measure delivery over the last --since (default 30d) from the ledger, for every environment or --env:\n" +
			"deployment frequency (successful deployments), lead time from commit to SUCCEEDED (where the push said\n" +
			"when its commit was made: GitHub webhook pushes do), change failure rate (deployments rolled back, or\n" +
			"whose rollback failed, of those that changed something), time to restore (from the failure or the\n" +
			"rollback's start to ROLLED_BACK), rollbacks by what started them, and the slowest stages.",
		Example: `  slipway stats --env production
  slipway stats --since 7d --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := ParseSince(since)
			if err != nil {
				return factory.UsageError("--since: %v", err)
			}
			opts.Since = d
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Env, "env", "e", "", "only this environment")
	cmd.Flags().StringVar(&since, "since", "30d", "the window: days (30d) or a Go duration (12h)")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print JSON")
	return cmd
}

// ParseSince reads a window: a number of days ("30d") or a Go duration
// ("36h"). It must be positive.
func ParseSince(s string) (time.Duration, error) {
	var d time.Duration
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number of days (30d) or a duration (12h)", s)
		}
		d = time.Duration(days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a number of days (30d) or a duration (12h)", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: the window must be longer than nothing", s)
	}
	return d, nil
}

func run(ctx context.Context, opts *Options) error {
	b, err := opts.Backend(ctx)
	if err != nil {
		return outcome.Error(err)
	}
	defer b.Close()
	cfg := b.Config()
	if opts.Env != "" {
		if _, err := cfg.Env(opts.Env); err != nil {
			return outcome.Error(err)
		}
	}
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	to := now().UTC()
	from := to.Add(-opts.Since)
	ds, err := b.Ledger().ListDeployments(ctx, cfg.App, opts.Env, 0)
	if err != nil {
		return outcome.Error(err)
	}
	steps := map[string][]ledger.Step{}
	for _, d := range ds {
		if d.StartedAt.Before(from) || d.StartedAt.After(to) || !d.Final() {
			continue
		}
		ss, err := b.Ledger().Steps(ctx, d.ID)
		if err != nil {
			return outcome.Error(err)
		}
		steps[d.ID] = ss
	}
	s := Compute(ds, steps, from, to)
	s.App, s.Environment = cfg.App, opts.Env
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	return Text(opts.IO.Out, s)
}

// Stats are the measures of one window.
type Stats struct {
	App         string    `json:"app"`
	Environment string    `json:"environment,omitempty"` // "" for all
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`

	// Deployments are the finished deployments (not rollbacks) started
	// in the window; Succeeded of them ended SUCCEEDED.
	Deployments int `json:"deployments"`
	Succeeded   int `json:"succeeded"`
	// PerWeek is Succeeded per 7 days of the window.
	PerWeek float64 `json:"per_week"`

	// LeadTime is from commit to SUCCEEDED, over the succeeded
	// deployments whose trigger has the commit's time.
	LeadTime Spread `json:"lead_time"`

	// Changes are the deployments that changed something: every
	// finished one but FAILED (which ends before anything changed).
	// Failures of them were rolled back (in the run or later) or their
	// rollback failed.
	Changes           int     `json:"changes"`
	Failures          int     `json:"failures"`
	ChangeFailureRate float64 `json:"change_failure_rate"` // 0..1; 0 without changes

	// TimeToRestore is, for each restore that ended ROLLED_BACK: from a
	// deployment's first failed step, or a rollback's start (an alarm, a
	// person), to its end.
	TimeToRestore Spread `json:"time_to_restore"`

	// Rollbacks counts the rollbacks by what started them: the source of
	// a rollback execution's trigger (alarm, cli, console), or
	// "deployment: <stage>" for a deployment that rolled itself back
	// when that stage failed.
	Rollbacks map[string]int `json:"rollbacks"`
	// Stages are the stages, slowest median first, timed from the steps
	// the ledger records (a step's time counts since the step before it).
	Stages []StageTime `json:"stages"`
}

// Spread summarises durations.
type Spread struct {
	// N is how many were measured; Of how many could have been.
	N  int `json:"n"`
	Of int `json:"of"`
	// Median (the lower middle) and Max, in seconds.
	MedianSeconds float64 `json:"median_seconds,omitempty"`
	MaxSeconds    float64 `json:"max_seconds,omitempty"`
}

// StageTime is one stage's time across the window's executions.
type StageTime struct {
	Stage         string  `json:"stage"`
	Runs          int     `json:"runs"`
	MedianSeconds float64 `json:"median_seconds"`
	MaxSeconds    float64 `json:"max_seconds"`
}

// MaxStages is how many stages Stats lists.
const MaxStages = 5

// Compute measures the deployments started in [from, to] that are
// finished; steps are their step records by deployment id.
func Compute(ds []ledger.Deployment, steps map[string][]ledger.Step, from, to time.Time) Stats {
	s := Stats{From: from.UTC(), To: to.UTC(), Rollbacks: map[string]int{}, Stages: []StageTime{}}
	var lead, restore []time.Duration
	stageTimes := map[string][]time.Duration{}
	for _, d := range ds {
		if d.StartedAt.Before(from) || d.StartedAt.After(to) || !d.Final() {
			continue
		}
		ss := slices.Clone(steps[d.ID])
		slices.SortStableFunc(ss, func(a, b ledger.Step) int { return cmp.Compare(a.Seq, b.Seq) })
		for stage, took := range stageDurations(d, ss) {
			stageTimes[stage] = append(stageTimes[stage], took)
		}
		rolledBack := d.Status == contract.StatusRolledBack || d.Status == contract.StatusRolledBackSchemaKept
		switch d.Kind {
		case contract.KindRollback:
			s.Rollbacks[orUnknown(d.Trigger.Source)]++
			if rolledBack {
				s.TimeToRestore.Of++
				restore = append(restore, d.FinishedAt.Sub(d.StartedAt))
			}
		default:
			s.Deployments++
			if d.Status == contract.StatusSucceeded {
				s.Succeeded++
				s.LeadTime.Of++
				if !d.Trigger.CommittedAt.IsZero() && d.FinishedAt.After(d.Trigger.CommittedAt) {
					lead = append(lead, d.FinishedAt.Sub(d.Trigger.CommittedAt))
				}
			}
			if d.Status == contract.StatusFailed {
				continue // ended before it changed anything
			}
			s.Changes++
			failed := rolledBack || d.Status == contract.StatusRollbackFailed || d.RolledBackBy != ""
			if failed {
				s.Failures++
			}
			if rolledBack || d.Status == contract.StatusRollbackFailed {
				failure, ok := firstFailure(ss)
				s.Rollbacks["deployment: "+cmp.Or(failure.Stage, "unknown stage")]++
				if rolledBack {
					s.TimeToRestore.Of++
					if ok {
						restore = append(restore, d.FinishedAt.Sub(failure.At))
					}
				}
			}
		}
	}
	if days := to.Sub(from).Hours() / 24; days > 0 {
		s.PerWeek = round(float64(s.Succeeded) / days * 7)
	}
	if s.Changes > 0 {
		s.ChangeFailureRate = round(float64(s.Failures) / float64(s.Changes))
	}
	s.LeadTime = spread(lead, s.LeadTime.Of)
	s.TimeToRestore = spread(restore, s.TimeToRestore.Of)
	for stage, ts := range stageTimes {
		sp := spread(ts, len(ts))
		s.Stages = append(s.Stages, StageTime{Stage: stage, Runs: len(ts), MedianSeconds: sp.MedianSeconds, MaxSeconds: sp.MaxSeconds})
	}
	slices.SortFunc(s.Stages, func(a, b StageTime) int {
		return cmp.Or(cmp.Compare(b.MedianSeconds, a.MedianSeconds), cmp.Compare(b.MaxSeconds, a.MaxSeconds), cmp.Compare(a.Stage, b.Stage))
	})
	if len(s.Stages) > MaxStages {
		s.Stages = s.Stages[:MaxStages]
	}
	return s
}

// stageDurations is each stage's time in one execution: each step's time
// since the step before it (the first: since the start), summed by stage.
func stageDurations(d ledger.Deployment, ss []ledger.Step) map[string]time.Duration {
	out := map[string]time.Duration{}
	prev := d.StartedAt
	for _, st := range ss {
		if st.At.Before(prev) {
			continue // a clock out of step: no negative times
		}
		out[st.Stage] += st.At.Sub(prev)
		prev = st.At
	}
	return out
}

func firstFailure(ss []ledger.Step) (ledger.Step, bool) {
	for _, st := range ss {
		if st.Status == "failed" {
			return st, true
		}
	}
	return ledger.Step{}, false
}

func spread(ds []time.Duration, of int) Spread {
	sp := Spread{N: len(ds), Of: of}
	if len(ds) == 0 {
		return sp
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	sp.MedianSeconds = seconds(sorted[(len(sorted)-1)/2])
	sp.MaxSeconds = seconds(sorted[len(sorted)-1])
	return sp
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }

func round(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

func orUnknown(s string) string { return cmp.Or(s, "unknown") }

// Text writes s for a person.
func Text(w io.Writer, s Stats) error {
	where := "every environment"
	if s.Environment != "" {
		where = s.Environment
	}
	fmt.Fprintf(w, "%s on %s, %s to %s (UTC)\n\n", s.App, where, s.From.Format("2006-01-02 15:04"), s.To.Format("2006-01-02 15:04"))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Deployment frequency\t%d successful of %d deployments: %s a week\n", s.Succeeded, s.Deployments, strconv.FormatFloat(s.PerWeek, 'f', -1, 64))
	switch {
	case s.LeadTime.N > 0:
		fmt.Fprintf(tw, "Lead time (commit to SUCCEEDED)\tmedian %s, max %s (%d of %d succeeded deployments have a commit time)\n",
			dur(s.LeadTime.MedianSeconds), dur(s.LeadTime.MaxSeconds), s.LeadTime.N, s.LeadTime.Of)
	case s.LeadTime.Of == 0:
		fmt.Fprintf(tw, "Lead time (commit to SUCCEEDED)\tn/a (no deployment succeeded)\n")
	default:
		fmt.Fprintf(tw, "Lead time (commit to SUCCEEDED)\tn/a (no commit times recorded)\n")
	}
	if s.Changes > 0 {
		fmt.Fprintf(tw, "Change failure rate\t%s (%d of %d changes rolled back or failed to)\n", percent(s.ChangeFailureRate), s.Failures, s.Changes)
	} else {
		fmt.Fprintf(tw, "Change failure rate\tn/a (no deployment changed anything)\n")
	}
	if s.TimeToRestore.N > 0 {
		restores := "restores"
		if s.TimeToRestore.N == 1 {
			restores = "restore"
		}
		fmt.Fprintf(tw, "Time to restore\tmedian %s, max %s (%d %s)\n", dur(s.TimeToRestore.MedianSeconds), dur(s.TimeToRestore.MaxSeconds), s.TimeToRestore.N, restores)
	} else {
		fmt.Fprintf(tw, "Time to restore\tn/a (nothing was rolled back)\n")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(s.Rollbacks) > 0 {
		fmt.Fprintln(w, "\nRollbacks by trigger")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		keys := make([]string, 0, len(s.Rollbacks))
		for k := range s.Rollbacks {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(s.Rollbacks[b], s.Rollbacks[a]), cmp.Compare(a, b)) })
		for _, k := range keys {
			fmt.Fprintf(tw, "  %s\t%d\n", k, s.Rollbacks[k])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(s.Stages) > 0 {
		fmt.Fprintln(w, "\nSlowest stages")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  STAGE\tRUNS\tMEDIAN\tMAX")
		for _, st := range s.Stages {
			fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", st.Stage, st.Runs, dur(st.MedianSeconds), dur(st.MaxSeconds))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func dur(sec float64) string {
	return report.FormatSeconds(time.Duration(sec * float64(time.Second)))
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }
