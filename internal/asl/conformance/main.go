package conformance

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
)

// DefaultDir is where the conformance data sits, relative to the
// repository root: the shared folder next to the clone.
const DefaultDir = "../shared/conformance/asl"

// Main is the aslconformance command. It replays every history, prints
// the table, writes the ids that did not pass to -failures and, with
// -pin, the cases that passed (three runs in a row) to a fixture for
// TestPinned. It returns 0 whatever the pass rate; only a broken setup
// (no data, a write error) returns 1.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("aslconformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", envOr("ASL_CONFORMANCE_DIR", DefaultDir), "the conformance folder (index.json, templates/, v2/); env ASL_CONFORMANCE_DIR")
	failures := fs.String("failures", "internal/asl/conformance/failing.txt", "write the ids that did not pass here, with the reason")
	pin := fs.String("pin", "", "write the cases that pass to this fixture file (for TestPinned)")
	only := fs.String("only", "", "replay only the cases whose id contains this text, and print each result")
	workers := fs.Int("workers", runtime.NumCPU(), "cases replayed at once")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if _, err := os.Stat(filepath.Join(*dir, "index.json")); err != nil {
		fmt.Fprintf(stderr, "aslconformance: no conformance data at %s (set -dir or ASL_CONFORMANCE_DIR): %v\n", *dir, err)
		return 1
	}
	cases, skipped, err := Load(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "aslconformance: %v\n", err)
		return 1
	}
	if *only != "" {
		cases = slices.DeleteFunc(cases, func(c *Case) bool { return !containsText(c.ID, *only) })
		skipped = slices.DeleteFunc(skipped, func(r Result) bool { return !containsText(r.ID, *only) })
	}
	results := append(ReplayAll(ctx, cases, *workers), skipped...)
	if *only != "" {
		for _, r := range results {
			fmt.Fprintf(stdout, "%s %s %s\n", r.Status, r.ID, r.Reason)
		}
	}
	if err := WriteTable(stdout, results); err != nil {
		fmt.Fprintf(stderr, "aslconformance: %v\n", err)
		return 1
	}
	if *failures != "" && *only == "" {
		if err := writeFile(*failures, func(w io.Writer) error { return WriteFailures(w, results) }); err != nil {
			fmt.Fprintf(stderr, "aslconformance: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "failing ids: %s\n", *failures)
	}
	if *pin != "" {
		stable := stableCases(ctx, cases, results, *workers)
		if err := writeFile(*pin, func(w io.Writer) error { return WriteFixture(w, stable) }); err != nil {
			fmt.Fprintf(stderr, "aslconformance: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "pinned %d passing cases: %s\n", len(stable), *pin)
	}
	return 0
}

// stableCases returns the cases that passed, and pass twice more.
func stableCases(ctx context.Context, cases []*Case, first []Result, workers int) []*Case {
	var passed []*Case
	for i, c := range cases {
		if first[i].Status == Pass {
			passed = append(passed, c)
		}
	}
	for range 2 {
		res := ReplayAll(ctx, passed, workers)
		var keep []*Case
		for i, c := range passed {
			if res[i].Status == Pass {
				keep = append(keep, c)
			}
		}
		passed = keep
	}
	return passed
}

// WriteFixture writes cases as the pinned fixture: a JSON array, one case
// a line.
func WriteFixture(w io.Writer, cases []*Case) error {
	if _, err := io.WriteString(w, "[\n"); err != nil {
		return err
	}
	for i, c := range cases {
		b, err := json.Marshal(c)
		if err != nil {
			return err
		}
		sep := ",\n"
		if i == len(cases)-1 {
			sep = "\n"
		}
		if _, err := fmt.Fprintf(w, "%s%s", b, sep); err != nil {
			return err
		}
	}
	_, err := io.WriteString(w, "]\n")
	return err
}

func writeFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func containsText(s, sub string) bool { return len(sub) == 0 || indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}
