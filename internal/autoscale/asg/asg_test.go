package asg

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"

	"github.com/slipway-deploy/slipway/internal/autoscale"
)

// moto 5.2.1 does not implement CompleteLifecycleAction nor
// RecordLifecycleActionHeartbeat (its server answers 500 "has not been
// implemented"), so these wire tests, with Auto Scaling's query protocol
// and its real response and error shapes, are the adapter's only oracle.

const xmlns = `xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"`

// fakeASG keeps one active lifecycle action per instance, as Auto Scaling
// does between the launch and the action's completion or timeout.
type fakeASG struct {
	mu       sync.Mutex
	requests []url.Values
	active   map[string]string // instance → token
	denied   bool
}

func (f *fakeASG) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	form := r.PostForm
	f.requests = append(f.requests, form)
	action := form.Get("Action")
	w.Header().Set("Content-Type", "text/xml")
	fail := func(status int, code, msg string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse %s><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>req-1</RequestId></ErrorResponse>`, xmlns, code, msg)
	}
	if form.Get("Version") != "2011-01-01" || (action != "CompleteLifecycleAction" && action != "RecordLifecycleActionHeartbeat") {
		fail(http.StatusBadRequest, "InvalidAction", "unknown action "+action)
		return
	}
	if f.denied {
		fail(http.StatusForbidden, "AccessDenied", "User is not authorized to perform: autoscaling:"+action)
		return
	}
	for _, p := range []string{"AutoScalingGroupName", "LifecycleHookName", "InstanceId"} {
		if form.Get(p) == "" {
			fail(http.StatusBadRequest, "ValidationError", p+" is required")
			return
		}
	}
	id := form.Get("InstanceId")
	token, ok := f.active[id]
	if !ok || (form.Has("LifecycleActionToken") && form.Get("LifecycleActionToken") != token) {
		fail(http.StatusBadRequest, "ValidationError", "No active Lifecycle Action found with instance ID "+id)
		return
	}
	if action == "CompleteLifecycleAction" {
		if r := form.Get("LifecycleActionResult"); r != "CONTINUE" && r != "ABANDON" {
			fail(http.StatusBadRequest, "ValidationError", "Invalid LifecycleActionResult")
			return
		}
		delete(f.active, id)
	}
	fmt.Fprintf(w, `<%sResponse %s><%sResult/><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></%sResponse>`, action, xmlns, action, action)
}

func adapter(t *testing.T, f *fakeASG) *AutoScaling {
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return &AutoScaling{Client: autoscaling.New(autoscaling.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		Retryer:     retry.AddWithMaxAttempts(retry.NewStandard(), 1),
	})}
}

var act = autoscale.Action{Group: "shop-staging", Hook: "slipway-launch", Token: "bcd2f1b8-9a78-44d3-8a7a-4dd07d7cf635", InstanceID: "i-0123456789abcdef0"}

func TestHeartbeatThenContinue(t *testing.T) {
	f := &fakeASG{active: map[string]string{act.InstanceID: act.Token}}
	a := adapter(t, f)
	ctx := context.Background()
	if err := a.Heartbeat(ctx, act); err != nil {
		t.Fatal(err)
	}
	if err := a.Complete(ctx, act, autoscale.Continue); err != nil {
		t.Fatal(err)
	}
	last := f.requests[1]
	for k, want := range map[string]string{"Action": "CompleteLifecycleAction", "AutoScalingGroupName": "shop-staging", "LifecycleHookName": "slipway-launch",
		"LifecycleActionToken": act.Token, "InstanceId": act.InstanceID, "LifecycleActionResult": "CONTINUE"} {
		if got := last.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// A second answer finds no action: the adapter says so by ErrGone.
	err := a.Complete(ctx, act, autoscale.Abandon)
	if !errors.Is(err, autoscale.ErrGone) || !strings.Contains(err.Error(), "timed out") {
		t.Errorf("completing twice: %v, want ErrGone", err)
	}
}

func TestCompleteWithoutToken(t *testing.T) {
	f := &fakeASG{active: map[string]string{act.InstanceID: act.Token}}
	a := adapter(t, f)
	noToken := act
	noToken.Token = ""
	if err := a.Complete(context.Background(), noToken, autoscale.Abandon); err != nil {
		t.Fatal(err)
	}
	if f.requests[0].Has("LifecycleActionToken") {
		t.Error("an empty token was sent; the instance id alone names the action")
	}
}

func TestCompleteErrors(t *testing.T) {
	a := adapter(t, &fakeASG{denied: true, active: map[string]string{act.InstanceID: act.Token}})
	if err := a.Complete(context.Background(), act, autoscale.Continue); err == nil || !strings.Contains(err.Error(), "cdk deploy") {
		t.Errorf("denied: %v", err)
	}
	if err := a.Complete(context.Background(), act, "MAYBE"); err == nil || !strings.Contains(err.Error(), "neither CONTINUE nor ABANDON") {
		t.Errorf("bad result: %v", err)
	}
}
