package manifest

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong in a manifest, at a place in the file.
type Problem struct {
	// Line and Column are 1-based; 0 when unknown (a required key that is
	// absent, or a YAML error the library reports without a position).
	Line, Column int
	// Key is the dotted path of the key, such as "bake.duration" or
	// "freeze.windows[0].from"; empty when the file could not be read as YAML.
	Key     string
	Message string
}

// String formats the problem as slipway.yaml:LINE:COLUMN: KEY: MESSAGE.
func (p Problem) String() string { return p.in(FileName) }

func (p Problem) in(file string) string {
	var b strings.Builder
	b.WriteString(file)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Column > 0 {
			fmt.Fprintf(&b, ":%d", p.Column)
		}
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// FixHint is what to do about an Error, for a command's hint line.
const FixHint = "fix the manifest at the line and column each problem names (the README's manifest section lists the keys)"

// Error is what Parse returns for a manifest it refuses: every problem it
// found, in the order of the file.
type Error struct {
	// File names the manifest in the message: slipway.yaml unless the
	// caller knows its path (bundle.Build sets it).
	File     string
	Problems []Problem
}

func (e *Error) Error() string {
	file := e.File
	if file == "" {
		file = FileName
	}
	if len(e.Problems) == 1 {
		return e.Problems[0].in(file)
	}
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.in(file)
	}
	return fmt.Sprintf("%s: %d problems:\n  %s", file, len(e.Problems), strings.Join(lines, "\n  "))
}

// problem is a validation finding before it has a position: path locates
// it in the file ("rollout.waves[2]"), key is what the user reads.
type problem struct {
	path, key, msg string
}

// nodeError is an error from a custom unmarshaler: it knows the node's
// position but not the key, which the positions index finds.
type nodeError struct {
	line, col int
	msg       string
	wave      bool // the node is a rollout wave: name it by its 1-based number
}

func (e *nodeError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

// positions indexes a parsed YAML tree: where each key path is written and
// which path a node at a position belongs to.
type positions struct {
	// rootLine and rootColumn are where the document's top node starts.
	rootLine, rootColumn int
	at                   map[string][2]int    // path -> line, column where a problem with it is reported
	keys                 map[[2]int]string    // position of a mapping key -> path
	nodes                map[[2]int]string    // position of a value node -> path
	line                 map[int][]*yaml.Node // value and key nodes by line, for errors that only give a line
}

func indexPositions(root *yaml.Node) *positions {
	p := &positions{at: map[string][2]int{}, keys: map[[2]int]string{}, nodes: map[[2]int]string{}, line: map[int][]*yaml.Node{}}
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		p.rootLine, p.rootColumn = root.Content[0].Line, root.Content[0].Column
	}
	p.walk(root, "")
	return p
}

func (p *positions) walk(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			p.walk(c, path)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := k.Value
			if path != "" {
				kp = path + "." + k.Value
			}
			pos := [2]int{k.Line, k.Column}
			if _, ok := p.at[kp]; !ok {
				// A problem with a value written on the key's line is
				// reported at the value; one with a block below, at the key.
				p.at[kp] = pos
				if v.Line == k.Line {
					p.at[kp] = [2]int{v.Line, v.Column}
				}
			}
			p.keys[pos] = kp
			p.line[k.Line] = append(p.line[k.Line], k)
			p.nodes[[2]int{v.Line, v.Column}] = kp
			p.line[v.Line] = append(p.line[v.Line], v)
			p.walk(v, kp)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			ip := fmt.Sprintf("%s[%d]", path, i)
			pos := [2]int{c.Line, c.Column}
			p.at[ip] = pos
			p.nodes[pos] = ip
			p.line[c.Line] = append(p.line[c.Line], c)
			p.walk(c, ip)
		}
	}
	// Aliases are not followed: the index is of what is written, and an
	// alias may point back at its own ancestor.
}

