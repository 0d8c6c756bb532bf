package status

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/cli/backend"
	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
)

// withDeadLetters is a backend with a dead-letter queue, as AWS's is.
type withDeadLetters struct {
	*backendtest.Fake
	d   backend.DeadLetters
	err error
}

func (w *withDeadLetters) DeadLetters(context.Context) (backend.DeadLetters, error) {
	return w.d, w.err
}

func TestStatusDeadLetters(t *testing.T) {
	const url = "https://sqs.eu-west-1.amazonaws.com/111111111111/slipway-shop-dead-letters"
	tests := []struct {
		name     string
		backend  func(f *backendtest.Fake) backend.Backend
		wantLine string // "" for no dead-letter line
	}{
		{"two waiting", func(f *backendtest.Fake) backend.Backend {
			return &withDeadLetters{Fake: f, d: backend.DeadLetters{Queue: url, Waiting: 2}}
		}, "dead letters: 2 WAITING (events that did not reach Slipway, or that a trigger failed on): read them with aws sqs receive-message --queue-url " + url},
		{"one being read", func(f *backendtest.Fake) backend.Backend {
			return &withDeadLetters{Fake: f, d: backend.DeadLetters{Queue: url, InFlight: 1}}
		}, "dead letters: 1 WAITING (an event that did not reach Slipway"},
		{"none", func(f *backendtest.Fake) backend.Backend {
			return &withDeadLetters{Fake: f, d: backend.DeadLetters{Queue: url}}
		}, "dead letters: none"},
		{"queue not configured", func(f *backendtest.Fake) backend.Backend {
			return &withDeadLetters{Fake: f, err: &backend.MissingSettingError{Name: backend.EnvDeadLetterQueue, What: "the URL of the stack's dead-letter queue", Where: "it is the stack's DeadLetterQueueUrl output"}}
		}, "dead letters: not read: SLIPWAY_DEAD_LETTER_QUEUE is not set: it is the URL of the stack's dead-letter queue; it is the stack's DeadLetterQueueUrl output"},
		{"a backend without a queue", func(f *backendtest.Fake) backend.Backend { return f }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := backendtest.New(t)
			b := tt.backend(f)
			io, out, _ := backendtest.IO()
			opts := &Options{IO: io, Backend: func(context.Context) (backend.Backend, error) { return b, nil }, Now: time.Now}
			if err := run(context.Background(), opts); err != nil {
				t.Fatalf("run() error = %v", err)
			}
			got := ""
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.HasPrefix(l, "dead letters:") {
					got = l
				}
			}
			if !strings.HasPrefix(got, tt.wantLine) || (tt.wantLine == "") != (got == "") {
				t.Errorf("status dead-letter line = %q, want %q", got, tt.wantLine)
			}

			io, out, _ = backendtest.IO()
			opts.IO, opts.JSON = io, true
			if err := run(context.Background(), opts); err != nil {
				t.Fatal(err)
			}
			var envs []Environment
			if err := json.Unmarshal(out.Bytes(), &envs); err != nil {
				t.Fatal(err)
			}
			for _, e := range envs {
				if has := e.DeadLetters != nil || e.DeadLettersNote != ""; has != (tt.wantLine != "") {
					t.Errorf("status --json %s: dead_letters = %+v, note %q; want them: %v", e.Environment, e.DeadLetters, e.DeadLettersNote, tt.wantLine != "")
				}
			}
		})
	}
}
