package conformance

import (
	"bytes"
	"fmt"
)

// JSON5ToJSON rewrites the JSON5 subset the recorded templates use as
// plain JSON: it drops // and /* */ comments and trailing commas, and
// quotes unquoted object keys and single-quoted strings. Anything else
// passes through unchanged, so a JSON parser still reports what is left.
func JSON5ToJSON(src []byte) ([]byte, error) {
	var out bytes.Buffer
	out.Grow(len(src))
	// pendingComma holds a comma until the next significant character
	// shows whether it was trailing.
	pendingComma := false
	flush := func(next byte) {
		if pendingComma && next != '}' && next != ']' {
			out.WriteByte(',')
		}
		pendingComma = false
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '/' && i+1 < len(src) && src[i+1] == '/':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := bytes.Index(src[i+2:], []byte("*/"))
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment at offset %d", i)
			}
			i += end + 4
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			out.WriteByte(c)
			i++
		case c == ',':
			flush(c)
			pendingComma = true
			i++
		case c == '"' || c == '\'':
			flush(c)
			j, err := copyString(&out, src, i)
			if err != nil {
				return nil, err
			}
			i = j
		case isKeyStart(c) || c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
			// A word: true, false, null, a number, or an unquoted key.
			flush(c)
			j := i + 1
			for j < len(src) && (isKeyByte(src[j]) || src[j] == '.' || ((src[j] == '-' || src[j] == '+') && (src[j-1] == 'e' || src[j-1] == 'E'))) {
				j++
			}
			word := src[i:j]
			if isKeyStart(c) && !startsLiteral(word) {
				out.WriteByte('"')
				out.Write(word)
				out.WriteByte('"')
			} else {
				out.Write(word)
			}
			i = j
		default:
			flush(c)
			out.WriteByte(c)
			i++
		}
	}
	return out.Bytes(), nil
}

// copyString writes the string literal at src[i] as a JSON string and
// returns the offset after it.
func copyString(out *bytes.Buffer, src []byte, i int) (int, error) {
	q := src[i]
	out.WriteByte('"')
	for j := i + 1; j < len(src); j++ {
		c := src[j]
		switch {
		case c == '\\' && j+1 < len(src):
			if src[j+1] == '\'' {
				out.WriteByte('\'')
			} else {
				out.WriteByte(c)
				out.WriteByte(src[j+1])
			}
			j++
		case c == q:
			out.WriteByte('"')
			return j + 1, nil
		case c == '"':
			out.WriteString(`\"`)
		case c == '\n':
			out.WriteString(`\n`)
		default:
			out.WriteByte(c)
		}
	}
	return 0, fmt.Errorf("unterminated string at offset %d", i)
}

func isKeyStart(c byte) bool {
	return c == '_' || c == '$' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isKeyByte(c byte) bool { return isKeyStart(c) || (c >= '0' && c <= '9') }

// startsLiteral reports whether b starts with true, false or null.
func startsLiteral(b []byte) bool {
	for _, w := range []string{"true", "false", "null"} {
		if bytes.HasPrefix(b, []byte(w)) && (len(b) == len(w) || !isKeyByte(b[len(w)])) {
			return true
		}
	}
	return false
}