// locate returns the position of path, or of its closest ancestor written
// in the file (a defaulted key is reported where its parent is), or 0, 0.
func (p *positions) locate(path string) (line, col int) {
	for path != "" {
		if pos, ok := p.at[path]; ok {
			return pos[0], pos[1]
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0, 0
}

// problems turns validation findings into positioned problems.
func (p *positions) problems(found []problem) []Problem {
	out := make([]Problem, 0, len(found))
	for _, f := range found {
		line, col := p.locate(f.path)
		key := f.key
		if key == "" {
			key = f.path
		}
		out = append(out, Problem{Line: line, Column: col, Key: key, Message: f.msg})
	}
	sortProblems(out)
	return out
}

func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Key < b.Key
	})
}

var (
	lineRE     = regexp.MustCompile(`^line (\d+): (.*)$`)
	notFoundRE = regexp.MustCompile(`^field (.*) not found in type \S+$`)
	unmarshRE  = regexp.MustCompile("^cannot unmarshal !!(\\w+)(?: `(.*)`)? into (.+)$")
	dupRE      = regexp.MustCompile(`^mapping key "(.*)" already defined at line (\d+)$`)
	syntaxRE   = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)
	keyLineRE  = regexp.MustCompile(`^(\s*)(?:-\s+)?([A-Za-z0-9_.-]+)\s*:`)
)

// decodeProblems turns what the YAML decoder reports about the document
// into positioned problems.
func (p *positions) decodeProblems(err error) []Problem {
	switch e := err.(type) {
	case *yaml.TypeError:
		out := make([]Problem, 0, len(e.Errors))
		for _, s := range e.Errors {
			out = append(out, p.typeProblem(s))
		}
		sortProblems(out)
		return out
	case *nodeError:
		path := p.nodes[[2]int{e.line, e.col}]
		msg := e.msg
		if e.wave {
			key, n := splitItem(path)
			if n > 0 {
				path, msg = key, fmt.Sprintf("wave %d is %s", n, msg)
			}
		}
		return []Problem{{Line: e.line, Column: e.col, Key: path, Message: msg}}
	}
	return []Problem{{Message: strings.TrimPrefix(err.Error(), "yaml: ")}}
}

// typeProblem rewrites one of the YAML library's type errors ("line 4:
// field helth not found in type manifest.Manifest") for a person.
func (p *positions) typeProblem(s string) Problem {
	m := lineRE.FindStringSubmatch(s)
	if m == nil {
		return Problem{Message: s}
	}
	line, _ := strconv.Atoi(m[1])
	msg := m[2]
	if f := notFoundRE.FindStringSubmatch(msg); f != nil {
		if n := p.onLine(line, f[1], true, ""); n != nil {
			return Problem{Line: line, Column: n.Column, Key: p.keys[[2]int{n.Line, n.Column}], Message: "unknown key; check its spelling and indentation"}
		}
		return Problem{Line: line, Key: f[1], Message: "unknown key; check its spelling and indentation"}
	}
	if f := dupRE.FindStringSubmatch(msg); f != nil {
		pr := Problem{Line: line, Key: f[1], Message: fmt.Sprintf("written twice (first at line %s); keep one", f[2])}
		if n := p.onLine(line, f[1], true, ""); n != nil {
			pr.Column, pr.Key = n.Column, p.keys[[2]int{n.Line, n.Column}]
		}
		return pr
	}
	if f := unmarshRE.FindStringSubmatch(msg); f != nil {
		got := describeTag(f[1], f[2])
		want := describeType(f[3])
		if f[3] == "manifest.Manifest" && line == p.rootLine {
			// The document itself is not a mapping.
			return Problem{Line: line, Column: p.rootColumn, Message: fmt.Sprintf("the manifest is a mapping of keys (app: …, service: …), not %s", got)}
		}
		pr := Problem{Line: line, Message: fmt.Sprintf("want %s, not %s", want, got)}
		value := strings.TrimSuffix(f[2], "...")
		if n := p.onLine(line, value, false, f[1]); n != nil {
			pr.Column, pr.Key = n.Column, p.nodes[[2]int{n.Line, n.Column}]
		}
		return pr
	}
	return Problem{Line: line, Message: msg}
}

