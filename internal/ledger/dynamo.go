package ledger

// DynamoDB single-table design. The CDK stack creates the table to match;
// it must use the exported constants below, not copies of their values.
//
// Table: partition key "pk" (S), sort key "sk" (S), on-demand billing,
// TTL enabled on "ttl" (a Number, epoch seconds), and two global secondary
// indexes, both with projection ALL:
//
//	index   partition key      sort key
//	by_env  gsi1pk (S)         gsi1sk (S)
//	by_app  gsi2pk (S)         gsi2sk (S)
//
// Items:
//
//	what             pk                 sk                         other key attributes
//	deployment       DEP#<id>           META                       gsi1pk=ENV#<app>#<env>, gsi1sk=<started>#<id>,
//	                                                               gsi2pk=APP#<app>,       gsi2sk=<started>#<id>
//	counters         DEP#<id>           SEQ                        step_seq, inst_seq (Numbers)
//	step             DEP#<id>           STEP#<seq, 10 digits>      (the sort key is the order)
//	instance result  DEP#<id>           INST#<command>#<instance>  rec (Number): the order recorded
//	lease            LOCK#<app>#<env>   lease                      ttl (Number, epoch seconds)
//	manual freeze    LOCK#<app>#<env>   manual
//
// <started> is the deployment's start in UTC with nine fractional digits
// (2006-01-02T15:04:05.000000000Z): fixed width, so the indexes order it as
// text. RFC 3339 with trailing zeros trimmed does not sort as text.
//
// Numbering under concurrent writers. Steps and instance results take their
// numbers from the deployment's SEQ item, which UpdateItem ADD increments
// atomically (AddStep takes one number, PutInstanceResults a block), then
// write the item. Two writers never get the same number. A writer that dies
// between the two calls leaves a gap in the numbers, never a duplicate; the
// order is still right. The counters are not on the META item because
// PutDeployment replaces that item whole and would reset them.
//
// Optimistic concurrency. Every write of a deployment stores a fresh random
// revision in "rev"; UpdateDeployment reads the item, applies fn and writes
// it back on condition that "rev" is unchanged, retrying a few times.
//
// Lease. AcquireLease is one TransactWriteItems: a ConditionCheck that the
// manual item does not exist, and a Put of the lease item on condition
// `attribute_not_exists(pk) OR owner = :owner OR expires_at <= :now`.
// expires_at is a Number (Unix nanoseconds); "ttl" lets DynamoDB delete a
// lease some time after it expired, and the condition does not depend on
// that having happened.
//
// Reads of one deployment's items and of locks are strongly consistent.
// ListDeployments reads an index, and global secondary indexes are
// eventually consistent: a deployment may appear in the list a moment after
// PutDeployment returns.

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	mathrand "math/rand/v2"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Key attributes, index names and the TTL attribute of the ledger table.
const (
	// DynamoPartitionKey is the table's partition key (type S).
	DynamoPartitionKey = "pk"
	// DynamoSortKey is the table's sort key (type S).
	DynamoSortKey = "sk"
	// DynamoGSIByEnv is the index that lists an environment's deployments.
	DynamoGSIByEnv = "by_env"
	// DynamoGSIByEnvPartitionKey is DynamoGSIByEnv's partition key (type S).
	DynamoGSIByEnvPartitionKey = "gsi1pk"
	// DynamoGSIByEnvSortKey is DynamoGSIByEnv's sort key (type S).
	DynamoGSIByEnvSortKey = "gsi1sk"
	// DynamoGSIByApp is the index that lists an app's deployments.
	DynamoGSIByApp = "by_app"
	// DynamoGSIByAppPartitionKey is DynamoGSIByApp's partition key (type S).
	DynamoGSIByAppPartitionKey = "gsi2pk"
	// DynamoGSIByAppSortKey is DynamoGSIByApp's sort key (type S).
	DynamoGSIByAppSortKey = "gsi2sk"
	// DynamoTTLAttribute is the table's TTL attribute (type N, epoch seconds).
	DynamoTTLAttribute = "ttl"
)

// Sort keys and prefixes of the items.
const (
	skMeta       = "META"
	skSeq        = "SEQ"
	skStepPrefix = "STEP#"
	skInstPrefix = "INST#"
	pkDepPrefix  = "DEP#"
	pkLockPrefix = "LOCK#"

	attrStepSeq = "step_seq"
	attrInstSeq = "inst_seq"
	attrRev     = "rev"
	attrRec     = "rec"
)

