package elbv2

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/moto"
	"github.com/slipway-deploy/slipway/internal/traffic"
)

func TestMain(m *testing.M) { moto.Main(m) }

// TestELBv2OnMoto runs the adapter against moto's ELBv2: a load balancer
// in the default VPC, blue and green target groups, a listener and a rule
// forwarding by weight.
func TestELBv2OnMoto(t *testing.T) {
	cfg := moto.Shared(t).Config()
	ctx := context.Background()
	client := elb.NewFromConfig(cfg)

	subnets := moto.DefaultSubnets(t, cfg)
	vpc := subnets[0].VPC
	lb, err := client.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("shop-moto"),
		Subnets: []string{subnets[0].ID, subnets[1].ID}})
	if err != nil {
		t.Fatal(err)
	}
	group := func(name string) string {
		out, err := client.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(name), Protocol: types.ProtocolEnumHttp,
			Port: aws.Int32(8080), VpcId: aws.String(vpc), TargetType: types.TargetTypeEnumIp})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.TargetGroups[0].TargetGroupArn)
	}
	blue, green := group("shop-moto-blue"), group("shop-moto-green")
	forwardTo := func(w map[string]int32) []types.Action {
		fc := &types.ForwardActionConfig{}
		for _, g := range []string{blue, green} {
			if v, ok := w[g]; ok {
				fc.TargetGroups = append(fc.TargetGroups, types.TargetGroupTuple{TargetGroupArn: aws.String(g), Weight: aws.Int32(v)})
			}
		}
		return []types.Action{{Type: types.ActionTypeEnumForward, ForwardConfig: fc}}
	}
	l, err := client.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: lb.LoadBalancers[0].LoadBalancerArn,
		Protocol: types.ProtocolEnumHttp, Port: aws.Int32(80), DefaultActions: forwardTo(map[string]int32{blue: 100, green: 0})})
	if err != nil {
		t.Fatal(err)
	}
	listener := aws.ToString(l.Listeners[0].ListenerArn)
	r, err := client.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(listener), Priority: aws.Int32(10),
		Conditions: []types.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/api/*"}}},
		Actions:    forwardTo(map[string]int32{blue: 100, green: 0})})
	if err != nil {
		t.Fatal(err)
	}
	rule := aws.ToString(r.Rules[0].RuleArn)

	e := &ELBv2{Client: client}
	targets := []traffic.Target{{ID: "10.0.0.11", Port: 8080}, {ID: "10.0.0.12", Port: 8080}}
	if err := e.Register(ctx, blue, targets); err != nil {
		t.Fatal(err)
	}
	th, err := e.Targets(ctx, blue)
	if err != nil {
		t.Fatal(err)
	}
	if len(th) != 2 || th[0].ID != "10.0.0.11" || th[0].Port != 8080 {
		t.Fatalf("targets after Register: %+v", th)
	}
	for _, x := range th {
		// moto reports a registered target healthy at once; ELBv2 starts
		// it "initial" (the wire tests cover that).
		if x.State != traffic.StateHealthy && x.State != traffic.StateInitial {
			t.Errorf("target %s is %q after Register", x.ID, x.State)
		}
	}
	if err := e.Deregister(ctx, blue, targets[:1]); err != nil {
		t.Fatal(err)
	}
	th, err = e.Targets(ctx, blue)
	if err != nil {
		t.Fatal(err)
	}
	// moto drops a deregistered target at once; ELBv2 keeps it
	// "draining" for up to the deregistration delay.
	for _, x := range th {
		if x.ID == "10.0.0.11" && x.State != traffic.StateDraining {
			t.Errorf("deregistered target is %q", x.State)
		}
	}
	if d, err := e.DeregistrationDelay(ctx, blue); err != nil || d != 300*time.Second {
		t.Errorf("DeregistrationDelay = %v, %v; want moto's (and ELBv2's) default 300s", d, err)
	}
	for name, arn := range map[string]string{"listener": listener, "rule": rule} {
		if err := e.SetWeights(ctx, arn, map[string]int{blue: 0, green: 100}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := e.Weights(ctx, arn)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := cmp.Diff(map[string]int{blue: 0, green: 100}, got); d != "" {
			t.Errorf("%s weights after the switch (-want +got):\n%s", name, d)
		}
	}
	_, err = e.Targets(ctx, strings.Replace(blue, "shop-moto-blue", "shop-moto-gone", 1))
	if err == nil || !strings.Contains(err.Error(), "fix target_groups") {
		t.Errorf("unknown group on moto: %v", err)
	}
}
