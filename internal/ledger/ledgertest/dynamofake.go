package ledgertest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/slipway-deploy/slipway/internal/ledger"
)

// DynamoFake is one DynamoDB table in memory behind an httptest.Server,
// speaking the DynamoDB JSON protocol (X-Amz-Target DynamoDB_20120810.*)
// so that the real SDK client can be pointed at it. The table has the
// ledger's schema: keys ledger.DynamoPartitionKey and ledger.DynamoSortKey
// and the two indexes (projection ALL).
//
// It implements what the ledger sends, honestly but minimally: GetItem,
// PutItem, UpdateItem (SET, ADD, REMOVE), DeleteItem, Query (on the table
// or an index, forward or backward, Limit, ExclusiveStartKey, pages of at
// most PageSize items), BatchWriteItem and TransactWriteItems, with
// condition and key condition expressions evaluated (comparisons,
// AND/OR/NOT, attribute_exists, attribute_not_exists, begins_with, BETWEEN)
// on top-level attributes of types S, N and BOOL. Requests it does not
// understand get a ValidationException, as do unused or undefined
// expression attribute names and values. Errors have DynamoDB's shapes:
// ConditionalCheckFailedException, TransactionCanceledException with
// CancellationReasons, ResourceNotFoundException for another table name.
// Every request is handled under one lock, so operations are atomic and
// serializable. Responses carry X-Amz-Crc32, which the SDK checks.
type DynamoFake struct {
	// Table is the name of the fake's table; other names do not exist.
	Table string
	// URL is the server's base URL, for the client's BaseEndpoint.
	URL string
	// PageSize caps the items of one Query page, standing in for
	// DynamoDB's 1 MB pages; 0 means no cap.
	PageSize int

	mu          sync.Mutex
	items       map[[2]string]FakeItem
	calls       []FakeCall
	intercept   func(FakeCall) *FakeReply
	unprocessed int
}

// FakeItem is an item as it travels on the wire.
type FakeItem map[string]FakeValue

// FakeValue is an attribute value as it travels on the wire.
type FakeValue struct {
	S    *string `json:"S,omitempty"`
	N    *string `json:"N,omitempty"`
	BOOL *bool   `json:"BOOL,omitempty"`
}

// FakeCall is one request the fake received.
type FakeCall struct {
	// Op is the operation, e.g. "PutItem", from X-Amz-Target.
	Op string
	// Header is the request's header.
	Header http.Header
	// Body is the raw JSON request body.
	Body []byte
}

// Decode decodes the request body into v.
func (c FakeCall) Decode(v any) error { return json.Unmarshal(c.Body, v) }

// FakeReply is a canned answer to a request, in place of the fake's own.
type FakeReply struct {
	// Status is the HTTP status.
	Status int
	// Body is the JSON response body.
	Body string
}

// DynamoError returns a DynamoDB error reply: HTTP 400 with
// {"__type":"com.amazonaws.dynamodb.v20120810#<code>","message":...}.
func DynamoError(code, message string) *FakeReply {
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + code, "message": message})
	return &FakeReply{Status: http.StatusBadRequest, Body: string(b)}
}

// NewDynamoFake starts a fake holding an empty table named table; the
// server stops when the test ends.
func NewDynamoFake(t testing.TB, table string) *DynamoFake {
	t.Helper()
	f := &DynamoFake{Table: table, items: map[[2]string]FakeItem{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Client returns an SDK client for the fake: static credentials, region
// us-east-1, BaseEndpoint the fake, and retries with a short backoff.
func (f *DynamoFake) Client(optFns ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		BaseEndpoint: aws.String(f.URL),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 4
			o.MaxBackoff = 10 * time.Millisecond
		}),
	}, optFns...)
}

// Calls returns the requests received so far.
func (f *DynamoFake) Calls() []FakeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// Ops returns the operations of the requests received so far.
func (f *DynamoFake) Ops() []string {
	var ops []string
	for _, c := range f.Calls() {
		ops = append(ops, c.Op)
	}
	return ops
}

// ResetCalls forgets the requests received so far.
func (f *DynamoFake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = nil
}

// Intercept sets fn to see every request first: a non-nil reply is sent
// instead of the fake's own answer. nil removes it.
func (f *DynamoFake) Intercept(fn func(FakeCall) *FakeReply) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.intercept = fn
}

// LeaveUnprocessed makes the next BatchWriteItem call process all but the
// last n of its requests and return those as UnprocessedItems.
func (f *DynamoFake) LeaveUnprocessed(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unprocessed = n
}

