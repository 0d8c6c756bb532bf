package ledger

// Items for the control plane, in the same table (see dynamo.go):
//
//	what            pk                       sk
//	event           EVENTS#<app>#<env>       <at>#<random>          ttl: 90 days
//	queued push     QUEUE#<app>#<env>        pending
//	approval        APPROVALS#<app>#<env>    <deployment id>
//	delivery        DELIVERY#<app>#<source>#<id>  delivery         ttl: 7 days

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// eventRetention is how long DynamoDB keeps an event before its TTL
// deletes it.
const eventRetention = 90 * 24 * time.Hour

func eventsKey(app, env string) string    { return "EVENTS#" + app + "#" + env }
func queueKey(app, env string) string     { return "QUEUE#" + app + "#" + env }
func approvalsKey(app, env string) string { return "APPROVALS#" + app + "#" + env }
func deliveryKey(app, source, id string) string {
	return "DELIVERY#" + app + "#" + source + "#" + id
}

// DeliveryRetention is how long a claimed webhook delivery is remembered
// before its TTL deletes it: longer than a git host keeps a delivery it
// can redeliver (GitHub: 3 days).
const DeliveryRetention = 7 * 24 * time.Hour

// ClaimDelivery records that the webhook delivery id from source (a git
// host: "github") has been received, with one conditional PutItem. It
// reports false, and no error, when the delivery was claimed before: a
// redelivery, which the caller must not act on again.
func (d *Dynamo) ClaimDelivery(ctx context.Context, app, source, id string, at time.Time) (bool, error) {
	if id == "" {
		return false, errors.New("claim a delivery: no delivery id")
	}
	it := key(deliveryKey(app, source, id), "delivery")
	putStr(it, "app", app)
	putStr(it, "source", source)
	putStr(it, "delivery", id)
	putStr(it, "at", ts(at))
	it[DynamoTTLAttribute] = num(at.Add(DeliveryRetention).Unix())
	_, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                &d.Table,
		Item:                     it,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": DynamoPartitionKey},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("claim %s delivery %s of %s: %w", source, id, app, d.explain(err))
	}
	return true, nil
}

// ReleaseDelivery forgets a claimed delivery, so that its redelivery is
// acted on: for a caller that claimed it and then could not act on it.
func (d *Dynamo) ReleaseDelivery(ctx context.Context, app, source, id string) error {
	_, err := d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &d.Table, Key: key(deliveryKey(app, source, id), "delivery")})
	if err != nil {
		return fmt.Errorf("release %s delivery %s of %s: %w", source, id, app, d.explain(err))
	}
	return nil
}

// AddEvent records an event.
func (d *Dynamo) AddEvent(ctx context.Context, e Event) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	var b [4]byte
	rand.Read(b[:])
	it := key(eventsKey(e.App, e.Environment), e.At.UTC().Format(sortTimeLayout)+"#"+hex.EncodeToString(b[:]))
	putStr(it, "app", e.App)
	putStr(it, "environment", e.Environment)
	putStr(it, "at", ts(e.At))
	putStr(it, "source", e.Source)
	putStr(it, "kind", e.Kind)
	putStr(it, "message", e.Message)
	putStr(it, "deployment_id", e.DeploymentID)
	putStr(it, "detail", string(e.Detail))
	it[DynamoTTLAttribute] = num(e.At.Add(eventRetention).Unix())
	if _, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.Table, Item: it}); err != nil {
		return fmt.Errorf("add %s event on %s/%s: %w", e.Kind, e.App, e.Environment, d.explain(err))
	}
	return nil
}

// Events returns an environment's events, newest first; limit <= 0 means all.
func (d *Dynamo) Events(ctx context.Context, app, env string, limit int) ([]Event, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &d.Table,
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": DynamoPartitionKey},
		ExpressionAttributeValues: item{":pk": &types.AttributeValueMemberS{Value: eventsKey(app, env)}},
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
	}
	items, err := d.queryItems(ctx, in, limit)
	if err != nil {
		return nil, fmt.Errorf("list events of %s/%s: %w", app, env, err)
	}
	out := make([]Event, 0, len(items))
	for _, it := range items {
		var r reader
		e := Event{App: str(it, "app"), Environment: str(it, "environment"), At: r.time(it, "at"), Source: str(it, "source"),
			Kind: str(it, "kind"), Message: str(it, "message"), DeploymentID: str(it, "deployment_id")}
		if s := str(it, "detail"); s != "" {
			e.Detail = json.RawMessage(s)
		}
		if r.err != nil {
			return nil, fmt.Errorf("list events of %s/%s: %w", app, env, r.err)
		}
		out = append(out, e)
	}
	return out, nil
}

// SetPending makes p the environment's queued push, replacing any other.
func (d *Dynamo) SetPending(ctx context.Context, p Pending) error {
	it := key(queueKey(p.App, p.Environment), "pending")
	trig, _ := json.Marshal(p.Trigger)
	putStr(it, "app", p.App)
	putStr(it, "environment", p.Environment)
	putStr(it, "version", p.Version)
	putStr(it, "trigger", string(trig))
	putStr(it, "at", ts(p.At))
	if _, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.Table, Item: it}); err != nil {
		return fmt.Errorf("queue %s on %s/%s: %w", p.Version, p.App, p.Environment, d.explain(err))
	}
	return nil
}

