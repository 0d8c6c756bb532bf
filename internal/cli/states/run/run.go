// Package run is `slipway states run`: run one state machine definition on
// the embedded engine and print the outcome as JSON.
package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
)

// RunOptions are the inputs of `slipway states run`.
type RunOptions struct {
	IO *factory.IOStreams
	// Resolver returns the Task handlers and the placeholder substitutions
	// (see factory.Factory.Resolver). It may be nil; Tasks then fail.
	Resolver func(ctx context.Context) (r asl.Resolver, subs map[string]string, close func() error, err error)
	// Now is where the virtual clock starts; time.Now when nil.
	Now func() time.Time

	Definition string // path of the definition file
	Input      string // JSON text, or @FILE, or @- for standard input
	History    bool   // print the execution history too
	RealTime   bool   // really wait in Wait states and between retries
	// MockConfig is a Step Functions Local mock configuration file, and
	// TestCase the test case in it whose mocked responses answer the Tasks
	// it names (the other Tasks still go to the embedded environment).
	MockConfig string
	TestCase   string
	// StateMachineName names the state machine in the mock configuration
	// and in ARNs; by default the definition's file name without
	// .asl.json or .json.
	StateMachineName string
}

// NewCmdRun returns the run command. runF, when not nil, replaces the run
// itself, so tests can check how flags are read.
func NewCmdRun(f *factory.Factory, runF func(*RunOptions) error) *cobra.Command {
	opts := &RunOptions{IO: f.IO, Resolver: f.Resolver}
	cmd := &cobra.Command{
		Use:   "run --definition FILE [--input JSON|@FILE] [--history] [--real-time] [--mock-config FILE --test-case NAME]",
		Short: "Run a state machine definition on the embedded engine",
		Long: `Run a state machine definition on the embedded engine and print the outcome as one
JSON object: {"status":"SUCCEEDED","output":...} or {"status":"FAILED","error":...,"cause":...},
with "history" (shaped as GetExecutionHistory's events) when --history is given.

${Name} placeholders are filled with the embedded environment's substitutions, and its
handlers serve the Tasks. Wait states and retry intervals run on a virtual clock unless
--real-time is given, so a five-minute wait takes no time while timestamps still move on.

--mock-config reads a Step Functions Local mock configuration (MockConfigFile.json, the
format LocalStack reads too) and --test-case picks one of its test cases: the Tasks it
names return its mocked responses (Return) or fail with them (Throw), one per invocation,
retries included, instead of calling their handlers. The test case is looked up under the
state machine named by --state-machine-name (by default the definition's file name), or
by its name alone when only one state machine has it.

Exit status: 0 when the execution succeeded, 1 when it did not, 2 for a bad definition,
bad input or bad flags.`,
		Example: `  slipway states run --definition statemachine/deploy.asl.json --input @events/manual/deploy-staging.json
  slipway states run --definition flow.asl.json --input '{"version": "v2"}' --history
  slipway states run --definition statemachine/deploy.asl.json --mock-config mocks.json --test-case PreflightFails`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return factory.UsageError("unexpected argument %q: give the definition with --definition and the input with --input", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Definition == "" {
				return factory.UsageError("--definition is required")
			}
			if (opts.MockConfig == "") != (opts.TestCase == "") {
				return factory.UsageError("--mock-config and --test-case go together: give the file and the test case in it")
			}
			if runF != nil {
				return runF(opts)
			}
			return runRun(cmd.Context(), opts)
		},
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return factory.UsageError("%v", err) })
	cmd.Flags().StringVar(&opts.Definition, "definition", "", "the state machine definition (Amazon States Language, JSON)")
	cmd.Flags().StringVar(&opts.Input, "input", "{}", "the execution input: JSON text, @FILE, or @- for standard input")
	cmd.Flags().BoolVar(&opts.History, "history", false, "also print the execution history")
	cmd.Flags().BoolVar(&opts.RealTime, "real-time", false, "really wait in Wait states and between retries")
	cmd.Flags().StringVar(&opts.MockConfig, "mock-config", "", "a Step Functions Local mock configuration file (MockConfigFile.json)")
	cmd.Flags().StringVar(&opts.TestCase, "test-case", "", "the test case of --mock-config whose mocked responses answer the Tasks")
	cmd.Flags().StringVar(&opts.StateMachineName, "state-machine-name", "", "the state machine's name, in the mock configuration and in ARNs (default: the definition's file name)")
	return cmd
}

// result is what the command prints.
type result struct {
	Status  string             `json:"status"`
	Output  json.RawMessage    `json:"output,omitempty"`
	Error   *string            `json:"error,omitempty"`
	Cause   *string            `json:"cause,omitempty"`
	History []asl.HistoryEvent `json:"history,omitempty"`
}

