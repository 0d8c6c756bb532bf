// Package lint is `slipway migrations lint`: it checks a directory of
// migration files and exits 1 when any finding is an error.
package lint

import (
	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/cli/migrations/target"
	"github.com/slipway-deploy/slipway/internal/lint"
)

// Options are the lint command's inputs.
type Options struct {
	IO     *factory.IOStreams
	Dir    string
	Format string
	Engine string
	// NoSessionTimeouts checks the files as if run by a tool that does not
	// set lock_timeout and statement_timeout itself.
	NoSessionTimeouts bool
}

// NewCmdLint returns the lint command. runF replaces the run in tests.
func NewCmdLint(f *factory.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "lint [--json | --format text|json] [--engine postgres|mysql|sqlite] DIR",
		Short: "Check migration files for statements that lock, break the running release or lose data",
		Long: `Lint parses every migration in DIR with the engine's own parser and reports
findings by rule (squawk's names, with Atlas codes). Suppress one with
"-- slipway:ignore <rule> <reason>" before its statement.

Exit status: 0 without errors, 1 when any finding is an error, 2 for bad
usage or an unreadable directory.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Dir = args[0]
			if asJSON, _ := cmd.Flags().GetBool("json"); asJSON {
				if cmd.Flags().Changed("format") && opts.Format != "json" {
					return factory.UsageError("--json and --format %s disagree: give one", opts.Format)
				}
				opts.Format = "json"
			}
			if opts.Format != "text" && opts.Format != "json" {
				return factory.UsageError("--format must be text or json, got %q", opts.Format)
			}
			switch opts.Engine {
			case "", "postgres", "mysql", "sqlite":
			default:
				return factory.UsageError("--engine must be postgres, mysql or sqlite, got %q", opts.Engine)
			}
			if runF != nil {
				return runF(opts)
			}
			return Run(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Format, "format", "text", "output format: text or json")
	cmd.Flags().Bool("json", false, "print JSON (the same as --format json)")
	cmd.Flags().StringVar(&opts.Engine, "engine", "", "SQL dialect: postgres, mysql or sqlite (default: migrations.engine in ../slipway.yaml, else postgres)")
	cmd.Flags().BoolVar(&opts.NoSessionTimeouts, "no-session-timeouts", false, "require every file to set lock_timeout and statement_timeout itself (for files not run by Slipway)")
	return cmd
}

// Run lints the directory and writes the findings.
func Run(opts *Options) error {
	rel, err := target.LoadDir(opts.Dir)
	if err != nil {
		return err
	}
	results := lint.Lint(rel.Migrations, lint.Options{Engine: rel.Engine(opts.Engine, ""), NoSessionTimeouts: opts.NoSessionTimeouts})
	if opts.Format == "json" {
		err = lint.WriteJSON(opts.IO.Out, results, opts.Dir)
	} else {
		err = lint.WriteText(opts.IO.Out, results, opts.Dir)
	}
	if err != nil {
		return err
	}
	for _, r := range results {
		if r.Errors() > 0 {
			return &factory.SilentError{Code: factory.ExitFailed}
		}
	}
	return nil
}
