package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Index is the conformance folder's index.json: one Entry for each
// execution history LocalStack recorded on AWS.
type Index struct {
	Entries []*Entry `json:"entries"`
}

// Entry is one recorded execution history and what is needed to replay
// it. The field names are index.json's (see the folder's README.md).
type Entry struct {
	ID                string          `json:"id"`
	Area              string          `json:"area"`
	SnapshotFile      string          `json:"snapshot_file"`
	NodeID            string          `json:"node_id"`
	Label             string          `json:"label"`
	TemplateFiles     []string        `json:"template_files"`
	Input             json.RawMessage `json:"input"`
	InputFromTest     json.RawMessage `json:"input_from_test"`
	Expected          *Expected       `json:"expected"`
	EventTypes        []string        `json:"event_types"`
	UsesTasks         bool            `json:"uses_tasks"`
	AWSValidated      bool            `json:"aws_validated"`
	QueryLanguage     string          `json:"query_language"`
	Patches           []Patch         `json:"definition_patches"`
	Normalised        bool            `json:"parallel_events_normalised"`
	Orphaned          string          `json:"orphaned_snapshot_entry"`
	Incomplete        bool            `json:"incomplete_history"`
	ReplayReady       bool            `json:"replay_ready"`
	HistoryReversed   bool            `json:"history_reversed_in_snapshot"`
	MixedQueryLang    bool            `json:"mixed_query_language"`
	InputJSONText     bool            `json:"input_recorded_as_json_text"`
	DefinitionSource  string          `json:"definition_source"`
	FinalEventType    string          `json:"final_event_type"`
	SkipVerifyPaths   []string        `json:"skip_verify_paths"`
	InputMasked       bool            `json:"input_masked"`
	ExecutedTemplate  string          `json:"executed_template"`
	AuxiliaryTemplate []string        `json:"auxiliary_templates"`
}

// Expected is the recorded outcome: Output when the execution succeeded,
// Error and Cause when it failed.
type Expected struct {
	Output json.RawMessage `json:"output,omitempty"`
	// Error and Cause are JSON strings, or, where the recorder parsed a
	// cause that held a JSON object, that object.
	Error  json.RawMessage `json:"error,omitempty"`
	Cause  json.RawMessage `json:"cause,omitempty"`
	Status string          `json:"status,omitempty"`
}

// failed reports whether the recorded execution failed.
func (x *Expected) failed() bool { return x.Error != nil || x.Cause != nil }

// textMatches compares a recorded error or cause with the engine's text.
func textMatches(want json.RawMessage, got string) bool {
	if len(want) == 0 || string(want) == "null" {
		return got == ""
	}
	w, err := decode(want)
	if err != nil {
		return false
	}
	if s, ok := w.(string); ok {
		return MaskedEqual(s, got)
	}
	g, err := decode([]byte(got))
	return err == nil && MaskedEqual(w, g)
}

// Patch is one change a test made to its template before it ran it.
type Patch struct {
	Op       string          `json:"op"`
	Path     []any           `json:"path"`
	Value    json.RawMessage `json:"value"`
	Args     json.RawMessage `json:"args"`
	Old      string          `json:"old"`
	New      *string         `json:"new"`
	Applies  *bool           `json:"applies"`
	Known    *bool           `json:"value_known"`
	NewKnown *bool           `json:"new_known"`
}

// known reports whether the patch's value was known when the index was
// built (a Lambda ARN made at run time is not).
func (p Patch) known() bool {
	return (p.Known == nil || *p.Known) && (p.NewKnown == nil || *p.NewKnown)
}

// LoadIndex reads index.json from the conformance folder dir.
func LoadIndex(dir string) (*Index, error) {
	data, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil {
		return nil, fmt.Errorf("read conformance index: %w", err)
	}
	var ix Index
	if err := json.Unmarshal(data, &ix); err != nil {
		return nil, fmt.Errorf("decode conformance index: %w", err)
	}
	return &ix, nil
}

// ErrNoTemplate is returned by Definition for an entry whose definition is
// not in the folder.
var ErrNoTemplate = errors.New("no template for this history")

// errUnknownPatch is a patch whose value the index does not know.
var errUnknownPatch = errors.New("the test patches the definition with a value made at run time")

