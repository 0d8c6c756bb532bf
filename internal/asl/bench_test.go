package asl

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// passChain is a definition of n Pass states, each leading to the next.
func passChain(n int) string {
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

// benchmarkRun runs sm b.N times and reports the state transitions per
// second, given how many a run makes.
func benchmarkRun(b *testing.B, sm *StateMachine, input []byte, transitions int) {
	b.Helper()
	b.ReportAllocs()
	ctx := context.Background()
	for b.Loop() {
		ex, err := Run(ctx, sm, input, Options{Clock: NewVirtualClock(time.Time{}), ExecutionName: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if ex.Status != StatusSucceeded {
			b.Fatalf("Run() = %s %s: %s", ex.Status, ex.Error, ex.Cause)
		}
	}
	b.ReportMetric(float64(b.N)*float64(transitions)/b.Elapsed().Seconds(), "transitions/s")
}

func BenchmarkPassChain(b *testing.B) {
	const n = 10000
	sm, err := Parse([]byte(passChain(n)))
	if err != nil {
		b.Fatal(err)
	}
	benchmarkRun(b, sm, []byte(`{"deployment": "d-1", "version": "v42"}`), n)
}

func BenchmarkMap(b *testing.B) {
	const n = 10000
	sm, err := Parse([]byte(`{"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "End": true,
		"ItemSelector": {"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "e.$": "$.env"},
		"ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}`))
	if err != nil {
		b.Fatal(err)
	}
	var in strings.Builder
	// Small items: the results must stay under the 256 KiB payload limit.
	in.WriteString(`{"env": "s", "items": [`)
	for i := range n {
		if i > 0 {
			in.WriteString(",")
		}
		fmt.Fprintf(&in, `%d`, i%100)
	}
	in.WriteString("]}")
	benchmarkRun(b, sm, []byte(in.String()), n+1)
}

func BenchmarkParse(b *testing.B) {
	def := []byte(passChain(1000))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(def); err != nil {
			b.Fatal(err)
		}
	}
}
