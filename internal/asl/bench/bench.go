package bench

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/statemachine"
)

// Workload is one benchmark: a definition, its input, the stub responses
// of its Task states (by state name, in call order) and how many times to
// run it.
type Workload struct {
	Name       string
	Definition []byte
	Input      []byte
	Stubs      map[string][]json.RawMessage
	Runs       int
}

// Workloads returns the three benchmarks.
func Workloads() ([]*Workload, error) {
	deploy, err := deployWorkload()
	if err != nil {
		return nil, err
	}
	return []*Workload{
		{Name: "pass-chain-10k", Definition: []byte(PassChain(10000)), Input: []byte(`{"deployment": "d-1", "version": "v42"}`), Runs: 5},
		{Name: "map-10k", Definition: []byte(mapDef), Input: mapInput(10000), Runs: 5},
		deploy,
	}, nil
}

// PassChain is a definition of n Pass states, each leading to the next.
func PassChain(n int) string {
	var b strings.Builder
	b.WriteString(`{"StartAt": "S0", "States": {`)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		if i == n-1 {
			fmt.Fprintf(&b, `"S%d": {"Type": "Pass", "End": true}`, i)
		} else {
			fmt.Fprintf(&b, `"S%d": {"Type": "Pass", "ResultPath": "$.step", "Result": %d, "Next": "S%d"}`, i, i, i+1)
		}
	}
	b.WriteString("}}")
	return b.String()
}

const mapDef = `{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "End": true,
	"ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "e.$": "$.env"},
	"ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}`

// mapInput is n small items: the results must stay under the 256 KiB
// payload limit.
func mapInput(n int) []byte {
	var in strings.Builder
	in.WriteString(`{"env": "s", "items": [`)
	for i := range n {
		if i > 0 {
			in.WriteString(",")
		}
		fmt.Fprintf(&in, `%d`, i%100)
	}
	in.WriteString("]}")
	return []byte(in.String())
}

//go:embed testdata/deploy-stubs.json
var deployStubs []byte

// deployWorkload is the deploy state machine with each Task's resource
// replaced by a function named after the state, so that a stub handler
// per state can answer it, in both engines.
func deployWorkload() (*Workload, error) {
	var stubs struct {
		Input   json.RawMessage              `json:"input"`
		Outputs map[string][]json.RawMessage `json:"outputs"`
	}
	if err := json.Unmarshal(deployStubs, &stubs); err != nil {
		return nil, fmt.Errorf("decode deploy stubs: %w", err)
	}
	subs := map[string]string{}
	for _, p := range asl.Placeholders(statemachine.Deploy) {
		subs[p] = "arn:aws:lambda:us-east-1:000000000000:function:" + p
	}
	def, err := asl.Substitute(statemachine.Deploy, subs)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(def, &doc); err != nil {
		return nil, fmt.Errorf("decode deploy definition: %w", err)
	}
	perStateResources(doc)
	def, err = json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	return &Workload{Name: "deploy", Definition: def, Input: stubs.Input, Stubs: stubs.Outputs, Runs: 300}, nil
}

// StubARN is the function a Task state's stub answers as.
func StubARN(state string) string {
	return "arn:aws:lambda:us-east-1:000000000000:function:stub-" + state
}

// perStateResources points every Task of a machine (nested ones too) at
// its own stub function.
func perStateResources(m map[string]any) {
	states, _ := m["States"].(map[string]any)
	for name, raw := range states {
		s, _ := raw.(map[string]any)
		if s == nil {
			continue
		}
		if s["Type"] == "Task" {
			if r, _ := s["Resource"].(string); strings.HasPrefix(r, "arn:aws:states:::lambda:invoke") {
				params, _ := s["Parameters"].(map[string]any)
				if params != nil {
					params["FunctionName"] = StubARN(name)
				}
			} else {
				s["Resource"] = StubARN(name)
			}
		}
		if bs, ok := s["Branches"].([]any); ok {
			for _, b := range bs {
				if bm, ok := b.(map[string]any); ok {
					perStateResources(bm)
				}
			}
		}
		for _, k := range []string{"ItemProcessor", "Iterator"} {
			if p, ok := s[k].(map[string]any); ok {
				perStateResources(p)
			}
		}
	}
}

// stubResolver answers each stub function with the next canned response
// of its state, the last one repeating.
func stubResolver(stubs map[string][]json.RawMessage) asl.Resolver {
	h := asl.Handlers{}
	for state, outs := range stubs {
		var mu sync.Mutex
		n := 0
		h[StubARN(state)] = asl.HandlerFunc(func(context.Context, []byte) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			out := outs[min(n, len(outs)-1)]
			n++
			return out, nil
		})
	}
	return h
}

// Result is one engine's figures for one workload.
type Result struct {
	Transitions int     `json:"transitions"` // per run
	Runs        int     `json:"runs"`
	Seconds     float64 `json:"seconds"` // all runs, parse excluded
	Status      string  `json:"status"`
	Output      string  `json:"output,omitempty"`
}

// TransitionsPerSecond is the throughput.
func (r Result) TransitionsPerSecond() float64 {
	if r.Seconds == 0 {
		return 0
	}
	return float64(r.Transitions*r.Runs) / r.Seconds
}

// RunEmbedded runs w on the embedded engine: once to warm up and count the
// transitions (states entered), then w.Runs times, timed.
func RunEmbedded(ctx context.Context, w *Workload) (Result, error) {
	sm, err := asl.Parse(w.Definition)
	if err != nil {
		return Result{}, fmt.Errorf("parse %s: %w", w.Name, err)
	}
	run := func() (*asl.Execution, error) {
		return asl.Run(ctx, sm, w.Input, asl.Options{
			Resolver:      stubResolver(w.Stubs),
			Clock:         asl.NewVirtualClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)),
			ExecutionName: "bench",
			// map-10k's history (about 40,000 events) is over Step
			// Functions' 25,000-event quota, so such an inline Map fails
			// on AWS; the benchmark measures the engine's throughput, so
			// it lifts the cap.
			MaxHistoryEvents: 1 << 20,
		})
	}
	ex, err := run()
	if err != nil {
		return Result{}, err
	}
	res := Result{Runs: w.Runs, Status: ex.Status, Output: string(ex.Output)}
	for _, ev := range ex.History {
		if strings.HasSuffix(ev.Type, "StateEntered") {
			res.Transitions++
		}
	}
	if ex.Status != asl.StatusSucceeded {
		return res, errors.New(w.Name + ": " + ex.Status + " " + ex.Error + ": " + ex.Cause)
	}
	start := time.Now()
	for range w.Runs {
		if _, err := run(); err != nil {
			return res, err
		}
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}