// Definition returns the entry's definition as JSON: its template with the
// test's patches applied. unknown, when not nil, supplies the values the
// index does not know (by patch); without it such a patch is an error.
func (e *Entry) Definition(dir string, unknown func(Patch) any) ([]byte, error) {
	if len(e.TemplateFiles) == 0 || e.TemplateFiles[0] == "" {
		return nil, ErrNoTemplate
	}
	src, err := os.ReadFile(filepath.Join(dir, e.TemplateFiles[0]))
	if err != nil {
		return nil, fmt.Errorf("read template: %w", err)
	}
	def, err := JSON5ToJSON(src)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", e.TemplateFiles[0], err)
	}
	if len(e.Patches) == 0 {
		return def, nil
	}
	return ApplyPatches(def, e.Patches, unknown)
}

// ApplyPatches applies patches to the JSON definition def in order: set,
// update, append and delete on the parsed document, replace_text on its
// JSON text.
func ApplyPatches(def []byte, patches []Patch, unknown func(Patch) any) ([]byte, error) {
	doc, err := decode(def)
	if err != nil {
		return nil, err
	}
	var texts []Patch
	for _, p := range patches {
		if p.Applies != nil && !*p.Applies {
			continue
		}
		if p.Op == "replace_text" {
			texts = append(texts, p)
			continue
		}
		var value any
		switch {
		case !p.known() && unknown != nil:
			value = unknown(p)
		case !p.known():
			return nil, errUnknownPatch
		case p.Op == "set":
			if value, err = decode(p.Value); err != nil {
				return nil, err
			}
		case p.Op == "update" || p.Op == "append":
			var args []any
			if args, err = decodeList(p.Args); err != nil {
				return nil, err
			}
			if len(args) > 0 {
				value = args[0]
			}
		}
		if doc, err = patchAt(doc, p.Op, p.Path, value); err != nil {
			return nil, fmt.Errorf("patch %s %v: %w", p.Op, p.Path, err)
		}
	}
	out, err := marshal(doc)
	if err != nil {
		return nil, err
	}
	for _, p := range texts {
		var repl string
		switch {
		case !p.known() && unknown != nil:
			v := unknown(p)
			s, ok := v.(string)
			if !ok {
				b, _ := marshal(v)
				s = string(b)
			}
			repl = s
		case !p.known() || p.New == nil:
			return nil, errUnknownPatch
		default:
			repl = *p.New
		}
		out = bytes.ReplaceAll(out, []byte(p.Old), []byte(repl))
	}
	return out, nil
}

func patchAt(doc any, op string, path []any, value any) (any, error) {
	if len(path) == 0 {
		switch op {
		case "set":
			return value, nil
		case "update":
			m, ok1 := doc.(map[string]any)
			add, ok2 := value.(map[string]any)
			if !ok1 || !ok2 {
				return nil, errors.New("update needs two objects")
			}
			for k, v := range add {
				m[k] = v
			}
			return m, nil
		case "append":
			a, ok := doc.([]any)
			if !ok {
				return nil, errors.New("append needs an array")
			}
			return append(a, value), nil
		}
		return nil, fmt.Errorf("unknown op %q", op)
	}
	switch key := path[0].(type) {
	case string:
		m, ok := doc.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("no object at %q", key)
		}
		if len(path) == 1 && op == "delete" {
			delete(m, key)
			return m, nil
		}
		child, ok := m[key]
		if !ok && op != "set" && op != "update" {
			return nil, fmt.Errorf("no field %q", key)
		}
		if !ok && op == "update" {
			child = map[string]any{}
		}
		v, err := patchAt(child, op, path[1:], value)
		if err != nil {
			return nil, err
		}
		m[key] = v
		return m, nil
	case float64:
		a, ok := doc.([]any)
		i := int(key)
		if !ok || i < 0 || i >= len(a) {
			return nil, fmt.Errorf("no element %d", i)
		}
		if len(path) == 1 && op == "delete" {
			return append(a[:i], a[i+1:]...), nil
		}
		v, err := patchAt(a[i], op, path[1:], value)
		if err != nil {
			return nil, err
		}
		a[i] = v
		return a, nil
	}
	return nil, fmt.Errorf("bad path element %v", path[0])
}

// Input returns the execution input as JSON text: the one rebuilt from the
// test where the recording masked it.
func (e *Entry) InputText() []byte {
	in := e.Input
	if len(e.InputFromTest) > 0 && string(e.InputFromTest) != "null" {
		in = e.InputFromTest
	}
	if len(in) == 0 || string(in) == "null" {
		// The recorder wrote "null" text as null.
		return []byte("null")
	}
	return in
}

func decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	return v, nil
}

func decodeList(data []byte) ([]any, error) {
	v, err := decode(data)
	if err != nil {
		return nil, err
	}
	a, ok := v.([]any)
	if !ok {
		return nil, errors.New("args must be an array")
	}
	return a, nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(b.Bytes()), nil
}
