package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Repo is what the stack takes from the Slipway repository: the functions,
// the state machine definitions and the host script. The infra module reads
// them as files, relative to the repository root, and does not import the
// root module (STYLE.md point 2).
type Repo struct {
	// Root is the repository root.
	Root string
	// Functions are the directories under functions/, sorted.
	Functions []string
	// Definitions are statemachine/*.asl.json, by name ("deploy").
	Definitions map[string]*Definition
	// HostScript is scripts/slipway-host.sh.
	HostScript []byte
	// Dist is the directory holding <function>/bootstrap (make build).
	Dist string
	// Resolvers are the host's configuration resolver (cmd/slipway-env)
	// built for each instance architecture, by GOARCH (make build):
	// Dist/slipway-env/linux-<arch>/slipway-env.
	Resolvers map[string]string
}

// ResolverArches are the instance architectures the stack ships the
// configuration resolver for (the Makefile's RESOLVER_ARCHES).
var ResolverArches = []string{"amd64", "arm64"}

// Definition is one state machine definition and the functions it calls.
type Definition struct {
	// Name is the file name without .asl.json.
	Name string
	// Path is the file's absolute path.
	Path string
	// Placeholders are the ${...} names in the file, sorted.
	Placeholders []string
	// Functions are the functions behind the placeholders, sorted.
	Functions []string
	// TaskTimeouts is, per function, the smallest TimeoutSeconds of the
	// Task states that call it (0 when a Task has none).
	TaskTimeouts map[string]int
}