// Item returns the item with the given keys, nil if there is none.
func (f *DynamoFake) Item(pk, sk string) FakeItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.items[[2]string{pk, sk}]
}

// Items returns every item, ordered by key.
func (f *DynamoFake) Items() []FakeItem {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := slices.SortedFunc(func(yield func([2]string) bool) {
		for k := range f.items {
			if !yield(k) {
				return
			}
		}
	}, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	var out []FakeItem
	for _, k := range keys {
		out = append(out, f.items[k])
	}
	return out
}

// apiError is an error the fake answers with.
type apiError struct {
	code    string
	message string
	extra   map[string]any
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func validation(format string, args ...any) *apiError {
	return &apiError{code: "ValidationException", message: fmt.Sprintf(format, args...)}
}

func (f *DynamoFake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "DynamoDB_20120810.")
	call := FakeCall{Op: op, Header: r.Header.Clone(), Body: body}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	if f.intercept != nil {
		if reply := f.intercept(call); reply != nil {
			writeReply(w, reply.Status, []byte(reply.Body))
			return
		}
	}
	var resp any
	var err error
	switch {
	case !ok || r.Method != http.MethodPost:
		err = &apiError{code: "UnknownOperationException", message: "unknown target " + target}
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.0":
		err = validation("content type %q is not application/x-amz-json-1.0", r.Header.Get("Content-Type"))
	case !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 Credential=AKID/"):
		err = &apiError{code: "MissingAuthenticationTokenException", message: "request is not signed with the test credentials"}
	default:
		resp, err = f.handle(op, body)
	}
	if err != nil {
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = validation("%v", err)
		}
		out := map[string]any{"__type": "com.amazonaws.dynamodb.v20120810#" + ae.code}
		if ae.code == "TransactionCanceledException" {
			out["Message"] = ae.message // DynamoDB capitalises it for this error
		} else {
			out["message"] = ae.message
		}
		for k, v := range ae.extra {
			out[k] = v
		}
		b, _ := json.Marshal(out)
		writeReply(w, http.StatusBadRequest, b)
		return
	}
	b, _ := json.Marshal(resp)
	writeReply(w, http.StatusOK, b)
}

func writeReply(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Requestid", "FAKE0REQUEST0ID")
	w.Header().Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	w.WriteHeader(status)
	w.Write(body)
}

// Requests, as the SDK sends them.

type exprParams struct {
	ConditionExpression                 string            `json:",omitempty"`
	ExpressionAttributeNames            map[string]string `json:",omitempty"`
	ExpressionAttributeValues           FakeItem          `json:",omitempty"`
	ReturnValuesOnConditionCheckFailure string            `json:",omitempty"`
}

type getItemRequest struct {
	TableName      string
	Key            FakeItem
	ConsistentRead bool
}

type putItemRequest struct {
	TableName string
	Item      FakeItem
	exprParams
	ReturnValues string
}

type updateItemRequest struct {
	TableName        string
	Key              FakeItem
	UpdateExpression string
	exprParams
	ReturnValues string
}

type deleteItemRequest struct {
	TableName string
	Key       FakeItem
	exprParams
	ReturnValues string
}

type queryRequest struct {
	TableName                 string
	IndexName                 string
	KeyConditionExpression    string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues FakeItem
	ScanIndexForward          *bool
	Limit                     *int
	ExclusiveStartKey         FakeItem
	ConsistentRead            bool
}

type batchWriteRequest struct {
	RequestItems map[string][]writeRequest
}

type writeRequest struct {
	PutRequest    *struct{ Item FakeItem } `json:",omitempty"`
	DeleteRequest *struct{ Key FakeItem }  `json:",omitempty"`
}

type transactWriteRequest struct {
	TransactItems []struct {
		ConditionCheck *struct {
			TableName string
			Key       FakeItem
			exprParams
		}
		Put    *putItemRequest
		Delete *deleteItemRequest
		Update *updateItemRequest
	}
	ClientRequestToken string
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return validation("the fake does not understand this request: %v", err)
	}
	return nil
}

