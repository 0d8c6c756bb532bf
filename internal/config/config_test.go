package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, json, wantErr string
	}{
		{"valid", `{"app":"demo","environments":{"staging":{"alarms":["a"]}},"triggers":{"branches":{"main":"staging"}}}`, ""},
		{"not JSON", `{"app":`, "parse slipway configuration"},
		{"no app", `{"environments":{"staging":{}}}`, "app is empty"},
		{"no environments", `{"app":"demo"}`, "no environments"},
		{"a group in two environments", `{"app":"demo","environments":{"staging":{"auto_scaling_groups":["web"]},"production":{"auto_scaling_groups":["web"]}}}`, `"web" belongs to both production and staging`},
		{"an empty group", `{"app":"demo","environments":{"staging":{"auto_scaling_groups":[""]}}}`, "empty Auto Scaling group"},
		{"branch to an unknown environment", `{"app":"demo","environments":{"staging":{}},"triggers":{"branches":{"main":"prod"}}}`, `maps "main" to environment "prod"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.json))
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("Parse() error = %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Parse() error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestEnvAndAlarms(t *testing.T) {
	c, err := Parse([]byte(`{"app":"demo","environments":{"staging":{"alarms":["s-5xx"]},"production":{"production":true,"alarms":["p-5xx"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if e, err := c.Env("production"); err != nil || !e.Production {
		t.Errorf("Env(production) = %+v, %v", e, err)
	}
	_, err = c.Env("prod")
	var ue *UnknownEnvironmentError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "known environments are production, staging") {
		t.Errorf("Env(prod) error = %v, want it to list the known environments", err)
	}
	for alarm, want := range map[string]string{"s-5xx": "staging", "p-5xx": "production", "other": ""} {
		if got, _ := c.EnvironmentOfAlarm(alarm); got != want {
			t.Errorf("EnvironmentOfAlarm(%s) = %q, want %q", alarm, got, want)
		}
	}
}

func TestEnvironmentOfGroup(t *testing.T) {
	c, err := Parse([]byte(`{"app":"demo","environments":{"staging":{"auto_scaling_groups":["shop-staging"]},"production":{"auto_scaling_groups":["shop-prod-a","shop-prod-b"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for group, want := range map[string]string{"shop-staging": "staging", "shop-prod-b": "production", "other": ""} {
		if got, ok := c.EnvironmentOfGroup(group); got != want || ok != (want != "") {
			t.Errorf("EnvironmentOfGroup(%s) = %q, %v; want %q", group, got, ok, want)
		}
	}
}

func TestBlueGreen(t *testing.T) {
	good := `{"app":"shop","environments":{"prod":{"blue_green":{"listener":"arn:l","blue":{"target_group":"tg-b","tags":{"slipway:side":"blue"}},"green":{"target_group":"tg-g","auto_scaling_groups":["asg-g"]}}}}}`
	c, err := Parse([]byte(good))
	if err != nil {
		t.Fatal(err)
	}
	bg := c.Environments["prod"].BlueGreen
	if side, ok := bg.SideOf("tg-g"); !ok || side != Green || bg.Side(Green).TargetGroup != "tg-g" {
		t.Errorf("SideOf(tg-g) = %q, %v", side, ok)
	}
	for _, tt := range []struct{ name, bg, want string }{
		{"no listener", `{"blue":{"target_group":"a","tags":{"s":"b"}},"green":{"target_group":"b","tags":{"s":"g"}}}`, "blue_green.listener is empty"},
		{"no group", `{"listener":"l","blue":{"tags":{"s":"b"}},"green":{"target_group":"b","tags":{"s":"g"}}}`, "blue_green.blue.target_group is empty"},
		{"no instances", `{"listener":"l","blue":{"target_group":"a","tags":{"s":"b"}},"green":{"target_group":"b"}}`, "blue_green.green names no instances"},
		{"same group", `{"listener":"l","blue":{"target_group":"a","tags":{"s":"b"}},"green":{"target_group":"a","tags":{"s":"g"}}}`, "share target group"},
		{"same tags", `{"listener":"l","blue":{"target_group":"a","tags":{"s":"b"}},"green":{"target_group":"b","tags":{"s":"b"}}}`, "same instance tags"},
		{"same asg", `{"listener":"l","blue":{"target_group":"a","auto_scaling_groups":["x"]},"green":{"target_group":"b","auto_scaling_groups":["x"]}}`, `"x" is on both sides`},
	} {
		_, err := Parse([]byte(`{"app":"shop","environments":{"prod":{"blue_green":` + tt.bg + `}}}`))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "environment prod") {
			t.Errorf("%s: error = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

// TestSideGroups: a blue/green side's Auto Scaling groups belong to its
// environment and say their side.
func TestSideGroups(t *testing.T) {
	c := &Config{App: "demo", Environments: map[string]Environment{
		"production": {AutoScalingGroups: []string{"asg-prod"}, BlueGreen: &BlueGreen{Listener: "l",
			Blue: Side{TargetGroup: "tg-b", AutoScalingGroups: []string{"asg-blue"}}, Green: Side{TargetGroup: "tg-g", Tags: map[string]string{"side": "green"}, AutoScalingGroups: []string{"asg-green", "asg-prod"}}}},
		"staging": {AutoScalingGroups: []string{"asg-staging"}},
	}}
	for group, want := range map[string]string{"asg-blue": "production", "asg-green": "production", "asg-prod": "production", "asg-staging": "staging"} {
		if env, ok := c.EnvironmentOfGroup(group); !ok || env != want {
			t.Errorf("EnvironmentOfGroup(%s) = %s, %v; want %s", group, env, ok, want)
		}
	}
	if _, ok := c.EnvironmentOfGroup("other"); ok {
		t.Error("EnvironmentOfGroup(other) found an environment")
	}
	p := c.Environments["production"]
	if p.SideOfGroup("asg-blue") != Blue || p.SideOfGroup("asg-green") != Green || p.SideOfGroup("asg-x") != "" || c.Environments["staging"].SideOfGroup("asg-staging") != "" {
		t.Error("SideOfGroup does not name the sides' groups")
	}
}
