package elbv2

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/traffic"
)

const (
	blueARN     = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-staging-blue/0123456789abcdef"
	greenARN    = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-staging-green/fedcba9876543210"
	listenerARN = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2"
	ruleARN     = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee"
	xmlns       = `xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"`
)

// fakeELB speaks ELBv2's query protocol (form-encoded requests, XML
// answers and errors) over a little state: target groups with targets,
// one listener and one rule, each with a forward action.
type fakeELB struct {
	mu       sync.Mutex
	requests []url.Values
	groups   map[string]map[string]string // group ARN → target id → state
	delay    map[string]string            // group ARN → deregistration_delay.timeout_seconds
	weights  map[string]map[string]string // listener or rule ARN → group ARN → weight
	sticky   bool
	fail     map[string]string // action → error code
}

func newFake() *fakeELB {
	return &fakeELB{
		groups:  map[string]map[string]string{blueARN: {"i-1": "healthy", "i-2": "unhealthy"}, greenARN: {}},
		delay:   map[string]string{blueARN: "30"},
		weights: map[string]map[string]string{listenerARN: {blueARN: "100", greenARN: "0"}, ruleARN: {blueARN: "100"}},
		sticky:  true,
		fail:    map[string]string{},
	}
}

func errorBody(code string) (int, string) {
	status := http.StatusBadRequest
	if code == "TargetGroupNotFound" || code == "ListenerNotFound" || code == "RuleNotFound" {
		status = http.StatusNotFound
	}
	if code == "Throttling" {
		status = http.StatusBadRequest
	}
	return status, fmt.Sprintf(`<ErrorResponse %s><Error><Type>Sender</Type><Code>%s</Code><Message>%s happened</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`, xmlns, code, code)
}

func okBody(action, inner string) (int, string) {
	return http.StatusOK, fmt.Sprintf(`<%sResponse %s><%sResult>%s</%sResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></%sResponse>`,
		action, xmlns, action, inner, action, action)
}

