package manifest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSmoke(t *testing.T) {
	y := base + `smoke:
  - name: list orders
    path: /api/orders?limit=1
    headers: {Accept: application/json}
    body_contains: orders
    json: {count: 3, items.0.status: open, ok: true}
    max_latency: 300ms
  - name: create order
    method: post
    path: /api/orders
    body: '{"sku": "A1"}'
    expect_status: 201
`
	m, err := Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	want := []SmokeCheck{
		{Name: "list orders", Method: "GET", Path: "/api/orders?limit=1", Headers: map[string]string{"Accept": "application/json"},
			ExpectStatus: 200, BodyContains: "orders", JSON: map[string]any{"count": 3, "items.0.status": "open", "ok": true},
			MaxLatency: Duration{300 * time.Millisecond}},
		{Name: "create order", Method: "POST", Path: "/api/orders", Body: `{"sku": "A1"}`, ExpectStatus: 201, MaxLatency: Duration{DefaultSmokeLatency}},
	}
	if d := cmp.Diff(want, m.Smoke); d != "" {
		t.Errorf("Parse smoke (-want +got):\n%s", d)
	}
}

func TestParseSmokeErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"no name", "smoke:\n  - path: /\n", []string{"smoke[0].name", "needs a name"}},
		{"same name twice", "smoke:\n  - name: a\n    path: /\n  - name: a\n    path: /x\n", []string{"smoke[1].name", "also the name of smoke check 1"}},
		{"relative path", "smoke:\n  - name: a\n    path: api\n", []string{"smoke[0].path", "must start with /"}},
		{"unknown method", "smoke:\n  - name: a\n    path: /\n    method: FETCH\n", []string{"smoke[0].method", `"FETCH" is not one of GET`}},
		{"body on a GET", "smoke:\n  - name: a\n    path: /\n    body: x\n", []string{"smoke[0].body", "GET request carries no body"}},
		{"bad status", "smoke:\n  - name: a\n    path: /\n    expect_status: 99\n", []string{"smoke[0].expect_status", "99 is not an HTTP status"}},
		{"latency too long", "smoke:\n  - name: a\n    path: /\n    max_latency: 1m\n", []string{"smoke[0].max_latency", "longer than 30s"}},
		{"latency not a duration", "smoke:\n  - name: a\n    path: /\n    max_latency: fast\n", []string{"smoke[0].max_latency", "not a duration"}},
		{"bad JSON path", "smoke:\n  - name: a\n    path: /\n    json: {\"items..id\": 1}\n", []string{"smoke[0].json", `"items..id" is not a dotted path`}},
		{"Host header", "smoke:\n  - name: a\n    path: /\n    headers: {Host: x}\n", []string{"smoke[0].headers", "Host is set by Slipway"}},
		{"unknown key", "smoke:\n  - name: a\n    path: /\n    status: 200\n", []string{"smoke[0]", "status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := base + tt.yaml
			_, err := Parse([]byte(y))
			checkErr(t, y, err, tt.want)
		})
	}
}
