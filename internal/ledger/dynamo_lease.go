package ledger

// The environment lease and manual locks on DynamoDB (see the comment at
// the top of dynamo.go: Lease).

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// AcquireLease takes the environment's lease for owner until now+ttl. It
// fails with *HeldError if a person froze the environment or another owner
// holds an unexpired lease. Taking a lease one already holds extends it.
func (d *Dynamo) AcquireLease(ctx context.Context, app, env, owner, deploymentID string, ttl time.Duration, now time.Time) (Lock, error) {
	l := Lock{App: app, Environment: env, Kind: LockLease, Owner: owner, DeploymentID: deploymentID, AcquiredAt: now, ExpiresAt: now.Add(ttl)}
	pk := lockKey(app, env)
	it := lockItem(l)
	in := &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{ConditionCheck: &types.ConditionCheck{
				TableName:                           &d.Table,
				Key:                                 key(pk, LockManual),
				ConditionExpression:                 aws.String("attribute_not_exists(#pk)"),
				ExpressionAttributeNames:            map[string]string{"#pk": DynamoPartitionKey},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			}},
			{Put: &types.Put{
				TableName:           &d.Table,
				Item:                it,
				ConditionExpression: aws.String("attribute_not_exists(#pk) OR #owner = :owner OR #expires <= :now"),
				ExpressionAttributeNames: map[string]string{
					"#pk": DynamoPartitionKey, "#owner": "owner", "#expires": "expires_at",
				},
				ExpressionAttributeValues: item{
					":owner": &types.AttributeValueMemberS{Value: owner},
					":now":   num(now.UnixNano()),
				},
				ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
			}},
		},
	}
	var lastErr error
	for attempt := range leaseAttempts {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt, 10*time.Millisecond, 200*time.Millisecond)); err != nil {
				return Lock{}, fmt.Errorf("acquire lease on %s/%s: %w", app, env, err)
			}
		}
		_, err := d.Client.TransactWriteItems(ctx, in)
		if err == nil {
			return l, nil
		}
		var tce *types.TransactionCanceledException
		if !errors.As(err, &tce) {
			return Lock{}, fmt.Errorf("acquire lease on %s/%s: %w", app, env, d.explain(err))
		}
		lastErr = err
		held, err := d.holder(ctx, app, env, tce.CancellationReasons)
		if err != nil {
			return Lock{}, fmt.Errorf("acquire lease on %s/%s: %w", app, env, err)
		}
		if held != nil {
			return Lock{}, held
		}
		// A transaction conflict, or the holder let go in between: try again.
	}
	return Lock{}, fmt.Errorf("acquire lease on %s/%s: gave up after %d attempts: %w", app, env, leaseAttempts, lastErr)
}

// holder explains a cancelled lease transaction: the lock that blocked it,
// from the cancellation reasons or, if they carry no item, read again. It
// returns nil if nothing blocks the lease any more.
func (d *Dynamo) holder(ctx context.Context, app, env string, reasons []types.CancellationReason) (*HeldError, error) {
	failed := func(i int) bool {
		return i < len(reasons) && aws.ToString(reasons[i].Code) == "ConditionalCheckFailed"
	}
	if !failed(0) && !failed(1) {
		return nil, nil
	}
	for _, i := range []int{0, 1} {
		if failed(i) && len(reasons[i].Item) > 0 {
			l, err := decodeLock(reasons[i].Item)
			if err != nil {
				return nil, fmt.Errorf("decode lock holder: %w", err)
			}
			return &HeldError{Lock: l}, nil
		}
	}
	locks, err := d.Locks(ctx, app, env)
	if err != nil {
		return nil, err
	}
	for _, l := range locks {
		if l.Kind == LockManual && failed(0) {
			return &HeldError{Lock: l}, nil
		}
		if l.Kind == LockLease && failed(1) {
			return &HeldError{Lock: l}, nil
		}
	}
	return nil, nil
}

// ReleaseLease releases the environment's lease if owner holds it. It
// reports whether there was one; releasing nothing is not an error.
func (d *Dynamo) ReleaseLease(ctx context.Context, app, env, owner string) (bool, error) {
	released, err := d.deleteIf(ctx, key(lockKey(app, env), LockLease), "owner", owner)
	if err != nil {
		return false, fmt.Errorf("release lease of %s: %w", owner, err)
	}
	return released, nil
}

// deleteIf deletes the item at k if its attribute attr is value. It
// reports whether it deleted it; an item that is missing or holds another
// value is left alone, and that is not an error.
func (d *Dynamo) deleteIf(ctx context.Context, k item, attr, value string) (bool, error) {
	_, err := d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &d.Table,
		Key:                       k,
		ConditionExpression:       aws.String("#" + attr + " = :" + attr),
		ExpressionAttributeNames:  map[string]string{"#" + attr: attr},
		ExpressionAttributeValues: item{":" + attr: &types.AttributeValueMemberS{Value: value}},
	})
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return false, nil
	}
	if err != nil {
		return false, d.explain(err)
	}
	return true, nil
}

// BreakLease deletes the environment's lease whoever holds it, expired or
// not: a person clearing a stuck deployment's lease (`slipway unlock
// --force`). It returns the lease it broke, and false when there was none.
// A manual lock is left alone.
func (d *Dynamo) BreakLease(ctx context.Context, app, env string) (Lock, bool, error) {
	out, err := d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:    &d.Table,
		Key:          key(lockKey(app, env), LockLease),
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return Lock{}, false, fmt.Errorf("break the lease on %s/%s: %w", app, env, d.explain(err))
	}
	if len(out.Attributes) == 0 {
		return Lock{}, false, nil
	}
	l, err := decodeLock(out.Attributes)
	if err != nil {
		return Lock{}, true, fmt.Errorf("break the lease on %s/%s: decode the lease it broke: %w", app, env, err)
	}
	return l, true, nil
}

// Locks returns the holds on an environment: the lease, then the manual
// lock, as there are. A lease past its expiry is listed until DynamoDB's
// TTL deletes it.
func (d *Dynamo) Locks(ctx context.Context, app, env string) ([]Lock, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &d.Table,
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": DynamoPartitionKey},
		ExpressionAttributeValues: item{":pk": &types.AttributeValueMemberS{Value: lockKey(app, env)}},
		ConsistentRead:            aws.Bool(true),
	}
	items, err := d.queryItems(ctx, in, 0)
	if err != nil {
		return nil, fmt.Errorf("read locks on %s/%s: %w", app, env, err)
	}
	var out []Lock
	for _, it := range items {
		l, err := decodeLock(it)
		if err != nil {
			return nil, fmt.Errorf("read locks on %s/%s: decode %s: %w", app, env, str(it, DynamoSortKey), err)
		}
		out = append(out, l)
	}
	return out, nil
}

// Freeze sets a manual lock: no automation deploys until Unfreeze.
func (d *Dynamo) Freeze(ctx context.Context, app, env, owner, message string, now time.Time) error {
	it := lockItem(Lock{App: app, Environment: env, Kind: LockManual, Owner: owner, Message: message, AcquiredAt: now})
	if _, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.Table, Item: it}); err != nil {
		return fmt.Errorf("freeze %s/%s: %w", app, env, d.explain(err))
	}
	return nil
}

// Unfreeze removes a manual lock. It reports whether there was one.
func (d *Dynamo) Unfreeze(ctx context.Context, app, env string) (bool, error) {
	out, err := d.Client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:    &d.Table,
		Key:          key(lockKey(app, env), LockManual),
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return false, fmt.Errorf("unfreeze %s/%s: %w", app, env, d.explain(err))
	}
	return len(out.Attributes) > 0, nil
}