// Bounds of the adapter's own retries. Throttling is retried by the SDK's
// retryer; these cover what it does not retry.
const (
	// updateAttempts bounds UpdateDeployment's read-modify-write attempts.
	updateAttempts = 10
	// leaseAttempts bounds AcquireLease's attempts when a transaction
	// conflicts or the holder is gone by the time it is read.
	leaseAttempts = 5
	// batchAttempts bounds BatchWriteItem calls per chunk while DynamoDB
	// returns UnprocessedItems.
	batchAttempts = 8
	// batchSize is BatchWriteItem's limit.
	batchSize = 25
)

// sortTimeLayout is the fixed-width UTC layout of the index sort keys.
const sortTimeLayout = "2006-01-02T15:04:05.000000000Z"

// DynamoAPI is the part of the DynamoDB client the ledger uses.
type DynamoAPI interface {
	GetItem(ctx context.Context, params *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, params *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, params *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, params *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
	Query(ctx context.Context, params *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	BatchWriteItem(ctx context.Context, params *dynamodb.BatchWriteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error)
	TransactWriteItems(ctx context.Context, params *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ DynamoAPI = (*dynamodb.Client)(nil)

// Dynamo is the ledger on DynamoDB, in one table laid out as the comment at
// the top of this file describes. Its methods behave as SQLite's do.
type Dynamo struct {
	// Client is the DynamoDB client, usually a *dynamodb.Client.
	Client DynamoAPI
	// Table is the name of the ledger table.
	Table string
}

type item = map[string]types.AttributeValue

// PutDeployment inserts or replaces a deployment record.
func (d *Dynamo) PutDeployment(ctx context.Context, dep Deployment) error {
	it, err := deploymentItem(dep)
	if err != nil {
		return fmt.Errorf("put deployment %s: %w", dep.ID, err)
	}
	if _, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.Table, Item: it}); err != nil {
		return fmt.Errorf("put deployment %s: %w", dep.ID, d.explain(err))
	}
	return nil
}

// GetDeployment returns a deployment, or ErrNotFound.
func (d *Dynamo) GetDeployment(ctx context.Context, id string) (Deployment, error) {
	dep, _, err := d.getDeployment(ctx, id)
	if err != nil {
		return Deployment{}, err
	}
	return dep, nil
}

// getDeployment reads a deployment and its revision.
func (d *Dynamo) getDeployment(ctx context.Context, id string) (Deployment, string, error) {
	out, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &d.Table,
		Key:            key(pkDepPrefix+id, skMeta),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Deployment{}, "", fmt.Errorf("get deployment %s: %w", id, d.explain(err))
	}
	if len(out.Item) == 0 {
		return Deployment{}, "", fmt.Errorf("deployment %s: %w", id, ErrNotFound)
	}
	dep, err := decodeDeployment(out.Item)
	if err != nil {
		return Deployment{}, "", fmt.Errorf("decode deployment %s: %w", id, err)
	}
	return dep, str(out.Item, attrRev), nil
}

// UpdateDeployment applies fn to a deployment and writes it back if no one
// else wrote it in between; otherwise it reads it again and retries, so fn
// may run more than once and must only change the deployment it is given.
// fn cannot change the deployment's ID, app or environment. An error from
// fn is returned as it is, and nothing is written.
func (d *Dynamo) UpdateDeployment(ctx context.Context, id string, fn func(*Deployment) error) (Deployment, error) {
	var lastErr error
	for attempt := range updateAttempts {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt, 5*time.Millisecond, 200*time.Millisecond)); err != nil {
				return Deployment{}, fmt.Errorf("update deployment %s: %w", id, err)
			}
		}
		dep, rev, err := d.getDeployment(ctx, id)
		if err != nil {
			return dep, err
		}
		app, env := dep.App, dep.Environment
		if err := fn(&dep); err != nil {
			return dep, err
		}
		dep.ID, dep.App, dep.Environment = id, app, env
		it, err := deploymentItem(dep)
		if err != nil {
			return dep, fmt.Errorf("update deployment %s: %w", id, err)
		}
		in := &dynamodb.PutItemInput{
			TableName:                &d.Table,
			Item:                     it,
			ConditionExpression:      aws.String("#rev = :rev"),
			ExpressionAttributeNames: map[string]string{"#rev": attrRev},
			ExpressionAttributeValues: item{
				":rev": &types.AttributeValueMemberS{Value: rev},
			},
		}
		if rev == "" { // written by something that does not set revisions
			in.ConditionExpression = aws.String("attribute_exists(#pk) AND attribute_not_exists(#rev)")
			in.ExpressionAttributeNames["#pk"] = DynamoPartitionKey
			in.ExpressionAttributeValues = nil
		}
		_, err = d.Client.PutItem(ctx, in)
		if err == nil {
			return dep, nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return dep, fmt.Errorf("update deployment %s: %w", id, d.explain(err))
		}
		lastErr = err
	}
	return Deployment{}, fmt.Errorf("update deployment %s: written concurrently %d times in a row: %w", id, updateAttempts, lastErr)
}

