package lambdaenvtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/slipway-deploy/slipway/internal/appconfig"
	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/github"
	"github.com/slipway-deploy/slipway/internal/lambdaenv"
	"github.com/slipway-deploy/slipway/internal/ledger"
	"github.com/slipway-deploy/slipway/internal/ledger/ledgertest"
	"github.com/slipway-deploy/slipway/internal/provenance"
	"github.com/slipway-deploy/slipway/internal/traffic/elbv2/elbv2test"
)

// The account, region and names of the world: those of the infra
// module's fixture stack (infra/stack/testdata/config.json), so that the
// ARNs recorded here are the ones its policies must allow.
const (
	Account    = "111111111111"
	Region     = "eu-west-1"
	App        = "demo"
	table      = "slipway-demo-ledger"
	bucket     = "slipway-demo-artifacts"
	document   = "slipway-demo-host"
	logGroup   = "/slipway/demo/commands"
	topicARN   = "arn:aws:sns:" + Region + ":" + Account + ":slipway-demo-notifications"
	deployARN  = "arn:aws:states:" + Region + ":" + Account + ":stateMachine:slipway-demo-deploy"
	rollbackSM = "arn:aws:states:" + Region + ":" + Account + ":stateMachine:slipway-demo-rollback"

	// The environments' target groups, one each, as ELBv2 names them.
	stagingGroup    = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-staging/0123456789abcdef"
	productionGroup = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-production/fedcba9876543210"

	// Production is blue/green too: a listener forwarding to two sides'
	// target groups (blue: i-4 and i-5, green: i-6).
	productionListener = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/demo-production/0123456789abcdef/fedcba9876543210"
	productionBlue     = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-blue/0123456789abcdef"
	productionGreen    = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-green/fedcba9876543210"

	stagingSecret    = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/staging/db-AbCdEf"
	productionSecret = "arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/production/db-GhIjKl"
)

// SlipwayConfig is the configuration the world's functions read: the one
// the fixture stack gives its functions (SLIPWAY_CONFIG), byte for byte;
// the infra module's check compares them.
const SlipwayConfig = `{"app":"demo","environments":{"production":{"production":true,"database_secret":"arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/production/db-GhIjKl","db_cluster":"demo-production","alarms":["demo-production-5xx"],"target_groups":["arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-production/fedcba9876543210"],"auto_scaling_groups":["demo-production"],"blue_green":{"listener":"arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/demo-production/0123456789abcdef/fedcba9876543210","blue":{"target_group":"arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-blue/0123456789abcdef","tags":{"slipway:side":"blue"}},"green":{"target_group":"arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-green/fedcba9876543210","tags":{"slipway:side":"green"}}},"tags":{"app":"demo","env":"production"}},"staging":{"database_secret":"arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/staging/db-AbCdEf","db_instance":"demo-staging","alarms":["demo-staging-5xx","demo-staging-latency"],"target_groups":["arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-staging/0123456789abcdef"],"auto_scaling_groups":["demo-staging"],"tags":{"app":"demo","env":"staging"}}},"triggers":{"repositories":["demo"],"branches":{"main":"staging"}}}`

// World is an AWS account in memory: every service Slipway's functions
// call, faked on the wire behind one endpoint (requests are routed by the
// service their signature names), and the app's instances.
type World struct {
	// URL is the endpoint of every service (AWS_ENDPOINT_URL).
	URL string
	// Dynamo is the ledger table.
	Dynamo *ledgertest.DynamoFake

	s3      *s3Fake
	ssm     *ssmFake
	rds     *rdsFake
	sns     *snsFake
	sfn     *sfnFake
	secrets *secretsFake
	events  *eventsFake
	elb     *elbv2test.Fake
	asg     *autoScalingFake
	app     *httptest.Server
	port    int
	dir     string

	mu     sync.Mutex
	broken map[string]bool // versions whose health check fails
	routed map[string]string
}

