package stack

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func fixture(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(fixtureConfig)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLoadConfigFixture(t *testing.T) {
	c, err := LoadConfig(fixtureConfig)
	if err != nil {
		t.Fatalf("LoadConfig(%s): %v", fixtureConfig, err)
	}
	if c.HealthPort != 80 || c.CommandTimeoutSeconds != 600 || c.LogRetentionDays != 30 || *c.ArtifactRetentionDays != 365 {
		t.Errorf("defaults = %d, %d, %d, %d; want 80, 600, 30, 365", c.HealthPort, c.CommandTimeoutSeconds, c.LogRetentionDays, *c.ArtifactRetentionDays)
	}
	if !c.Environments["production"].Database.Cluster() || c.Environments["staging"].Database.Cluster() {
		t.Errorf("Cluster(): production is aurora-postgresql, staging postgres")
	}
}

// TestConfigErrorsNameTheKey: every problem names the key to fix.
func TestConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(m map[string]any)
		wantIn string
	}{
		{"no app", func(m map[string]any) { delete(m, "app") }, "app: required"},
		{"bad app", func(m map[string]any) { m["app"] = "Demo_App" }, "app: \"Demo_App\""},
		{"no account", func(m map[string]any) { delete(m, "account") }, "account: required"},
		{"bad account", func(m map[string]any) { m["account"] = "1234" }, "account: \"1234\" is not a 12-digit"},
		{"no region", func(m map[string]any) { delete(m, "region") }, "region: required"},
		{"no vpc", func(m map[string]any) { delete(m, "vpc") }, "vpc.id: required"},
		{"bad subnet", func(m map[string]any) { m["vpc"].(map[string]any)["subnet_ids"] = []any{"sub-1"} }, "vpc.subnet_ids[0]"},
		{"no security group", func(m map[string]any) { delete(m["vpc"].(map[string]any), "security_group_id") }, "vpc.security_group_id: required"},
		{"no branch", func(m map[string]any) { delete(m["git"].(map[string]any), "branch") }, "git.branch: required"},
		{"push environment unknown", func(m map[string]any) { m["git"].(map[string]any)["environment"] = "qa" }, "git.environment: \"qa\" is not one of"},
		{"no environments", func(m map[string]any) { delete(m, "environments") }, "environments: required"},
		{"endpoint not a URL", func(m map[string]any) { env(m, "staging")["endpoint"] = "alb-123.eu-west-1.elb.amazonaws.com" }, "environments.staging.endpoint: \"alb-123.eu-west-1.elb.amazonaws.com\" is not a URL"},
		{"endpoint with credentials", func(m map[string]any) { env(m, "staging")["endpoint"] = "https://u:p@shop.example.com" }, "environments.staging.endpoint"},
		{"no tags", func(m map[string]any) { delete(env(m, "staging"), "tags") }, "environments.staging.tags: required"},
		{"target group by name", func(m map[string]any) { env(m, "staging")["target_groups"] = []any{"demo-staging"} },
			"environments.staging.target_groups[0]: \"demo-staging\" is not an ELBv2 target group ARN"},
		{"target group elsewhere", func(m map[string]any) {
			env(m, "staging")["target_groups"] = []any{"arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/demo-staging/0123456789abcdef"}
		}, "environments.staging.target_groups[0]: \"arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/demo-staging/0123456789abcdef\" is not in the configured account and region"},
		{"group by ARN", func(m map[string]any) {
			env(m, "staging")["auto_scaling_groups"] = []any{"arn:aws:autoscaling:eu-west-1:111111111111:autoScalingGroup:x:autoScalingGroupName/demo-staging"}
		}, "environments.staging.auto_scaling_groups[0]: \"arn:aws:autoscaling:eu-west-1:111111111111:autoScalingGroup:x:autoScalingGroupName/demo-staging\" is not an Auto Scaling group name"},
		{"group in two environments", func(m map[string]any) { env(m, "staging")["auto_scaling_groups"] = []any{"demo-production"} },
			"environments.staging.auto_scaling_groups[0]: \"demo-production\" is in environment production too"},
		{"blue/green listener by name", func(m map[string]any) { env(m, "production")["blue_green"] = blueGreen("demo-production") },
			"environments.production.blue_green.listener: \"demo-production\" is not an ELBv2 listener ARN"},
		{"blue/green listener elsewhere", func(m map[string]any) {
			env(m, "production")["blue_green"] = blueGreen("arn:aws:elasticloadbalancing:us-east-1:111111111111:listener/app/demo/0123456789abcdef/fedcba9876543210")
		}, "environments.production.blue_green.listener: \"arn:aws:elasticloadbalancing:us-east-1:111111111111:listener/app/demo/0123456789abcdef/fedcba9876543210\" is not in the configured account and region"},
		{"blue/green no listener", func(m map[string]any) { env(m, "production")["blue_green"] = blueGreen("") },
			"environments.production.blue_green.listener: required"},
		{"blue/green side group by name", func(m map[string]any) {
			bg := blueGreen(testListener)
			bg["green"].(map[string]any)["target_group"] = "demo-green"
			env(m, "production")["blue_green"] = bg
		}, "environments.production.blue_green.green.target_group: \"demo-green\" is not an ELBv2 target group ARN"},
		{"blue/green side elsewhere", func(m map[string]any) {
			bg := blueGreen(testListener)
			bg["blue"].(map[string]any)["target_group"] = "arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/demo-blue/0123456789abcdef"
			env(m, "production")["blue_green"] = bg
		}, "environments.production.blue_green.blue.target_group: \"arn:aws:elasticloadbalancing:eu-west-1:222222222222:targetgroup/demo-blue/0123456789abcdef\" is not in the configured account and region"},
		{"blue/green side without instances", func(m map[string]any) {
			bg := blueGreen(testListener)
			delete(bg["green"].(map[string]any), "auto_scaling_groups")
			env(m, "production")["blue_green"] = bg
		}, "environments.production.blue_green.green: names no instances"},
		{"blue/green shared group", func(m map[string]any) {
			bg := blueGreen(testListener)
			bg["green"].(map[string]any)["target_group"] = bg["blue"].(map[string]any)["target_group"]
			env(m, "production")["blue_green"] = bg
		}, "environments.production.blue_green.green.target_group: blue and green share target group"},
		{"blue/green same tags", func(m map[string]any) {
			bg := blueGreen(testListener)
			bg["green"].(map[string]any)["tags"] = bg["blue"].(map[string]any)["tags"]
			env(m, "production")["blue_green"] = bg
		}, "environments.production.blue_green.green.tags: blue and green select the same instance tags"},
		{"blue/green typo", func(m map[string]any) {
			bg := blueGreen(testListener)
			bg["listner"] = testListener
			env(m, "production")["blue_green"] = bg
		}, "unknown field \"listner\""},
		{"no secret", func(m map[string]any) { delete(env(m, "staging")["database"].(map[string]any), "secret_arn") },
			"environments.staging.database.secret_arn: required"},
		{"secret elsewhere", func(m map[string]any) {
			env(m, "staging")["database"].(map[string]any)["secret_arn"] = "arn:aws:secretsmanager:us-east-1:111111111111:secret:x-AbCdEf"
		}, "environments.staging.database.secret_arn: \"arn:aws:secretsmanager:us-east-1"},
		{"bad engine", func(m map[string]any) { env(m, "production")["database"].(map[string]any)["engine"] = "oracle" },
			"environments.production.database.engine: \"oracle\" is not one of"},
		{"no database", func(m map[string]any) { delete(env(m, "production"), "database") }, "environments.production.database.identifier: required"},
		{"bad retention", func(m map[string]any) { m["log_retention_days"] = 31 }, "log_retention_days: 31"},
		{"typo", func(m map[string]any) { m["helth_port"] = 8080 }, "unknown field \"helth_port\""},
		{"bad environment name", func(m map[string]any) { m["environments"].(map[string]any)["Prod--1"] = env(m, "staging") }, "environments.Prod--1: the environment name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixture(t)
			tt.edit(m)
			b, _ := json.Marshal(m)
			_, err := ParseConfig("test.json", b)
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseConfig = %v, want a *ConfigError", err)
			}
			if !strings.Contains(err.Error(), tt.wantIn) {
				t.Errorf("ParseConfig error = %q, want it to contain %q", err, tt.wantIn)
			}
			if !strings.Contains(err.Error(), "test.json") {
				t.Errorf("ParseConfig error = %q, want it to name the file", err)
			}
		})
	}
}