// ListDeployments returns an environment's deployments, newest first. An
// empty env lists every environment of app; limit <= 0 means all.
func (d *Dynamo) ListDeployments(ctx context.Context, app, env string, limit int) ([]Deployment, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &d.Table,
		IndexName:                 aws.String(DynamoGSIByEnv),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": DynamoGSIByEnvPartitionKey},
		ExpressionAttributeValues: item{":pk": &types.AttributeValueMemberS{Value: envKey(app, env)}},
		ScanIndexForward:          aws.Bool(false),
	}
	if env == "" {
		in.IndexName = aws.String(DynamoGSIByApp)
		in.ExpressionAttributeNames["#pk"] = DynamoGSIByAppPartitionKey
		in.ExpressionAttributeValues[":pk"] = &types.AttributeValueMemberS{Value: appKey(app)}
	}
	if limit > 0 {
		in.Limit = aws.Int32(int32(min(limit, math.MaxInt32)))
	}
	items, err := d.queryItems(ctx, in, limit)
	if err != nil {
		return nil, fmt.Errorf("list deployments of %s/%s: %w", app, env, err)
	}
	out := make([]Deployment, 0, len(items))
	for _, it := range items {
		dep, err := decodeDeployment(it)
		if err != nil {
			return nil, fmt.Errorf("list deployments of %s/%s: decode %s: %w", app, env, str(it, DynamoPartitionKey), err)
		}
		out = append(out, dep)
	}
	return out, nil
}

// AddStep appends a step to a deployment, numbering it. The number comes
// from the deployment's counter item, so concurrent writers get distinct
// numbers in the order they asked for them.
func (d *Dynamo) AddStep(ctx context.Context, st Step) error {
	if st.At.IsZero() {
		st.At = time.Now()
	}
	last, err := d.reserve(ctx, st.DeploymentID, attrStepSeq, 1)
	if err != nil {
		return fmt.Errorf("add %s step to deployment %s: %w", st.Stage, st.DeploymentID, err)
	}
	st.Seq = int(last)
	it := item{
		DynamoPartitionKey: &types.AttributeValueMemberS{Value: pkDepPrefix + st.DeploymentID},
		DynamoSortKey:      &types.AttributeValueMemberS{Value: stepKey(st.Seq)},
		"deployment_id":    &types.AttributeValueMemberS{Value: st.DeploymentID},
		"seq":              num(int64(st.Seq)),
	}
	putStr(it, "stage", st.Stage)
	putStr(it, "status", st.Status)
	putStr(it, "message", st.Message)
	putStr(it, "at", ts(st.At))
	putStr(it, "detail", string(st.Detail))
	_, err = d.Client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                &d.Table,
		Item:                     it,
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": DynamoPartitionKey},
	})
	if err != nil {
		return fmt.Errorf("add %s step %d to deployment %s: %w", st.Stage, st.Seq, st.DeploymentID, d.explain(err))
	}
	return nil
}