func (f *DynamoFake) handle(op string, body []byte) (any, error) {
	switch op {
	case "GetItem":
		var req getItemRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		if err := f.checkTable(req.TableName); err != nil {
			return nil, err
		}
		k, err := f.key(req.Key)
		if err != nil {
			return nil, err
		}
		if it, ok := f.items[k]; ok {
			return map[string]any{"Item": it}, nil
		}
		return map[string]any{}, nil
	case "PutItem":
		var req putItemRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		if err := f.checkTable(req.TableName); err != nil {
			return nil, err
		}
		old, err := f.put(req.Item, req.exprParams, nil)
		if err != nil {
			return nil, err
		}
		if req.ReturnValues == "ALL_OLD" && old != nil {
			return map[string]any{"Attributes": old}, nil
		}
		return map[string]any{}, nil
	case "UpdateItem":
		var req updateItemRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		if err := f.checkTable(req.TableName); err != nil {
			return nil, err
		}
		return f.update(req, nil)
	case "DeleteItem":
		var req deleteItemRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		if err := f.checkTable(req.TableName); err != nil {
			return nil, err
		}
		old, err := f.delete(req.Key, req.exprParams, nil)
		if err != nil {
			return nil, err
		}
		if req.ReturnValues == "ALL_OLD" && old != nil {
			return map[string]any{"Attributes": old}, nil
		}
		return map[string]any{}, nil
	case "Query":
		var req queryRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		if err := f.checkTable(req.TableName); err != nil {
			return nil, err
		}
		return f.query(req)
	case "BatchWriteItem":
		var req batchWriteRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		return f.batchWrite(req)
	case "TransactWriteItems":
		var req transactWriteRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		return f.transactWrite(req)
	}
	return nil, &apiError{code: "UnknownOperationException", message: "the fake does not implement " + op}
}

func (f *DynamoFake) checkTable(name string) error {
	if name != f.Table {
		return &apiError{code: "ResourceNotFoundException", message: "Requested resource not found"}
	}
	return nil
}

// key returns the primary key of a Key map, which must hold exactly the
// table's two key attributes as non-empty strings.
func (f *DynamoFake) key(k FakeItem) ([2]string, error) {
	if len(k) != 2 {
		return [2]string{}, validation("The provided key element does not match the schema")
	}
	return f.itemKey(k)
}

func (f *DynamoFake) itemKey(it FakeItem) ([2]string, error) {
	pk, sk := it[ledger.DynamoPartitionKey].S, it[ledger.DynamoSortKey].S
	if pk == nil || sk == nil {
		return [2]string{}, validation("One or more parameter values were invalid: Missing the key %s or %s in the item", ledger.DynamoPartitionKey, ledger.DynamoSortKey)
	}
	for _, a := range []string{ledger.DynamoPartitionKey, ledger.DynamoSortKey} {
		if *it[a].S == "" {
			return [2]string{}, emptyKey(a)
		}
	}
	return [2]string{*pk, *sk}, nil
}

// emptyKey is DynamoDB's answer to an empty string given for key attribute
// attr, in an item, a Key or a key condition's value.
func emptyKey(attr string) *apiError {
	return validation("One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: %s", attr)
}

// indexes maps each index to its key attributes.
var indexes = map[string][2]string{
	ledger.DynamoGSIByEnv: {ledger.DynamoGSIByEnvPartitionKey, ledger.DynamoGSIByEnvSortKey},
	ledger.DynamoGSIByApp: {ledger.DynamoGSIByAppPartitionKey, ledger.DynamoGSIByAppSortKey},
}

func (f *DynamoFake) checkItem(it FakeItem) ([2]string, error) {
	k, err := f.itemKey(it)
	if err != nil {
		return k, err
	}
	for name, keys := range indexes {
		for _, a := range keys {
			v, ok := it[a]
			if !ok {
				continue
			}
			if v.S == nil || *v.S == "" {
				return k, validation("One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: %s, IndexKey: %s", name, a)
			}
		}
	}
	size := 0
	for name, v := range it {
		size += len(name) + len(deref(v.S)) + len(deref(v.N)) + 1
	}
	if size > 400*1024 {
		return k, validation("Item size has exceeded the maximum allowed size")
	}
	return k, nil
}

// conditionFailed is a failed condition, with the item as it was.
func conditionFailed(old FakeItem, p exprParams) *apiError {
	e := &apiError{code: "ConditionalCheckFailedException", message: "The conditional request failed"}
	if p.ReturnValuesOnConditionCheckFailure == "ALL_OLD" && old != nil {
		e.extra = map[string]any{"Item": old}
	}
	return e
}

// check evaluates p's condition on the item at k.
func (f *DynamoFake) check(k [2]string, p exprParams, extraExprs ...string) (FakeItem, error) {
	old := f.items[k]
	exprs := append([]string{p.ConditionExpression}, extraExprs...)
	if err := checkRefs(exprs, p.ExpressionAttributeNames, p.ExpressionAttributeValues); err != nil {
		return old, err
	}
	if p.ConditionExpression == "" {
		return old, nil
	}
	ok, err := evalCondition(p.ConditionExpression, old, p.ExpressionAttributeNames, p.ExpressionAttributeValues)
	if err != nil {
		return old, err
	}
	if !ok {
		return old, conditionFailed(old, p)
	}
	return old, nil
}

