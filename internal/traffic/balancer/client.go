package balancer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"time"

	"github.com/slipway-deploy/slipway/internal/traffic"
)

// ErrNotRunning is returned by Dial when no balancer answers for a directory.
var ErrNotRunning = errors.New("the embedded load balancer is not running")

// Client talks to a balancer's control API. It implements traffic.Port;
// listeners are named after environments, target groups "<env>",
// "<env>-blue" or "<env>-green".
type Client struct {
	Dir  string
	base string
	hc   *http.Client
}

var _ traffic.Port = (*Client)(nil)

// Dial finds the balancer of dir through its state file and checks that it
// answers.
func Dial(dir string) (*Client, error) {
	st, err := loadState(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && st.ControlPort == 0) {
		return nil, fmt.Errorf("%w in %s: start it with `slipway local balancer start`", ErrNotRunning, dir)
	}
	if err != nil {
		return nil, err
	}
	c := &Client{Dir: dir, base: "http://127.0.0.1:" + strconv.Itoa(st.ControlPort), hc: &http.Client{Timeout: 30 * time.Second}}
	if PID(dir) == 0 {
		return nil, fmt.Errorf("%w in %s: start it with `slipway local balancer start`", ErrNotRunning, dir)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.Status(ctx); err != nil {
		return nil, fmt.Errorf("%w in %s (%v): start it with `slipway local balancer start`", ErrNotRunning, dir, err)
	}
	return c, nil
}

// Error is an answer of the control API other than success.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("balancer %s: %w", filepath.Base(c.Dir), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		var eb errorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error == "" {
			eb.Error = resp.Status
		}
		return &Error{Status: resp.StatusCode, Message: eb.Error}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func seg(name string) string { return url.PathEscape(name) }

// Status returns the balancer's process id, groups and listeners.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, "/v1/status", nil, &st)
	return st, err
}

// CreateGroup creates a target group, or changes its settings; zero fields
// of g take the defaults.
func (c *Client) CreateGroup(ctx context.Context, name string, g Group) error {
	if err := c.do(ctx, http.MethodPut, "/v1/groups/"+seg(name), g, nil); err != nil {
		return fmt.Errorf("create target group %s: %w", name, err)
	}
	return nil
}

// Group returns a target group's settings.
func (c *Client) Group(ctx context.Context, name string) (Group, error) {
	var g Group
	if err := c.do(ctx, http.MethodGet, "/v1/groups/"+seg(name), nil, &g); err != nil {
		return Group{}, fmt.Errorf("describe target group %s: %w", name, err)
	}
	return g, nil
}

// Targets returns every target registered in group with its state.
func (c *Client) Targets(ctx context.Context, group string) ([]traffic.TargetHealth, error) {
	var ts []traffic.TargetHealth
	if err := c.do(ctx, http.MethodGet, "/v1/groups/"+seg(group)+"/targets", nil, &ts); err != nil {
		return nil, fmt.Errorf("describe targets of %s: %w", group, err)
	}
	return ts, nil
}

// Register puts targets into group; they start initial and turn healthy
// once the balancer's health checks pass.
func (c *Client) Register(ctx context.Context, group string, targets []traffic.Target) error {
	if err := c.do(ctx, http.MethodPost, "/v1/groups/"+seg(group)+"/register", TargetsRequest{targets}, nil); err != nil {
		return fmt.Errorf("register targets in %s: %w", group, err)
	}
	return nil
}

// Deregister takes targets out of group: they drain, then disappear.
func (c *Client) Deregister(ctx context.Context, group string, targets []traffic.Target) error {
	if err := c.do(ctx, http.MethodPost, "/v1/groups/"+seg(group)+"/deregister", TargetsRequest{targets}, nil); err != nil {
		return fmt.Errorf("deregister targets from %s: %w", group, err)
	}
	return nil
}

// DeregistrationDelay is how long group lets a deregistered target drain.
func (c *Client) DeregistrationDelay(ctx context.Context, group string) (time.Duration, error) {
	g, err := c.Group(ctx, group)
	return time.Duration(g.DeregistrationDelay), err
}

// CreateListener creates a listener on port (0: any free port) forwarding
// to groups by weight, or sets an existing listener's weights.
func (c *Client) CreateListener(ctx context.Context, name string, port int, weights map[string]int) (Listener, error) {
	var l Listener
	if err := c.do(ctx, http.MethodPut, "/v1/listeners/"+seg(name), Listener{Port: port, Weights: weights}, &l); err != nil {
		return Listener{}, fmt.Errorf("create listener %s: %w", name, err)
	}
	return l, nil
}

// Listener returns a listener's port and weights.
func (c *Client) Listener(ctx context.Context, name string) (Listener, error) {
	var l Listener
	if err := c.do(ctx, http.MethodGet, "/v1/listeners/"+seg(name), nil, &l); err != nil {
		return Listener{}, fmt.Errorf("describe listener %s: %w", name, err)
	}
	return l, nil
}

// Endpoint returns the URL a listener serves on, http://127.0.0.1:PORT.
func (c *Client) Endpoint(ctx context.Context, listener string) (string, error) {
	l, err := c.Listener(ctx, listener)
	if err != nil {
		return "", err
	}
	return "http://127.0.0.1:" + strconv.Itoa(l.Port), nil
}

// Weights returns the weight of each target group listener forwards to.
func (c *Client) Weights(ctx context.Context, listener string) (map[string]int, error) {
	l, err := c.Listener(ctx, listener)
	return l.Weights, err
}

// SetWeights sets listener's weighted forward in one call.
func (c *Client) SetWeights(ctx context.Context, listener string, weights map[string]int) error {
	if err := c.do(ctx, http.MethodPut, "/v1/listeners/"+seg(listener)+"/weights", WeightsRequest{weights}, nil); err != nil {
		return fmt.Errorf("set weights of listener %s: %w", listener, err)
	}
	return nil
}

// Counters returns every listener's and target's request counters.
func (c *Client) Counters(ctx context.Context) (Counters, error) {
	var cs Counters
	err := c.do(ctx, http.MethodGet, "/v1/counters", nil, &cs)
	return cs, err
}
