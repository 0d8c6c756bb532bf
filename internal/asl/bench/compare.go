package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"text/tabwriter"
)

// Main is the benchengine command. With -one it runs one workload on the
// embedded engine and prints its Result as JSON (the driver starts itself
// that way, one process per workload). Otherwise it drives both engines
// over every workload and prints the comparison.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("benchengine", flag.ContinueOnError)
	fs.SetOutput(stderr)
	one := fs.String("one", "", "run this workload on the embedded engine only and print the result as JSON")
	peer := fs.String("peer", "internal/asl/bench/peer", "the folder where aws-local-stepfunctions is installed (npm ci); empty skips the peer")
	node := fs.String("node", "node", "the Node.js binary")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	workloads, err := Workloads()
	if err != nil {
		fmt.Fprintf(stderr, "benchengine: %v\n", err)
		return 1
	}
	if *one != "" {
		for _, w := range workloads {
			if w.Name == *one {
				res, err := RunEmbedded(ctx, w)
				if err != nil {
					fmt.Fprintf(stderr, "benchengine: %v\n", err)
					return 1
				}
				res.Output = ""
				_ = json.NewEncoder(stdout).Encode(res)
				return 0
			}
		}
		fmt.Fprintf(stderr, "benchengine: no workload %q\n", *one)
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "benchengine: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "workload\tengine\ttransitions/run\truns\ttransitions/s\tpeak RSS\tstatus")
	for _, w := range workloads {
		ours, oursRSS, err := measure(ctx, self, "-one", w.Name)
		if err != nil {
			fmt.Fprintf(stderr, "benchengine: %s on the embedded engine: %v\n", w.Name, err)
			return 1
		}
		fmt.Fprintf(tw, "%s\tslipway (Go)\t%d\t%d\t%s\t%s\t%s\n", w.Name, ours.Transitions, ours.Runs, rate(ours.TransitionsPerSecond()), mib(oursRSS), ours.Status)
		if *peer == "" {
			continue
		}
		script, _ := filepath.Abs(filepath.Join(*peer, "run.mjs"))
		dir, err := writeWorkload(w)
		if err != nil {
			fmt.Fprintf(stderr, "benchengine: %v\n", err)
			return 1
		}
		theirs, theirRSS, err := measure(ctx, *node, script, dir, fmt.Sprint(w.Runs))
		os.RemoveAll(dir)
		if err != nil {
			fmt.Fprintf(tw, "\taws-local-stepfunctions\t-\t-\t-\t-\tfailed: %v\n", err)
			continue
		}
		theirs.Transitions = ours.Transitions // same definition, same path
		if theirs.Status != "SUCCEEDED" {
			fmt.Fprintf(tw, "\taws-local-stepfunctions\t-\t-\t-\t%s\t%s: %s\n", mib(theirRSS), theirs.Status, theirs.Output)
			continue
		}
		fmt.Fprintf(tw, "\taws-local-stepfunctions\t%d\t%d\t%s\t%s\t%s\n", theirs.Transitions, theirs.Runs, rate(theirs.TransitionsPerSecond()), mib(theirRSS), theirs.Status)
		fmt.Fprintf(tw, "\tratio slipway/peer\t\t\t%.2fx\t%.2fx\t\n",
			ours.TransitionsPerSecond()/theirs.TransitionsPerSecond(), float64(oursRSS)/float64(max(theirRSS, 1)))
	}
	if err := tw.Flush(); err != nil {
		return 1
	}
	fmt.Fprintln(stdout, "\ntransitions: states entered per run; the time excludes parsing and process start; peak RSS is the process's (Go or Node).")
	return 0
}

// measure runs a command that prints a Result as JSON and returns it with
// the process's peak resident set, in KiB.
func measure(ctx context.Context, name string, args ...string) (Result, int64, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return Result{}, 0, fmt.Errorf("%v: %s", err, bytes.TrimSpace(errOut.Bytes()))
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return Result{}, 0, fmt.Errorf("decode result %q: %w", out.String(), err)
	}
	return res, peakRSS(cmd.ProcessState), nil
}

// writeWorkload writes a workload for the peer: definition, input, stubs.
func writeWorkload(w *Workload) (string, error) {
	dir, err := os.MkdirTemp("", "bench-engine-")
	if err != nil {
		return "", err
	}
	stubs := w.Stubs
	if stubs == nil {
		stubs = map[string][]json.RawMessage{}
	}
	stubText, _ := json.Marshal(stubs)
	for name, data := range map[string][]byte{"definition.json": w.Definition, "input.json": w.Input, "stubs.json": stubText} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func rate(f float64) string {
	switch {
	case f >= 1e6:
		return fmt.Sprintf("%.2fM", f/1e6)
	case f >= 1e3:
		return fmt.Sprintf("%.1fk", f/1e3)
	}
	return fmt.Sprintf("%.0f", f)
}

func mib(kib int64) string { return fmt.Sprintf("%.0f MiB", float64(kib)/1024) }
