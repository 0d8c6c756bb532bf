// Package hostconfig is the host's side of an app's configuration: the
// resolver the host script (scripts/slipway-host.sh) runs at activation,
// before anything switches. It reads the release's slipway.yaml, resolves
// the environment's variables (SSM Parameter Store and Secrets Manager with
// the instance role, or the embedded environment's secrets file),
// fingerprints them with the app's key, checks the fingerprint is the one
// the deployment checked in Preflight, and writes the release's environment
// file (mode 0600) atomically.
//
// Values go to that file only: never to the resolver's output, its errors
// or its exit status. Only the environment's name, the references and the
// fingerprint reach it from the deployment.
//
// The resolver runs as cmd/slipway-env on EC2 (the SSM document downloads
// it), and as any binary that links this package with MainEnv=1 (the
// embedded fleet re-executes the slipway binary, or the test binary).
package hostconfig

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/manifest"
	"github.com/slipway-deploy/slipway/internal/secret"
)

// Exit codes of the resolver; the host script turns ExitChanged into its
// own exit 10 and every other failure into 9.
const (
	ExitOK      = 0
	ExitFailed  = 1 // the configuration does not resolve, or the file cannot be written
	ExitUsage   = 2
	ExitChanged = 3 // the values resolve to another fingerprint than the expected one
)

// MainEnv, set to "1", makes a binary that links this package run Main
// instead of its own main when its first argument is "resolve": how the
// embedded fleet runs the resolver from the slipway binary itself.
const MainEnv = "SLIPWAY_CONFIG_RESOLVER_MAIN"

// SecretsFileEnv names the embedded environment's secrets file: the
// resolver reads the references from it instead of AWS.
const SecretsFileEnv = "SLIPWAY_CONFIG_SECRETS_FILE"

func init() {
	if os.Getenv(MainEnv) != "1" || len(os.Args) < 2 || os.Args[1] != "resolve" {
		return
	}
	os.Exit(Main(context.Background(), os.Args[1:], os.Stderr, nil))
}

// ChangedError means the stores give values of another fingerprint than
// the one the deployment expects: the configuration changed since
// Preflight checked it.
type ChangedError struct {
	Env, Want, Got string
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("the configuration of %s changed since the deployment checked it: the stores give %s, the deployment expects %s; deploy again to use the new values", e.Env, e.Got, e.Want)
}

// Resolve reads the release's manifest in releaseDir, resolves env's
// variables from s and fingerprints them with the app's key (from s too).
// It returns the environment file's content when the fingerprint is want,
// a *ChangedError when it is not, and an error naming every problem (never
// a value) when the configuration does not resolve.
func Resolve(ctx context.Context, releaseDir, env, want string, s appconfig.Store) ([]byte, string, error) {
	file := filepath.Join(releaseDir, manifest.FileName)
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("read the release's manifest: %w", err)
	}
	m, err := manifest.ParseFile(file, b)
	if err != nil {
		return nil, "", fmt.Errorf("read the release's manifest: %w", err)
	}
	if len(m.Config) == 0 {
		return nil, "", fmt.Errorf("the release's slipway.yaml declares no config: section, yet the deployment expects configuration %s", want)
	}
	vals, err := appconfig.Resolve(ctx, env, appconfig.Entries(m, env), s)
	if err != nil {
		return nil, "", err
	}
	key, err := appconfig.LoadKey(ctx, s, m.App)
	if err != nil {
		return nil, "", err
	}
	got := appconfig.Fingerprint(key, vals)
	if want != "" && got != want {
		return nil, got, &ChangedError{Env: env, Want: want, Got: got}
	}
	return appconfig.EnvFile(vals), got, nil
}

// WriteFile writes data to path atomically, mode 0600 from the start: a
// temporary file in the same directory, synced, then renamed.
func WriteFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp.*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Main runs `resolve --release DIR --env ENV --fingerprint FP --out FILE
// [--secrets-file PATH]` and returns its exit code. store, when not nil,
// replaces the stores the flags and the environment choose.
func Main(ctx context.Context, args []string, stderr io.Writer, store appconfig.Store) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(stderr, "slipway-env: "+format+"\n", a...)
		return code
	}
	if len(args) == 0 || args[0] != "resolve" {
		return fail(ExitUsage, "usage: slipway-env resolve --release DIR --env ENV --fingerprint FP --out FILE [--secrets-file PATH]")
	}
	fs := flag.NewFlagSet("slipway-env resolve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	release := fs.String("release", "", "the release directory (holds slipway.yaml)")
	env := fs.String("env", "", "the environment whose values to resolve")
	want := fs.String("fingerprint", "", "the fingerprint the deployment expects")
	out := fs.String("out", "", "the environment file to write (mode 0600)")
	secretsFile := fs.String("secrets-file", os.Getenv(SecretsFileEnv), "the embedded environment's secrets file (default: SSM and Secrets Manager)")
	if err := fs.Parse(args[1:]); err != nil {
		return ExitUsage
	}
	switch {
	case *release == "" || *env == "" || *want == "" || *out == "":
		return fail(ExitUsage, "resolve needs --release, --env, --fingerprint and --out")
	case fs.NArg() > 0:
		return fail(ExitUsage, "resolve takes no arguments, got %q", fs.Args())
	}
	if store == nil {
		var err error
		if store, err = defaultStore(ctx, *secretsFile); err != nil {
			return fail(ExitFailed, "%v", err)
		}
	}
	data, _, err := Resolve(ctx, *release, *env, *want, store)
	var changed *ChangedError
	if errors.As(err, &changed) {
		return fail(ExitChanged, "%v", err)
	}
	if err != nil {
		return fail(ExitFailed, "%v", err)
	}
	if err := WriteFile(*out, data); err != nil {
		return fail(ExitFailed, "%v", err)
	}
	fmt.Fprintf(stderr, "slipway-env: wrote the configuration of %s (%s) to %s\n", *env, *want, *out)
	return ExitOK
}

// defaultStore is the secrets file when one is named, else SSM and Secrets
// Manager with the credentials of the machine (the instance role), in the
// region of AWS_REGION or, on EC2, the instance's.
func defaultStore(ctx context.Context, secretsFile string) (appconfig.Store, error) {
	if secretsFile != "" {
		return &appconfig.File{Secrets: &secret.File{Path: secretsFile}}, nil
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithEC2IMDSRegion())
	if err != nil {
		return nil, fmt.Errorf("load AWS credentials (the instance role): %w", err)
	}
	return &appconfig.AWS{SSM: ssm.NewFromConfig(cfg), Secrets: secretsmanager.NewFromConfig(cfg)}, nil
}
