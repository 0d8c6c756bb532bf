package local

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/factory"
	"github.com/slipway-deploy/slipway/internal/localenv"
)

// SecretOptions are `local secret`'s inputs.
type SecretOptions struct {
	IO  *factory.IOStreams
	Dir string
	// Action is set or list.
	Action string
	// Name is the secret set.
	Name string
	// FromFile reads the value from a file instead of stdin.
	FromFile string
}

// maxSecretSize bounds a value read from stdin or a file (Secrets
// Manager's own limit).
const maxSecretSize = 64 << 10

// newCmdSecret returns `local secret set NAME | list`. runF, when not nil,
// replaces the run.
func newCmdSecret(f *factory.Factory, runF func(*SecretOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "secret <command>",
		Short: "Set or list the embedded environment's secrets (the local stand-in for Secrets Manager and SSM)",
		Long: `The embedded environment keeps its secrets in secrets.json (mode 0600) in its state directory: the
database secrets, the configuration fingerprint key (slipway/<app>/config-key) and whatever the
manifest's config: section references. A reference secret:NAME[#key] reads NAME, and ssm:/path reads
the entry named /path, so the same manifest works here and on AWS.`,
		Args: cobra.NoArgs,
	}
	add := func(action string, c *cobra.Command, opts *SecretOptions) {
		c.Flags().StringVar(&opts.Dir, "dir", "", "the state directory (default: --local-dir, $SLIPWAY_LOCAL_DIR, else "+backend.DefaultLocalDir+" found from here up)")
		c.RunE = func(cmd *cobra.Command, args []string) error {
			opts.Action = action
			if action == "set" {
				opts.Name = args[0]
				if strings.TrimSpace(opts.Name) == "" || strings.ContainsAny(opts.Name, "\n\r\x00") {
					return factory.UsageError("local secret set: the name must not be empty or hold a line break")
				}
			}
			opts.Dir = dirFlag(cmd, opts.Dir)
			if runF != nil {
				return runF(opts)
			}
			return runSecret(cmd.Context(), opts)
		}
		cmd.AddCommand(c)
	}
	setOpts := &SecretOptions{IO: f.IO}
	set := &cobra.Command{
		Use:   "set NAME [--from-file FILE]",
		Short: "Set a secret, its value read from stdin (or a file), never from the command line",
		Long: `Set secret NAME in the embedded environment's secrets file. The value is read from stdin (or from
--from-file FILE), never from the command line, where it would stay in the shell's history and the
process list; one trailing newline is dropped. Nothing prints the value.
An SSM parameter's stand-in is set under its path: slipway local secret set /demo/staging/log-level`,
		Example: `  printf %s "$TOKEN" | slipway local secret set demo/staging/api-token
  slipway local secret set demo/production/api --from-file api.json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return factory.WithHint(factory.ExitUsage, fmt.Errorf("local secret set takes one argument, the secret's name (the value comes from stdin or --from-file), got %d", len(args)),
					"for example: printf %s \"$TOKEN\" | slipway local secret set demo/staging/api-token")
			}
			return nil
		},
	}
	set.Flags().StringVar(&setOpts.FromFile, "from-file", "", "read the value from FILE instead of stdin")
	add("set", set, setOpts)
	listOpts := &SecretOptions{IO: f.IO}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the secrets' names (never their values)",
		Args:  cobra.NoArgs,
	}
	add("list", list, listOpts)
	return cmd
}

func runSecret(_ context.Context, opts *SecretOptions) error {
	env, err := localenv.Open(opts.Dir)
	if err != nil {
		return factory.WithHint(factory.ExitUsage, err, "give the environment's --dir (or --local-dir)")
	}
	defer env.Close()
	switch opts.Action {
	case "list":
		names, err := env.Secrets.Names()
		if err != nil {
			return err
		}
		for _, n := range names {
			fmt.Fprintln(opts.IO.Out, n)
		}
		return nil
	case "set":
		value, err := readValue(opts)
		if err != nil {
			return err
		}
		if err := env.Secrets.Put(opts.Name, value); err != nil {
			return err
		}
		fmt.Fprintf(opts.IO.Out, "secret %s set in %s (%d bytes)\n", opts.Name, env.Secrets.Path, len(value))
		return nil
	}
	return fmt.Errorf("local secret: unknown action %q", opts.Action)
}

// readValue reads the value from --from-file or stdin, without one
// trailing newline.
func readValue(opts *SecretOptions) (string, error) {
	var r io.Reader = opts.IO.In
	from := "stdin"
	if opts.FromFile != "" {
		f, err := os.Open(opts.FromFile)
		if err != nil {
			return "", factory.UsageError("local secret set: %v", err)
		}
		defer f.Close()
		r, from = f, opts.FromFile
	}
	if r == nil {
		return "", factory.UsageError("local secret set: no stdin to read the value from: pipe it in, or use --from-file FILE")
	}
	b, err := io.ReadAll(io.LimitReader(r, maxSecretSize+1))
	if err != nil {
		return "", fmt.Errorf("read the value of %s from %s: %w", opts.Name, from, err)
	}
	if len(b) > maxSecretSize {
		return "", factory.UsageError("local secret set: the value from %s is over %d KiB", from, maxSecretSize>>10)
	}
	v := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if v == "" {
		return "", factory.WithHint(factory.ExitUsage, fmt.Errorf("local secret set: the value of %s from %s is empty", opts.Name, from),
			"pipe the value in: printf %s \"$VALUE\" | slipway local secret set "+opts.Name)
	}
	return v, nil
}