// put writes it if p's condition holds; with apply false it only checks.
func (f *DynamoFake) put(it FakeItem, p exprParams, apply *bool) (FakeItem, error) {
	k, err := f.checkItem(it)
	if err != nil {
		return nil, err
	}
	old, err := f.check(k, p)
	if err != nil {
		return old, err
	}
	if apply == nil || *apply {
		f.items[k] = it
	}
	return old, nil
}

func (f *DynamoFake) delete(key FakeItem, p exprParams, apply *bool) (FakeItem, error) {
	k, err := f.key(key)
	if err != nil {
		return nil, err
	}
	old, err := f.check(k, p)
	if err != nil {
		return old, err
	}
	if apply == nil || *apply {
		delete(f.items, k)
	}
	return old, nil
}

func (f *DynamoFake) update(req updateItemRequest, apply *bool) (any, error) {
	k, err := f.key(req.Key)
	if err != nil {
		return nil, err
	}
	old, err := f.check(k, req.exprParams, req.UpdateExpression)
	if err != nil {
		return nil, err
	}
	next := FakeItem{}
	for a, v := range old {
		next[a] = v
	}
	for a, v := range req.Key {
		next[a] = v
	}
	touched, err := applyUpdate(req.UpdateExpression, next, req.ExpressionAttributeNames, req.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	if _, err := f.checkItem(next); err != nil {
		return nil, err
	}
	if apply != nil && !*apply {
		return nil, nil
	}
	f.items[k] = next
	switch req.ReturnValues {
	case "", "NONE":
		return map[string]any{}, nil
	case "ALL_NEW":
		return map[string]any{"Attributes": next}, nil
	case "ALL_OLD":
		if old == nil {
			return map[string]any{}, nil
		}
		return map[string]any{"Attributes": old}, nil
	case "UPDATED_NEW":
		attrs := FakeItem{}
		for _, a := range touched {
			if v, ok := next[a]; ok {
				attrs[a] = v
			}
		}
		return map[string]any{"Attributes": attrs}, nil
	}
	return nil, validation("the fake does not implement ReturnValues %s", req.ReturnValues)
}

func (f *DynamoFake) query(req queryRequest) (any, error) {
	pkAttr, skAttr := ledger.DynamoPartitionKey, ledger.DynamoSortKey
	if req.IndexName != "" {
		keys, ok := indexes[req.IndexName]
		if !ok {
			return nil, validation("The table does not have the specified index: %s", req.IndexName)
		}
		if req.ConsistentRead {
			return nil, validation("Consistent reads are not supported on global secondary indexes")
		}
		pkAttr, skAttr = keys[0], keys[1]
	}
	if err := checkRefs([]string{req.KeyConditionExpression}, req.ExpressionAttributeNames, req.ExpressionAttributeValues); err != nil {
		return nil, err
	}
	cond, err := parseCondition(req.KeyConditionExpression)
	if err != nil {
		return nil, err
	}
	if err := checkKeyCondition(cond, req.ExpressionAttributeNames, pkAttr, skAttr); err != nil {
		return nil, err
	}
	if err := checkKeyValues(cond, req.ExpressionAttributeNames, req.ExpressionAttributeValues); err != nil {
		return nil, err
	}
	if req.Limit != nil && *req.Limit < 1 {
		return nil, validation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1", *req.Limit)
	}
	// sortKey orders items within the queried partition: the range key,
	// then (on an index) the table's key.
	sortKey := func(it FakeItem) [3]string {
		return [3]string{deref(it[skAttr].S), deref(it[ledger.DynamoPartitionKey].S), deref(it[ledger.DynamoSortKey].S)}
	}
	var matches []FakeItem
	for _, it := range f.items {
		if it[pkAttr].S == nil || it[skAttr].S == nil {
			continue // not in the index
		}
		ok, err := cond.eval(it, req.ExpressionAttributeNames, req.ExpressionAttributeValues)
		if err != nil {
			return nil, err
		}
		if ok {
			matches = append(matches, it)
		}
	}
	forward := req.ScanIndexForward == nil || *req.ScanIndexForward
	compare := func(a, b [3]string) int {
		c := cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]), strings.Compare(a[2], b[2]))
		if !forward {
			c = -c
		}
		return c
	}
	slices.SortFunc(matches, func(a, b FakeItem) int { return compare(sortKey(a), sortKey(b)) })
	if req.ExclusiveStartKey != nil {
		start := sortKey(req.ExclusiveStartKey)
		i := 0
		for i < len(matches) && compare(sortKey(matches[i]), start) <= 0 {
			i++
		}
		matches = matches[i:]
	}
	limit := len(matches) + 1
	if req.Limit != nil {
		limit = *req.Limit
	}
	if f.PageSize > 0 {
		limit = min(limit, f.PageSize)
	}
	out := map[string]any{}
	if len(matches) >= limit {
		matches = matches[:limit]
		last := matches[len(matches)-1]
		lek := FakeItem{ledger.DynamoPartitionKey: last[ledger.DynamoPartitionKey], ledger.DynamoSortKey: last[ledger.DynamoSortKey]}
		lek[pkAttr], lek[skAttr] = last[pkAttr], last[skAttr]
		out["LastEvaluatedKey"] = lek
	}
	if matches == nil {
		matches = []FakeItem{}
	}
	out["Items"], out["Count"], out["ScannedCount"] = matches, len(matches), len(matches)
	return out, nil
}

