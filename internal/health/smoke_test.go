package health

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/contract"
)

func TestSmoke(t *testing.T) {
	const token = "s3cr3t-token-value"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/orders":
			if r.Header.Get("Authorization") != "Bearer "+token {
				w.WriteHeader(401)
				return
			}
			w.Write([]byte(`{"count":3,"items":[{"id":7,"status":"open"}],"ok":true}`))
		case "/echo":
			b, _ := io.ReadAll(r.Body)
			w.WriteHeader(201)
			w.Write([]byte(r.Method + " " + string(b)))
		case "/leak":
			w.WriteHeader(500)
			w.Write([]byte(`{"error":"bad token ` + token + `"}`))
		case "/slow":
			time.Sleep(150 * time.Millisecond)
			w.Write([]byte("ok"))
		case "/big":
			w.Write([]byte(strings.Repeat("x", 1000)))
		}
	}))
	defer srv.Close()
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	auth := map[string]string{"Authorization": "Bearer " + token}
	redact := NewRedactor(map[string]string{"API_TOKEN": token})
	tests := []struct {
		name        string
		check       contract.SmokeCheck
		wantOK      bool
		wantProblem string
		wantAnswer  string
	}{
		{name: "status, substring and JSON paths match",
			check:  contract.SmokeCheck{Path: "/orders", Headers: auth, ExpectStatus: 200, BodyContains: `"open"`, JSON: map[string]json.RawMessage{"count": raw("3.0"), "items.0.id": raw("7"), "ok": raw("true")}, MaxLatencyMS: 2000},
			wantOK: true},
		{name: "a JSON path with another value",
			check:       contract.SmokeCheck{Path: "/orders", Headers: auth, ExpectStatus: 200, JSON: map[string]json.RawMessage{"items.0.status": raw(`"closed"`), "items.1.id": raw("8")}},
			wantProblem: `items.0.status = "open", want "closed"; items.1.id is absent, want 8`},
		{name: "wrong status",
			check:       contract.SmokeCheck{Path: "/orders", ExpectStatus: 200},
			wantProblem: "status 401, want 200"},
		{name: "missing substring",
			check:       contract.SmokeCheck{Path: "/orders", Headers: auth, ExpectStatus: 200, BodyContains: "closed"},
			wantProblem: `the body does not contain "closed"`},
		{name: "method and body are sent",
			check:  contract.SmokeCheck{Method: "POST", Path: "/echo", Body: "hello", ExpectStatus: 201, BodyContains: "POST hello"},
			wantOK: true},
		{name: "not JSON",
			check:       contract.SmokeCheck{Method: "POST", Path: "/echo", Body: "x", ExpectStatus: 201, JSON: map[string]json.RawMessage{"a": raw("1")}},
			wantProblem: "the body is not JSON, so a cannot be checked"},
		{name: "over the latency ceiling",
			check:       contract.SmokeCheck{Path: "/slow", ExpectStatus: 200, MaxLatencyMS: 50},
			wantProblem: "over the ceiling of 50ms"},
		{name: "a secret in the answer is redacted",
			check:       contract.SmokeCheck{Path: "/leak", ExpectStatus: 200, BodyContains: token},
			wantProblem: `status 500, want 200`, wantAnswer: `{"error":"bad token [redacted API_TOKEN]"}`},
		{name: "the answer is cut",
			check:  contract.SmokeCheck{Path: "/big", ExpectStatus: 200},
			wantOK: true, wantAnswer: strings.Repeat("x", AnswerShown) + "…"},
	}
	p := NewProber(time.Second)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.check.Method == "" {
				tt.check.Method = "GET"
			}
			tt.check.Name = tt.name
			r := p.Smoke(context.Background(), "i-1", srv.URL, tt.check, redact)
			if r.OK != tt.wantOK || !strings.Contains(r.Problem, tt.wantProblem) {
				t.Errorf("Smoke = ok %v, problem %q; want ok %v, problem with %q", r.OK, r.Problem, tt.wantOK, tt.wantProblem)
			}
			if tt.wantAnswer != "" && r.Answer != tt.wantAnswer {
				t.Errorf("Smoke answer = %q, want %q", r.Answer, tt.wantAnswer)
			}
			for _, s := range []string{r.Request, r.Answer, r.Problem, r.Expect} {
				if strings.Contains(s, token) && tt.check.BodyContains != token {
					t.Errorf("Smoke recorded the secret: %q", s)
				}
			}
			if strings.Contains(r.Answer, token) || strings.Contains(r.Problem, token) {
				t.Errorf("Smoke recorded the secret in the answer or the problem: %+v", r)
			}
		})
	}
}

func TestJSONPath(t *testing.T) {
	var doc any
	json.Unmarshal([]byte(`{"a":{"b":[10,{"c":"x"}]},"n":null}`), &doc)
	tests := []struct {
		path   string
		want   any
		wantOK bool
	}{
		{"a.b.0", 10.0, true},
		{"a.b.1.c", "x", true},
		{"n", nil, true},
		{"a.b.2", nil, false},
		{"a.b.x", nil, false},
		{"a.c", nil, false},
		{"a.b.0.z", nil, false},
	}
	for _, tt := range tests {
		got, ok := JSONPath(doc, tt.path)
		if ok != tt.wantOK || got != tt.want {
			t.Errorf("JSONPath(%q) = %v, %v; want %v, %v", tt.path, got, ok, tt.want, tt.wantOK)
		}
	}
}