// GetPending returns the environment's queued push, if any.
func (d *Dynamo) GetPending(ctx context.Context, app, env string) (Pending, bool, error) {
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.Table, Key: key(queueKey(app, env), "pending"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Pending{}, false, fmt.Errorf("read the queued push of %s/%s: %w", app, env, d.explain(err))
	}
	if len(out.Item) == 0 {
		return Pending{}, false, nil
	}
	var r reader
	p := Pending{App: str(out.Item, "app"), Environment: str(out.Item, "environment"), Version: str(out.Item, "version"), At: r.time(out.Item, "at")}
	_ = json.Unmarshal([]byte(str(out.Item, "trigger")), &p.Trigger)
	return p, true, r.err
}

// ClearPending removes the queued push if it is still version.
func (d *Dynamo) ClearPending(ctx context.Context, app, env, version string) (bool, error) {
	cleared, err := d.deleteIf(ctx, key(queueKey(app, env), "pending"), "version", version)
	if err != nil {
		return false, fmt.Errorf("clear the queued push of %s/%s: %w", app, env, err)
	}
	return cleared, nil
}

func approvalItem(a Approval) item {
	it := key(approvalsKey(a.App, a.Environment), a.DeploymentID)
	putStr(it, "app", a.App)
	putStr(it, "environment", a.Environment)
	putStr(it, "deployment_id", a.DeploymentID)
	putStr(it, "execution_id", a.ExecutionID)
	putStr(it, "version", a.Version)
	putStr(it, "token", a.Token)
	putStr(it, "summary", a.Summary)
	putStr(it, "requested_at", ts(a.RequestedAt))
	putStr(it, "decision", a.Decision)
	putStr(it, "decided_by", a.DecidedBy)
	putStr(it, "reason", a.Reason)
	putStr(it, "decided_at", ts(a.DecidedAt))
	return it
}

func decodeApproval(it item) (Approval, error) {
	var r reader
	a := Approval{App: str(it, "app"), Environment: str(it, "environment"), DeploymentID: str(it, "deployment_id"),
		ExecutionID: str(it, "execution_id"), Version: str(it, "version"), Token: str(it, "token"), Summary: str(it, "summary"),
		RequestedAt: r.time(it, "requested_at"), Decision: str(it, "decision"), DecidedBy: str(it, "decided_by"),
		Reason: str(it, "reason"), DecidedAt: r.time(it, "decided_at")}
	return a, r.err
}

// PutApproval records an approval request (or replaces it).
func (d *Dynamo) PutApproval(ctx context.Context, a Approval) error {
	if a.DeploymentID == "" { // the sort key: DynamoDB rejects ""
		return fmt.Errorf("record an approval request of %s/%s: it names no deployment", a.App, a.Environment)
	}
	if _, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.Table, Item: approvalItem(a)}); err != nil {
		return fmt.Errorf("record the approval request of %s: %w", a.DeploymentID, d.explain(err))
	}
	return nil
}

// GetApproval returns a deployment's approval request, or ErrNotFound.
func (d *Dynamo) GetApproval(ctx context.Context, app, env, deploymentID string) (Approval, error) {
	if deploymentID == "" { // the sort key: DynamoDB rejects ""
		return Approval{}, fmt.Errorf("approval of %q: %w", deploymentID, ErrNotFound)
	}
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.Table, Key: key(approvalsKey(app, env), deploymentID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Approval{}, fmt.Errorf("read the approval of %s: %w", deploymentID, d.explain(err))
	}
	if len(out.Item) == 0 {
		return Approval{}, fmt.Errorf("approval of %s: %w", deploymentID, ErrNotFound)
	}
	return decodeApproval(out.Item)
}

// DecideApproval records a decision once: a second decision fails with
// *DecidedError.
func (d *Dynamo) DecideApproval(ctx context.Context, app, env, deploymentID, decision, by, reason string, now time.Time) (Approval, error) {
	if deploymentID == "" { // the sort key: DynamoDB rejects ""
		return Approval{}, fmt.Errorf("approval of %q: %w", deploymentID, ErrNotFound)
	}
	values := item{":d": &types.AttributeValueMemberS{Value: decision}, ":by": &types.AttributeValueMemberS{Value: by},
		":at": &types.AttributeValueMemberS{Value: ts(now)}, ":reason": &types.AttributeValueMemberS{Value: reason}}
	out, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &d.Table,
		Key:                       key(approvalsKey(app, env), deploymentID),
		UpdateExpression:          aws.String("SET #d = :d, #by = :by, #at = :at, #reason = :reason"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND attribute_not_exists(#d)"),
		ExpressionAttributeNames:  map[string]string{"#pk": DynamoPartitionKey, "#d": "decision", "#by": "decided_by", "#at": "decided_at", "#reason": "reason"},
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		a, gerr := d.GetApproval(ctx, app, env, deploymentID)
		if gerr != nil {
			return a, gerr
		}
		return a, &DecidedError{Approval: a}
	}
	if err != nil {
		return Approval{}, fmt.Errorf("decide the approval of %s: %w", deploymentID, d.explain(err))
	}
	return decodeApproval(out.Attributes)
}

// Approvals lists an environment's approval requests, newest first.
func (d *Dynamo) Approvals(ctx context.Context, app, env string) ([]Approval, error) {
	items, err := d.queryPrefix(ctx, approvalsKey(app, env), "")
	if err != nil {
		return nil, fmt.Errorf("list approvals of %s/%s: %w", app, env, err)
	}
	out := make([]Approval, 0, len(items))
	for _, it := range items {
		a, err := decodeApproval(it)
		if err != nil {
			return nil, fmt.Errorf("list approvals of %s/%s: %w", app, env, err)
		}
		out = append(out, a)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].RequestedAt.After(out[j].RequestedAt) })
	return out, nil
}