func (f *DynamoFake) batchWrite(req batchWriteRequest) (any, error) {
	total := 0
	for table, writes := range req.RequestItems {
		if err := f.checkTable(table); err != nil {
			return nil, err
		}
		total += len(writes)
	}
	if total == 0 || total > 25 {
		return nil, validation("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]")
	}
	seen := map[[2]string]bool{}
	for _, writes := range req.RequestItems {
		for _, w := range writes {
			var k [2]string
			var err error
			switch {
			case w.PutRequest != nil && w.DeleteRequest == nil:
				k, err = f.checkItem(w.PutRequest.Item)
			case w.DeleteRequest != nil && w.PutRequest == nil:
				k, err = f.key(w.DeleteRequest.Key)
			default:
				err = validation("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
			}
			if err != nil {
				return nil, err
			}
			if seen[k] {
				return nil, validation("Provided list of item keys contains duplicates")
			}
			seen[k] = true
		}
	}
	unprocessed := map[string][]writeRequest{}
	for table, writes := range req.RequestItems {
		n := len(writes)
		if f.unprocessed > 0 {
			keep := min(f.unprocessed, n)
			unprocessed[table] = writes[n-keep:]
			writes = writes[:n-keep]
			f.unprocessed = 0
		}
		for _, w := range writes {
			if w.PutRequest != nil {
				k, _ := f.itemKey(w.PutRequest.Item)
				f.items[k] = w.PutRequest.Item
			} else {
				k, _ := f.key(w.DeleteRequest.Key)
				delete(f.items, k)
			}
		}
	}
	return map[string]any{"UnprocessedItems": unprocessed}, nil
}

func (f *DynamoFake) transactWrite(req transactWriteRequest) (any, error) {
	if len(req.TransactItems) == 0 || len(req.TransactItems) > 100 {
		return nil, validation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	// First pass checks every condition; the second applies, only if all hold.
	for _, apply := range []bool{false, true} {
		var reasons []map[string]any
		failed := false
		seen := map[[2]string]bool{}
		for _, ti := range req.TransactItems {
			var table string
			var k [2]string
			var old FakeItem
			var err error
			var p exprParams
			switch {
			case ti.ConditionCheck != nil:
				c := ti.ConditionCheck
				table, p = c.TableName, c.exprParams
				if k, err = f.key(c.Key); err == nil {
					if c.ConditionExpression == "" {
						err = validation("The ConditionExpression for ConditionCheck must be specified")
					} else {
						old, err = f.check(k, c.exprParams)
					}
				}
			case ti.Put != nil:
				table, p = ti.Put.TableName, ti.Put.exprParams
				if k, err = f.itemKey(ti.Put.Item); err == nil {
					old, err = f.put(ti.Put.Item, ti.Put.exprParams, &apply)
				}
			case ti.Delete != nil:
				table, p = ti.Delete.TableName, ti.Delete.exprParams
				if k, err = f.key(ti.Delete.Key); err == nil {
					old, err = f.delete(ti.Delete.Key, ti.Delete.exprParams, &apply)
				}
			case ti.Update != nil:
				table, p = ti.Update.TableName, ti.Update.exprParams
				if k, err = f.key(ti.Update.Key); err == nil {
					_, err = f.update(*ti.Update, &apply)
				}
			default:
				return nil, validation("TransactItems can only contain one of Check, Put, Update or Delete")
			}
			if terr := f.checkTable(table); terr != nil {
				return nil, terr
			}
			if seen[k] {
				return nil, validation("Transaction request cannot include multiple operations on one item")
			}
			seen[k] = true
			var ae *apiError
			switch {
			case err == nil:
				reasons = append(reasons, map[string]any{"Code": "None"})
			case errors.As(err, &ae) && ae.code == "ConditionalCheckFailedException":
				failed = true
				r := map[string]any{"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
				if p.ReturnValuesOnConditionCheckFailure == "ALL_OLD" && old != nil {
					r["Item"] = old
				}
				reasons = append(reasons, r)
			default:
				return nil, err
			}
		}
		if failed {
			codes := make([]string, len(reasons))
			for i, r := range reasons {
				codes[i] = r["Code"].(string)
			}
			return nil, &apiError{
				code:    "TransactionCanceledException",
				message: "Transaction cancelled, please refer cancellation reasons for specific reasons [" + strings.Join(codes, ", ") + "]",
				extra:   map[string]any{"CancellationReasons": reasons},
			}
		}
	}
	return map[string]any{}, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// Expressions.

// checkRefs checks that every expression attribute name and value is used
// by exprs and every one they use is defined, as DynamoDB does.
func checkRefs(exprs []string, names map[string]string, values FakeItem) error {
	usedNames, usedValues := map[string]bool{}, map[string]bool{}
	for _, e := range exprs {
		toks, err := tokenize(e)
		if err != nil {
			return err
		}
		for _, t := range toks {
			switch {
			case strings.HasPrefix(t, "#"):
				if _, ok := names[t]; !ok {
					return validation("Invalid expression: An expression attribute name used in the document path is not defined; attribute name: %s", t)
				}
				usedNames[t] = true
			case strings.HasPrefix(t, ":"):
				if _, ok := values[t]; !ok {
					return validation("Invalid expression: An expression attribute value used in expression is not defined; attribute value: %s", t)
				}
				usedValues[t] = true
			}
		}
	}
	for n := range names {
		if !usedNames[n] {
			return validation("Value provided in ExpressionAttributeNames unused in expressions: keys: {%s}", n)
		}
	}
	for v := range values {
		if !usedValues[v] {
			return validation("Value provided in ExpressionAttributeValues unused in expressions: keys: {%s}", v)
		}
	}
	return nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			i++
		case c == '(' || c == ')' || c == ',' || c == '=':
			toks = append(toks, string(c))
			i++
		case c == '<' || c == '>':
			if i+1 < len(s) && (s[i+1] == '=' || c == '<' && s[i+1] == '>') {
				toks = append(toks, s[i:i+2])
				i += 2
			} else {
				toks = append(toks, string(c))
				i++
			}
		case c == '#' || c == ':' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, validation("Invalid expression: the fake does not support %q in %q", string(c), s)
		}
	}
	return toks, nil
}

// node is a parsed condition.
type node struct {
	op   string // OR, AND, NOT, cmp, between, func
	cmp  string // comparator or function name
	kids []*node
	path string // operand: attribute name or #alias
	val  string // operand: :value
}

type parser struct {
	toks []string
	pos  int
	src  string
}

func parseCondition(s string) (*node, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks, src: s}
	n, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, validation("Invalid ConditionExpression: Syntax error; token: %q, near: %q", p.toks[p.pos], s)
	}
	return n, nil
}

