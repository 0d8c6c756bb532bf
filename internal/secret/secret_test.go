package secret

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

const sentinel = "correct-horse-battery-staple"

func TestValueNeverPrints(t *testing.T) {
	v := NewValue(sentinel)
	db := Database{Engine: "postgres", Host: "db", Port: 5432, Username: "app", Password: v, DBName: "app"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("connecting", "password", v, "db", db)
	j, _ := json.Marshal(db)
	outputs := map[string]string{
		"%v": fmt.Sprintf("%v", v),
		//lint:ignore S1025 the test checks what the %s verb prints
		"%s":     fmt.Sprintf("%s", v),
		"%+v":    fmt.Sprintf("%+v", db),
		"%#v":    fmt.Sprintf("%#v", db),
		"String": db.String(),
		"json":   string(j),
		"slog":   logs.String(),
		"error":  fmt.Errorf("connect: %v", db).Error(),
	}
	for name, out := range outputs {
		if strings.Contains(out, sentinel) {
			t.Errorf("%s prints the secret: %s", name, out)
		}
	}
	if v.Reveal() != sentinel {
		t.Errorf("Reveal() = %q, want the value", v.Reveal())
	}
	if got := Scrub("auth failed for "+sentinel, v); strings.Contains(got, sentinel) {
		t.Errorf("Scrub left the secret in %q", got)
	}
}

func TestParseDatabase(t *testing.T) {
	tests := []struct {
		name, raw, wantErr, wantURL string
	}{
		{"postgres", `{"engine":"postgres","host":"h","port":5432,"username":"u","password":"p@ss","dbname":"d"}`, "", "postgres://u:p%40ss@h:5432/d"},
		{"port as string", `{"engine":"mysql","host":"h","port":"3307","username":"u","password":"p","dbname":"d"}`, "", "u:p@tcp(h:3307)/d"},
		{"sqlite", `{"engine":"sqlite","path":"/tmp/x.db"}`, "", "/tmp/x.db"},
		{"unknown engine", `{"engine":"oracle","host":"h","username":"u"}`, `engine "oracle" is not supported`, ""},
		{"missing host", `{"engine":"postgres","username":"u","password":"` + sentinel + `"}`, "missing host", ""},
		{"not json", `{"password":"` + sentinel + `",`, "not an RDS-style JSON secret", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDatabase("db-secret", NewValue(tt.raw))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseDatabase() error = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), sentinel) {
					t.Errorf("the error quotes the secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := d.URL(); got != tt.wantURL {
				t.Errorf("URL() = %q, want %q", got, tt.wantURL)
			}
		})
	}
}

func TestFile(t *testing.T) {
	ctx := context.Background()
	f := &File{Path: filepath.Join(t.TempDir(), "secrets.json")}
	var nf *NotFoundError
	if _, err := f.Get(ctx, "db"); !errors.As(err, &nf) {
		t.Errorf("Get(missing file) error = %v, want *NotFoundError", err)
	}
	if err := f.Put("db", `{"engine":"sqlite","path":"x"}`); err != nil {
		t.Fatal(err)
	}
	v, err := f.Get(ctx, "db")
	if err != nil || v.Reveal() != `{"engine":"sqlite","path":"x"}` {
		t.Errorf("Get(db) = %q, %v", v.Reveal(), err)
	}
	if _, err := f.Get(ctx, "other"); !errors.As(err, &nf) || !strings.Contains(err.Error(), "create it") {
		t.Errorf("Get(other) error = %v, want a NotFoundError saying what to do", err)
	}
}
