package ledger

// The ledger table's keys, items and attribute values: how records are
// written to and read from DynamoDB.

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/slipway-deploy/slipway/internal/contract"
)

// Keys.

func key(pk, sk string) item {
	return item{
		DynamoPartitionKey: &types.AttributeValueMemberS{Value: pk},
		DynamoSortKey:      &types.AttributeValueMemberS{Value: sk},
	}
}

func envKey(app, env string) string { return "ENV#" + app + "#" + env }
func appKey(app string) string      { return "APP#" + app }
func lockKey(app, env string) string {
	return pkLockPrefix + app + "#" + env
}
func stepKey(seq int) string { return fmt.Sprintf("%s%010d", skStepPrefix, seq) }

// listKey is the index sort key of a deployment: start time, then ID.
func listKey(dep Deployment) string {
	return dep.StartedAt.UTC().Format(sortTimeLayout) + "#" + dep.ID
}

// Items.

func deploymentItem(dep Deployment) (item, error) {
	trig, err := json.Marshal(dep.Trigger)
	if err != nil {
		return nil, fmt.Errorf("encode trigger: %w", err)
	}
	it := item{
		DynamoPartitionKey:         &types.AttributeValueMemberS{Value: pkDepPrefix + dep.ID},
		DynamoSortKey:              &types.AttributeValueMemberS{Value: skMeta},
		DynamoGSIByEnvPartitionKey: &types.AttributeValueMemberS{Value: envKey(dep.App, dep.Environment)},
		DynamoGSIByEnvSortKey:      &types.AttributeValueMemberS{Value: listKey(dep)},
		DynamoGSIByAppPartitionKey: &types.AttributeValueMemberS{Value: appKey(dep.App)},
		DynamoGSIByAppSortKey:      &types.AttributeValueMemberS{Value: listKey(dep)},
		"id":                       &types.AttributeValueMemberS{Value: dep.ID},
		"trigger":                  &types.AttributeValueMemberS{Value: string(trig)},
		"schema_before":            num(dep.SchemaBefore),
		"schema_after":             num(dep.SchemaAfter),
		attrRev:                    &types.AttributeValueMemberS{Value: newRevision()},
	}
	putStr(it, "app", dep.App)
	putStr(it, "environment", dep.Environment)
	putStr(it, "version", dep.Version)
	putStr(it, "previous_version", dep.PreviousVersion)
	putStr(it, "kind", dep.Kind)
	putStr(it, "status", dep.Status)
	putStr(it, "execution_id", dep.ExecutionID)
	putStr(it, "started_at", ts(dep.StartedAt))
	putStr(it, "finished_at", ts(dep.FinishedAt))
	putStr(it, "error", dep.Error)
	putStr(it, "cause", dep.Cause)
	putStr(it, "summary", dep.Summary)
	putStr(it, "snapshot_id", dep.SnapshotID)
	putStr(it, "target_deployment_id", dep.TargetDeploymentID)
	putStr(it, "rolled_back_by", dep.RolledBackBy)
	putStr(it, "watch_until", ts(dep.WatchUntil))
	putStr(it, "report", string(dep.Report))
	if dep.Observed != nil {
		obs, err := json.Marshal(dep.Observed)
		if err != nil {
			return nil, fmt.Errorf("encode observation: %w", err)
		}
		putStr(it, "observed", string(obs))
	}
	if dep.Config != nil {
		c, err := json.Marshal(dep.Config)
		if err != nil {
			return nil, fmt.Errorf("encode configuration print: %w", err)
		}
		putStr(it, "config", string(c))
	}
	return it, nil
}

func decodeDeployment(it item) (Deployment, error) {
	var r reader
	dep := Deployment{
		ID:                 str(it, "id"),
		App:                str(it, "app"),
		Environment:        str(it, "environment"),
		Version:            str(it, "version"),
		PreviousVersion:    str(it, "previous_version"),
		Kind:               str(it, "kind"),
		Status:             str(it, "status"),
		ExecutionID:        str(it, "execution_id"),
		StartedAt:          r.time(it, "started_at"),
		FinishedAt:         r.time(it, "finished_at"),
		Error:              str(it, "error"),
		Cause:              str(it, "cause"),
		Summary:            str(it, "summary"),
		SnapshotID:         str(it, "snapshot_id"),
		SchemaBefore:       r.num(it, "schema_before"),
		SchemaAfter:        r.num(it, "schema_after"),
		TargetDeploymentID: str(it, "target_deployment_id"),
		RolledBackBy:       str(it, "rolled_back_by"),
		WatchUntil:         r.time(it, "watch_until"),
	}
	if trig := str(it, "trigger"); trig != "" {
		if err := json.Unmarshal([]byte(trig), &dep.Trigger); err != nil {
			return dep, fmt.Errorf("attribute trigger: %w", err)
		}
	}
	if report := str(it, "report"); report != "" {
		dep.Report = json.RawMessage(report)
	}
	if obs := str(it, "observed"); obs != "" {
		dep.Observed = &contract.Observation{}
		if err := json.Unmarshal([]byte(obs), dep.Observed); err != nil {
			return dep, fmt.Errorf("attribute observed: %w", err)
		}
	}
	if c := str(it, "config"); c != "" {
		dep.Config = &contract.ConfigPrint{}
		if err := json.Unmarshal([]byte(c), dep.Config); err != nil {
			return dep, fmt.Errorf("attribute config: %w", err)
		}
	}
	return dep, r.err
}