func (p *parser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *parser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *parser) expect(t string) error {
	if got := p.next(); got != t {
		return validation("Invalid expression: Syntax error; expected %q, got %q in %q", t, got, p.src)
	}
	return nil
}

func (p *parser) or() (*node, error) {
	n, err := p.and()
	for err == nil && strings.EqualFold(p.peek(), "OR") {
		p.next()
		var r *node
		if r, err = p.and(); err == nil {
			n = &node{op: "OR", kids: []*node{n, r}}
		}
	}
	return n, err
}

func (p *parser) and() (*node, error) {
	n, err := p.not()
	for err == nil && strings.EqualFold(p.peek(), "AND") {
		p.next()
		var r *node
		if r, err = p.not(); err == nil {
			n = &node{op: "AND", kids: []*node{n, r}}
		}
	}
	return n, err
}

func (p *parser) not() (*node, error) {
	if strings.EqualFold(p.peek(), "NOT") {
		p.next()
		n, err := p.not()
		return &node{op: "NOT", kids: []*node{n}}, err
	}
	return p.atom()
}

func (p *parser) atom() (*node, error) {
	t := p.peek()
	if t == "(" {
		p.next()
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		return n, p.expect(")")
	}
	switch t {
	case "attribute_exists", "attribute_not_exists", "begins_with":
		p.next()
		if err := p.expect("("); err != nil {
			return nil, err
		}
		n := &node{op: "func", cmp: t}
		for {
			arg, err := p.operand()
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, arg)
			if p.peek() != "," {
				break
			}
			p.next()
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		want := map[string]int{"attribute_exists": 1, "attribute_not_exists": 1, "begins_with": 2}[t]
		if len(n.kids) != want || n.kids[0].path == "" {
			return nil, validation("Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: %s", t)
		}
		return n, nil
	}
	l, err := p.operand()
	if err != nil {
		return nil, err
	}
	c := p.next()
	switch c {
	case "=", "<>", "<", "<=", ">", ">=":
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &node{op: "cmp", cmp: c, kids: []*node{l, r}}, nil
	}
	if strings.EqualFold(c, "BETWEEN") {
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(p.next(), "AND") {
			return nil, validation("Invalid expression: BETWEEN without AND in %q", p.src)
		}
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &node{op: "between", kids: []*node{l, lo, hi}}, nil
	}
	return nil, validation("Invalid expression: the fake does not support %q in %q", c, p.src)
}

