package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/asl"
	"github.com/slipway-deploy/slipway/internal/bundle"
	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/fleet"
	"github.com/slipway-deploy/slipway/internal/health"
	ledgersqlite "github.com/slipway-deploy/slipway/internal/ledger/sqlite"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/migrate"
	"github.com/slipway-deploy/slipway/internal/pipeline"
	"github.com/slipway-deploy/slipway/internal/schema"
	"github.com/slipway-deploy/slipway/internal/secret"
	"github.com/slipway-deploy/slipway/statemachine"
)

// fakeFleetSSM is SSM on the wire for a simulated fleet: every instance is
// Online at 127.0.0.1, and every command succeeds at once with the report
// the host script would print.
type fakeFleetSSM struct {
	mu       sync.Mutex
	n        int
	commands map[string]fakeCommand
	next     int
	calls    int
	// current and installed are every host's releases (all hosts move
	// together in this simulation).
	current   string
	installed []string
}

type fakeCommand struct {
	ids             []string
	action, version string
}

func (f *fakeFleetSSM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	op := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.")
	var in map[string]any
	json.NewDecoder(r.Body).Decode(&in)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	page := func(total int) (int, int, string) {
		start := 0
		if tok, ok := in["NextToken"].(string); ok {
			start, _ = strconv.Atoi(tok)
		}
		end := min(start+50, total)
		next := ""
		if end < total {
			next = strconv.Itoa(end)
		}
		return start, end, next
	}
	switch op {
	case "DescribeInstanceInformation":
		ids := make([]string, 0, f.n)
		for i := 1; i <= f.n; i++ {
			ids = append(ids, fmt.Sprintf("i-%017d", i))
		}
		if fs, ok := in["Filters"].([]any); ok {
			for _, fl := range fs {
				m := fl.(map[string]any)
				if m["Key"] == "InstanceIds" {
					ids = nil
					for _, v := range m["Values"].([]any) {
						ids = append(ids, v.(string))
					}
				}
			}
		}
		start, end, next := page(len(ids))
		var list []map[string]any
		for _, id := range ids[start:end] {
			list = append(list, map[string]any{"InstanceId": id, "PingStatus": "Online", "IPAddress": "127.0.0.1", "PlatformType": "Linux"})
		}
		json.NewEncoder(w).Encode(map[string]any{"InstanceInformationList": list, "NextToken": next})
	case "SendCommand":
		f.next++
		id := fmt.Sprintf("%08d-0000-4000-8000-000000000000", f.next)
		var ids []string
		for _, v := range in["InstanceIds"].([]any) {
			ids = append(ids, v.(string))
		}
		params := in["Parameters"].(map[string]any)
		c := fakeCommand{ids: ids, action: params["action"].([]any)[0].(string)}
		if v, ok := params["version"].([]any); ok {
			c.version = v[0].(string)
		}
		f.commands[id] = c
		if c.action == "activate" {
			f.current = c.version
			if !slices.Contains(f.installed, c.version) {
				f.installed = append(f.installed, c.version)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"Command": map[string]any{"CommandId": id, "Status": "Pending", "InstanceIds": ids}})
	case "ListCommands":
		c := f.commands[in["CommandId"].(string)]
		json.NewEncoder(w).Encode(map[string]any{"Commands": []any{map[string]any{"CommandId": in["CommandId"], "Status": "Success", "InstanceIds": c.ids}}})
	case "ListCommandInvocations":
		c := f.commands[in["CommandId"].(string)]
		start, end, next := page(len(c.ids))
		var invs []map[string]any
		for _, id := range c.ids[start:end] {
			out := fmt.Sprintf(`{"action":%q,"version":%q,"previous":"v1","current":%q,"changed":true}`, c.action, c.version, c.version)
			if c.action == "status" {
				rel, _ := json.Marshal(f.installed)
				out = fmt.Sprintf(`{"action":"status","current":%q,"previous":"","releases":%s,"root":"/opt/demo"}`, f.current, rel)
			}
			invs = append(invs, map[string]any{"CommandId": in["CommandId"], "InstanceId": id, "Status": "Success", "StatusDetails": "Success",
				"CommandPlugins": []any{map[string]any{"Name": "activate", "Status": "Success", "ResponseCode": 0, "Output": out}}})
		}
		json.NewEncoder(w).Encode(map[string]any{"CommandInvocations": invs, "NextToken": next})
	default:
		w.WriteHeader(400)
		io.WriteString(w, `{"__type":"UnknownOperationException"}`)
	}
}

// bucketStore serves a Dir's releases under s3:// URIs, as the S3 store
// does, so the SSM adapter accepts them.
type bucketStore struct{ dir *artifact.Dir }

func (b bucketStore) Stat(ctx context.Context, app, version string) (contract.Artifact, error) {
	m, err := b.dir.Stat(ctx, app, version)
	m.URI = "s3://artifacts/" + artifact.Key(app, version)
	return m, err
}

func (b bucketStore) Fetch(ctx context.Context, m contract.Artifact) ([]byte, error) {
	return os.ReadFile(filepath.Join(b.dir.Root, strings.TrimPrefix(m.URI, "s3://artifacts/")))
}