func instanceItem(r InstanceResult, rec int64) item {
	it := item{
		DynamoPartitionKey: &types.AttributeValueMemberS{Value: pkDepPrefix + r.DeploymentID},
		DynamoSortKey:      &types.AttributeValueMemberS{Value: skInstPrefix + r.CommandID + "#" + r.InstanceID},
		"deployment_id":    &types.AttributeValueMemberS{Value: r.DeploymentID},
		"wave":             num(int64(r.Wave)),
		"exit_code":        num(int64(r.ExitCode)),
		attrRec:            num(rec),
	}
	putStr(it, "command_id", r.CommandID)
	putStr(it, "instance_id", r.InstanceID)
	putStr(it, "action", r.Action)
	putStr(it, "version", r.Version)
	putStr(it, "status", r.Status)
	putStr(it, "output", r.Output)
	putStr(it, "started_at", ts(r.StartedAt))
	putStr(it, "finished_at", ts(r.FinishedAt))
	return it
}

func lockItem(l Lock) item {
	it := key(lockKey(l.App, l.Environment), l.Kind)
	it["app"] = &types.AttributeValueMemberS{Value: l.App}
	it["environment"] = &types.AttributeValueMemberS{Value: l.Environment}
	it["kind"] = &types.AttributeValueMemberS{Value: l.Kind}
	it["owner"] = &types.AttributeValueMemberS{Value: l.Owner}
	putStr(it, "deployment_id", l.DeploymentID)
	putStr(it, "message", l.Message)
	putStr(it, "acquired_at", ts(l.AcquiredAt))
	if !l.ExpiresAt.IsZero() {
		it["expires_at"] = num(l.ExpiresAt.UnixNano())
		// DynamoDB's TTL is in seconds; round up so it never runs early.
		secs := l.ExpiresAt.Unix()
		if l.ExpiresAt.Nanosecond() > 0 {
			secs++
		}
		it[DynamoTTLAttribute] = num(secs)
	}
	return it
}

func decodeLock(it item) (Lock, error) {
	var r reader
	l := Lock{
		App:          str(it, "app"),
		Environment:  str(it, "environment"),
		Kind:         str(it, "kind"),
		Owner:        str(it, "owner"),
		DeploymentID: str(it, "deployment_id"),
		Message:      str(it, "message"),
		AcquiredAt:   r.time(it, "acquired_at"),
	}
	if _, ok := it["expires_at"]; ok {
		l.ExpiresAt = time.Unix(0, r.num(it, "expires_at")).UTC()
	}
	return l, r.err
}

// Attribute values.

func num(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// putStr sets a string attribute, leaving empty ones out.
func putStr(it item, name, v string) {
	if v != "" {
		it[name] = &types.AttributeValueMemberS{Value: v}
	}
}

// str returns a string attribute, "" if it is missing or not a string.
func str(it item, name string) string {
	if v, ok := it[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// reader decodes attributes, keeping the first error.
type reader struct{ err error }

// num returns a number attribute, 0 if it is missing.
func (r *reader) num(it item, name string) int64 {
	av, ok := it[name]
	if !ok {
		return 0
	}
	v, ok := av.(*types.AttributeValueMemberN)
	if !ok {
		r.fail(fmt.Errorf("attribute %s is %T, not a number", name, av))
		return 0
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil {
		r.fail(fmt.Errorf("attribute %s: %w", name, err))
	}
	return n
}

// time returns a time attribute (RFC 3339), zero if it is missing.
func (r *reader) time(it item, name string) time.Time {
	s := str(it, name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		r.fail(fmt.Errorf("attribute %s: %w", name, err))
	}
	return t
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}