const (
	testListener = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener/app/demo-production/0123456789abcdef/fedcba9876543210"
	testRule     = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:listener-rule/app/demo-production/0123456789abcdef/fedcba9876543210/00112233445566ff"
	testBlueTG   = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-blue/0123456789abcdef"
	testGreenTG  = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:targetgroup/demo-green/fedcba9876543210"
)

// blueGreen is a valid blue_green for the fixture's production.
func blueGreen(listener string) map[string]any {
	return map[string]any{
		"listener": listener,
		"blue":     map[string]any{"target_group": testBlueTG, "tags": map[string]any{"slipway:side": "blue"}},
		"green":    map[string]any{"target_group": testGreenTG, "auto_scaling_groups": []any{"demo-production-green"}},
	}
}

// TestConfigBlueGreen: a valid blue_green (listener or listener rule)
// parses and reaches SLIPWAY_CONFIG in internal/config's shape.
func TestConfigBlueGreen(t *testing.T) {
	for _, listener := range []string{testListener, testRule} {
		m := fixture(t)
		env(m, "production")["blue_green"] = blueGreen(listener)
		b, _ := json.Marshal(m)
		c, err := ParseConfig("test.json", b)
		if err != nil {
			t.Fatalf("ParseConfig(blue_green listener %s): %v", listener, err)
		}
		bg := c.Environments["production"].BlueGreen
		if bg == nil || bg.Listener != listener || bg.IsRule() != (listener == testRule) {
			t.Fatalf("blue_green = %+v, want listener %s (rule: %v)", bg, listener, listener == testRule)
		}
		out, err := c.SlipwayConfig()
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			Environments map[string]struct {
				BlueGreen map[string]any `json:"blue_green"`
			} `json:"environments"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		want := `{"blue":{"tags":{"slipway:side":"blue"},"target_group":"` + testBlueTG + `"},"green":{"auto_scaling_groups":["demo-production-green"],"target_group":"` + testGreenTG + `"},"listener":"` + listener + `"}`
		if b, _ := json.Marshal(got.Environments["production"].BlueGreen); string(b) != want {
			t.Errorf("SLIPWAY_CONFIG production.blue_green = %s, want %s", b, want)
		}
		if got.Environments["staging"].BlueGreen != nil {
			t.Errorf("SLIPWAY_CONFIG staging.blue_green = %v, want none", got.Environments["staging"].BlueGreen)
		}
	}
}

func env(m map[string]any, name string) map[string]any {
	return m["environments"].(map[string]any)[name].(map[string]any)
}

// TestConfigRepositories: git.repository is a CodeCommit name or the
// repository as a slipway.git event names it, a path such as
// github.com/acme/shop (the CLI's example).
func TestConfigRepositories(t *testing.T) {
	tests := []struct {
		repo string
		ok   bool
	}{
		{"demo", true},
		{"acme/shop", true},
		{"github.com/acme/shop", true},
		{"gitlab.example.com/group/sub/shop", true},
		{"", false},
		{"shop/", false},
		{"/shop", false},
		{"acme//shop", false},
		{"acme/shop*", false},
	}
	for _, tt := range tests {
		m := fixture(t)
		m["git"].(map[string]any)["repository"] = tt.repo
		b, _ := json.Marshal(m)
		_, err := ParseConfig("test.json", b)
		if (err == nil) != tt.ok {
			t.Errorf("ParseConfig(git.repository %q) error = %v, want ok: %v", tt.repo, err, tt.ok)
		}
	}
}

func TestLoadConfigMissingFile(t *testing.T) {
	_, err := LoadConfig(filepath.Join(t.TempDir(), "slipway.aws.json"))
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "-c config=") {
		t.Errorf("LoadConfig(missing) = %v, want an error that says how to point at a file", err)
	}
}

func TestSecretResource(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/db-AbCdEf": "arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/db-AbCdEf",
		"arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/db":        "arn:aws:secretsmanager:eu-west-1:111111111111:secret:demo/db-??????",
	} {
		if got := secretResource(in); got != want {
			t.Errorf("secretResource(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestConfigEndpointReachesTheFunctions: an environment's endpoint (the
// load balancer's URL) goes to the functions in SLIPWAY_CONFIG, where the
// health function runs the smoke checks through it.
func TestConfigEndpointReachesTheFunctions(t *testing.T) {
	m := fixture(t)
	env(m, "staging")["endpoint"] = "https://staging.shop.example.com"
	b, _ := json.Marshal(m)
	cfg, err := ParseConfig("endpoint.json", b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.SlipwayConfig()
	if err != nil || !strings.Contains(string(out), `"endpoint":"https://staging.shop.example.com"`) {
		t.Errorf("SLIPWAY_CONFIG = %s, %v; want staging's endpoint", out, err)
	}
}