// NewWorld starts a world with two staging and two production instances
// serving nothing yet, each environment's database (SQLite files behind
// their secrets), old Slipway snapshots of both databases, and releases
// v1, v2 and v3 published (v2's health check fails) plus the release of
// the commit the sample push events name.
func NewWorld(t testing.TB) *World {
	t.Helper()
	w := &World{
		Dynamo:  ledgertest.NewDynamoFake(t, table),
		s3:      &s3Fake{},
		rds:     &rdsFake{snapshots: map[string]*rdsSnapshot{}},
		sns:     &snsFake{},
		sfn:     &sfnFake{started: map[string]string{}},
		dir:     t.TempDir(),
		broken:  map[string]bool{"v2": true, "bg2": true},
		secrets: &secretsFake{secrets: map[string]string{github.SecretName(App): GitHubWebhookSecret}},
		events:  &eventsFake{},
		asg:     &autoScalingFake{groups: map[string]bool{"demo-staging": true, "demo-production": true}},
	}
	w.ssm = &ssmFake{commands: map[string]*ssmCommand{}, params: map[string]string{}, tags: map[string]map[string]string{
		"staging":    {"app": App, "env": "staging"},
		"production": {"app": App, "env": "production"},
	}}
	// Each environment's instances are healthy targets of its target
	// group; deregistered ones drain and registered ones pass their
	// health checks from one DescribeTargetHealth to the next.
	// Production's blue side (i-4, i-5) serves through the listener, i-5
	// not registered in its group yet (replaced); its green side (i-6) is
	// idle, in no group yet.
	w.elb = &elbv2test.Fake{Groups: map[string]map[string]string{stagingGroup: {}, productionGroup: {}, productionBlue: {}, productionGreen: {}},
		Delay:   map[string]string{stagingGroup: "30", productionGroup: "60", productionBlue: "60", productionGreen: "60"},
		Weights: map[string]map[string]string{productionListener: {productionBlue: "100", productionGreen: "0"}},
		Fail:    map[string]string{}, Settle: true}
	for i, env := range []string{"staging", "staging", "staging", "production", "production", "production"} {
		h := &host{id: fmt.Sprintf("i-%017d", i+1), env: env}
		w.ssm.hosts = append(w.ssm.hosts, h)
		group := stagingGroup
		if env == "production" {
			group = productionGroup
			h.side = "blue"
			if i == 5 {
				h.side = "green"
			} else if i == 3 {
				w.elb.Groups[productionBlue][h.id] = "healthy"
			}
		}
		w.elb.Groups[group][h.id] = "healthy"
	}
	// The ledger's fake is a server of its own: DynamoDB calls are passed
	// on to it, each answer read whole before it is sent back.
	backend := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	dynamo := http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest(r.Method, w.Dynamo.URL+r.URL.RequestURI(), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		resp, err := backend.Do(req)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, err := io.ReadAll(resp.Body)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadGateway)
			return
		}
		for k, v := range resp.Header {
			rw.Header()[k] = v
		}
		rw.WriteHeader(resp.StatusCode)
		rw.Write(answer)
	})
	services := map[string]http.Handler{
		"dynamodb": dynamo,
		"s3":       w.s3,
		"ssm":      w.ssm,
		"monitoring": cloudWatchFake{alarm: func() bool {
			v := w.current()
			w.mu.Lock()
			defer w.mu.Unlock()
			return w.broken[v] && slices.Contains(BlueGreenVersions, v)
		}},
		"rds":                  w.rds,
		"sns":                  w.sns,
		"states":               w.sfn,
		"secretsmanager":       w.secrets,
		"events":               w.events,
		"elasticloadbalancing": w.elb,
		"autoscaling":          w.asg,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h, ok := services[signingName(r)]
		if !ok {
			http.Error(rw, "no fake for service "+signingName(r), http.StatusBadRequest)
			return
		}
		h.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	w.URL = srv.URL

	// The app on every instance: its health check answers the version the
	// instance serves, 500 for a broken one. Instances share 127.0.0.1,
	// so the answer is the environment's (all its hosts move together in
	// these scenarios).
	w.app = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/whoami" {
			// An answer that carries staging's secret configuration
			// values, for the smoke checks' redaction.
			fmt.Fprint(rw, `{"user":"deploy-bot","token":"t-staging","greeting":"hello staging"}`)
			return
		}
		v := w.current()
		w.mu.Lock()
		broken := w.broken[v]
		w.mu.Unlock()
		if broken {
			rw.WriteHeader(http.StatusInternalServerError)
		}
		fmt.Fprintf(rw, `{"status":"ok","version":%q}`, v)
	}))
	t.Cleanup(w.app.Close)
	w.port, _ = strconv.Atoi(w.app.URL[strings.LastIndex(w.app.URL, ":")+1:])

	for env, secretARN := range map[string]string{"staging": stagingSecret, "production": productionSecret} {
		w.secrets.secrets[secretARN] = fmt.Sprintf(`{"engine":"sqlite","path":%q}`, filepath.Join(w.dir, env+".db"))
		// The releases' configuration (configManifest): a parameter and a
		// secret per environment, and the app's fingerprint key.
		w.ssm.params["/"+App+"/"+env+"/greeting"] = "hello " + env
		w.secrets.secrets[App+"/"+env+"/api"] = `{"token":"t-` + env + `"}`
	}
	w.secrets.secrets[appconfig.KeySecretName(App)] = "0123456789abcdef0123456789abcdef"
	w.rds.created = time.Now().UTC().Truncate(time.Second)
	old := w.rds.created.Add(-72 * time.Hour)
	for i, id := range []string{"old-1", "old-2", "old-3"} {
		for _, db := range []struct {
			env, source string
			cluster     bool
		}{{"staging", "demo-staging", false}, {"production", "demo-production", true}} {
			sid := "slipway-demo-" + db.env + "-" + id
			w.rds.snapshots[sid] = &rdsSnapshot{id: sid, source: db.source, cluster: db.cluster, status: "available",
				created: old.Add(time.Duration(i) * time.Hour), tags: map[string]string{"slipway:managed": "true", "slipway:app": App, "slipway:env": db.env}}
		}
	}
	w.publish(t)
	return w
}

