package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/infra/eventpattern"
)

// TestRulesMatchSampleEvents runs every sample event under events/ (but
// the manual inputs) through every rule's pattern: each event starts
// exactly the rules listed, and the near misses start none. For a rule
// with an input transformer, the input it builds is checked too.
func TestRulesMatchSampleEvents(t *testing.T) {
	s := synth(t)
	type started struct {
		rule  string
		input string // JSON, "" when the rule passes the event unchanged
	}
	// The routers get the event itself: they map it to the execution input
	// (internal/trigger, tested against the same sample events).
	want := map[string][]started{
		"codecommit/push-main.json":                   {{"CodeCommitPush", ""}},
		"codecommit/push-other-branch.json":           nil,
		"codecommit/tag-main.json":                    nil,
		"git/push-main.json":                          {{"GitPush", ""}},
		"git/push-main-ref.json":                      {{"GitPush", ""}},
		"git/push-main-no-app.json":                   {{"GitPush", ""}},
		"git/push-tag.json":                           nil,
		"git/push-other-branch.json":                  nil,
		"git/push-other-app.json":                     nil,
		"alarm/alarm-to-alarm.json":                   {{"AlarmStaging", ""}},
		"alarm/production-insufficient-to-alarm.json": {{"AlarmProduction", ""}},
		"alarm/alarm-to-ok.json":                      nil,
		"alarm/other-alarm.json":                      nil,
		"states/deploy-failed.json":                   {{"CloseExecutions", ""}, {"ExecutionStatus", ""}},
		"states/deploy-timed-out.json":                {{"CloseExecutions", ""}, {"ExecutionStatus", ""}},
		"states/rollback-running.json":                {{"ExecutionStatus", ""}},
		"states/other-state-machine.json":             nil,
		// Only the stack's own hook's launch actions of a configured group.
		"autoscaling/launch-staging.json":     {{"LaunchStaging", ""}},
		"autoscaling/launch-other-group.json": nil,
		"autoscaling/launch-malformed.json":   nil,
		"autoscaling/test-notification.json":  nil,
	}
	root := repoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "events", "*", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	rules := s.ofType("AWS::Events::Rule")
	for _, path := range files {
		name, _ := filepath.Rel(filepath.Join(root, "events"), path)
		if strings.HasPrefix(name, "manual/") || strings.HasPrefix(name, "github/") {
			continue // execution inputs and Function URL requests, not events
		}
		seen[name] = true
		expected, ok := want[name]
		if !ok {
			t.Errorf("events/%s: no expectation in this test: say which rules it starts", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var event map[string]any
			if err := json.Unmarshal(raw, &event); err != nil {
				t.Fatal(err)
			}
			var got []started
			for id, r := range rules {
				pattern := s.resolve(r.props()["EventPattern"]).(map[string]any)
				ok, err := eventpattern.MatchValues(pattern, event)
				if err != nil {
					t.Fatalf("rule %s: %v", s.name(id), err)
				}
				if !ok {
					continue
				}
				for _, target := range asSlice(r.props()["Targets"]) {
					got = append(got, started{s.name(id), transform(t, target.(map[string]any), event)})
				}
			}
			sort.Slice(got, func(i, j int) bool { return got[i].rule < got[j].rule })
			if len(got) != len(expected) {
				t.Fatalf("starts %v, want %v", got, expected)
			}
			for i := range got {
				if got[i].rule != expected[i].rule {
					t.Errorf("starts %s, want %s", got[i].rule, expected[i].rule)
				}
				if expected[i].input == "" {
					if got[i].input != "" {
						t.Errorf("%s passes %s, want the event unchanged", got[i].rule, got[i].input)
					}
					continue
				}
				var g, w any
				if err := json.Unmarshal([]byte(got[i].input), &g); err != nil {
					t.Fatalf("%s builds invalid JSON %s: %v", got[i].rule, got[i].input, err)
				}
				if err := json.Unmarshal([]byte(expected[i].input), &w); err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(w, g); diff != "" {
					t.Errorf("%s input (-want +got):\n%s", got[i].rule, diff)
				}
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("events/%s is missing", name)
		}
	}
}

// transform applies a target's input transformer to event as EventBridge
// does: each input path is looked up in the event and its JSON value
// replaces <name> in the template. It returns "" for a target without one.
func transform(t *testing.T, target, event map[string]any) string {
	t.Helper()
	it, ok := target["InputTransformer"].(map[string]any)
	if !ok {
		if _, has := target["Input"]; has {
			t.Fatalf("target has a constant Input; want the event or a transformer")
		}
		return ""
	}
	out := it["InputTemplate"].(string)
	paths, _ := it["InputPathsMap"].(map[string]any)
	for name, p := range paths {
		v, ok := lookup(event, p.(string))
		if !ok {
			t.Fatalf("input path %s (%s) is not in the event", name, p)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out = strings.ReplaceAll(out, "<"+name+">", string(b))
	}
	return out
}

// lookup evaluates a simple JSONPath ($.a.b) on a decoded event.
func lookup(event map[string]any, path string) (any, bool) {
	if !strings.HasPrefix(path, "$.") {
		panic(fmt.Sprintf("unsupported path %s", path))
	}
	var cur any = event
	for _, k := range strings.Split(strings.TrimPrefix(path, "$."), ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[k]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func TestRuleTargets(t *testing.T) {
	s := synth(t)
	want := map[string]string{
		"CodeCommitPush":   "<PushRouterFunction.Arn>",
		"GitPush":          "<PushRouterFunction.Arn>",
		"AlarmStaging":     "<AlarmRouterFunction.Arn>",
		"AlarmProduction":  "<AlarmRouterFunction.Arn>",
		"ExecutionStatus":  "<Notifications>",
		"CloseExecutions":  "<CloserFunction.Arn>",
		"LaunchStaging":    "<LifecycleFunction.Arn>",
		"LaunchProduction": "<LifecycleFunction.Arn>",
	}
	got := map[string]string{}
	for id, r := range s.ofType("AWS::Events::Rule") {
		targets := asSlice(r.props()["Targets"])
		if len(targets) != 1 {
			t.Errorf("%s has %d targets, want 1", s.name(id), len(targets))
			continue
		}
		got[s.name(id)] = fmt.Sprint(s.resolve(targets[0].(map[string]any)["Arn"]))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rule targets (-want +got):\n%s", diff)
	}
	// EventBridge may invoke each router only from the rules that target it.
	perms := map[string][]string{}
	for _, p := range s.ofType("AWS::Lambda::Permission") {
		props := p.props()
		if fmt.Sprint(props["Principal"]) != "events.amazonaws.com" {
			continue
		}
		fn := fmt.Sprint(s.resolve(props["FunctionName"]))
		perms[fn] = append(perms[fn], fmt.Sprint(s.resolve(props["SourceArn"])))
	}
	for fn, rules := range map[string][]string{
		"<PushRouterFunction.Arn>":  {"<CodeCommitPush.Arn>", "<GitPush.Arn>"},
		"<AlarmRouterFunction.Arn>": {"<AlarmProduction.Arn>", "<AlarmStaging.Arn>"},
		"<CloserFunction.Arn>":      {"<CloseExecutions.Arn>"},
		"<LifecycleFunction.Arn>":   {"<LaunchProduction.Arn>", "<LaunchStaging.Arn>"},
	} {
		got := perms[fn]
		sort.Strings(got)
		if diff := cmp.Diff(rules, got); diff != "" {
			t.Errorf("EventBridge permissions on %s (-want +got):\n%s", fn, diff)
		}
	}
}

// TestRulesAgreeWithRouters: the rules send a router every sample event it
// acts on, and none it ignores or refuses. What a router makes of each
// event is recorded by its operations test in the root module (the
// "events" of testdata/operations/<router>.json), with the same
// configuration as the fixture stack's.
func TestRulesAgreeWithRouters(t *testing.T) {
	s := synth(t)
	root := repoRoot(t)
	routers := 0
	for _, c := range roleChecks(t, s) {
		if len(c.file.Events) == 0 {
			continue
		}
		routers++
		target := "<" + pascal(c.function) + "Function.Arn>"
		t.Run(c.function, func(t *testing.T) {
			for _, name := range sortedKeys(c.file.Events) {
				action := c.file.Events[name]
				raw, err := os.ReadFile(filepath.Join(root, "events", name))
				if err != nil {
					t.Fatalf("events/%s: %v", name, err)
				}
				var event map[string]any
				if err := json.Unmarshal(raw, &event); err != nil {
					t.Fatal(err)
				}
				var matched []string
				for id, r := range s.ofType("AWS::Events::Rule") {
					sends := false
					for _, tg := range asSlice(r.props()["Targets"]) {
						sends = sends || fmt.Sprint(s.resolve(tg.(map[string]any)["Arn"])) == target
					}
					if !sends {
						continue
					}
					ok, err := eventpattern.MatchValues(s.resolve(r.props()["EventPattern"]).(map[string]any), event)
					if err != nil {
						t.Fatalf("rule %s: %v", s.name(id), err)
					}
					if ok {
						matched = append(matched, s.name(id))
					}
				}
				acts := action != "ignored" && action != "error"
				switch {
				case acts && len(matched) == 0:
					t.Errorf("events/%s: the router acts on it (%s) but no rule sends it there", name, action)
				case !acts && len(matched) > 0:
					t.Errorf("events/%s: rules %v send it to the router, which answers %s", name, matched, action)
				}
			}
		})
	}
	if routers == 0 {
		t.Fatal("no operations file records what a router made of the sample events")
	}
}
