// Command infra is the CDK app that defines everything Slipway runs on AWS
// (package stack). The CDK CLI runs it through cdk.json at the repository
// root (`npx cdk synth`, `npx cdk deploy`); `make synth` runs it directly.
//
// It reads its configuration from the file named by the CDK context key
// "config" (default slipway.aws.json; a relative path is relative to the
// repository root), or from the context value itself when that is an
// object. It packages the functions that `make build` wrote to dist/.
// Every synth runs cdk-nag's AwsSolutions checks and fails on any error
// they leave unsuppressed.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/slipway-deploy/slipway/infra/stack"
)

func main() {
	os.Exit(run())
}

func run() (code int) {
	defer jsii.Close()
	defer func() {
		// jsii reports errors from the CDK (JavaScript) side as panics.
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "slipway infra: %v\n", r)
			code = 1
		}
	}()
	cwd, err := os.Getwd()
	if err != nil {
		return fail(err)
	}
	root, err := stack.FindRoot(cwd)
	if err != nil {
		return fail(err)
	}
	// The CDK CLI says where to write the assembly (CDK_OUTDIR), relative
	// to where it runs: the repository root, where cdk.json is, while this
	// program runs in infra/. Without the CLI, write to the root's cdk.out.
	outdir := os.Getenv("CDK_OUTDIR")
	if outdir == "" {
		outdir = "cdk.out"
	}
	if !filepath.IsAbs(outdir) {
		outdir = filepath.Join(root, outdir)
	}
	props := &awscdk.AppProps{Outdir: jsii.String(outdir)}
	app := awscdk.NewApp(props)
	cfg, err := loadConfig(app, root)
	if err != nil {
		return fail(err)
	}
	repo, err := stack.ReadRepo(root, filepath.Join(root, "dist"))
	if err != nil {
		return fail(err)
	}
	if _, err := stack.New(app, cfg, repo); err != nil {
		return fail(err)
	}
	stack.Check(app)
	app.Synth(nil)
	findings, err := stack.Findings(outdir)
	if err != nil {
		return fail(err)
	}
	errs := 0
	for _, f := range findings {
		fmt.Fprintln(os.Stderr, f)
		if f.Level == stack.LevelError {
			errs++
		}
	}
	if errs > 0 {
		return fail(fmt.Errorf("%d error(s) in the synthesized stack (cdk-nag AwsSolutions or CDK): fix them, or suppress a cdk-nag rule in infra/stack/nag.go with the reason in words", errs))
	}
	fmt.Fprintf(os.Stderr, "slipway infra: synthesized %s to %s\n", stack.Name(cfg), outdir)
	return 0
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "slipway infra: %v\n", err)
	return 1
}

// loadConfig reads the configuration the "config" context key names.
func loadConfig(app awscdk.App, root string) (*stack.Config, error) {
	switch v := app.Node().TryGetContext(jsii.String(stack.ContextKey)).(type) {
	case nil:
		return stack.LoadConfig(filepath.Join(root, stack.DefaultConfigFile))
	case string:
		if strings.TrimSpace(v) == "" {
			return nil, errors.New("the CDK context key \"config\" is empty: name the configuration file, e.g. -c config=slipway.aws.json")
		}
		if !filepath.IsAbs(v) {
			v = filepath.Join(root, v)
		}
		return stack.LoadConfig(v)
	case map[string]interface{}:
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return stack.ParseConfig("(CDK context \"config\")", b)
	default:
		return nil, fmt.Errorf("the CDK context key \"config\" must be a file name or a configuration object, not %T", v)
	}
}