// onLine returns the key node on line named prefix or, with key false, the
// first value node on line of the kind tag names whose value starts with
// prefix, else the first value node on the line.
func (p *positions) onLine(line int, prefix string, key bool, tag string) *yaml.Node {
	kind := yaml.ScalarNode
	switch tag {
	case "seq":
		kind = yaml.SequenceNode
	case "map":
		kind = yaml.MappingNode
	}
	var first, found *yaml.Node
	for _, n := range p.line[line] {
		_, isKey := p.keys[[2]int{n.Line, n.Column}]
		if isKey != key {
			continue
		}
		if key && n.Value == prefix {
			return n
		}
		if !key && n.Kind == kind && strings.HasPrefix(n.Value, prefix) {
			if kind == yaml.ScalarNode {
				return n
			}
			// A list or mapping has no value to tell it by: on a line of
			// flow style ({allow: [{version: x}]}) the decoder complains
			// about the innermost one it could not read.
			if found == nil || depth(p.nodes[[2]int{n.Line, n.Column}]) > depth(p.nodes[[2]int{found.Line, found.Column}]) {
				found = n
			}
		}
		if first == nil && !key {
			first = n
		}
	}
	if found != nil {
		return found
	}
	return first
}

// depth counts the keys and items of a path.
func depth(path string) int { return strings.Count(path, ".") + strings.Count(path, "[") }

func describeKind(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return "this"
}

func describeTag(tag, value string) string {
	switch tag {
	case "seq":
		return "a list"
	case "map":
		return "a mapping"
	case "null":
		return "an empty value"
	}
	return strconv.Quote(value)
}

func describeType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["), strings.HasPrefix(goType, "manifest."), strings.HasPrefix(goType, "*manifest."):
		return "a mapping (key: value)"
	case goType == "string":
		return "a string"
	case goType == "bool", goType == "*bool":
		return "true or false"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	}
	return goType
}

// splitItem splits "rollout.waves[2]" into "rollout.waves" and 3, the
// item's 1-based number; 0 when path is not a list item.
func splitItem(path string) (string, int) {
	i := strings.LastIndexByte(path, '[')
	if i < 0 || !strings.HasSuffix(path, "]") {
		return path, 0
	}
	n, err := strconv.Atoi(path[i+1 : len(path)-1])
	if err != nil {
		return path, 0
	}
	return path[:i], n + 1
}

// syntaxProblem positions a YAML syntax error, which the library gives with
// a line only. The key is the one the line (or the nearest line above it)
// belongs to by indentation: an estimate, as the document did not parse.
func syntaxProblem(data []byte, err error) Problem {
	m := syntaxRE.FindStringSubmatch(err.Error())
	if m == nil {
		return Problem{Message: "YAML syntax: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	return Problem{Line: line, Key: keyAround(data, line), Message: "YAML syntax: " + m[2]}
}

// keyAround returns the dotted path of the block-style key written on line
// (1-based) or, failing that, the closest one above it, from indentation.
func keyAround(data []byte, line int) string {
	lines := yamlLines(data)
	if line > len(lines) {
		line = len(lines)
	}
	var path []string
	indent := -1
	for i := line - 1; i >= 0; i-- {
		m := keyLineRE.FindStringSubmatch(lines[i])
		if m == nil || strings.HasPrefix(strings.TrimSpace(lines[i]), "#") {
			continue
		}
		w := len(m[1])
		if indent >= 0 && w >= indent {
			continue
		}
		path = append([]string{m[2]}, path...)
		indent = w
		if w == 0 {
			break
		}
	}
	return strings.Join(path, ".")
}

// yamlBreaks are the line breaks of YAML 1.1, which the YAML library counts
// lines by: a CR LF pair counts once.
var yamlBreaks = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u0085", "\n", "\u2028", "\n", "\u2029", "\n")

// yamlLines splits data into lines as the YAML library numbers them.
func yamlLines(data []byte) []string {
	return strings.Split(yamlBreaks.Replace(string(data)), "\n")
}