func runRun(ctx context.Context, opts *RunOptions) error {
	def, err := os.ReadFile(opts.Definition)
	if err != nil {
		return factory.WithHint(factory.ExitUsage, fmt.Errorf("read definition: %w", err), "--definition takes the path of a JSON state machine definition")
	}
	input, inputName, err := readInput(opts)
	if err != nil {
		return err
	}

	var (
		resolver    asl.Resolver
		subs        map[string]string
		resolverErr error
	)
	if opts.Resolver != nil {
		r, s, closeFn, err := opts.Resolver(ctx)
		if err != nil {
			resolverErr = err
		} else {
			resolver, subs = r, s
			if closeFn != nil {
				defer func() {
					if err := closeFn(); err != nil {
						fmt.Fprintf(opts.IO.ErrOut, "warning: close the embedded environment: %v\n", err)
					}
				}()
			}
		}
	} else {
		resolverErr = errors.New("no embedded environment is configured")
	}

	placeholders := asl.Placeholders(def)
	if len(placeholders) > 0 {
		if resolverErr == nil {
			def, err = asl.Substitute(def, subs)
			if err != nil {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("definition %s: %w", opts.Definition, err),
					"the embedded environment has no function for these placeholders")
			}
		} else {
			names := make([]string, len(placeholders))
			for i, p := range placeholders {
				names[i] = "${" + p + "}"
			}
			fmt.Fprintf(opts.IO.ErrOut, "warning: %v; placeholders %s are left as they are, and Tasks that use them will fail\n",
				resolverErr, strings.Join(names, ", "))
		}
	}

	sm, err := asl.Parse(def)
	if err != nil {
		return &factory.ExitError{Code: factory.ExitUsage, Err: &definitionError{path: opts.Definition, err: err}}
	}
	if len(placeholders) == 0 && resolverErr != nil && hasTasks(sm) {
		fmt.Fprintf(opts.IO.ErrOut, "warning: %v; Tasks will fail\n", resolverErr)
	}

	smName := opts.StateMachineName
	if smName == "" {
		base := filepath.Base(opts.Definition)
		for _, ext := range []string{".asl.json", ".json", ".asl.yaml", ".yaml"} {
			if n, ok := strings.CutSuffix(base, ext); ok {
				base = n
				break
			}
		}
		smName = base
	}
	var mocks *asl.MockTestCase
	if opts.MockConfig != "" {
		data, err := os.ReadFile(opts.MockConfig)
		if err != nil {
			return factory.WithHint(factory.ExitUsage, fmt.Errorf("read mock config: %w", err), "--mock-config takes the path of a Step Functions Local MockConfigFile.json")
		}
		mc, err := asl.ParseMockConfig(data)
		if err != nil {
			return factory.UsageError("%s: %v", opts.MockConfig, err)
		}
		mocks, err = mc.TestCase(smName, opts.TestCase)
		if err != nil {
			return factory.UsageError("%s: %v", opts.MockConfig, err)
		}
	}

	var clock asl.Clock = asl.RealClock()
	if !opts.RealTime {
		now := time.Now
		if opts.Now != nil {
			now = opts.Now
		}
		clock = asl.NewVirtualClock(now())
	}
	ex, err := asl.Run(ctx, sm, input, asl.Options{Resolver: resolver, Clock: clock, Mocks: mocks, StateMachineName: smName})
	if err != nil {
		var se *asl.JSONSyntaxError
		if errors.As(err, &se) {
			return factory.UsageError("%s: %v", inputName, se)
		}
		return &factory.ExitError{Code: factory.ExitUsage, Err: err}
	}

	res := result{Status: ex.Status}
	if ex.Status == asl.StatusSucceeded {
		res.Output = ex.Output
	} else {
		res.Error, res.Cause = &ex.Error, &ex.Cause
	}
	if opts.History {
		res.History = ex.History
	}
	enc := json.NewEncoder(opts.IO.Out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if ex.Status != asl.StatusSucceeded {
		return &factory.SilentError{Code: factory.ExitFailed}
	}
	return nil
}

// readInput returns the execution input and how to name it in messages.
func readInput(opts *RunOptions) ([]byte, string, error) {
	name, ok := strings.CutPrefix(opts.Input, "@")
	if !ok {
		return []byte(opts.Input), "--input", nil
	}
	label := "--input @" + name
	var (
		data []byte
		err  error
	)
	if name == "-" {
		data, err = io.ReadAll(opts.IO.In)
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, "", factory.UsageError("read %s: %v", label, err)
	}
	return data, label, nil
}

func hasTasks(sm *asl.StateMachine) bool {
	found := false
	sm.Walk(func(_ []string, s *asl.State) { found = found || s.Type == "Task" })
	return found
}

// definitionError reports an invalid definition, one problem a line.
type definitionError struct {
	path string
	err  error
}

func (e *definitionError) Error() string {
	var many asl.ValidationErrors
	if errors.As(e.err, &many) {
		lines := make([]string, len(many))
		for i, v := range many {
			lines[i] = "  " + v.Error()
		}
		return fmt.Sprintf("invalid definition %s: %d problems:\n%s", e.path, len(many), strings.Join(lines, "\n"))
	}
	return fmt.Sprintf("invalid definition %s: %v", e.path, e.err)
}

func (e *definitionError) Unwrap() error { return e.err }