// current is what the instance the probe reaches serves: the environment
// whose instances last changed.
func (w *World) current() string {
	w.ssm.mu.Lock()
	defer w.ssm.mu.Unlock()
	return w.ssm.lastServed
}

var credentialScope = regexp.MustCompile(`Credential=[^/]+/[0-9]{8}/[^/]+/([^/]+)/aws4_request`)

// signingName is the service a SigV4 request is signed for.
func signingName(r *http.Request) string {
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		return m[1]
	}
	return ""
}

// AppURL is the base URL of the app every instance serves (the endpoint
// smoke checks go through). Its /whoami answers with staging's secret
// configuration values in the body.
func (w *World) AppURL() string { return w.app.URL }

// Getenv is the environment the stack gives the functions, pointed at the
// world.
func (w *World) Getenv(name string) string {
	if v, ok := settings[name]; ok {
		return v
	}
	return map[string]string{
		lambdaenv.HealthPort:    strconv.Itoa(w.port),
		"AWS_REGION":            Region,
		"AWS_ACCESS_KEY_ID":     "AKID",
		"AWS_SECRET_ACCESS_KEY": "secret",
		"AWS_SESSION_TOKEN":     "token",
		"AWS_EXECUTION_ENV":     "AWS_Lambda_provided.al2023",
		"AWS_ENDPOINT_URL":      w.URL,
	}[name]
}

// settings are the world's settings that name AWS resources, as the stack
// would set them; the operations file keeps them, and the infra check
// maps them to the stack's.
var settings = map[string]string{
	"SLIPWAY_CONFIG":               SlipwayConfig,
	lambdaenv.Table:                table,
	lambdaenv.ArtifactBucket:       bucket,
	lambdaenv.SSMDocument:          document,
	lambdaenv.OutputLogGroup:       logGroup,
	lambdaenv.CommandTimeout:       "600",
	lambdaenv.TopicARN:             topicARN,
	lambdaenv.DeployStateMachine:   deployARN,
	lambdaenv.RollbackStateMachine: rollbackSM,
}

// Env is a function's environment in the world, read by the functions'
// own loader, with rec recording every call of every client built from it.
func (w *World) Env(t testing.TB, rec *Recorder) *lambdaenv.Env {
	t.Helper()
	env, err := lambdaenv.New(w.Getenv, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("lambdaenv.New: %v", err)
	}
	if rec != nil {
		env.AWS.APIOptions = append(env.AWS.APIOptions, rec.Middleware)
	}
	return env
}

// Ledger is the world's ledger through a client nobody records, for a
// scenario to set up what it needs.
func (w *World) Ledger(t testing.TB) *ledger.Dynamo { return w.ledger(t) }

// ledger is the world's ledger through a client nobody records.
func (w *World) ledger(t testing.TB) *ledger.Dynamo {
	return &ledger.Dynamo{Client: dynamodb.NewFromConfig(w.Env(t, nil).AWS), Table: table}
}

// GitHubWebhookSecret is the world's GitHub webhook secret (in Secrets
// Manager as github.SecretName(App)): the one events/github/*.json are
// signed with.
const GitHubWebhookSecret = "slipway-sample-webhook-secret"

// PutEvents are the entries put on the world's EventBridge, in order,
// as the request carried them (Source, DetailType, Detail, EventBusName).
func (w *World) PutEvents() []map[string]any {
	w.events.mu.Lock()
	defer w.events.mu.Unlock()
	return slices.Clone(w.events.entries)
}

// FailPutEvents makes EventBridge refuse the next n entries put on it
// (FailedEntryCount, InternalFailure), as it may under load.
func (w *World) FailPutEvents(n int) {
	w.events.mu.Lock()
	defer w.events.mu.Unlock()
	w.events.fail = n
}

// Versions published in every world. v2 is broken: its health check fails.
var Versions = []string{"v1", "v2", "v3"}

// PushCommit is the commit the sample push events under events/ name; its
// release is published too.
const PushCommit = "3f9a1c2d4e5f60718293a4b5c6d7e8f901234567"

// BlueGreenVersions are published too, with rollout.strategy blue-green
// and otherwise as v3: bg3 deploys to production's idle side and shifts
// the listener to it; bg2's health check fails, and the listener is
// switched back.
var BlueGreenVersions = []string{"bg3", "bg2"}

