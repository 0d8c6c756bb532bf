package elbv2

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/traffic"
	"github.com/slipway-deploy/slipway/internal/traffic/elbv2/elbv2test"
)

const (
	blueARN     = elbv2test.BlueARN
	greenARN    = elbv2test.GreenARN
	listenerARN = elbv2test.ListenerARN
	ruleARN     = elbv2test.RuleARN
)

type fakeELB = elbv2test.Fake

var (
	newFake = elbv2test.New
	members = elbv2test.Members
)

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
	if f.Requests[0].Get("TargetGroupArn") != blueARN {
		t.Errorf("DescribeTargetHealth sent TargetGroupArn %q", f.Requests[0].Get("TargetGroupArn"))
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
	if got := f.Actions(); !cmp.Equal(got, []string{"RegisterTargets", "RegisterTargets"}) {
		t.Fatalf("actions = %v, want two RegisterTargets of at most 100", got)
	}
	if n := len(members(f.Requests[0], "Targets", "Id")); n != 100 {
		t.Errorf("first batch has %d targets, want 100", n)
	}
	if p := f.Requests[1].Get("Targets.member.1.Port"); p != "8080" {
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
	last := f.Requests[len(f.Requests)-1]
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
	f.Delay[blueARN] = "soon"
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
			if got := f.Actions(); !cmp.Equal(got, []string{wantDescribe, wantModify}) {
				t.Errorf("actions = %v: one describe, then one modify", got)
			}
			if !f.Sticky {
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
			f.Fail[tt.action] = tt.code
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
