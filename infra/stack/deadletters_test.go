package stack

import (
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDeadLetters: an event that cannot reach Slipway, or that a router
// fails on, is kept in an encrypted queue and said, not lost. Every
// EventBridge target sends what it cannot deliver to the dead-letter
// queue; every function EventBridge invokes (its asynchronous invocations)
// sends a failed event there after Lambda's retries; an alarm on the
// queue's depth notifies the topic; an output names the queue for the CLI.
func TestDeadLetters(t *testing.T) {
	s := synth(t)
	queues := s.ofType("AWS::SQS::Queue")
	if len(queues) != 1 {
		t.Fatalf("queues = %d, want one dead-letter queue", len(queues))
	}
	var queueID string
	for id, q := range queues {
		queueID = id
		p := q.props()
		if p["SqsManagedSseEnabled"] != true && p["KmsMasterKeyId"] == nil {
			t.Errorf("dead-letter queue is not encrypted: %v", p)
		}
		if p["MessageRetentionPeriod"] != float64(14*24*3600) {
			t.Errorf("dead-letter queue keeps messages %v s, want 14 days (the most SQS keeps)", p["MessageRetentionPeriod"])
		}
	}
	queueArn := fmt.Sprintf("<%s.Arn>", s.name(queueID))

	// Every target of every rule.
	for id, r := range s.ofType("AWS::Events::Rule") {
		for _, raw := range asSlice(r.props()["Targets"]) {
			tg := raw.(map[string]any)
			if got := fmt.Sprint(s.resolve(tg["DeadLetterConfig"])); got != "map[Arn:"+queueArn+"]" {
				t.Errorf("rule %s: target %v has DeadLetterConfig %s, want the dead-letter queue", s.name(id), s.resolve(tg["Arn"]), got)
			}
			if _, ok := tg["RetryPolicy"]; !ok {
				t.Errorf("rule %s: target %v has no RetryPolicy", s.name(id), s.resolve(tg["Arn"]))
			}
		}
	}
	// EventBridge may send to the queue only from the rules.
	var senders []string
	for _, p := range s.ofType("AWS::SQS::QueuePolicy") {
		for _, st := range s.statements(p.props()["PolicyDocument"]) {
			if st.Effect == "Allow" {
				senders = append(senders, fmt.Sprint(st.Actions, st.Conditions))
			}
		}
	}
	sort.Strings(senders)
	var want []string
	for id := range s.ofType("AWS::Events::Rule") {
		want = append(want, fmt.Sprintf("[sqs:SendMessage] map[ArnEquals:map[aws:SourceArn:<%s.Arn>]]", s.name(id)))
	}
	sort.Strings(want)
	if diff := cmp.Diff(want, senders); diff != "" {
		t.Errorf("queue policy senders (-want +got):\n%s", diff)
	}

	// Every function EventBridge invokes: failures after Lambda's retries.
	for _, f := range s.stack.Repo.Functions {
		if !Specs[f].Trigger {
			continue
		}
		found := false
		for _, c := range s.ofType("AWS::Lambda::EventInvokeConfig") {
			p := s.resolve(c.props()).(map[string]any)
			if p["FunctionName"] != "<"+pascal(f)+"Function>" {
				continue
			}
			found = true
			if got := fmt.Sprint(p["DestinationConfig"]); got != "map[OnFailure:map[Destination:"+queueArn+"]]" {
				t.Errorf("%s: DestinationConfig %s, want failures to the dead-letter queue", f, got)
			}
		}
		if !found {
			t.Errorf("%s: EventBridge invokes it, but its failed events go nowhere (no EventInvokeConfig)", f)
		}
	}

	// The alarm on the queue's depth, to the topic.
	found := false
	for _, a := range s.ofType("AWS::CloudWatch::Alarm") {
		p := s.resolve(a.props()).(map[string]any)
		if p["MetricName"] != "ApproximateNumberOfMessagesVisible" || p["Namespace"] != "AWS/SQS" {
			continue
		}
		found = true
		if p["ComparisonOperator"] != "GreaterThanThreshold" || p["Threshold"] != float64(0) || p["TreatMissingData"] != "notBreaching" {
			t.Errorf("dead-letter alarm = %v, want > 0, missing data not breaching", p)
		}
		if got := fmt.Sprint(p["AlarmActions"]); got != "[<Notifications>]" {
			t.Errorf("dead-letter alarm actions = %s, want the notification topic", got)
		}
		if got := fmt.Sprint(p["Dimensions"]); got != fmt.Sprintf("[map[Name:QueueName Value:<%s.QueueName>]]", s.name(queueID)) {
			t.Errorf("dead-letter alarm dimensions = %s, want the queue", got)
		}
	}
	if !found {
		t.Errorf("no alarm on the dead-letter queue's depth")
	}
	out, ok := s.template["Outputs"].(map[string]any)["DeadLetterQueueUrl"].(map[string]any)
	if !ok || fmt.Sprint(s.resolve(out["Value"])) != "<"+s.name(queueID)+">" {
		t.Errorf("output DeadLetterQueueUrl = %v, want the queue's URL", out)
	}
}
