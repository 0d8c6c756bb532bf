package lambdaenvtest

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/smithy-go/encoding/cbor"
)

// The fakes below answer the operations Slipway's adapters send, in each
// service's wire protocol and with its response and error shapes, over
// state kept in memory. They are what the adapters' own wire tests check
// one call at a time, assembled so that whole executions run on them.

// writeJSON answers a JSON-protocol request.
func writeJSON(w http.ResponseWriter, contentType string, status int, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func jsonError(w http.ResponseWriter, contentType string, status int, code, msg string) {
	writeJSON(w, contentType, status, map[string]string{"__type": code, "message": msg})
}

// s3Fake is S3 (REST-XML, path-style addressing): objects with their
// metadata.
type s3Fake struct {
	mu      sync.Mutex
	objects map[string]s3Object // bucket/key
}

type s3Object struct {
	data     []byte
	metadata map[string]string
	modified time.Time
}

func (f *s3Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ := strings.Cut(path, "/")
	if f.objects == nil {
		f.objects = map[string]s3Object{}
	}
	notFound := func() {
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		if r.Method != http.MethodHead {
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>%s</Key><RequestId>r</RequestId></Error>`, key)
		}
	}
	switch r.Method {
	case http.MethodPut:
		data, _ := io.ReadAll(r.Body)
		meta := map[string]string{}
		for k, v := range r.Header {
			if name, ok := strings.CutPrefix(strings.ToLower(k), "x-amz-meta-"); ok {
				meta[name] = v[0]
			}
		}
		f.objects[path] = s3Object{data: data, metadata: meta, modified: time.Now().UTC()}
		w.Header().Set("ETag", etag(data))
		w.WriteHeader(http.StatusOK)
	case http.MethodHead, http.MethodGet:
		o, ok := f.objects[path]
		if !ok || key == "" {
			notFound()
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(o.data)))
		w.Header().Set("ETag", etag(o.data))
		w.Header().Set("Last-Modified", o.modified.Format(http.TimeFormat))
		for k, v := range o.metadata {
			w.Header().Set("x-amz-meta-"+k, v)
		}
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			w.Write(o.data)
		}
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
	_ = bucket
}

func etag(b []byte) string {
	sum := md5.Sum(b)
	return `"` + hex.EncodeToString(sum[:]) + `"`
}

// host is one simulated instance: the releases the host script keeps.
type host struct {
	id, env           string
	side              string // blue or green in a blue/green environment (tag slipway:side)
	current, previous string
	releases          []string
	// config is the configuration fingerprint the app runs with; ran, the
	// one each release last ran with (a rollback without a fingerprint
	// returns to it, as the host script does).
	config string
	ran    map[string]string
}

// ssmFake is SSM Run Command (JSON 1.1) over a simulated fleet: every
// instance is an online managed node at 127.0.0.1 that runs the host
// script's actions at once and prints its report. Activations and
// rollbacks print a long log before it (unpacking, restarting), so that ListCommandInvocations cuts the output and
// the adapter reads the rest with GetCommandInvocation, as on a real
// host.
type ssmFake struct {
	mu       sync.Mutex
	hosts    []*host
	tags     map[string]map[string]string // env -> tags its hosts carry
	commands map[string]*ssmCommand
	next     int
	// lastServed is what the instances last switched to serve: all
	// instances answer health checks on 127.0.0.1, so they answer that.
	lastServed string
	// registering counts, by instance, the lookups its agent stays
	// unregistered for (a freshly launched instance's).
	registering map[string]int
	// params are Parameter Store's parameters, by name (GetParameter).
	params map[string]string
}

type ssmCommand struct {
	id      string
	ids     []string
	outputs map[string]string // instance -> full stdout
}

const (
	ssmJSON         = "application/x-amz-json-1.1"
	agentOutputCut  = 2500
	agentCutMarker  = "\n---Output truncated---"
	verboseLogLines = 60
)

func (f *ssmFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
	var in map[string]any
	json.NewDecoder(r.Body).Decode(&in)
	str := func(k string) string { s, _ := in[k].(string); return s }
	switch op {
	case "GetParameter":
		name := str("Name")
		v, ok := f.params[name]
		if !ok {
			jsonError(w, ssmJSON, 400, "ParameterNotFound", "")
			return
		}
		writeJSON(w, ssmJSON, 200, map[string]any{"Parameter": map[string]any{"Name": name, "Type": "SecureString", "Value": v, "Version": 1,
			"ARN": "arn:aws:ssm:" + Region + ":" + Account + ":parameter" + name, "DataType": "text"}})
	case "DescribeInstanceInformation":
		var list []map[string]any
		for _, h := range f.hosts {
			if f.registering[h.id] > 0 {
				f.registering[h.id]--
				continue
			}
			if f.matches(h, in["Filters"]) {
				list = append(list, map[string]any{"InstanceId": h.id, "PingStatus": "Online", "IPAddress": "127.0.0.1", "PlatformType": "Linux"})
			}
		}
		writeJSON(w, ssmJSON, 200, map[string]any{"InstanceInformationList": list})
	case "SendCommand":
		f.next++
		c := &ssmCommand{id: fmt.Sprintf("%08d-0000-4000-8000-000000000000", f.next), outputs: map[string]string{}}
		params, _ := in["Parameters"].(map[string]any)
		param := func(k string) string {
			if v, ok := params[k].([]any); ok && len(v) > 0 {
				s, _ := v[0].(string)
				return s
			}
			return ""
		}
		for _, v := range in["InstanceIds"].([]any) {
			id := v.(string)
			h := f.host(id)
			if h == nil {
				jsonError(w, ssmJSON, 400, "InvalidInstanceId", "Instances ["+id+"] not in a valid state for account")
				return
			}
			c.ids = append(c.ids, id)
			c.outputs[id] = h.run(param("action"), param("version"), param("configFingerprint"))
			if a := param("action"); a == "activate" || a == "rollback" {
				f.lastServed = h.current
			}
		}
		f.commands[c.id] = c
		writeJSON(w, ssmJSON, 200, map[string]any{"Command": map[string]any{"CommandId": c.id, "DocumentName": str("DocumentName"), "Status": "Pending", "InstanceIds": c.ids}})
	case "ListCommands":
		c, ok := f.commands[str("CommandId")]
		if !ok {
			jsonError(w, ssmJSON, 400, "InvalidCommandId", "")
			return
		}
		writeJSON(w, ssmJSON, 200, map[string]any{"Commands": []any{map[string]any{"CommandId": c.id, "Status": "Success", "InstanceIds": c.ids}}})
	case "ListCommandInvocations":
		c, ok := f.commands[str("CommandId")]
		if !ok {
			jsonError(w, ssmJSON, 400, "InvalidCommandId", "")
			return
		}
		var invs []map[string]any
		for _, id := range c.ids {
			out := c.outputs[id]
			if len(out) > agentOutputCut {
				out = out[:agentOutputCut] + agentCutMarker
			}
			invs = append(invs, map[string]any{"CommandId": c.id, "InstanceId": id, "Status": "Success", "StatusDetails": "Success",
				"CommandPlugins": []any{map[string]any{"Name": "runHostScript", "Status": "Success", "ResponseCode": 0, "Output": out}}})
		}
		writeJSON(w, ssmJSON, 200, map[string]any{"CommandInvocations": invs})
	case "GetCommandInvocation":
		c, ok := f.commands[str("CommandId")]
		if !ok {
			jsonError(w, ssmJSON, 400, "InvocationDoesNotExist", "")
			return
		}
		out, ok := c.outputs[str("InstanceId")]
		if !ok {
			jsonError(w, ssmJSON, 400, "InvocationDoesNotExist", "")
			return
		}
		writeJSON(w, ssmJSON, 200, map[string]any{"CommandId": c.id, "InstanceId": str("InstanceId"), "PluginName": str("PluginName"),
			"Status": "Success", "StatusDetails": "Success", "ResponseCode": 0, "StandardOutputContent": out, "StandardErrorContent": ""})
	default:
		jsonError(w, ssmJSON, 400, "UnknownOperationException", op)
	}
}

func (f *ssmFake) host(id string) *host {
	for _, h := range f.hosts {
		if h.id == id {
			return h
		}
	}
	return nil
}

// hostTags are the tags h carries: its environment's, and its side's.
func (f *ssmFake) hostTags(h *host) map[string]string {
	if h.side == "" {
		return f.tags[h.env]
	}
	tags := maps.Clone(f.tags[h.env])
	tags["slipway:side"] = h.side
	return tags
}

// matches applies DescribeInstanceInformation's filters: tag:<key> and
// InstanceIds.
func (f *ssmFake) matches(h *host, filters any) bool {
	list, _ := filters.([]any)
	for _, raw := range list {
		fl, _ := raw.(map[string]any)
		key, _ := fl["Key"].(string)
		var values []string
		for _, v := range fl["Values"].([]any) {
			values = append(values, v.(string))
		}
		switch {
		case key == "InstanceIds":
			if !slices.Contains(values, h.id) {
				return false
			}
		case strings.HasPrefix(key, "tag:"):
			if !slices.Contains(values, f.hostTags(h)[strings.TrimPrefix(key, "tag:")]) {
				return false
			}
		}
	}
	return true
}

// run is the host script's action on the host, and its output: a log,
// long for an activation, then the JSON report.
func (h *host) run(action, version, config string) string {
	var log strings.Builder
	rep := map[string]any{"action": action}
	switch action {
	case "activate":
		for i := range verboseLogLines {
			fmt.Fprintf(&log, "slipway-host: unpacking %s: file %03d of %d verified\n", version, i+1, verboseLogLines)
		}
		if h.current != version {
			h.previous, h.current = h.current, version
		}
		if !slices.Contains(h.releases, version) {
			h.releases = append(h.releases, version)
		}
		h.setConfig(version, config)
		rep["version"], rep["changed"] = version, true
	case "rollback":
		to := version
		if to == "" {
			to = h.previous
		}
		for i := range verboseLogLines {
			fmt.Fprintf(&log, "slipway-host: restarting demo on %s: waiting for the unit (%d of %d)\n", to, i+1, verboseLogLines)
		}
		h.previous, h.current = h.current, to
		h.setConfig(to, config)
		rep["version"], rep["changed"] = to, true
	case "status":
		// The host's app runs its current release and answers healthily.
		rep["releases"], rep["root"] = slices.Clone(h.releases), "/opt/demo"
		rep["serving"], rep["healthy"], rep["busy"] = h.current, h.current != "", false
		if h.current == "" {
			rep["health"] = "no release is current"
		}
	}
	rep["current"], rep["previous"], rep["config"] = h.current, h.previous, h.config
	b, _ := json.Marshal(rep)
	return log.String() + string(b) + "\n"
}

// setConfig makes the app run release version with configuration fp, or
// without one given, with the one version last ran with.
func (h *host) setConfig(version, fp string) {
	if h.ran == nil {
		h.ran = map[string]string{}
	}
	if fp == "" {
		fp = h.ran[version]
	}
	h.config, h.ran[version] = fp, fp
}

// cloudWatchFake is CloudWatch (Smithy RPC v2 CBOR): DescribeAlarms over
// alarms that are OK, but in ALARM while a broken blue/green release
// serves (the side's target group health checks do not catch it: the
// listener's alarms do, after the shift); GetMetricData answers, for each
// query, one point of 100 for a Sum or SampleCount of any metric, and 5
// for its errors (a metric named Errors...).
type cloudWatchFake struct{ alarm func() bool }

func (f cloudWatchFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Smithy-Protocol", "rpc-v2-cbor")
	w.Header().Set("Content-Type", "application/cbor")
	if strings.HasSuffix(r.URL.Path, "/operation/GetMetricData") {
		body, _ := io.ReadAll(r.Body)
		req, _ := cbor.Decode(body)
		m, _ := req.(cbor.Map)
		qs, _ := m["MetricDataQueries"].(cbor.List)
		var results cbor.List
		for _, q := range qs {
			qm, _ := q.(cbor.Map)
			v := 100.0
			if ms, ok := qm["MetricStat"].(cbor.Map); ok {
				if mt, ok := ms["Metric"].(cbor.Map); ok {
					if n, _ := mt["MetricName"].(cbor.String); strings.HasPrefix(string(n), "Errors") {
						v = 5
					}
				}
			}
			results = append(results, cbor.Map{"Id": qm["Id"], "Values": cbor.List{cbor.Float64(v)}, "StatusCode": cbor.String("Complete")})
		}
		w.Write(cbor.Encode(cbor.Map{"MetricDataResults": results}))
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/operation/DescribeAlarms") {
		w.WriteHeader(400)
		w.Write(cbor.Encode(cbor.Map{"__type": cbor.String("UnknownOperationException")}))
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, _ := cbor.Decode(body)
	m, _ := req.(cbor.Map)
	var alarms cbor.List
	if names, ok := m["AlarmNames"].(cbor.List); ok {
		for _, n := range names {
			s, _ := n.(cbor.String)
			state, reason := "OK", "Threshold Crossed: no datapoints were breaching"
			if f.alarm != nil && f.alarm() {
				state, reason = "ALARM", "Threshold Crossed: 3 datapoints were greater than the threshold (5.0)"
			}
			alarms = append(alarms, cbor.Map{"AlarmName": s, "StateValue": cbor.String(state), "StateReason": cbor.String(reason),
				"StateUpdatedTimestamp": &cbor.Tag{ID: 1, Value: cbor.Float64(float64(time.Now().Unix()))}})
		}
	}
	w.Write(cbor.Encode(cbor.Map{"MetricAlarms": alarms, "CompositeAlarms": cbor.List{}}))
}

// rdsFake is RDS (query protocol, XML): manual snapshots of instances and
// clusters, with their tags. A new snapshot is creating until it is
// described once, then available.
type rdsFake struct {
	mu        sync.Mutex
	snapshots map[string]*rdsSnapshot
	// created is when the last snapshot was taken: each new one a minute
	// later, so that their order is that of the calls (RDS's times have
	// seconds; the scenarios take several in one).
	created time.Time
}

type rdsSnapshot struct {
	id, source string
	cluster    bool
	status     string
	created    time.Time
	tags       map[string]string
}

const rdsXMLNS = `xmlns="http://rds.amazonaws.com/doc/2014-10-31/"`

func (f *rdsFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.ParseForm()
	form := r.PostForm
	action := form.Get("Action")
	w.Header().Set("Content-Type", "text/xml")
	ok := func(inner string) {
		fmt.Fprintf(w, `<%sResponse %s><%sResult>%s</%sResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></%sResponse>`, action, rdsXMLNS, action, inner, action, action)
	}
	fail := func(status int, code string) {
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse %s><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, rdsXMLNS, code, code)
	}
	cluster := strings.Contains(action, "Cluster")
	idKey, sourceKey := "DBSnapshotIdentifier", "DBInstanceIdentifier"
	if cluster {
		idKey, sourceKey = "DBClusterSnapshotIdentifier", "DBClusterIdentifier"
	}
	switch action {
	case "CreateDBSnapshot", "CreateDBClusterSnapshot":
		id := form.Get(idKey)
		if _, exists := f.snapshots[id]; exists {
			kind := "DBSnapshotAlreadyExists"
			if cluster {
				kind = "DBClusterSnapshotAlreadyExistsFault"
			}
			fail(400, kind)
			return
		}
		f.created = f.created.Add(time.Minute)
		s := &rdsSnapshot{id: id, source: form.Get(sourceKey), cluster: cluster, status: "creating", created: f.created, tags: map[string]string{}}
		for i := 1; form.Get(fmt.Sprintf("Tags.Tag.%d.Key", i)) != ""; i++ {
			s.tags[form.Get(fmt.Sprintf("Tags.Tag.%d.Key", i))] = form.Get(fmt.Sprintf("Tags.Tag.%d.Value", i))
		}
		f.snapshots[id] = s
		ok(s.xml())
	case "DescribeDBSnapshots", "DescribeDBClusterSnapshots":
		var list []*rdsSnapshot
		if id := form.Get(idKey); id != "" {
			s, found := f.snapshots[id]
			if !found || s.cluster != cluster {
				code := "DBSnapshotNotFound"
				if cluster {
					code = "DBClusterSnapshotNotFoundFault"
				}
				fail(404, code)
				return
			}
			list = append(list, s)
		} else {
			for _, s := range f.snapshots {
				if s.cluster == cluster && s.source == form.Get(sourceKey) {
					list = append(list, s)
				}
			}
			sort.Slice(list, func(i, j int) bool { return list[i].id < list[j].id })
		}
		var b bytes.Buffer
		for _, s := range list {
			b.WriteString(s.xml())
			if s.status == "creating" {
				s.status = "available"
			}
		}
		if cluster {
			ok("<DBClusterSnapshots>" + b.String() + "</DBClusterSnapshots>")
		} else {
			ok("<DBSnapshots>" + b.String() + "</DBSnapshots>")
		}
	case "DeleteDBSnapshot", "DeleteDBClusterSnapshot":
		s, found := f.snapshots[form.Get(idKey)]
		if !found {
			fail(404, "DBSnapshotNotFound")
			return
		}
		delete(f.snapshots, s.id)
		s.status = "deleted"
		ok(s.xml())
	default:
		fail(400, "InvalidAction")
	}
}

func (s *rdsSnapshot) xml() string {
	var tags strings.Builder
	for _, k := range sortedKeys(s.tags) {
		fmt.Fprintf(&tags, "<Tag><Key>%s</Key><Value>%s</Value></Tag>", k, s.tags[k])
	}
	if s.cluster {
		return fmt.Sprintf(`<DBClusterSnapshot><DBClusterSnapshotIdentifier>%s</DBClusterSnapshotIdentifier><DBClusterIdentifier>%s</DBClusterIdentifier><Status>%s</Status><SnapshotCreateTime>%s</SnapshotCreateTime><SnapshotType>manual</SnapshotType><TagList>%s</TagList></DBClusterSnapshot>`,
			s.id, s.source, s.status, s.created.Format(time.RFC3339), tags.String())
	}
	return fmt.Sprintf(`<DBSnapshot><DBSnapshotIdentifier>%s</DBSnapshotIdentifier><DBInstanceIdentifier>%s</DBInstanceIdentifier><Status>%s</Status><SnapshotCreateTime>%s</SnapshotCreateTime><SnapshotType>manual</SnapshotType><TagList>%s</TagList></DBSnapshot>`,
		s.id, s.source, s.status, s.created.Format(time.RFC3339), tags.String())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// snsFake is SNS (query protocol, XML): Publish, keeping the messages.
type snsFake struct {
	mu       sync.Mutex
	messages []url.Values
}

func (f *snsFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.ParseForm()
	w.Header().Set("Content-Type", "text/xml")
	if r.PostForm.Get("Action") != "Publish" {
		w.WriteHeader(400)
		fmt.Fprint(w, `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>unknown action</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
		return
	}
	f.messages = append(f.messages, r.PostForm)
	fmt.Fprintf(w, `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>m-%d</MessageId></PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>`, len(f.messages))
}

// eventsFake is EventBridge (JSON 1.1): PutEvents on the default bus,
// keeping the entries; another bus does not exist.
type eventsFake struct {
	mu      sync.Mutex
	entries []map[string]any
	fail    int // entries to refuse next, as a FailedEntryCount
}

func (f *eventsFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	const ct = "application/x-amz-json-1.1"
	if r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
		jsonError(w, ct, 400, "UnknownOperationException", r.Header.Get("X-Amz-Target"))
		return
	}
	var in struct{ Entries []map[string]any }
	json.NewDecoder(r.Body).Decode(&in)
	var out []map[string]any
	for _, e := range in.Entries {
		if bus, _ := e["EventBusName"].(string); bus != "" && bus != "default" && !strings.HasSuffix(bus, ":event-bus/default") {
			jsonError(w, ct, 400, "ResourceNotFoundException", "Event bus "+bus+" does not exist.")
			return
		}
		if f.fail > 0 {
			f.fail--
			out = append(out, map[string]any{"ErrorCode": "InternalFailure", "ErrorMessage": "Internal Failure"})
			continue
		}
		f.entries = append(f.entries, e)
		out = append(out, map[string]any{"EventId": fmt.Sprintf("e-%d", len(f.entries))})
	}
	failed := 0
	for _, o := range out {
		if _, ok := o["ErrorCode"]; ok {
			failed++
		}
	}
	writeJSON(w, ct, 200, map[string]any{"FailedEntryCount": failed, "Entries": out})
}

// sfnFake is Step Functions (JSON 1.0): StartExecution, refusing a name
// used before as the service does for 90 days.
type sfnFake struct {
	mu      sync.Mutex
	started map[string]string // execution ARN -> input
}

const sfnJSON = "application/x-amz-json-1.0"

func (f *sfnFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AWSStepFunctions.")
	var in map[string]string
	json.NewDecoder(r.Body).Decode(&in)
	if op == "DescribeExecution" {
		// An execution the world started runs until it is known to end;
		// one it never started does not exist.
		arn := in["executionArn"]
		if _, ok := f.started[arn]; !ok {
			jsonError(w, sfnJSON, 400, "ExecutionDoesNotExist", "Execution Does Not Exist: '"+arn+"'")
			return
		}
		writeJSON(w, sfnJSON, 200, map[string]any{"executionArn": arn, "status": "RUNNING", "startDate": float64(time.Now().Unix())})
		return
	}
	if op != "StartExecution" {
		jsonError(w, sfnJSON, 400, "UnknownOperationException", op)
		return
	}
	arn := strings.Replace(in["stateMachineArn"], ":stateMachine:", ":execution:", 1) + ":" + in["name"]
	if _, dup := f.started[arn]; dup {
		jsonError(w, sfnJSON, 400, "ExecutionAlreadyExists", "Execution Already Exists: '"+arn+"'")
		return
	}
	f.started[arn] = in["input"]
	writeJSON(w, sfnJSON, 200, map[string]any{"executionArn": arn, "startDate": float64(time.Now().Unix())})
}

// secretsFake is Secrets Manager (JSON 1.1): GetSecretValue of the
// secrets it holds, by ARN.
type secretsFake struct {
	secrets map[string]string
}

func (f *secretsFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const ct = "application/x-amz-json-1.1"
	var in map[string]string
	json.NewDecoder(r.Body).Decode(&in)
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		jsonError(w, ct, 400, "UnknownOperationException", r.Header.Get("X-Amz-Target"))
		return
	}
	v, ok := f.secrets[in["SecretId"]]
	if !ok {
		jsonError(w, ct, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	writeJSON(w, ct, 200, map[string]any{"ARN": in["SecretId"], "Name": in["SecretId"], "SecretString": v, "VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}})
}

// autoScalingFake is EC2 Auto Scaling (query protocol, XML): it answers
// CompleteLifecycleAction and RecordLifecycleActionHeartbeat for the
// world's groups, keeping the results, and refuses an unknown group as
// the service does.
type autoScalingFake struct {
	mu        sync.Mutex
	groups    map[string]bool
	completed []url.Values
}

const autoScalingNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

func (f *autoScalingFake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r.ParseForm()
	w.Header().Set("Content-Type", "text/xml")
	fail := func(code, msg string) {
		w.WriteHeader(400)
		fmt.Fprintf(w, `<ErrorResponse xmlns=%q><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>r</RequestId></ErrorResponse>`, autoScalingNS, code, msg)
	}
	action := r.PostForm.Get("Action")
	if action != "CompleteLifecycleAction" && action != "RecordLifecycleActionHeartbeat" {
		fail("InvalidAction", "unknown action")
		return
	}
	group := r.PostForm.Get("AutoScalingGroupName")
	if !f.groups[group] || r.PostForm.Get("LifecycleHookName") == "" || r.PostForm.Get("InstanceId") == "" {
		fail("ValidationError", "No active Lifecycle Action found with instance ID "+r.PostForm.Get("InstanceId"))
		return
	}
	if action == "CompleteLifecycleAction" {
		f.completed = append(f.completed, r.PostForm)
	}
	fmt.Fprintf(w, `<%sResponse xmlns=%q><%sResult/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></%sResponse>`, action, autoScalingNS, action, action)
}
