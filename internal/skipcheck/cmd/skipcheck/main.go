// Command skipcheck reads `go test -json` on its standard input, prints
// the lines of a plain `go test` run, and exits 1 when a test or package
// failed or, under -ci, when a test skipped itself and the allow-list
// (-allow FILE: "package Test reason" lines) does not allow that skip.
//
//	go test -json ./... | go run ./internal/skipcheck/cmd/skipcheck -ci -allow .ci/skips
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/slipway-deploy/slipway/internal/skipcheck"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("skipcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	allowPath := fs.String("allow", "", "the allow-list of skips that are correct in CI")
	ci := fs.Bool("ci", os.Getenv("CI") == "true", "fail on a skip the allow-list does not name (default: CI=true)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	allowed := skipcheck.Allowed{}
	if *allowPath != "" {
		f, err := os.Open(*allowPath)
		if err != nil {
			fmt.Fprintf(stderr, "skipcheck: %v\n", err)
			return 2
		}
		allowed, err = skipcheck.ParseAllowed(f)
		f.Close()
		if err != nil {
			fmt.Fprintf(stderr, "skipcheck: %v\n", err)
			return 2
		}
	}
	res, err := skipcheck.Check(stdin, stdout)
	if err != nil {
		fmt.Fprintf(stderr, "skipcheck: %v\n", err)
		return 2
	}
	if res.Packages == 0 {
		fmt.Fprintln(stderr, "skipcheck: no package reported a result: did go test run?")
		return 2
	}
	code := 0
	if len(res.Failed) > 0 {
		fmt.Fprintf(stderr, "\n%d failed:\n", len(res.Failed))
		for _, f := range res.Failed {
			fmt.Fprintf(stderr, "  %s\n", f)
		}
		code = 1
	}
	if *ci {
		if bad := res.Unallowed(allowed); len(bad) > 0 {
			fmt.Fprintf(stderr, "\n%d tests skipped under CI=true, where everything they need is installed:\n", len(bad))
			for _, s := range bad {
				fmt.Fprintf(stderr, "  %s\n", s.Name())
			}
			fmt.Fprintf(stderr, "install what they need in .ci/run, or, if the skip is correct in CI, add \"package Test reason\" to %s\n", orDefault(*allowPath, "the -allow file"))
			code = 1
		}
	}
	return code
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
