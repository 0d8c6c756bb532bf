package pipeline

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/moto"
	"github.com/slipway-deploy/slipway/internal/pipeline/pipelinetest"
	"github.com/slipway-deploy/slipway/internal/traffic/elbv2"
)

// TestReattachOnMoto runs reattach, as closing an unfinished deployment
// does, against moto's ELBv2 (an implementation this repository did not
// write): a deployment took 10.0.0.11 and 10.0.0.12 out of its target
// group and died; 10.0.0.11 is observed healthy on the release that served
// and goes back in, 10.0.0.12 is observed unhealthy and stays out, and the
// step says both.
func TestReattachOnMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server")
	}
	cfg := moto.Start(t).Config()
	ctx := context.Background()
	client := elb.NewFromConfig(cfg)
	subnets := moto.DefaultSubnets(t, cfg)
	if _, err := client.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("demo-reattach"),
		Subnets: []string{subnets[0].ID, subnets[1].ID}}); err != nil {
		t.Fatal(err)
	}
	tg, err := client.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("demo-staging"), Protocol: types.ProtocolEnumHttp,
		Port: aws.Int32(8080), VpcId: aws.String(subnets[0].VPC), TargetType: types.TargetTypeEnumIp})
	if err != nil {
		t.Fatal(err)
	}
	group := aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	port := &elbv2.ELBv2{Client: client}
	// 10.0.0.10 stayed in service on v1; the other two were detached.
	if err := port.Register(ctx, group, targetsOf([]string{"10.0.0.10"})); err != nil {
		t.Fatal(err)
	}
	led := pipelinetest.Ledger(t)
	d := &Deps{Ledger: led, Traffic: port}
	dep := ledger.Deployment{ID: "d-1", App: "demo", Environment: "staging", Kind: contract.KindDeploy, Version: "v2", PreviousVersion: "v1"}
	d.Step(ctx, dep.ID, "rollout", StepInfo, "wave 1: draining", DetachRecord{Wave: 0, Detached: map[string][]string{group: {"10.0.0.11", "10.0.0.12"}}})
	observed := []ledger.InstanceResult{
		{InstanceID: "10.0.0.10", Version: "v1", Status: ObservedHealthy},
		{InstanceID: "10.0.0.11", Version: "v1", Status: ObservedHealthy},
		{InstanceID: "10.0.0.12", Version: "v2", Status: ObservedUnhealthy, Output: "answered 500"},
	}
	note := d.reattach(ctx, dep, observed)
	ts, err := port.Targets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, x := range ts {
		ids = append(ids, x.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"10.0.0.10", "10.0.0.11"}) {
		t.Errorf("targets of %s after reattach = %v, want 10.0.0.10 and 10.0.0.11 (10.0.0.12 stays out); note %q", group, ids, note)
	}
	steps, _ := led.Steps(ctx, dep.ID)
	var rec Reattached
	if len(steps) != 2 || json.Unmarshal(steps[1].Detail, &rec) != nil {
		t.Fatalf("steps = %+v, want the detach and the reattach", steps)
	}
	if !slices.Equal(rec.Groups[group], []string{"10.0.0.11"}) || rec.LeftOut["10.0.0.12"] == "" || !rec.Healthy || steps[1].Status != StepFailed {
		t.Errorf("reattach step = %s %+v; want 10.0.0.11 put back healthy, 10.0.0.12 left out with its reason, the step failed (something stays out)", steps[1].Status, rec)
	}
}
