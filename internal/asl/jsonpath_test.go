package asl

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const storeJSON = `{"store": {
	"book": [
		{"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
		{"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
		{"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99},
		{"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99}
	],
	"bicycle": {"color": "red", "price": 19.95}},
	"odd key": 1, "expensive": 10}`

func TestPathEval(t *testing.T) {
	doc, err := decodeJSON([]byte(storeJSON))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string
	}{
		{"$", ""},
		{"$.store.bicycle.color", `"red"`},
		{"$['store']['bicycle']['color']", `"red"`},
		{`$["odd key"]`, `1`},
		{"$.store.book[0].title", `"Sayings of the Century"`},
		{"$.store.book[-1].title", `"The Lord of the Rings"`},
		{"$.store.book[*].author", `["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]`},
		{"$.store.book[0,2].price", `[8.95,8.99]`},
		{"$.store.book[:2].price", `[8.95,12.99]`},
		{"$.store.book[2:].price", `[8.99,22.99]`},
		{"$.store.book[-2:].price", `[8.99,22.99]`},
		{"$.store.book[::2].price", `[8.95,8.99]`},
		{"$.store.book[?(@.isbn)].title", `["Moby Dick","The Lord of the Rings"]`},
		{"$.store.book[?(@.price < 10)].title", `["Sayings of the Century","Moby Dick"]`},
		{"$.store.book[?(@.price > $.expensive)].price", `[12.99,22.99]`},
		{"$.store.book[?(@.category == 'fiction' && @.price < 20)].title", `["Sword of Honour","Moby Dick"]`},
		{"$.store.book[?(@.author =~ /.*REES/i)].title", `["Sayings of the Century"]`},
		{"$.store.book[?(@.category in ['reference'])].price", `[8.95]`},
		{"$.store.book[?(!(@.price >= 10) || @.title == 'Moby Dick')].title", `["Sayings of the Century","Moby Dick"]`},
		{"$..price", `[19.95,8.95,12.99,8.99,22.99]`},
		{"$.store.*.color", `["red"]`},
		{"$.store.bicycle['color','price']", `{"color":"red","price":19.95}`},
		{"$.nothing[*]", `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := compilePath(tt.path)
			if err != nil {
				t.Fatalf("compilePath(%q) error: %v", tt.path, err)
			}
			got, err := p.eval(doc)
			if err != nil {
				t.Fatalf("eval(%q) error: %v", tt.path, err)
			}
			want := tt.want
			if want == "" {
				want = jsonText(doc)
			}
			if jsonText(got) != want {
				t.Errorf("eval(%q) = %s, want %s", tt.path, jsonText(got), want)
			}
		})
	}
}

func TestPathEvalErrors(t *testing.T) {
	doc, err := decodeJSON([]byte(`{"a": {"b": 1}, "s": "text", "list": [1]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want string
	}{
		{"$.missing", "No results for path: $['missing']"},
		{"$.no.such.path", "Missing property in path $['no']"},
		{"$.a.c", "No results for path: $['a']['c']"},
		{"$.s.x", "Expected to find an object with property ['x'] in path $['s'] but found 'string'"},
		{"$.list[3]", "No results for path: $['list'][3]"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := compilePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.eval(doc)
			if err == nil || err.Error() != tt.want {
				t.Errorf("eval(%q) error = %v, want %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestCompilePathErrors(t *testing.T) {
	tests := []struct {
		path string
		want string
	}{
		{"a.b", `invalid JSONPath "a.b": must start with "$"`},
		{"$.", `invalid JSONPath "$.": ends with "."`},
		{"$.a[", `invalid JSONPath "$.a[": unclosed "["`},
		{"$.a[x]", `invalid JSONPath "$.a[x]": invalid array index [x]`},
		{"$.a['b", `invalid JSONPath "$.a['b": unterminated quoted string`},
		{"$.a[?(@.b ==)]", `invalid JSONPath "$.a[?(@.b ==)]": filter "@.b ==": missing operand`},
		{"$.a[::-1]", `invalid JSONPath "$.a[::-1]": slice step must be positive in [::-1]`},
		{"$.a.length()", `invalid JSONPath "$.a.length()": path functions such as length() are not supported`},
		{"$a b", `invalid JSONPath "$a b": unexpected ' ' at offset 2`},
		{"$.a b", `invalid JSONPath "$.a b": invalid character in property name "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, err := compilePath(tt.path)
			if err == nil || err.Error() != tt.want {
				t.Errorf("compilePath(%q) error = %v, want %q", tt.path, err, tt.want)
			}
		})
	}
}

func TestPathSet(t *testing.T) {
	tests := []struct {
		name, doc, path, value, want, wantErr string
	}{
		{name: "replace", doc: `{"a": 1}`, path: "$.a", value: `2`, want: `{"a":2}`},
		{name: "add", doc: `{"a": 1}`, path: "$.b", value: `2`, want: `{"a":1,"b":2}`},
		{name: "create objects", doc: `{}`, path: "$.a.b", value: `2`, want: `{"a":{"b":2}}`},
		{name: "array element", doc: `{"a": [1, {"x": 1}]}`, path: "$.a[1].y", value: `2`, want: `{"a":[1,{"x":1,"y":2}]}`},
		{name: "root", doc: `{"a": 1}`, path: "$", value: `2`, want: `2`},
		{name: "through a string", doc: `{"a": "s"}`, path: "$.a.b", value: `2`,
			wantErr: "cannot set property ['b'] in path $['a']: the value there is string, not an object"},
		{name: "past the end of an array", doc: `{"a": [1]}`, path: "$.a[3]", value: `2`,
			wantErr: "cannot set index [3] in path $['a']: the array has 1 elements"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, _ := decodeJSON([]byte(tt.doc))
			before := jsonText(doc)
			value, _ := decodeJSON([]byte(tt.value))
			p, err := compilePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.set(doc, value)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("set(%s, %s) error = %v, want %q", tt.doc, tt.path, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("set(%s, %s) error: %v", tt.doc, tt.path, err)
			}
			if jsonText(got) != tt.want {
				t.Errorf("set(%s, %s) = %s, want %s", tt.doc, tt.path, jsonText(got), tt.want)
			}
			if jsonText(doc) != before {
				t.Errorf("set(%s, %s) changed its input to %s", tt.doc, tt.path, jsonText(doc))
			}
		})
	}
}

func TestJSONText(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`{"b": [1, 2.50, -0], "a": "<&>", "c": null, "d": true}`, `{"a":"<&>","b":[1,2.50,-0],"c":null,"d":true}`},
		{`"tab\tquote\"back\\slash\u0001"`, `"tab\tquote\"back\\slash\u0001"`},
		{`12345678901234567890`, `12345678901234567890`},
	}
	for _, tt := range tests {
		v, err := decodeJSON([]byte(tt.in))
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonText(v); got != tt.want {
			t.Errorf("jsonText(%s) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestDeepEqual(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`1`, `1.0`, true},
		{`{"a": [1, "x"]}`, `{"a": [1.00, "x"]}`, true},
		{`1`, `"1"`, false},
		{`{"a": 1}`, `{"a": 1, "b": 2}`, false},
		{`null`, `false`, false},
	}
	for _, tt := range tests {
		a, _ := decodeJSON([]byte(tt.a))
		b, _ := decodeJSON([]byte(tt.b))
		if got := deepEqual(a, b); got != tt.want {
			t.Errorf("deepEqual(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
	if diff := cmp.Diff([]string{"a", "b"}, sortedKeys(map[string]any{"b": 1, "a": 2})); diff != "" {
		t.Errorf("sortedKeys mismatch (-want +got):\n%s", diff)
	}
}

func TestJSONPathTooManyValues(t *testing.T) {
	// 120 bytes of nested arrays: each ..* multiplies what the previous
	// one selected, so six of them would select billions of values.
	root, err := decodeJSON([]byte(strings.Repeat("[", 60) + strings.Repeat("]", 60)))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		wantLen int // -1: an error
	}{
		{"$..*", 59},
		{"$..*..*", 1711},
		{"$..*..*..*..*..*..*", -1},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p, err := compilePath(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			v, err := p.eval(root)
			if tt.wantLen < 0 {
				if err == nil || !strings.Contains(err.Error(), "selects more than 1048576 values") {
					t.Errorf("compilePath(%s).eval() error = %v, want one saying it selects too many values", tt.path, err)
				}
				return
			}
			if a, _ := v.([]any); err != nil || len(a) != tt.wantLen {
				t.Errorf("compilePath(%s).eval() = %d values, %v; want %d", tt.path, len(a), err, tt.wantLen)
			}
		})
	}
}
