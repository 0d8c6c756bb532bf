package pipeline

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/traffic"
	"github.com/slipway-deploy/slipway/internal/traffic/elbv2"
	"github.com/slipway-deploy/slipway/internal/traffic/elbv2/elbv2test"
)

// BenchmarkBlueGreenSwitchBack measures a switch back, from the decision
// to roll back until the listener's weights read back on the side that
// served before: on the in-memory balancer (the handler's own cost) and
// on the ELBv2 adapter over real HTTP to the ELBv2 wire fake
// (DescribeListeners + ModifyListener, then DescribeListeners to confirm).
// The embedded balancer's figure comes once it is on main.
func BenchmarkBlueGreenSwitchBack(b *testing.B) {
	ctx := context.Background()
	run := func(b *testing.B, port traffic.Port, st contract.BlueGreenState) {
		h := &BlueGreen{&Deps{Traffic: port}}
		shifted := map[string]int{st.IdleGroup: 50, st.ServingGroup: 50}
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			if err := port.SetWeights(ctx, st.Listener, shifted); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			out, err := h.Handle(ctx, contract.BlueGreenInput{Action: contract.BlueGreenSwitchBack, BlueGreen: &st})
			if err != nil || !out.SwitchedBack {
				b.Fatal(out, err)
			}
		}
	}
	b.Run("memory", func(b *testing.B) {
		run(b, newLBFake(), contract.BlueGreenState{Listener: "staging", Serving: "blue", ServingGroup: "staging-blue", IdleGroup: "staging-green"})
	})
	b.Run("elbv2-wire", func(b *testing.B) {
		srv := httptest.NewServer(elbv2test.New())
		defer srv.Close()
		run(b, wireELB(srv.URL), contract.BlueGreenState{Listener: elbv2test.ListenerARN, Serving: "blue", ServingGroup: elbv2test.BlueARN, IdleGroup: elbv2test.GreenARN})
	})
}

func wireELB(url string) *elbv2.ELBv2 {
	return &elbv2.ELBv2{Client: elb.New(elb.Options{
		Region:       "eu-west-1",
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:      retry.AddWithMaxAttempts(retry.NewStandard(), 1),
	})}
}

// On AWS the switch back is one ModifyListener call (the Describe calls
// only read).
func TestBlueGreenSwitchBackOnELBv2IsOneModify(t *testing.T) {
	f := elbv2test.New()
	f.Weights[elbv2test.ListenerARN] = map[string]string{elbv2test.BlueARN: "10", elbv2test.GreenARN: "90"}
	srv := httptest.NewServer(f)
	defer srv.Close()
	h := &BlueGreen{&Deps{Traffic: wireELB(srv.URL)}}
	st := contract.BlueGreenState{Listener: elbv2test.ListenerARN, Serving: "blue", ServingGroup: elbv2test.BlueARN, IdleGroup: elbv2test.GreenARN}
	out, err := h.Handle(context.Background(), contract.BlueGreenInput{Action: contract.BlueGreenSwitchBack, BlueGreen: &st})
	if err != nil || !out.SwitchedBack {
		t.Fatal(out, err)
	}
	modify := 0
	for _, a := range f.Actions() {
		if strings.HasPrefix(a, "Modify") {
			modify++
		}
	}
	if modify != 1 {
		t.Errorf("actions = %v, want exactly one Modify call", f.Actions())
	}
	if w := f.Weights[elbv2test.ListenerARN]; w[elbv2test.BlueARN] != "100" || w[elbv2test.GreenARN] != "0" {
		t.Errorf("listener weights = %v", w)
	}
}