// members returns form[prefix.member.N.field] for N = 1, 2, … .
func members(form url.Values, prefix, field string) []string {
	var out []string
	for n := 1; ; n++ {
		v, ok := form[fmt.Sprintf("%s.member.%d.%s", prefix, n, field)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

func (f *fakeELB) forwardXML(arn string) string {
	var tgs []string
	for g := range f.weights[arn] {
		tgs = append(tgs, g)
	}
	sort.Strings(tgs)
	var b strings.Builder
	b.WriteString("<member><Type>forward</Type><Order>1</Order><ForwardConfig><TargetGroups>")
	for _, g := range tgs {
		fmt.Fprintf(&b, "<member><TargetGroupArn>%s</TargetGroupArn><Weight>%s</Weight></member>", g, f.weights[arn][g])
	}
	fmt.Fprintf(&b, "</TargetGroups><TargetGroupStickinessConfig><Enabled>%t</Enabled><DurationSeconds>3600</DurationSeconds></TargetGroupStickinessConfig></ForwardConfig></member>", f.sticky)
	return b.String()
}

func (f *fakeELB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	form := r.PostForm
	f.requests = append(f.requests, form)
	code, body := f.answer(form)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(code)
	fmt.Fprint(w, body)
}

func (f *fakeELB) answer(form url.Values) (int, string) {
	action := form.Get("Action")
	if form.Get("Version") != "2015-12-01" {
		return errorBody("InvalidAction")
	}
	if c := f.fail[action]; c != "" {
		return errorBody(c)
	}
	group := form.Get("TargetGroupArn")
	switch action {
	case "DescribeTargetHealth":
		targets, ok := f.groups[group]
		if !ok {
			return errorBody("TargetGroupNotFound")
		}
		var ids []string
		for id := range targets {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var b strings.Builder
		for _, id := range ids {
			reason := ""
			switch targets[id] {
			case "unhealthy":
				reason = "<Reason>Target.ResponseCodeMismatch</Reason><Description>Health checks failed with these codes: [502]</Description>"
			case "draining":
				reason = "<Reason>Target.DeregistrationInProgress</Reason><Description>Target deregistration is in progress</Description>"
			}
			fmt.Fprintf(&b, "<member><Target><Id>%s</Id><Port>8080</Port></Target><HealthCheckPort>8080</HealthCheckPort><TargetHealth><State>%s</State>%s</TargetHealth></member>", id, targets[id], reason)
		}
		return okBody(action, "<TargetHealthDescriptions>"+b.String()+"</TargetHealthDescriptions>")
	case "RegisterTargets", "DeregisterTargets":
		targets, ok := f.groups[group]
		if !ok {
			return errorBody("TargetGroupNotFound")
		}
		for _, id := range members(form, "Targets", "Id") {
			if !strings.HasPrefix(id, "i-") {
				return errorBody("InvalidTarget")
			}
			if action == "RegisterTargets" {
				targets[id] = "initial"
			} else if _, ok := targets[id]; ok {
				targets[id] = "draining"
			}
		}
		return okBody(action, "")
	case "DescribeTargetGroupAttributes":
		if _, ok := f.groups[group]; !ok {
			return errorBody("TargetGroupNotFound")
		}
		attrs := `<member><Key>stickiness.enabled</Key><Value>false</Value></member>`
		if d, ok := f.delay[group]; ok {
			attrs += fmt.Sprintf(`<member><Key>deregistration_delay.timeout_seconds</Key><Value>%s</Value></member>`, d)
		}
		return okBody(action, "<Attributes>"+attrs+"</Attributes>")
	case "DescribeListeners":
		arn := form.Get("ListenerArns.member.1")
		if _, ok := f.weights[arn]; !ok || arn == ruleARN {
			return errorBody("ListenerNotFound")
		}
		return okBody(action, fmt.Sprintf("<Listeners><member><ListenerArn>%s</ListenerArn><Port>443</Port><Protocol>HTTPS</Protocol><DefaultActions>%s</DefaultActions></member></Listeners>", arn, f.forwardXML(arn)))
	case "DescribeRules":
		arn := form.Get("RuleArns.member.1")
		if _, ok := f.weights[arn]; !ok || arn == listenerARN {
			return errorBody("RuleNotFound")
		}
		return okBody(action, fmt.Sprintf("<Rules><member><RuleArn>%s</RuleArn><Priority>10</Priority><IsDefault>false</IsDefault><Actions>%s</Actions></member></Rules>", arn, f.forwardXML(arn)))
	case "ModifyListener", "ModifyRule":
		arn, prefix := form.Get("ListenerArn"), "DefaultActions"
		if action == "ModifyRule" {
			arn, prefix = form.Get("RuleArn"), "Actions"
		}
		if _, ok := f.weights[arn]; !ok {
			return errorBody("ListenerNotFound")
		}
		if form.Get(prefix+".member.1.Type") != "forward" {
			return errorBody("ValidationError")
		}
		tg := prefix + ".member.1.ForwardConfig.TargetGroups"
		arns, ws := members(form, tg, "TargetGroupArn"), members(form, tg, "Weight")
		if len(arns) != len(ws) {
			return errorBody("ValidationError")
		}
		f.sticky = form.Get(prefix+".member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled") == "true"
		f.weights[arn] = map[string]string{}
		for i := range arns {
			f.weights[arn][arns[i]] = ws[i]
		}
		if action == "ModifyRule" {
			return okBody(action, fmt.Sprintf("<Rules><member><RuleArn>%s</RuleArn><Actions>%s</Actions></member></Rules>", arn, f.forwardXML(arn)))
		}
		return okBody(action, fmt.Sprintf("<Listeners><member><ListenerArn>%s</ListenerArn><DefaultActions>%s</DefaultActions></member></Listeners>", arn, f.forwardXML(arn)))
	}
	return errorBody("InvalidAction")
}

func (f *fakeELB) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, r := range f.requests {
		out = append(out, r.Get("Action"))
	}
	return out
}

func adapter(t *testing.T, f *fakeELB) *ELBv2 {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	client := elb.New(elb.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(srv.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:      retry.AddWithMaxAttempts(retry.NewStandard(), 1),
	})
	return &ELBv2{Client: client}
}

func TestTargetsMapsStatesAndReasons(t *testing.T) {
	f := newFake()
	e := adapter(t, f)
	got, err := e.Targets(context.Background(), blueARN)
	if err != nil {
		t.Fatal(err)
	}
	want := []traffic.TargetHealth{
		{Target: traffic.Target{ID: "i-1", Port: 8080}, State: traffic.StateHealthy},
		{Target: traffic.Target{ID: "i-2", Port: 8080}, State: traffic.StateUnhealthy, Reason: "Target.ResponseCodeMismatch: Health checks failed with these codes: [502]"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("targets (-want +got):\n%s", d)
	}
	if f.requests[0].Get("TargetGroupArn") != blueARN {
		t.Errorf("DescribeTargetHealth sent TargetGroupArn %q", f.requests[0].Get("TargetGroupArn"))
	}
}

func TestRegisterAndDeregisterInBatches(t *testing.T) {
	f := newFake()
	e := adapter(t, f)
	ctx := context.Background()
	var many []traffic.Target
	for i := range 150 {
		many = append(many, traffic.Target{ID: fmt.Sprintf("i-%03d", i), Port: 8080})
	}
	if err := e.Register(ctx, greenARN, many); err != nil {
		t.Fatal(err)
	}
	if got := f.actions(); !cmp.Equal(got, []string{"RegisterTargets", "RegisterTargets"}) {
		t.Fatalf("actions = %v, want two RegisterTargets of at most 100", got)
	}
	if n := len(members(f.requests[0], "Targets", "Id")); n != 100 {
		t.Errorf("first batch has %d targets, want 100", n)
	}
	if p := f.requests[1].Get("Targets.member.1.Port"); p != "8080" {
		t.Errorf("Port = %q, want 8080", p)
	}
	th, err := e.Targets(ctx, greenARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(th) != 150 || th[0].State != traffic.StateInitial {
		t.Fatalf("after Register: %d targets, first %+v; want 150 initial", len(th), th[0])
	}
	if err := e.Deregister(ctx, blueARN, []traffic.Target{{ID: "i-1"}}); err != nil {
		t.Fatal(err)
	}
	last := f.requests[len(f.requests)-1]
	if last.Get("Action") != "DeregisterTargets" || last.Get("Targets.member.1.Id") != "i-1" || last.Has("Targets.member.1.Port") {
		t.Errorf("DeregisterTargets sent %v (a target without a port sends none)", last)
	}
	th, _ = e.Targets(ctx, blueARN)
	if th[0].State != traffic.StateDraining || !strings.Contains(th[0].Reason, "DeregistrationInProgress") {
		t.Errorf("after Deregister: %+v, want draining", th[0])
	}
}

func TestDeregistrationDelay(t *testing.T) {
	f := newFake()
	e := adapter(t, f)
	ctx := context.Background()
	if d, err := e.DeregistrationDelay(ctx, blueARN); err != nil || d != 30*time.Second {
		t.Errorf("blue: %v, %v; want 30s", d, err)
	}
	if d, err := e.DeregistrationDelay(ctx, greenARN); err != nil || d != DefaultDeregistrationDelay {
		t.Errorf("green without the attribute: %v, %v; want the 300s default", d, err)
	}
	f.delay[blueARN] = "soon"
	if _, err := e.DeregistrationDelay(ctx, blueARN); err == nil || !strings.Contains(err.Error(), `"soon" is not a number`) {
		t.Errorf("bad attribute: %v", err)
	}
}

func TestWeightsAndSetWeightsOnAListenerAndARule(t *testing.T) {
	for name, arn := range map[string]string{"listener": listenerARN, "rule": ruleARN} {
		t.Run(name, func(t *testing.T) {
			f := newFake()
			e := adapter(t, f)
			ctx := context.Background()
			if err := e.SetWeights(ctx, arn, map[string]int{blueARN: 0, greenARN: 100}); err != nil {
				t.Fatal(err)
			}
			wantDescribe, wantModify := "DescribeListeners", "ModifyListener"
			if arn == ruleARN {
				wantDescribe, wantModify = "DescribeRules", "ModifyRule"
			}
			if got := f.actions(); !cmp.Equal(got, []string{wantDescribe, wantModify}) {
				t.Errorf("actions = %v: one describe, then one modify", got)
			}
			if !f.sticky {
				t.Error("SetWeights dropped the forward action's stickiness")
			}
			got, err := e.Weights(ctx, arn)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(map[string]int{blueARN: 0, greenARN: 100}, got); d != "" {
				t.Errorf("weights (-want +got):\n%s", d)
			}
		})
	}
}

func TestSetWeightsRefusesBadWeights(t *testing.T) {
	e := adapter(t, newFake())
	for _, w := range []map[string]int{nil, {blueARN: 1000}, {blueARN: -1}} {
		if err := e.SetWeights(context.Background(), listenerARN, w); err == nil {
			t.Errorf("SetWeights(%v) succeeded", w)
		}
	}
}

func TestErrorsSayWhatToDo(t *testing.T) {
	tests := []struct {
		name, action, code, want string
		call                     func(e *ELBv2) error
	}{
		{"unknown group", "DescribeTargetHealth", "TargetGroupNotFound", "fix target_groups in the Slipway configuration",
			func(e *ELBv2) error { _, err := e.Targets(context.Background(), blueARN); return err }},
		{"refused instance", "RegisterTargets", "InvalidTarget", "terminated, stopped, or in another VPC",
			func(e *ELBv2) error {
				return e.Register(context.Background(), blueARN, []traffic.Target{{ID: "i-9"}})
			}},
		{"unknown listener", "DescribeListeners", "ListenerNotFound", "fix blue_green.listener",
			func(e *ELBv2) error { _, err := e.Weights(context.Background(), listenerARN); return err }},
		{"denied", "ModifyListener", "AccessDenied", "cdk deploy",
			func(e *ELBv2) error {
				return e.SetWeights(context.Background(), listenerARN, map[string]int{blueARN: 100})
			}},
		{"throttled", "DeregisterTargets", "Throttling", "deregister i-1 from",
			func(e *ELBv2) error {
				return e.Deregister(context.Background(), blueARN, []traffic.Target{{ID: "i-1"}})
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake()
			f.fail[tt.action] = tt.code
			err := tt.call(adapter(t, f))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to say %q", err, tt.want)
			}
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.code {
				t.Errorf("error %v does not wrap the API error %s (the pipeline classifies throttling by its code)", err, tt.code)
			}
		})
	}
}
