package asl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// placeholder matches a CloudFormation-style ${Name} placeholder.
var placeholder = regexp.MustCompile(`\$\{([^{}\s]+)\}`)

// Substitute fills the ${Name} placeholders of a definition from subs, as
// CDK's DefinitionSubstitutions (CloudFormation's DefinitionSubstitutions)
// does: plain text replacement, no JSON escaping. When some placeholders
// have no value it returns an error naming every one of them, together with
// the text with the others filled.
func Substitute(def []byte, subs map[string]string) ([]byte, error) {
	var missing []string
	out := placeholder.ReplaceAllFunc(def, func(m []byte) []byte {
		name := string(m[2 : len(m)-1])
		if v, ok := subs[name]; ok {
			return []byte(v)
		}
		if !slices.Contains(missing, name) {
			missing = append(missing, name)
		}
		return m
	})
	if len(missing) > 0 {
		slices.Sort(missing)
		for i, m := range missing {
			missing[i] = "${" + m + "}"
		}
		return out, fmt.Errorf("substitute definition: no value for %s", strings.Join(missing, ", "))
	}
	return out, nil
}

// Placeholders lists the names of the ${Name} placeholders in def, sorted,
// each once.
func Placeholders(def []byte) []string {
	var names []string
	for _, m := range placeholder.FindAllSubmatch(def, -1) {
		if name := string(m[1]); !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
