package github

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/moto"
	"github.com/slipway-deploy/slipway/internal/secret"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

func TestMain(m *testing.M) { moto.Main(m) }

// TestReceiverOnMoto runs the receiver on moto's Secrets Manager,
// DynamoDB and EventBridge: the sample push is forwarded once (its
// redelivery is not), and the event it puts matches a rule with the push
// router's pattern (source and detail type), which delivers it to a queue
// standing in for the router.
func TestReceiverOnMoto(t *testing.T) {
	ctx := context.Background()
	srv := moto.Shared(t)
	cfg := srv.Config()
	sm := secretsmanager.NewFromConfig(cfg)
	if _, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(SecretName("demo")), SecretString: aws.String(sampleSecret)}); err != nil {
		t.Fatalf("create the webhook secret in moto: %v", err)
	}
	dynamo := srv.CreateLedgerTable(t, "slipway-github-moto")
	q := sqs.NewFromConfig(cfg)
	queue, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("push-router-stand-in")})
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: queue.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	eb := eventbridge.NewFromConfig(cfg)
	pattern, _ := json.Marshal(map[string]any{"source": []string{PushSource}, "detail-type": []string{PushDetailType}})
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("GitPush"), EventPattern: aws.String(string(pattern))}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("GitPush"),
		Targets: []ebtypes.Target{{Id: aws.String("router"), Arn: aws.String(attrs.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}

	r := &Receiver{Config: testConfig, Secrets: &secret.Manager{Client: sm}, SecretName: SecretName("demo"),
		Deliveries: &ledger.Dynamo{Client: dynamo, Table: "slipway-github-moto"}, Bus: &EventBus{Client: eb}, Log: slog.New(slog.DiscardHandler)}
	var actions []string
	for range 2 {
		resp, err := r.Handle(ctx, sample(t, "push.json"))
		if err != nil {
			t.Fatal(err)
		}
		actions = append(actions, decodeAnswer(t, resp).Action)
	}
	if diff := cmp.Diff([]string{"forwarded", "duplicate"}, actions); diff != "" {
		t.Errorf("push.json twice (-want +got):\n%s", diff)
	}
	resp, _ := r.Handle(ctx, sample(t, "push-bad-signature.json"))
	if resp.StatusCode != 401 {
		t.Errorf("push-bad-signature.json: %d %s, want 401", resp.StatusCode, resp.Body)
	}

	var got []trigger.GitPush
	for range 3 {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: queue.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var ev struct {
				Source     string          `json:"source"`
				DetailType string          `json:"detail-type"`
				Detail     trigger.GitPush `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatalf("message %s: %v", aws.ToString(m.Body), err)
			}
			if ev.Source != PushSource || ev.DetailType != PushDetailType {
				t.Errorf("event %s/%s, want %s/%s", ev.Source, ev.DetailType, PushSource, PushDetailType)
			}
			got = append(got, ev.Detail)
		}
	}
	if diff := cmp.Diff([]trigger.GitPush{mainPush}, got); diff != "" {
		t.Errorf("events the rule delivered (-want +got):\n%s", diff)
	}
}