// Steps returns a deployment's steps in order.
func (d *Dynamo) Steps(ctx context.Context, deploymentID string) ([]Step, error) {
	items, err := d.queryPrefix(ctx, pkDepPrefix+deploymentID, skStepPrefix)
	if err != nil {
		return nil, fmt.Errorf("list steps of %s: %w", deploymentID, err)
	}
	var out []Step
	for _, it := range items {
		var r reader
		st := Step{
			DeploymentID: str(it, "deployment_id"),
			Seq:          int(r.num(it, "seq")),
			Stage:        str(it, "stage"),
			Status:       str(it, "status"),
			Message:      str(it, "message"),
			At:           r.time(it, "at"),
		}
		if detail := str(it, "detail"); detail != "" {
			st.Detail = json.RawMessage(detail)
		}
		if r.err != nil {
			return nil, fmt.Errorf("list steps of %s: decode %s: %w", deploymentID, str(it, DynamoSortKey), r.err)
		}
		out = append(out, st)
	}
	return out, nil
}

// PutInstanceResults records per-instance results, replacing earlier
// results of the same command and instance. A replaced result moves to the
// end of the order, as a newly recorded one. Results are written 25 at a
// time with BatchWriteItem, which is not atomic: if it fails part way, the
// results before the failure are recorded.
func (d *Dynamo) PutInstanceResults(ctx context.Context, results []InstanceResult) error {
	if len(results) == 0 {
		return nil
	}
	// One call may name a result twice; the last one wins, in its place.
	type rkey struct{ dep, cmd, inst string }
	last := make(map[rkey]int, len(results))
	for i, r := range results {
		last[rkey{r.DeploymentID, r.CommandID, r.InstanceID}] = i
	}
	var unique []InstanceResult
	counts := map[string]int64{}
	var deps []string
	for i, r := range results {
		if last[rkey{r.DeploymentID, r.CommandID, r.InstanceID}] != i {
			continue
		}
		unique = append(unique, r)
		if counts[r.DeploymentID] == 0 {
			deps = append(deps, r.DeploymentID)
		}
		counts[r.DeploymentID]++
	}
	// Reserve a block of record numbers per deployment.
	next := make(map[string]int64, len(deps))
	for _, dep := range deps {
		end, err := d.reserve(ctx, dep, attrInstSeq, counts[dep])
		if err != nil {
			return fmt.Errorf("put instance results of %s: %w", dep, err)
		}
		next[dep] = end - counts[dep] + 1
	}
	writes := make([]types.WriteRequest, 0, len(unique))
	for _, r := range unique {
		it := instanceItem(r, next[r.DeploymentID])
		next[r.DeploymentID]++
		writes = append(writes, types.WriteRequest{PutRequest: &types.PutRequest{Item: it}})
	}
	for chunk := range slices.Chunk(writes, batchSize) {
		if err := d.batchWrite(ctx, chunk); err != nil {
			return fmt.Errorf("put instance results: %w", err)
		}
	}
	return nil
}

// batchWrite writes up to 25 items, retrying the ones DynamoDB leaves
// unprocessed with a growing delay.
func (d *Dynamo) batchWrite(ctx context.Context, writes []types.WriteRequest) error {
	pending := writes
	for attempt := range batchAttempts {
		if attempt > 0 {
			if err := sleep(ctx, backoff(attempt, 20*time.Millisecond, time.Second)); err != nil {
				return err
			}
		}
		out, err := d.Client.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{
			RequestItems: map[string][]types.WriteRequest{d.Table: pending},
		})
		if err != nil {
			return d.explain(err)
		}
		pending = out.UnprocessedItems[d.Table]
		if len(pending) == 0 {
			return nil
		}
	}
	return fmt.Errorf("%d of %d items still unprocessed after %d BatchWriteItem calls", len(pending), len(writes), batchAttempts)
}

