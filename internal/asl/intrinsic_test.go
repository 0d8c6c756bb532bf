package asl

import (
	"testing"
)

func TestIntrinsicEval(t *testing.T) {
	input, err := decodeJSON([]byte(`{"name": "Ada", "list": [3, 1, 3], "obj": {"k": [1, {"n": null}]}, "n": 2.5, "text": "a,b"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr string
		want string
	}{
		{`States.Format('Hi {}, {} and {}', $.name, $.n, $.obj)`, `"Hi Ada, 2.5 and {k=[1, {n=null}]}"`},
		{`States.Format('it\'s \{{}\} \\ ok', 'x')`, `"it's {x} \\ ok"`},
		{`States.Format($.text)`, `"a,b"`},
		{`States.Array()`, `[]`},
		{`States.Array(1, -2.5, true, false, null, 'x', $.list)`, `[1,-2.5,true,false,null,"x",[3,1,3]]`},
		{`States.ArrayUnique($.list)`, `[3,1]`},
		{`States.ArrayRange(5, 1, -2)`, `[5,3,1]`},
		{`States.ArrayPartition(States.ArrayRange(1, 5, 1), 2)`, `[[1,2],[3,4],[5]]`},
		{`States.ArrayContains($.list, 1.0)`, `true`},
		{`States.JsonToString($.obj)`, `"{\"k\":[1,{\"n\":null}]}"`},
		{`States.StringToJson('  ')`, `null`},
		{`States.StringSplit($.text, ',')`, `["a","b"]`},
		{`States.StringSplit(',,', ',')`, `[]`},
		{`States.MathAdd(1.5, -1.5)`, `1`},
		{`States.MathAdd($.n, 1)`, `4`},
		{`States.Hash('', 'SHA-256')`, `"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"`},
		{`States.Hash('abc', 'MD5')`, `"900150983cd24fb0d6963f7d28e17f72"`},
		{`States.Hash('abc', 'SHA-384')`, `"cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"`},
		{`States.Hash('abc', 'SHA-512')`, `"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"`},
		{`States.Base64Decode(States.Base64Encode('ünïcode'))`, `"ünïcode"`},
		{`States.JsonMerge($.obj, States.StringToJson('{"k": 2, "z": 1}'), false)`, `{"k":2,"z":1}`},
		{`States.ArrayGetItem( $.list , 2 )`, `3`},
		{`States.ArrayLength($..n)`, `2`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			c, err := parseIntrinsic(tt.expr)
			if err != nil {
				t.Fatalf("parseIntrinsic(%q) error: %v", tt.expr, err)
			}
			got, err := c.eval((&scope{input: input}).resolve)
			if err != nil {
				t.Fatalf("eval(%q) error: %v", tt.expr, err)
			}
			if jsonText(got) != tt.want {
				t.Errorf("eval(%q) = %s, want %s", tt.expr, jsonText(got), tt.want)
			}
		})
	}
}

func TestIntrinsicEvalErrors(t *testing.T) {
	input, _ := decodeJSON([]byte(`{"list": [1], "s": "x"}`))
	tests := []struct {
		expr string
		want string
	}{
		{`States.Format('{} {}', 1)`, `The intrinsic function States.Format failed: the template has more {} than the 1 arguments given`},
		{`States.Format('{}', 1, 2)`, `The intrinsic function States.Format failed: the template has 1 {} but 2 arguments were given`},
		{`States.StringToJson('{')`, `The intrinsic function States.StringToJson failed: the argument is not JSON text: invalid JSON at offset 1: unexpected end of JSON input`},
		{`States.ArrayGetItem($.list, 1)`, `The intrinsic function States.ArrayGetItem failed: index 1 is out of range for an array of 1 elements`},
		{`States.ArrayLength($.s)`, `The intrinsic function States.ArrayLength failed: the argument must be an array, got string`},
		{`States.ArrayPartition($.list, 0)`, `The intrinsic function States.ArrayPartition failed: the chunk size must be a positive integer, got 0`},
		{`States.ArrayRange(1, 2000, 1)`, `The intrinsic function States.ArrayRange failed: the range has more than 1000 elements`},
		{`States.JsonMerge(States.StringToJson('{}'), States.StringToJson('{}'), true)`, `The intrinsic function States.JsonMerge failed: deep merge is not supported; the third argument must be false`},
		{`States.Hash('x', 'SHA-3')`, `The intrinsic function States.Hash failed: unknown algorithm "SHA-3" (use MD5, SHA-1, SHA-256, SHA-384 or SHA-512)`},
		{`States.Base64Decode('***')`, `The intrinsic function States.Base64Decode failed: the argument is not base64: illegal base64 data at input byte 0`},
		{`States.MathRandom(5, 5)`, `The intrinsic function States.MathRandom failed: the end (5) must be greater than the start (5)`},
		{`States.ArrayLength($.missing)`, `No results for path: $['missing']`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			c, err := parseIntrinsic(tt.expr)
			if err != nil {
				t.Fatalf("parseIntrinsic(%q) error: %v", tt.expr, err)
			}
			_, err = c.eval((&scope{input: input}).resolve)
			if err == nil || err.Error() != tt.want {
				t.Errorf("eval(%q) error = %v, want %q", tt.expr, err, tt.want)
			}
		})
	}
}

func TestParseIntrinsicErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string
	}{
		{`States.Nope()`, `invalid intrinsic function "States.Nope()": unknown function States.Nope`},
		{`States.Format`, `invalid intrinsic function "States.Format": expected "(" after States.Format`},
		{`States.Format('x'`, `invalid intrinsic function "States.Format('x'": missing ")" to close States.Format`},
		{`States.Format('x)`, `invalid intrinsic function "States.Format('x)": unterminated string literal`},
		{`States.Format("x")`, `invalid intrinsic function "States.Format(\"x\")": unexpected argument "\"x\"" (strings take single quotes)`},
		{`States.UUID(1)`, `invalid intrinsic function "States.UUID(1)": States.UUID takes 0 arguments, got 1`},
		{`States.MathRandom(1)`, `invalid intrinsic function "States.MathRandom(1)": States.MathRandom takes 2 or 3 arguments, got 1`},
		{`States.Format()`, `invalid intrinsic function "States.Format()": States.Format takes at least 1 arguments, got 0`},
		{`States.Array(1) x`, `invalid intrinsic function "States.Array(1) x": unexpected "x" after the call`},
		{`States.Array($.a[)`, `invalid intrinsic function "States.Array($.a[)": invalid JSONPath "$.a[)": unclosed "["`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := parseIntrinsic(tt.expr)
			if err == nil || err.Error() != tt.want {
				t.Errorf("parseIntrinsic(%q) error = %v, want %q", tt.expr, err, tt.want)
			}
		})
	}
}
