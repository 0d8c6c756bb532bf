package scenario

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/slipway-deploy/slipway/internal/autoscale"
	"github.com/slipway-deploy/slipway/internal/contract"
	"github.com/slipway-deploy/slipway/internal/localenv"
	"github.com/slipway-deploy/slipway/internal/report"
)

// configManifest is the three-wave manifest with a configuration: a
// greeting the app answers on /greeting, and a secret token it never shows.
const configManifest = threeWaves + `config:
  GREETING:
    description: what /greeting answers
    values: {staging: "ssm:/demo/staging/greeting"}
  API_TOKEN:
    secret: true
    values: {staging: "secret:demo/staging/api-token"}
`

// configSentinel is the secret's value: it must reach the app's
// environment file and nothing else.
const configSentinel = "s3ntinel-API-TOKEN-5d0c"

var configReleases releaseSet

func configRelease(t *testing.T, version string) []byte {
	t.Helper()
	opts := BuildOptions{Manifest: []byte(configManifest), From: "v1"}
	return configReleases.get(t, version, map[string]BuildOptions{"c1": opts, "c2": opts})
}

// greetings asks every instance what GREETING it runs with.
func greetings(t *testing.T, env *localenv.Env) map[string]string {
	t.Helper()
	insts, err := env.Fleet.Instances(context.Background(), "staging")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, i := range insts {
		resp, err := http.Get("http://" + i.Address + "/greeting")
		if err != nil {
			out[i.ID] = "error: " + err.Error()
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		out[i.ID] = strings.TrimSpace(string(b))
	}
	return out
}

func allGreet(t *testing.T, env *localenv.Env, step, want string) {
	t.Helper()
	for id, got := range greetings(t, env) {
		if got != want {
			t.Errorf("%s: %s answers /greeting %q, want %q", step, id, got, want)
		}
	}
}

// TestScenarioConfiguration deploys releases whose configuration is
// resolved on each host: a deploy serves the new value, a configuration-only
// deploy changes only the configuration, a failed one and a rollback bring
// the previous configuration back (not the one the stores give now), the
// environment files are 0600, and the secret's value is nowhere but in the
// secrets file and the instances' environment files.
func TestScenarioConfiguration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs real processes")
	}
	ctx := context.Background()
	env, err := localenv.Init(filepath.Join(t.TempDir(), "state"), localenv.Options{App: "demo", Instances: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { env.Stop(context.Background()) })
	for _, v := range []string{"c1", "c2"} {
		if _, err := env.Artifacts.Publish(ctx, "demo", v, configRelease(t, v)); err != nil {
			t.Fatal(err)
		}
	}
	set := func(name, value string) {
		t.Helper()
		if err := env.Secrets.Put(name, value); err != nil {
			t.Fatal(err)
		}
	}
	set("demo/staging/api-token", configSentinel)
	set("/demo/staging/greeting", "hello")
	run := func(step string, req contract.DeployRequest, want string) string {
		t.Helper()
		req.App, req.Environment = "demo", "staging"
		exec, err := env.Deploy(ctx, req, localenv.RunOptions{})
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		d, err := env.Ledger.GetDeployment(ctx, exec.Name)
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != want {
			t.Fatalf("%s: %s = %s (%s), want %s", step, exec.Name, d.Status, d.Summary, want)
		}
		return exec.Name
	}

	run("deploy c1", contract.DeployRequest{Version: "c1"}, contract.StatusSucceeded)
	allGreet(t, env, "c1", "hello")

	set("/demo/staging/greeting", "bonjour")
	c2 := run("deploy c2 with a new greeting", contract.DeployRequest{Version: "c2"}, contract.StatusSucceeded)
	allGreet(t, env, "c2", "bonjour")
	if r := reportOf(t, env, c2); !strings.Contains(r, "1 key changed: GREETING") {
		t.Errorf("c2's report does not say which key changed:\n%s", r)
	}

	// Nothing changed: refused.
	run("config-only with nothing changed", contract.DeployRequest{Version: "c2", ConfigOnly: true}, contract.StatusFailed)

	set("/demo/staging/greeting", "salut")
	only := run("config-only", contract.DeployRequest{Version: "c2", ConfigOnly: true}, contract.StatusSucceeded)
	allGreet(t, env, "config-only", "salut")
	if r := reportOf(t, env, only); !strings.Contains(r, "replacing c2; configuration hmac-sha256:") || !strings.Contains(r, "1 key changed: GREETING") {
		t.Errorf("the configuration-only report does not say so:\n%s", r)
	}

	// A configuration-only deploy whose app fails its health check on the
	// canary rolls back to the configuration that served.
	set("/demo/staging/greeting", "broken")
	if err := env.Fleet.FailHealth("staging", "staging-1", true); err != nil {
		t.Fatal(err)
	}
	run("failed config-only", contract.DeployRequest{Version: "c2", ConfigOnly: true}, contract.StatusRolledBack)
	if err := env.Fleet.FailHealth("staging", "staging-1", false); err != nil {
		t.Fatal(err)
	}
	allGreet(t, env, "after the failed config-only deploy", "salut")

	// A rollback returns to c1 with the configuration c1 served with, not
	// the one the stores give now.
	exec, err := env.Rollback(ctx, contract.RollbackRequest{App: "demo", Environment: "staging", ToVersion: "c1"}, localenv.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := env.Ledger.GetDeployment(ctx, exec.Name); d.Status != contract.StatusRolledBack {
		t.Fatalf("rollback = %s (%s), want ROLLED_BACK", d.Status, d.Summary)
	}
	allGreet(t, env, "rolled back to c1", "hello")

	// A new instance from the Auto Scaling group gets c1 with c1's
	// configuration. The stores give another greeting now, so the new host
	// cannot resolve the values c1 was deployed with: it is abandoned, not
	// put into service with unchecked values. With the values back, it
	// goes into service greeting as the others do.
	res, err := env.ScaleOut(ctx, "staging")
	if err != nil || res.Action != autoscale.Abandon || !strings.Contains(res.Message, "changed since the deployment checked it") {
		t.Errorf("scale-out with the stores changed since c1 = %+v, %v; want ABANDON saying the configuration changed", res, err)
	}
	set("/demo/staging/greeting", "hello")
	res, err = env.ScaleOut(ctx, "staging")
	if err != nil || res.Action != autoscale.Continue || res.Version != "c1" {
		t.Fatalf("scale-out with c1's values = %+v, %v; want CONTINUE on c1", res, err)
	}
	allGreet(t, env, "after the scale-out", "hello")
	if n := len(greetings(t, env)); n != 3 {
		t.Errorf("%d instances after the scale-out, want 3", n)
	}

	// The environment files are private, and the secret is nowhere else.
	envFiles := 0
	err = filepath.WalkDir(env.Root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		rel, _ := filepath.Rel(env.Root, path)
		isEnvFile := strings.Contains(rel, string(filepath.Separator)+"config"+string(filepath.Separator)) && strings.HasSuffix(rel, ".env")
		if isEnvFile {
			envFiles++
			if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: mode %v, want 0600", rel, fi.Mode().Perm())
			}
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), configSentinel) && !isEnvFile && rel != "secrets.json" {
			t.Errorf("the secret's value is in %s", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if envFiles < 2*3+1 {
		t.Errorf("%d environment files, want at least 7 (2 instances, c1 hello, c2 bonjour and salut; the scaled-out one, c1 hello)", envFiles)
	}
}

// report is a deployment's stored report, as `slipway show` prints it.
func reportOf(t *testing.T, env *localenv.Env, id string) string {
	t.Helper()
	d, err := env.Ledger.GetDeployment(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var r report.Report
	if err := json.Unmarshal(d.Report, &r); err != nil {
		t.Fatalf("%s's report: %v", id, err)
	}
	return r.String()
}
