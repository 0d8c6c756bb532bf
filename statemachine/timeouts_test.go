package statemachine_test

import (
	"encoding/json"
	"math"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/statemachine"
)

// definition is the part of an ASL definition the timeout checks read.
type definition struct {
	TimeoutSeconds int
	States         map[string]struct {
		Type           string
		TimeoutSeconds int
		Seconds        int
		Retry          []struct {
			ErrorEquals     []string
			IntervalSeconds *float64
			MaxAttempts     *int
			BackoffRate     *float64
			MaxDelaySeconds *float64
		}
	}
}

// lambdaMax is the longest a Lambda invocation runs (15 minutes): an
// attempt that fails with a Lambda's error has failed by then.
const lambdaMax = 900

// worst is the longest a state can take: the last attempt timing out, the
// attempts before it failing as late as they can, and every retry's wait
// at its longest. A retrier that does not match a timeout (States.Timeout,
// States.ALL) follows an attempt that ended with a function's error, which
// comes within the function's own run.
func worst(timeout int, retries []struct {
	ErrorEquals     []string
	IntervalSeconds *float64
	MaxAttempts     *int
	BackoffRate     *float64
	MaxDelaySeconds *float64
}) float64 {
	total := float64(timeout)
	for _, r := range retries {
		interval, attempts, rate := 1.0, 3, 2.0
		if r.IntervalSeconds != nil {
			interval = *r.IntervalSeconds
		}
		if r.MaxAttempts != nil {
			attempts = *r.MaxAttempts
		}
		if r.BackoffRate != nil {
			rate = *r.BackoffRate
		}
		failed := float64(min(timeout, lambdaMax))
		for _, e := range r.ErrorEquals {
			if e == "States.Timeout" || e == "States.ALL" {
				failed = float64(timeout)
			}
		}
		for i := 0; i < attempts; i++ {
			wait := interval * math.Pow(rate, float64(i))
			if r.MaxDelaySeconds != nil {
				wait = math.Min(wait, *r.MaxDelaySeconds)
			}
			total += wait + failed
		}
	}
	return total
}

// TestTimeoutsNest is issue 11's "timeouts nest": every Task's and Wait's
// timeout, with its retries, fits inside its execution's TimeoutSeconds;
// the execution timeouts are the contract's; the approval may wait the 24
// hours docs/aws.md promises inside the deploy machine's timeout; and the
// lease outlives the longest execution.
func TestTimeoutsNest(t *testing.T) {
	for _, tt := range []struct {
		name    string
		raw     []byte
		timeout int
	}{
		{"deploy", statemachine.Deploy, contract.DeployTimeoutSeconds},
		{"rollback", statemachine.Rollback, contract.RollbackTimeoutSeconds},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d definition
			if err := json.Unmarshal(tt.raw, &d); err != nil {
				t.Fatal(err)
			}
			if d.TimeoutSeconds != tt.timeout {
				t.Errorf("TimeoutSeconds = %d, want the contract's %d", d.TimeoutSeconds, tt.timeout)
			}
			for name, s := range d.States {
				if s.Type == "Task" && s.TimeoutSeconds == 0 {
					t.Errorf("Task %s has no TimeoutSeconds (Step Functions' default is the execution's)", name)
				}
				if w := worst(max(s.TimeoutSeconds, s.Seconds), s.Retry); w > float64(d.TimeoutSeconds) {
					t.Errorf("%s can take %.0fs with its retries, longer than the execution's %ds", name, w, d.TimeoutSeconds)
				}
			}
			if contract.LeaseSeconds < d.TimeoutSeconds {
				t.Errorf("the lease lives %ds, less than the execution's %ds: a running execution could lose it", contract.LeaseSeconds, d.TimeoutSeconds)
			}
		})
	}

	var d definition
	if err := json.Unmarshal(statemachine.Deploy, &d); err != nil {
		t.Fatal(err)
	}
	approval := d.States["RequestApproval"].TimeoutSeconds
	if approval != contract.ApprovalSeconds {
		t.Errorf("RequestApproval waits %ds, want the contract's %ds", approval, contract.ApprovalSeconds)
	}
	// After the longest approval, the deployment still has its 6 hours:
	// the longest lease wait, the longest bake and the rest.
	after := d.TimeoutSeconds - approval - contract.MaxLeaseWaitSeconds
	if after < 4*3600 {
		t.Errorf("after a %ds approval and a %ds lease wait, %ds are left: less than a 4h bake", approval, contract.MaxLeaseWaitSeconds, after)
	}
	doc, err := os.ReadFile("../docs/aws.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`waits up to (\d+) hours`).FindSubmatch(doc)
	if m == nil {
		t.Fatalf("docs/aws.md does not say how long an approval waits (\"waits up to N hours\")")
	}
	if h, _ := strconv.Atoi(string(m[1])); h*3600 != approval {
		t.Errorf("docs/aws.md says an approval waits %s hours; the definition says %ds", m[1], approval)
	}
	// The rollback machine waits for another deployment's lease too.
	var r definition
	if err := json.Unmarshal(statemachine.Rollback, &r); err != nil {
		t.Fatal(err)
	}
	if left := r.TimeoutSeconds - contract.MaxLeaseWaitSeconds; left < 3600 {
		t.Errorf("a rollback that waited the longest lease wait has %ds left, want at least an hour", left)
	}
	if pipeline.DefaultLeaseWait.Seconds() > contract.MaxLeaseWaitSeconds {
		t.Errorf("the default lease wait %s is above the limit %ds", pipeline.DefaultLeaseWait, contract.MaxLeaseWaitSeconds)
	}
}
