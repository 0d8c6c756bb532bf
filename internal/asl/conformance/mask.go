package conformance

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Masks the recordings apply (the folder's README.md lists them): values
// replaced whole, and tokens replaced inside longer strings. A masked
// value in the recording matches anything in the same place.
var (
	wholeMasks = []string{
		"date", "timestamp", "datetime", "<timestamp>", "start-time", "entered-time", "start-date", "stop-date",
		"snf_role_arn", "sfn_role_arn", "generated-uuid", "RandomNumberGenerated", "time",
		"executionSucceededEventDetails.output", "stateExitedEventDetails.output",
		"a_task_token", "activity_arn", "lambda_function_name", "sqs_queue_url", "bucket-name", "file-key",
		"table-name", "topic-arn", "state-machine-arn", "execution-arn", "map_run_arn", "RequestId",
		"x-amzn-RequestId", "X-Amzn-Trace-Id", "x-amz-crc32", "via", "detail-type",
	}
	tokenMask = regexp.MustCompile(`<[^<>\s][^<>]*>|111111111111|snf_role_arn|sfn_role_arn|activity_arn`)
	patterns  sync.Map // string -> *regexp.Regexp
)

// MaskedEqual compares a recorded value with the engine's, letting masked
// values and tokens in the recording match anything. Numbers compare by
// value.
func MaskedEqual(want, got any) bool { return maskedEqual(want, got, false) }

// maskedEqual is MaskedEqual; with jsonText set, two strings that both
// hold JSON objects also match when they hold the same object, however
// written. The mocked replays need that: a recorded Lambda error cause
// was parsed by the recorder, so the mock cannot give back its exact text.
func maskedEqual(want, got any, jsonText bool) bool {
	switch w := want.(type) {
	case string:
		if slices.Contains(wholeMasks, w) {
			return true
		}
		g, ok := got.(string)
		if !ok {
			return false
		}
		if maskedStringEqual(w, g) {
			return true
		}
		if jsonText && strings.HasPrefix(w, "{") && strings.HasPrefix(g, "{") {
			wv, err1 := decode([]byte(w))
			gv, err2 := decode([]byte(g))
			return err1 == nil && err2 == nil && maskedEqual(wv, gv, jsonText)
		}
		return false
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, v := range w {
			gv, ok := g[k]
			if !ok || !maskedEqual(v, gv, jsonText) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !maskedEqual(w[i], g[i], jsonText) {
				return false
			}
		}
		return true
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return false
		}
		if w == g {
			return true
		}
		wf, err1 := w.Float64()
		gf, err2 := g.Float64()
		return err1 == nil && err2 == nil && wf == gf
	case nil:
		return got == nil
	case bool:
		g, ok := got.(bool)
		return ok && g == w
	}
	return false
}

func maskedStringEqual(w, g string) bool {
	if w == g {
		return true
	}
	if !tokenMask.MatchString(w) {
		return false
	}
	re, ok := patterns.Load(w)
	if !ok {
		parts := tokenMask.Split(w, -1)
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		re, _ = patterns.LoadOrStore(w, regexp.MustCompile(`(?s)\A`+strings.Join(parts, ".*")+`\z`))
	}
	return re.(*regexp.Regexp).MatchString(g)
}
