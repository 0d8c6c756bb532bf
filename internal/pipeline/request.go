package pipeline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/slipway-deploy/slipway/internal/artifact"
	"github.com/slipway-deploy/slipway/internal/contract"
)

// request is the part of a deploy or rollback request every stage needs.
type request struct {
	App, Environment, Version, ToVersion string
	Trigger                              contract.Trigger
	OverrideFreeze                       bool
	// ConfigOnly deploys a new configuration to the release that serves.
	ConfigOnly bool
}

// decodeRequest reads an execution input strictly and says exactly what is
// wrong with a malformed one.
func decodeRequest(raw json.RawMessage, kind string) (request, error) {
	example := `{"app":"demo","environment":"staging","version":"v2"}`
	if kind == contract.KindRollback {
		example = `{"app":"demo","environment":"staging"}`
	}
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return request{}, fmt.Errorf("%s request is empty: start the execution with input such as %s", kind, example)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var r request
	var err error
	if kind == contract.KindRollback {
		var in contract.RollbackRequest
		err = dec.Decode(&in)
		r = request{App: in.App, Environment: in.Environment, ToVersion: in.ToVersion, Trigger: in.Trigger}
	} else {
		var in contract.DeployRequest
		err = dec.Decode(&in)
		r = request{App: in.App, Environment: in.Environment, Version: in.Version, Trigger: in.Trigger, OverrideFreeze: in.OverrideFreeze, ConfigOnly: in.ConfigOnly}
	}
	if err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te):
			return request{}, fmt.Errorf("%s request: field %q: want %s, got %s; a valid request looks like %s", kind, te.Field, te.Type, te.Value, example)
		case errors.As(err, &se):
			return request{}, fmt.Errorf("%s request is not valid JSON (offset %d): %v", kind, se.Offset, err)
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return request{}, fmt.Errorf("%s request: %s; a valid request looks like %s", kind, strings.TrimPrefix(err.Error(), "json: "), example)
		default:
			return request{}, fmt.Errorf("%s request: %v; a valid request looks like %s", kind, err, example)
		}
	}
	var missing []string
	if r.App == "" {
		missing = append(missing, "app")
	}
	if r.Environment == "" {
		missing = append(missing, "environment")
	}
	if kind != contract.KindRollback && r.Version == "" && !r.ConfigOnly {
		missing = append(missing, "version")
	}
	if len(missing) > 0 {
		return r, fmt.Errorf("%s request: missing %s; a valid request looks like %s", kind, strings.Join(missing, ", "), example)
	}
	if r.OverrideFreeze && strings.TrimSpace(r.Trigger.Reason) == "" {
		return r, fmt.Errorf("%s request: override_freeze needs a reason (trigger.reason): say why this cannot wait", kind)
	}
	for _, v := range []string{r.Version, r.ToVersion} {
		if v != "" {
			if err := artifact.ValidVersion(v); err != nil {
				return r, fmt.Errorf("%s request: %w", kind, err)
			}
		}
	}
	return r, nil
}

// lenientRequest reads what it can of a request, for the record of a run
// whose request was malformed.
func lenientRequest(raw json.RawMessage) request {
	var in struct {
		App         any              `json:"app"`
		Environment any              `json:"environment"`
		Version     any              `json:"version"`
		ToVersion   any              `json:"to_version"`
		Trigger     contract.Trigger `json:"trigger"`
	}
	_ = json.Unmarshal(raw, &in)
	str := func(v any) string {
		if s, ok := v.(string); ok {
			return s
		}
		return ""
	}
	return request{App: str(in.App), Environment: str(in.Environment), Version: str(in.Version), ToVersion: str(in.ToVersion), Trigger: in.Trigger}
}