// InstanceResults returns a deployment's per-instance results in the order
// they were recorded.
func (d *Dynamo) InstanceResults(ctx context.Context, deploymentID string) ([]InstanceResult, error) {
	items, err := d.queryPrefix(ctx, pkDepPrefix+deploymentID, skInstPrefix)
	if err != nil {
		return nil, fmt.Errorf("list instance results of %s: %w", deploymentID, err)
	}
	type recorded struct {
		rec int64
		r   InstanceResult
	}
	rs := make([]recorded, 0, len(items))
	for _, it := range items {
		var rd reader
		r := InstanceResult{
			DeploymentID: str(it, "deployment_id"),
			CommandID:    str(it, "command_id"),
			Wave:         int(rd.num(it, "wave")),
			InstanceID:   str(it, "instance_id"),
			Action:       str(it, "action"),
			Version:      str(it, "version"),
			Status:       str(it, "status"),
			ExitCode:     int(rd.num(it, "exit_code")),
			Output:       str(it, "output"),
			StartedAt:    rd.time(it, "started_at"),
			FinishedAt:   rd.time(it, "finished_at"),
		}
		rec := rd.num(it, attrRec)
		if rd.err != nil {
			return nil, fmt.Errorf("list instance results of %s: decode %s: %w", deploymentID, str(it, DynamoSortKey), rd.err)
		}
		rs = append(rs, recorded{rec, r})
	}
	slices.SortStableFunc(rs, func(a, b recorded) int { return cmp.Compare(a.rec, b.rec) })
	var out []InstanceResult
	for _, r := range rs {
		out = append(out, r.r)
	}
	return out, nil
}

// reserve adds n to counter attr of the deployment's SEQ item and returns
// the new value: the caller owns the numbers new-n+1 to new.
func (d *Dynamo) reserve(ctx context.Context, deploymentID, attr string, n int64) (int64, error) {
	out, err := d.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 &d.Table,
		Key:                       key(pkDepPrefix+deploymentID, skSeq),
		UpdateExpression:          aws.String("ADD #n :n"),
		ExpressionAttributeNames:  map[string]string{"#n": attr},
		ExpressionAttributeValues: item{":n": num(n)},
		ReturnValues:              types.ReturnValueUpdatedNew,
	})
	if err != nil {
		return 0, fmt.Errorf("number records: %w", d.explain(err))
	}
	var r reader
	v := r.num(out.Attributes, attr)
	if r.err != nil || v < n {
		return 0, fmt.Errorf("number records: counter %s is %d after adding %d (%v)", attr, v, n, r.err)
	}
	return v, nil
}

// queryPrefix returns the items of partition pk whose sort key starts with
// prefix (every item of it when prefix is ""), in sort key order, reading
// every page. DynamoDB rejects an empty string bound to a key attribute,
// even as begins_with's prefix, so "" means no condition on the sort key.
func (d *Dynamo) queryPrefix(ctx context.Context, pk, prefix string) ([]item, error) {
	in := &dynamodb.QueryInput{
		TableName:                 &d.Table,
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": DynamoPartitionKey},
		ExpressionAttributeValues: item{":pk": &types.AttributeValueMemberS{Value: pk}},
		ConsistentRead:            aws.Bool(true),
	}
	if prefix != "" {
		in.KeyConditionExpression = aws.String("#pk = :pk AND begins_with(#sk, :prefix)")
		in.ExpressionAttributeNames["#sk"] = DynamoSortKey
		in.ExpressionAttributeValues[":prefix"] = &types.AttributeValueMemberS{Value: prefix}
	}
	return d.queryItems(ctx, in, 0)
}

// queryItems runs in page by page and returns its items, at most limit of
// them (all when limit <= 0); it stops reading pages once it has enough.
func (d *Dynamo) queryItems(ctx context.Context, in *dynamodb.QueryInput, limit int) ([]item, error) {
	var out []item
	p := dynamodb.NewQueryPaginator(d.Client, in)
	for p.HasMorePages() && (limit <= 0 || len(out) < limit) {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, d.explain(err)
		}
		out = append(out, page.Items...)
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// explain adds what to do to errors that have a known remedy.
func (d *Dynamo) explain(err error) error {
	var rnf *types.ResourceNotFoundException
	if errors.As(err, &rnf) {
		return fmt.Errorf("ledger table %q does not exist in this account and region: deploy the Slipway stack, which creates it, or fix the table name: %w", d.Table, err)
	}
	return err
}

// newRevision returns a random revision token.
func newRevision() string {
	return rand.Text()
}

// backoff is the delay before retry attempt (from 1): base doubling up to
// limit, with full jitter in its upper half.
func backoff(attempt int, base, limit time.Duration) time.Duration {
	dur := min(base<<min(attempt-1, 20), limit)
	return dur/2 + mathrand.N(dur/2+1)
}

// sleep waits for dur or until ctx ends.
func sleep(ctx context.Context, dur time.Duration) error {
	t := time.NewTimer(dur)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