// publish builds and uploads the releases. Each adds a migration: v1
// creates a table, v2 adds a column (reversible), v3 an index.
func (w *World) publish(t testing.TB) {
	t.Helper()
	store := &artifact.S3{Client: s3.NewFromConfig(w.Env(t, nil).AWS, func(o *s3.Options) { o.UsePathStyle = true }), Bucket: bucket}
	migrations := [][2]string{
		{"0001_create_users.up.sql", "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);"},
		{"0002_add_users_email.up.sql", "ALTER TABLE users ADD COLUMN email TEXT;"},
		{"0002_add_users_email.down.sql", "ALTER TABLE users DROP COLUMN email;"},
		{"0003_add_users_nickname.up.sql", "ALTER TABLE users ADD COLUMN nickname TEXT;"},
		{"0003_add_users_nickname.down.sql", "ALTER TABLE users DROP COLUMN nickname;"},
	}
	for i, v := range append(append(slices.Clone(Versions), PushCommit), BlueGreenVersions...) {
		dir := filepath.Join(w.dir, "release-"+v)
		if err := os.MkdirAll(filepath.Join(dir, "migrations"), 0o755); err != nil {
			t.Fatal(err)
		}
		manifest := "app: demo\nservice: {unit: demo}\nhealth: {path: /healthz, successes: 1, interval: 1s, timeout: 2s}\n" +
			"rollout: {waves: [1, 2, \"100%\"], poll_interval: 1s}\nbake: {duration: 1m, interval: 20s}\n" +
			"migrations: {engine: sqlite, keep_snapshots: 2}\nkeep_releases: 5\n"
		if slices.Contains(BlueGreenVersions, v) {
			manifest = strings.Replace(manifest, "rollout: {", "rollout: {strategy: blue-green, shift: [\"50%\", \"100%\"], shift_bake: 20s, keep_warm: 1m, ", 1)
		}
		manifest += configManifest
		if err := os.WriteFile(filepath.Join(dir, "slipway.yaml"), []byte(manifest), 0o644); err != nil {
			t.Fatal(err)
		}
		n := min(i+1, 3)
		for _, m := range migrations {
			if ver, _ := strconv.Atoi(m[0][:4]); ver <= n {
				if err := os.WriteFile(filepath.Join(dir, "migrations", m[0]), []byte(m[1]+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		var buf bytes.Buffer
		if _, err := bundle.Build(&buf, dir, v); err != nil {
			t.Fatalf("build release %s: %v", v, err)
		}
		meta, err := store.Publish(context.Background(), App, v, buf.Bytes())
		if err != nil {
			t.Fatalf("publish release %s: %v", v, err)
		}
		// Production takes only tested builds: each release's
		// provenance says its tests passed.
		if err := store.PutProvenance(context.Background(), App, v, provenance.Record{Version: v, SHA256: meta.SHA256, Commit: v,
			Tests: &provenance.Tests{Passed: true, Total: 1, Source: "world.go"}}); err != nil {
			t.Fatalf("record the provenance of %s: %v", v, err)
		}
	}
}

// configManifest is the releases' configuration: Preflight resolves it
// (SSM GetParameter, Secrets Manager GetSecretValue, the fingerprint key)
// and the hosts get its fingerprint.
const configManifest = `config:
  GREETING:
    values: {staging: "ssm:/demo/staging/greeting", production: "ssm:/demo/production/greeting"}
  API_TOKEN:
    secret: true
    values: {staging: "secret:demo/staging/api#token", production: "secret:demo/production/api#token"}
`

// Started lists the executions the functions started on the world's Step
// Functions, by ARN.
func (w *World) Started() []string {
	w.sfn.mu.Lock()
	defer w.sfn.mu.Unlock()
	return sortedKeys(w.sfn.started)
}

// Snapshots lists the world's RDS snapshot identifiers.
func (w *World) Snapshots() []string {
	w.rds.mu.Lock()
	defer w.rds.mu.Unlock()
	return sortedKeys(w.rds.snapshots)
}

// Launching makes instance id look freshly launched: its SSM agent
// registers only after lookups more lookups of the instances.
func (w *World) Launching(id string, lookups int) {
	w.ssm.mu.Lock()
	defer w.ssm.mu.Unlock()
	if w.ssm.registering == nil {
		w.ssm.registering = map[string]int{}
	}
	w.ssm.registering[id] = lookups
}

// Completed lists the lifecycle actions completed on the world's Auto
// Scaling, as "instance result".
func (w *World) Completed() []string {
	w.asg.mu.Lock()
	defer w.asg.mu.Unlock()
	var out []string
	for _, c := range w.asg.completed {
		out = append(out, c.Get("InstanceId")+" "+c.Get("LifecycleActionResult"))
	}
	return out
}
