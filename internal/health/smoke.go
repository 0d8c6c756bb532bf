package health

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
)

// SmokeResult is one smoke check against one target (an instance, or the
// load balancer): the request, the answer (cut, with secrets redacted) and
// the expectation, so that the ledger and the report can show all three.
type SmokeResult struct {
	Check string `json:"check"`
	// Target is the instance id, or "load balancer".
	Target    string `json:"target"`
	Request   string `json:"request"`
	Status    int    `json:"status,omitempty"`
	LatencyMS int64  `json:"latency_ms"`
	// Answer is the start of the body (AnswerShown bytes at most).
	Answer string `json:"answer,omitempty"`
	Expect string `json:"expect"`
	OK     bool   `json:"ok"`
	// Problem says what did not match.
	Problem string `json:"problem,omitempty"`
}

// AnswerShown is how much of an answer's body a smoke result keeps.
const AnswerShown = 300

// Redactor replaces secret values in text that is recorded.
type Redactor func(string) string

// Smoke runs check against baseURL (http://host:port) and judges the
// answer. What it records of the answer's body (the answer, and the values
// found at the JSON paths) goes through redact first (nil: no secret
// known); the request and the expectation come from the manifest.
func (p *Prober) Smoke(ctx context.Context, target, baseURL string, c contract.SmokeCheck, redact Redactor) SmokeResult {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	r := SmokeResult{Check: c.Name, Target: target, Request: c.Method + " " + baseURL + c.Path, Expect: Expectation(c)}
	limit := time.Duration(c.MaxLatencyMS) * time.Millisecond
	// The request may take a little longer than the ceiling, so that a
	// slow answer is reported as slow (with its latency), not as none.
	rctx, cancel := context.WithTimeout(ctx, limit+limit/2+time.Second)
	defer cancel()
	var body io.Reader
	if c.Body != "" {
		body = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(rctx, c.Method, baseURL+c.Path, body)
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	req.Header.Set("User-Agent", "slipway-smoke")
	for k, v := range c.Headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := p.Client.Do(req)
	if err != nil {
		r.LatencyMS = time.Since(start).Milliseconds()
		r.Problem = fmt.Sprintf("no answer: %v", err)
		return r
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	latency := time.Since(start)
	r.LatencyMS = latency.Milliseconds()
	r.Status = resp.StatusCode
	// Redacted before it is cut: a secret across the cut would leak its start.
	r.Answer = Cut([]byte(redact(string(data))), AnswerShown)
	var problems []string
	if r.Status != c.ExpectStatus {
		problems = append(problems, fmt.Sprintf("status %d, want %d", r.Status, c.ExpectStatus))
	}
	if c.BodyContains != "" && !bytes.Contains(data, []byte(c.BodyContains)) {
		problems = append(problems, fmt.Sprintf("the body does not contain %q", c.BodyContains))
	}
	if m := JSONMismatches(data, c.JSON); len(m) > 0 {
		problems = append(problems, Cut([]byte(redact(strings.Join(m, "; "))), AnswerShown))
	}
	if limit > 0 && latency > limit {
		problems = append(problems, fmt.Sprintf("answered in %s, over the ceiling of %s", latency.Round(time.Millisecond), limit))
	}
	r.OK = len(problems) == 0
	r.Problem = strings.Join(problems, "; ")
	return r
}

// Expectation writes what a check expects, for the ledger and the report.
func Expectation(c contract.SmokeCheck) string {
	parts := []string{"status " + strconv.Itoa(c.ExpectStatus)}
	if c.BodyContains != "" {
		parts = append(parts, fmt.Sprintf("body contains %q", c.BodyContains))
	}
	for _, p := range sortedPaths(c.JSON) {
		parts = append(parts, fmt.Sprintf("%s = %s", p, c.JSON[p]))
	}
	if c.MaxLatencyMS > 0 {
		parts = append(parts, "within "+(time.Duration(c.MaxLatencyMS)*time.Millisecond).String())
	}
	return strings.Join(parts, ", ")
}

// JSONMismatches compares the values at each dotted path of want with
// body, a JSON document, and says what differs. Numbers compare by value
// (1 equals 1.0).
func JSONMismatches(body []byte, want map[string]json.RawMessage) []string {
	if len(want) == 0 {
		return nil
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return []string{fmt.Sprintf("the body is not JSON, so %s cannot be checked", strings.Join(sortedPaths(want), ", "))}
	}
	var out []string
	for _, p := range sortedPaths(want) {
		var w any
		if err := json.Unmarshal(want[p], &w); err != nil {
			out = append(out, fmt.Sprintf("%s: the expected value %s is not JSON", p, want[p]))
			continue
		}
		got, ok := JSONPath(doc, p)
		if !ok {
			out = append(out, fmt.Sprintf("%s is absent, want %s", p, want[p]))
			continue
		}
		if !reflect.DeepEqual(got, w) {
			g, _ := json.Marshal(got)
			out = append(out, fmt.Sprintf("%s = %s, want %s", p, g, want[p]))
		}
	}
	return out
}

// JSONPath finds a dotted path ("items.0.id") in a decoded JSON document:
// a segment names an object's key, or an array's index.
func JSONPath(doc any, path string) (any, bool) {
	cur := doc
	for _, seg := range strings.Split(path, ".") {
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[seg]
			if !ok {
				return nil, false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(v) {
				return nil, false
			}
			cur = v[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// Cut returns the start of b, at most n bytes, marked when cut.
func Cut(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return strings.ToValidUTF8(string(b[:n]), "") + "…"
}

// Withheld is a Redactor for when the secret values are not known: it
// records nothing of an answer.
func Withheld(string) string {
	return "[withheld: the configuration's secret values could not be read to redact it]"
}

// NewRedactor replaces each secret value (longer than 3 bytes, so that a
// trivial value does not blank everything) with [redacted NAME].
func NewRedactor(secrets map[string]string) Redactor {
	type pair struct{ name, value string }
	var ps []pair
	for name, v := range secrets {
		if len(v) > 3 {
			ps = append(ps, pair{name, v})
		}
	}
	// Longest first, so that a value holding another is cut whole; a
	// value known under two names takes the first name.
	slices.SortFunc(ps, func(a, b pair) int {
		if len(a.value) != len(b.value) {
			return len(b.value) - len(a.value)
		}
		return strings.Compare(a.name, b.name)
	})
	return func(s string) string {
		for _, p := range ps {
			s = strings.ReplaceAll(s, p.value, "[redacted "+p.name+"]")
		}
		return s
	}
}

func sortedPaths(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
