package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Write([]byte(`{"status":"ok","version":"v2"}`))
		case "/old":
			w.Write([]byte(`{"status":"ok","version":"v1"}`))
		case "/broken":
			w.WriteHeader(500)
			w.Write([]byte(`{"status":"error","version":"v2","error":"no such table"}`))
		case "/text":
			w.Write([]byte(`OK`))
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	p := NewProber(time.Second)
	tests := []struct {
		path        string
		wantHealthy bool
		wantProblem string
	}{
		{"/ok", true, ""},
		{"/old", false, `serves version "v1", want "v2"`},
		{"/broken", false, "answered HTTP 500, want 200"},
		{"/text", false, `serves version "", want "v2"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := p.Probe(context.Background(), "i-1", addr, tt.path, 200, "v2")
			if r.Healthy != tt.wantHealthy || !strings.Contains(r.Problem, tt.wantProblem) {
				t.Errorf("Probe(%s) = healthy %v problem %q, want %v %q", tt.path, r.Healthy, r.Problem, tt.wantHealthy, tt.wantProblem)
			}
		})
	}
	r := p.Probe(context.Background(), "i-2", "127.0.0.1:1", "/ok", 200, "v2")
	if r.Healthy || !strings.Contains(r.Problem, "no answer") {
		t.Errorf("Probe(closed port) = %+v, want no answer", r)
	}
}

func TestAlarmFile(t *testing.T) {
	f := &AlarmFile{Path: filepath.Join(t.TempDir(), "alarms.json")}
	ctx := context.Background()
	got, err := f.States(ctx, []string{"a"})
	if err != nil || len(got) != 1 || got[0].State != StateOK {
		t.Fatalf("States(no file) = %+v, %v; want a OK", got, err)
	}
	if err := f.Set("a", StateAlarm, "5xx above 1%"); err != nil {
		t.Fatal(err)
	}
	got, _ = f.States(ctx, []string{"a", "b"})
	firing := Firing(got)
	if len(firing) != 1 || firing[0].Name != "a" || firing[0].Reason != "5xx above 1%" {
		t.Errorf("Firing = %+v, want a in ALARM with its reason", firing)
	}
}