func (p *parser) operand() (*node, error) {
	t := p.next()
	switch {
	case strings.HasPrefix(t, ":") && len(t) > 1:
		return &node{val: t}, nil
	case t == "" || strings.ContainsAny(t[:1], "(),=<>"):
		return nil, validation("Invalid expression: Syntax error; token: %q in %q", t, p.src)
	default:
		return &node{path: t}, nil
	}
}

// attrName resolves a path operand to an attribute name.
func attrName(path string, names map[string]string) string {
	if strings.HasPrefix(path, "#") {
		return names[path]
	}
	return path
}

func (n *node) value(it FakeItem, names map[string]string, values FakeItem) (FakeValue, bool) {
	if n.val != "" {
		v, ok := values[n.val]
		return v, ok
	}
	v, ok := it[attrName(n.path, names)]
	return v, ok
}

func (n *node) eval(it FakeItem, names map[string]string, values FakeItem) (bool, error) {
	switch n.op {
	case "OR", "AND":
		l, err := n.kids[0].eval(it, names, values)
		if err != nil {
			return false, err
		}
		r, err := n.kids[1].eval(it, names, values)
		if err != nil {
			return false, err
		}
		if n.op == "OR" {
			return l || r, nil
		}
		return l && r, nil
	case "NOT":
		v, err := n.kids[0].eval(it, names, values)
		return !v, err
	case "func":
		v, ok := n.kids[0].value(it, names, values)
		switch n.cmp {
		case "attribute_exists":
			return ok, nil
		case "attribute_not_exists":
			return !ok, nil
		default: // begins_with
			prefix, pok := n.kids[1].value(it, names, values)
			if !ok || !pok || v.S == nil || prefix.S == nil {
				return false, nil
			}
			return strings.HasPrefix(*v.S, *prefix.S), nil
		}
	case "cmp":
		l, lok := n.kids[0].value(it, names, values)
		r, rok := n.kids[1].value(it, names, values)
		if !lok || !rok {
			return n.cmp == "<>" && lok != rok, nil
		}
		c, comparable := compareValues(l, r)
		if !comparable {
			return n.cmp == "<>", nil
		}
		switch n.cmp {
		case "=":
			return c == 0, nil
		case "<>":
			return c != 0, nil
		case "<":
			return c < 0, nil
		case "<=":
			return c <= 0, nil
		case ">":
			return c > 0, nil
		default:
			return c >= 0, nil
		}
	case "between":
		v, ok := n.kids[0].value(it, names, values)
		lo, lok := n.kids[1].value(it, names, values)
		hi, hok := n.kids[2].value(it, names, values)
		if !ok || !lok || !hok {
			return false, nil
		}
		a, aok := compareValues(v, lo)
		b, bok := compareValues(v, hi)
		return aok && bok && a >= 0 && b <= 0, nil
	}
	return false, validation("the fake cannot evaluate %q", n.op)
}

// compareValues compares two values of the same scalar type.
func compareValues(a, b FakeValue) (int, bool) {
	switch {
	case a.S != nil && b.S != nil:
		return strings.Compare(*a.S, *b.S), true
	case a.N != nil && b.N != nil:
		x, xok := new(big.Rat).SetString(*a.N)
		y, yok := new(big.Rat).SetString(*b.N)
		if !xok || !yok {
			return 0, false
		}
		return x.Cmp(y), true
	case a.BOOL != nil && b.BOOL != nil:
		if *a.BOOL == *b.BOOL {
			return 0, true
		}
		return 1, true // only = and <> make sense
	}
	return 0, false
}