// FindRoot returns the repository root: dir or its nearest parent that
// holds statemachine/ and functions/.
func FindRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if isDir(filepath.Join(d, "statemachine")) && isDir(filepath.Join(d, "functions")) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no Slipway repository (a directory with statemachine/ and functions/) at or above %s", dir)
		}
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// PlaceholderFor is the state machine placeholder for a function:
// "preflight" → "PreflightFunctionArn", "health-check" → "HealthCheckFunctionArn".
func PlaceholderFor(function string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(function, func(r rune) bool { return r == '-' || r == '_' }) {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String() + "FunctionArn"
}

var placeholderRE = regexp.MustCompile(`\$\{([^}]*)\}`)

// ReadRepo reads the repository at root. dist is where the built functions
// are (usually root/dist). It checks that every placeholder in a definition
// names a function and that every function is built. (That every function
// is called by some definition, or is a trigger, is checkSpecs' job.)
func ReadRepo(root, dist string) (*Repo, error) {
	r := &Repo{Root: root, Dist: dist, Definitions: map[string]*Definition{}}
	entries, err := os.ReadDir(filepath.Join(root, "functions"))
	if err != nil {
		return nil, fmt.Errorf("list functions: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() && fileExists(filepath.Join(root, "functions", e.Name(), "main.go")) {
			r.Functions = append(r.Functions, e.Name())
		}
	}
	if len(r.Functions) == 0 {
		return nil, fmt.Errorf("no functions under %s", filepath.Join(root, "functions"))
	}
	byPlaceholder := map[string]string{}
	for _, f := range r.Functions {
		byPlaceholder[PlaceholderFor(f)] = f
	}

	paths, err := filepath.Glob(filepath.Join(root, "statemachine", "*.asl.json"))
	if err != nil || len(paths) == 0 {
		return nil, fmt.Errorf("no state machine definitions (statemachine/*.asl.json) under %s", root)
	}
	sort.Strings(paths)
	var problems []string
	for _, p := range paths {
		d, errs := readDefinition(p, byPlaceholder)
		problems = append(problems, errs...)
		if d == nil {
			continue
		}
		r.Definitions[d.Name] = d
	}
	for _, f := range r.Functions {
		bootstrap := filepath.Join(dist, f, "bootstrap")
		if !fileExists(bootstrap) {
			problems = append(problems, fmt.Sprintf("%s is missing: run `make build` first (the stack packages the built functions)", bootstrap))
		}
	}
	r.Resolvers = map[string]string{}
	for _, a := range ResolverArches {
		p := filepath.Join(dist, "slipway-env", "linux-"+a, "slipway-env")
		if !fileExists(p) {
			problems = append(problems, fmt.Sprintf("%s is missing: run `make build` first (the stack ships the hosts' configuration resolver)", p))
		}
		r.Resolvers[a] = p
	}
	if len(problems) > 0 {
		return nil, errors.New("slipway repository: " + strings.Join(problems, "\n  "))
	}
	r.HostScript, err = os.ReadFile(filepath.Join(root, "scripts", "slipway-host.sh"))
	if err != nil {
		return nil, fmt.Errorf("read the host script: %w", err)
	}
	return r, nil
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

func readDefinition(path string, byPlaceholder map[string]string) (*Definition, []string) {
	rel := filepath.Join("statemachine", filepath.Base(path))
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, []string{fmt.Sprintf("%s: %v", rel, err)}
	}
	d := &Definition{Name: strings.TrimSuffix(filepath.Base(path), ".asl.json"), Path: path, TaskTimeouts: map[string]int{}}
	var problems []string
	seen := map[string]bool{}
	for _, m := range placeholderRE.FindAllStringSubmatch(string(b), -1) {
		name := m[1]
		if seen[name] {
			continue
		}
		seen[name] = true
		d.Placeholders = append(d.Placeholders, name)
		f, ok := byPlaceholder[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: placeholder ${%s} has no function (functions/ has %s; function <name> fills ${<Name>FunctionArn})", rel, name, strings.Join(sortedKeys(invert(byPlaceholder)), ", ")))
			continue
		}
		d.Functions = append(d.Functions, f)
	}
	sort.Strings(d.Placeholders)
	sort.Strings(d.Functions)
	var doc struct {
		States map[string]json.RawMessage `json:"States"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, append(problems, fmt.Sprintf("%s: not valid JSON: %v", rel, err))
	}
	if err := collectTimeouts(doc.States, byPlaceholder, d.TaskTimeouts); err != nil {
		problems = append(problems, fmt.Sprintf("%s: %v", rel, err))
	}
	return d, problems
}

func invert(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// collectTimeouts walks states, including those of Parallel branches and Map
// processors, and records the smallest task timeout per function.
func collectTimeouts(states map[string]json.RawMessage, byPlaceholder map[string]string, out map[string]int) error {
	for name, raw := range states {
		var s struct {
			Type           string            `json:"Type"`
			Resource       string            `json:"Resource"`
			TimeoutSeconds int               `json:"TimeoutSeconds"`
			Branches       []json.RawMessage `json:"Branches"`
			Iterator       json.RawMessage   `json:"Iterator"`
			ItemProcessor  json.RawMessage   `json:"ItemProcessor"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("state %s: %w", name, err)
		}
		if s.Type == "Task" {
			if m := placeholderRE.FindStringSubmatch(s.Resource); m != nil {
				if f, ok := byPlaceholder[m[1]]; ok {
					if old, seen := out[f]; !seen || (s.TimeoutSeconds < old) {
						out[f] = s.TimeoutSeconds
					}
				}
			}
		}
		nested := append([]json.RawMessage{}, s.Branches...)
		if len(s.Iterator) > 0 {
			nested = append(nested, s.Iterator)
		}
		if len(s.ItemProcessor) > 0 {
			nested = append(nested, s.ItemProcessor)
		}
		for _, n := range nested {
			var sub struct {
				States map[string]json.RawMessage `json:"States"`
			}
			if err := json.Unmarshal(n, &sub); err != nil {
				return fmt.Errorf("state %s: %w", name, err)
			}
			if err := collectTimeouts(sub.States, byPlaceholder, out); err != nil {
				return err
			}
		}
	}
	return nil
}
