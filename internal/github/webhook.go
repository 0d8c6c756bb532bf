package github

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/slipway-deploy/slipway/internal/config"
	"github.com/slipway-deploy/slipway/internal/secret"
	"github.com/slipway-deploy/slipway/internal/trigger"
)

// The headers GitHub sends with every delivery. A Function URL event
// carries header names in lower case.
const (
	HeaderSignature = "X-Hub-Signature-256"
	HeaderEvent     = "X-GitHub-Event"
	HeaderDelivery  = "X-GitHub-Delivery"
)

// Source names GitHub among the ledger's delivery sources.
const Source = "github"

// SecretName is the Secrets Manager secret holding an app's webhook
// secret; the stack creates it.
func SecretName(app string) string { return "slipway/" + app + "/github-webhook" }

// Secrets fetch the webhook secret (secret.Manager, cached per container).
type Secrets interface {
	Get(ctx context.Context, name string) (secret.Value, error)
}

// Deliveries remember the deliveries acted on (ledger.Dynamo).
type Deliveries interface {
	ClaimDelivery(ctx context.Context, app, source, id string, at time.Time) (bool, error)
	ReleaseDelivery(ctx context.Context, app, source, id string) error
}

// Bus takes push events to the push router (EventBus).
type Bus interface {
	PutPush(ctx context.Context, p trigger.GitPush) error
}

// Receiver handles GitHub webhook deliveries.
type Receiver struct {
	Config     *config.Config
	Secrets    Secrets
	SecretName string
	Deliveries Deliveries
	Bus        Bus
	Now        func() time.Time
	Log        *slog.Logger
}

// Answer is the JSON body of every response: GitHub shows it in the
// webhook's "Recent Deliveries".
type Answer struct {
	// Action is what the receiver did: forwarded, pong, ignored,
	// duplicate, unauthorized, refused or error.
	Action  string `json:"action"`
	Message string `json:"message"`
	// Delivery is X-GitHub-Delivery, once the signature is verified.
	Delivery string `json:"delivery,omitempty"`
	// Push is the event put on the bus.
	Push *trigger.GitPush `json:"push,omitempty"`
}

// pushPayload is the part of GitHub's push payload Slipway reads.
type pushPayload struct {
	Ref        string `json:"ref"`
	After      string `json:"after"`
	Deleted    bool   `json:"deleted"`
	Repository struct {
		Name     string `json:"name"`
		FullName string `json:"full_name"`
	} `json:"repository"`
	Pusher struct {
		Name string `json:"name"`
	} `json:"pusher"`
	HeadCommit *struct {
		Timestamp time.Time `json:"timestamp"`
	} `json:"head_commit"`
}

const zeroCommit = "0000000000000000000000000000000000000000"