func evalCondition(expr string, it FakeItem, names map[string]string, values FakeItem) (bool, error) {
	n, err := parseCondition(expr)
	if err != nil {
		return false, err
	}
	return n.eval(it, names, values)
}

// checkKeyCondition accepts `pk = :v` optionally AND-ed with one condition
// on the sort key, as DynamoDB does.
func checkKeyCondition(n *node, names map[string]string, pkAttr, skAttr string) error {
	isAttr := func(k *node, attr string) bool { return k.path != "" && attrName(k.path, names) == attr }
	isPK := func(k *node) bool {
		return k.op == "cmp" && k.cmp == "=" && isAttr(k.kids[0], pkAttr) && k.kids[1].val != ""
	}
	isSK := func(k *node) bool {
		switch k.op {
		case "cmp":
			return k.cmp != "<>" && isAttr(k.kids[0], skAttr) && k.kids[1].val != ""
		case "between":
			return isAttr(k.kids[0], skAttr) && k.kids[1].val != "" && k.kids[2].val != ""
		case "func":
			return k.cmp == "begins_with" && isAttr(k.kids[0], skAttr) && k.kids[1].val != ""
		}
		return false
	}
	if isPK(n) || n.op == "AND" && (isPK(n.kids[0]) && isSK(n.kids[1]) || isSK(n.kids[0]) && isPK(n.kids[1])) {
		return nil
	}
	return validation("Query condition missed key schema element: %s", pkAttr)
}

// checkKeyValues rejects a key condition that binds an empty string to a
// key attribute (`pk = :pk` or `begins_with(sk, :prefix)` with "" bound),
// as DynamoDB does: it checks the values, not the placeholders.
func checkKeyValues(n *node, names map[string]string, values FakeItem) error {
	switch n.op {
	case "AND":
		for _, k := range n.kids {
			if err := checkKeyValues(k, names, values); err != nil {
				return err
			}
		}
	case "cmp", "between", "func":
		attr := attrName(n.kids[0].path, names)
		for _, k := range n.kids[1:] {
			if v, ok := values[k.val]; ok && v.S != nil && *v.S == "" {
				return emptyKey(attr)
			}
		}
	}
	return nil
}

// applyUpdate applies a SET/ADD/REMOVE update expression to it and returns
// the attributes it touched.
func applyUpdate(expr string, it FakeItem, names map[string]string, values FakeItem) ([]string, error) {
	toks, err := tokenize(expr)
	if err != nil {
		return nil, err
	}
	var touched []string
	clause := ""
	for i := 0; i < len(toks); {
		switch up := strings.ToUpper(toks[i]); up {
		case "SET", "ADD", "REMOVE":
			clause = up
			i++
			continue
		case ",":
			i++
			continue
		}
		name := attrName(toks[i], names)
		if name == ledger.DynamoPartitionKey || name == ledger.DynamoSortKey {
			return nil, validation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", name)
		}
		touched = append(touched, name)
		switch clause {
		case "SET":
			if i+2 >= len(toks) || toks[i+1] != "=" || !strings.HasPrefix(toks[i+2], ":") {
				return nil, validation("the fake supports only SET name = :value, not %q", expr)
			}
			it[name] = values[toks[i+2]]
			i += 3
		case "ADD":
			if i+1 >= len(toks) || !strings.HasPrefix(toks[i+1], ":") {
				return nil, validation("Invalid UpdateExpression: Syntax error in %q", expr)
			}
			inc := values[toks[i+1]]
			if inc.N == nil {
				return nil, validation("Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: not a number")
			}
			sum, ok := new(big.Rat).SetString(*inc.N)
			if !ok {
				return nil, validation("the fake cannot parse number %q", *inc.N)
			}
			if cur, ok := it[name]; ok {
				if cur.N == nil {
					return nil, validation("An operand in the update expression has an incorrect data type")
				}
				c, _ := new(big.Rat).SetString(*cur.N)
				sum.Add(sum, c)
			}
			s := sum.RatString()
			it[name] = FakeValue{N: &s}
			i += 2
		case "REMOVE":
			delete(it, name)
			i++
		default:
			return nil, validation("Invalid UpdateExpression: Syntax error in %q", expr)
		}
	}
	return touched, nil
}