// BenchmarkOrchestration1000 runs the real deploy state machine and
// handlers over a simulated fleet of 1,000 instances (SSM faked on the
// wire, health answered by one local server) and reports the overhead per
// wave and in total, and the largest state payload the execution carried.
func BenchmarkOrchestration1000(b *testing.B) {
	const n = 1000
	ctx := context.Background()
	dir := b.TempDir()

	var version string
	var vmu sync.Mutex
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vmu.Lock()
		defer vmu.Unlock()
		fmt.Fprintf(w, `{"status":"ok","version":%q}`, version)
	}))
	defer app.Close()
	port, _ := strconv.Atoi(app.URL[strings.LastIndex(app.URL, ":")+1:])

	fake := &fakeFleetSSM{n: n, commands: map[string]fakeCommand{}}
	ssmSrv := httptest.NewServer(fake)
	defer ssmSrv.Close()
	client := ssm.New(ssm.Options{Region: "eu-west-1", BaseEndpoint: aws.String(ssmSrv.URL), Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")})

	led, err := ledgersqlite.Open(filepath.Join(dir, "ledger.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer led.Close()
	arts := &artifact.Dir{Root: filepath.Join(dir, "artifacts")}
	rel := b.TempDir()
	os.WriteFile(filepath.Join(rel, "slipway.yaml"), []byte("app: demo\nservice: {unit: demo}\nhealth: {successes: 2, interval: 5s, timeout: 60s}\nrollout: {waves: [1, \"10%\", \"50%\", \"100%\"]}\nbake: {duration: 5m, interval: 30s}\n"), 0o644)
	for _, v := range []string{"v1", "v2"} {
		var buf bytes.Buffer
		if _, err := bundle.Build(&buf, rel, v); err != nil {
			b.Fatal(err)
		}
		arts.Publish(ctx, "demo", v, buf.Bytes())
	}
	secrets := &secret.File{Path: filepath.Join(dir, "secrets.json")}
	secrets.Put("db", `{"engine":"sqlite","path":"`+filepath.Join(dir, "app.db")+`"}`)
	deps := &pipeline.Deps{
		Config:        &config.Config{App: "demo", Environments: map[string]config.Environment{"production": {DatabaseSecret: "db"}}},
		Ledger:        led,
		Artifacts:     bucketStore{arts},
		Fleet:         &fleet.SSM{Client: client, DocumentName: "slipway-demo", HealthPort: port},
		Secrets:       secrets,
		OpenDB:        migrate.OpenDB,
		Prober:        health.NewProber(2 * time.Second),
		Alarms:        &health.AlarmFile{Path: filepath.Join(dir, "alarms.json")},
		Log:           slog.New(slog.DiscardHandler),
		MigrationPlan: schema.Plan,
	}
	resolver, subs := localenv.Resolver(deps, port)
	def, err := asl.Substitute(statemachine.Deploy, subs)
	if err != nil {
		b.Fatal(err)
	}
	sm, err := asl.Parse(def)
	if err != nil {
		b.Fatal(err)
	}
	run := func(v string, i int) (*asl.Execution, map[string]time.Duration, int) {
		vmu.Lock()
		version = v
		vmu.Unlock()
		in, _ := json.Marshal(contract.DeployRequest{App: "demo", Environment: "production", Version: v})
		var mu sync.Mutex
		waveStart := map[string]time.Time{}
		waves := map[string]time.Duration{}
		largest := 0
		wave := 0
		exec, err := asl.Run(ctx, sm, in, asl.Options{Resolver: resolver, Clock: asl.NewVirtualClock(time.Now()), ExecutionName: fmt.Sprintf("d-%s-%d", v, i),
			OnEvent: func(ev asl.HistoryEvent) {
				mu.Lock()
				defer mu.Unlock()
				if d := ev.StateEnteredEventDetails; d != nil {
					largest = max(largest, len(d.Input))
					switch d.Name {
					case "DeployWave":
						wave++
						waveStart[strconv.Itoa(wave)] = time.Now()
					case "NextWave":
						k := strconv.Itoa(wave)
						waves[k] = time.Since(waveStart[k])
					}
				}
			}})
		if err != nil {
			b.Fatal(err)
		}
		return exec, waves, largest
	}
	if exec, _, _ := run("v1", 0); exec.Status != "SUCCEEDED" {
		b.Fatalf("deploy v1 = %s %s %s", exec.Status, exec.Error, exec.Cause)
	}
	b.ResetTimer()
	var total time.Duration
	var largest int
	perWave := map[string]time.Duration{}
	for i := 0; i < b.N; i++ {
		start := time.Now()
		v := "v2"
		if i%2 == 1 {
			v = "v1"
		}
		exec, waves, big := run(v, i+1)
		total += time.Since(start)
		if exec.Status != "SUCCEEDED" {
			b.Fatalf("deploy %s = %s %s %s", v, exec.Status, exec.Error, exec.Cause)
		}
		largest = max(largest, big)
		for k, d := range waves {
			perWave[k] += d
		}
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/deploy")
	for k := 1; k <= len(perWave); k++ {
		b.ReportMetric(float64(perWave[strconv.Itoa(k)].Milliseconds())/float64(b.N), "ms/wave"+strconv.Itoa(k))
	}
	b.ReportMetric(float64(largest)/1024, "KiB-max-state")
}