// Handle answers one delivery. It returns no error: every outcome is an
// HTTP answer GitHub records (a Lambda error would be a bare 502).
func (r *Receiver) Handle(ctx context.Context, req events.LambdaFunctionURLRequest) (events.LambdaFunctionURLResponse, error) {
	log := r.log().With("source_ip", req.RequestContext.HTTP.SourceIP)
	body := []byte(req.Body)
	if req.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			return answer(http.StatusBadRequest, Answer{Action: "refused", Message: "the body is not valid base64"}), nil
		}
		body = b
	}
	// Nothing is read from an unverified delivery, nor recorded for it:
	// its headers and body may be anyone's.
	sig := header(req, HeaderSignature)
	if sig == "" {
		log.Warn("webhook delivery refused: no signature")
		return answer(http.StatusUnauthorized, Answer{Action: "unauthorized",
			Message: "no " + HeaderSignature + " header: give the webhook the secret in Secrets Manager " + r.SecretName}), nil
	}
	key, err := r.Secrets.Get(ctx, r.SecretName)
	if err != nil {
		// The error names the secret, never its value (secret.Value).
		log.Error("webhook delivery not verified: the secret is unavailable", "err", err)
		return answer(http.StatusInternalServerError, Answer{Action: "error", Message: "the webhook secret could not be read; see the function's log"}), nil
	}
	if !Verify([]byte(key.Reveal()), body, sig) {
		log.Warn("webhook delivery refused: the signature does not match")
		return answer(http.StatusUnauthorized, Answer{Action: "unauthorized",
			Message: HeaderSignature + " does not match the body: the webhook's secret is not the one in Secrets Manager " + r.SecretName}), nil
	}

	delivery, event := header(req, HeaderDelivery), header(req, HeaderEvent)
	log = log.With("delivery", delivery, "event", event)
	refuse := func(status int, format string, a ...any) (events.LambdaFunctionURLResponse, error) {
		msg := fmt.Sprintf(format, a...)
		log.Warn("webhook delivery refused", "reason", msg)
		return answer(status, Answer{Action: "refused", Message: msg, Delivery: delivery}), nil
	}
	ignore := func(format string, a ...any) (events.LambdaFunctionURLResponse, error) {
		msg := fmt.Sprintf(format, a...)
		log.Info("webhook delivery ignored", "reason", msg)
		return answer(http.StatusAccepted, Answer{Action: "ignored", Message: msg, Delivery: delivery}), nil
	}
	if delivery == "" || event == "" {
		return refuse(http.StatusBadRequest, "a delivery needs the %s and %s headers", HeaderEvent, HeaderDelivery)
	}
	if ct := header(req, "Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return refuse(http.StatusUnsupportedMediaType, "content type %s: set the webhook's content type to application/json", mt)
		}
	}
	switch event {
	case "ping":
		return answer(http.StatusOK, Answer{Action: "pong", Message: "the webhook reaches Slipway and its secret matches", Delivery: delivery}), nil
	case "push":
	default:
		return ignore("%s events are not used: Slipway deploys pushes (send just the push event)", event)
	}

	var p pushPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return refuse(http.StatusBadRequest, "the push payload is not JSON: %v", err)
	}
	if p.Ref == "" || p.After == "" || p.Repository.Name == "" {
		return refuse(http.StatusBadRequest, "the push payload lacks ref, after or repository.name")
	}
	branch, isBranch := strings.CutPrefix(p.Ref, "refs/heads/")
	if !isBranch {
		return ignore("push of %s ignored: releases deploy from branches, not tags", p.Ref)
	}
	if p.Deleted || p.After == zeroCommit {
		return ignore("branch %s was deleted: nothing to deploy", branch)
	}
	repo := r.repository(p)
	if repo == "" {
		return ignore("push to %s ignored: neither %q nor %q is in triggers.repositories of the Slipway configuration", branch, p.Repository.Name, p.Repository.FullName)
	}
	env, ok := r.Config.Triggers.Branches[branch]
	if !ok {
		return ignore("push to branch %s of %s ignored: no environment is mapped to it (triggers.branches)", branch, repo)
	}
	claimed, err := r.Deliveries.ClaimDelivery(ctx, r.Config.App, Source, delivery, r.now())
	if err != nil {
		log.Error("webhook delivery not forwarded", "err", err)
		return answer(http.StatusInternalServerError, Answer{Action: "error", Message: "the delivery could not be recorded; redeliver it", Delivery: delivery}), nil
	}
	if !claimed {
		return answer(http.StatusOK, Answer{Action: "duplicate", Delivery: delivery,
			Message: fmt.Sprintf("delivery %s was received before: its push is not forwarded again", delivery)}), nil
	}
	push := trigger.GitPush{Repository: repo, Branch: branch, Commit: p.After, Pusher: p.Pusher.Name, App: r.Config.App}
	if p.HeadCommit != nil {
		push.CommittedAt = p.HeadCommit.Timestamp.UTC()
	}
	if err := r.Bus.PutPush(ctx, push); err != nil {
		// Forget the delivery, so that GitHub's redelivery is forwarded.
		if rerr := r.Deliveries.ReleaseDelivery(ctx, r.Config.App, Source, delivery); rerr != nil {
			log.Error("webhook delivery not released", "err", rerr)
		}
		log.Error("webhook delivery not forwarded", "err", err)
		return answer(http.StatusBadGateway, Answer{Action: "error", Message: "the push event could not be put on EventBridge; redeliver it", Delivery: delivery}), nil
	}
	msg := fmt.Sprintf("push of %s to %s of %s forwarded: the push router deploys it to %s once its release is published", trigger.ShortCommit(p.After), branch, repo, env)
	log.Info("webhook push forwarded", "repository", repo, "branch", branch, "commit", p.After, "environment", env)
	return answer(http.StatusAccepted, Answer{Action: "forwarded", Message: msg, Delivery: delivery, Push: &push}), nil
}

// Verify reports whether signature ("sha256=<hex>", X-Hub-Signature-256)
// is the HMAC-SHA256 of body with key, comparing in constant time.
func Verify(key, body []byte, signature string) bool {
	h, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(h)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), got)
}

// Sign returns the X-Hub-Signature-256 value of body with key, as GitHub
// computes it.
func Sign(key, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// repository is the name of the pushed repository as triggers.repositories
// lists it (its name, or owner/name), "" when it is not listed.
func (r *Receiver) repository(p pushPayload) string {
	for _, name := range []string{p.Repository.FullName, p.Repository.Name} {
		if name != "" && slices.Contains(r.Config.Triggers.Repositories, name) {
			return name
		}
	}
	return ""
}

// header reads a request header whatever the case of its name.
func header(req events.LambdaFunctionURLRequest, name string) string {
	if v, ok := req.Headers[strings.ToLower(name)]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func answer(status int, a Answer) events.LambdaFunctionURLResponse {
	b, _ := json.Marshal(a)
	return events.LambdaFunctionURLResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json"}, Body: string(b) + "\n"}
}

func (r *Receiver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Receiver) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}
