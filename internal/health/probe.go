package health

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Result is one probe of one instance.
type Result struct {
	InstanceID string `json:"instance_id"`
	URL        string `json:"url"`
	Status     int    `json:"status"`
	Version    string `json:"version"`
	Healthy    bool   `json:"healthy"`
	Problem    string `json:"problem,omitempty"`
}

// Prober probes instances over HTTP.
type Prober struct {
	Client *http.Client
}

// NewProber returns a prober whose requests time out after timeout.
func NewProber(timeout time.Duration) *Prober {
	return &Prober{Client: &http.Client{Timeout: timeout}}
}

// Probe asks http://addr+path and checks the status and the "version" field
// of the JSON body.
func (p *Prober) Probe(ctx context.Context, instanceID, addr, path string, expectStatus int, expectVersion string) Result {
	r := Result{InstanceID: instanceID, URL: "http://" + addr + path}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	req.Header.Set("User-Agent", "slipway-probe")
	resp, err := p.Client.Do(req)
	if err != nil {
		r.Problem = fmt.Sprintf("no answer: %v", err)
		return r
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	r.Status = resp.StatusCode
	var doc struct {
		Version string `json:"version"`
	}
	if json.Unmarshal(body, &doc) == nil {
		r.Version = doc.Version
	}
	switch {
	case r.Status != expectStatus:
		r.Problem = fmt.Sprintf("answered HTTP %d, want %d: %s", r.Status, expectStatus, snippet(body))
	case r.Version != expectVersion:
		r.Problem = fmt.Sprintf("serves version %q, want %q (an old process is still answering?)", r.Version, expectVersion)
	default:
		r.Healthy = true
	}
	return r
}

func snippet(b []byte) string {
	const max = 200
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
