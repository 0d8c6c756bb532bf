package asl

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// MockConfig is a Step Functions Local mock configuration
// (MockConfigFile.json), the format LocalStack also reads: test cases per
// state machine, each mapping state names to named mocked responses.
//
//	{
//	  "StateMachines": {
//	    "Deploy": {"TestCases": {"HappyPath": {"Preflight": "PreflightOK"}}}
//	  },
//	  "MockedResponses": {
//	    "PreflightOK": {
//	      "0":   {"Throw": {"Error": "Lambda.TooManyRequestsException", "Cause": "slow down"}},
//	      "1-2": {"Return": {"app": "shop"}}
//	    }
//	  }
//	}
//
// The keys of a mocked response count the invocations of the state in one
// execution, from 0, retries and loops included: "0" is the first, "1-2"
// the second and third.
type MockConfig struct {
	StateMachines   map[string]MockStateMachine          `json:"StateMachines"`
	MockedResponses map[string]map[string]MockedResponse `json:"MockedResponses"`
}

// MockStateMachine holds the test cases of one state machine: for each,
// the state names and the mocked response each state gets.
type MockStateMachine struct {
	TestCases map[string]map[string]string `json:"TestCases"`
}

// MockedResponse is what a mocked Task does on one invocation: return
// Return as the service's result, or fail with Throw.
type MockedResponse struct {
	Return json.RawMessage `json:"Return,omitempty"`
	Throw  *MockedError    `json:"Throw,omitempty"`
}

// MockedError is the error a mocked Task raises.
type MockedError struct {
	Error string `json:"Error"`
	Cause string `json:"Cause"`
}

// MockTestCase is one test case of a MockConfig, ready for Options.Mocks:
// the mocked states and their responses by invocation.
type MockTestCase struct {
	Name   string
	states map[string][]mockRange
}

type mockRange struct {
	from, to int
	ret      any
	throw    *MockedError
}

// ParseMockConfig parses a mock configuration file.
func ParseMockConfig(data []byte) (*MockConfig, error) {
	var mc MockConfig
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&mc); err != nil {
		return nil, fmt.Errorf("parse mock config: %w", err)
	}
	return &mc, nil
}

// TestCase returns the test case named testCase of the state machine
// named stateMachine. When the configuration holds one state machine only,
// or stateMachine is empty, the test case is looked up by name alone.
func (mc *MockConfig) TestCase(stateMachine, testCase string) (*MockTestCase, error) {
	sm, ok := mc.StateMachines[stateMachine]
	if !ok {
		var owners []string
		for name, m := range mc.StateMachines {
			if _, ok := m.TestCases[testCase]; ok {
				owners = append(owners, name)
			}
		}
		slices.Sort(owners)
		switch {
		case len(owners) == 1:
			sm = mc.StateMachines[owners[0]]
		case len(owners) > 1:
			return nil, fmt.Errorf("find mock test case %q: state machines %s all have it; name the state machine", testCase, strings.Join(owners, ", "))
		default:
			return nil, fmt.Errorf("find mock test case %q: no state machine in the mock config has it", testCase)
		}
	}
	states, ok := sm.TestCases[testCase]
	if !ok {
		return nil, fmt.Errorf("find mock test case %q: state machine %q has no such test case", testCase, stateMachine)
	}
	tc := &MockTestCase{Name: testCase, states: map[string][]mockRange{}}
	for state, respName := range states {
		resp, ok := mc.MockedResponses[respName]
		if !ok {
			return nil, fmt.Errorf("mock test case %q: state %q uses mocked response %q, which is not defined", testCase, state, respName)
		}
		ranges, err := mockRanges(resp)
		if err != nil {
			return nil, fmt.Errorf("mocked response %q: %w", respName, err)
		}
		tc.states[state] = ranges
	}
	return tc, nil
}

func mockRanges(resp map[string]MockedResponse) ([]mockRange, error) {
	if len(resp) == 0 {
		return nil, errors.New("no responses")
	}
	var out []mockRange
	for key, r := range resp {
		from, to, err := parseMockKey(key)
		if err != nil {
			return nil, err
		}
		if (r.Return == nil) == (r.Throw == nil) {
			return nil, fmt.Errorf("response %q: needs exactly one of Return and Throw", key)
		}
		mr := mockRange{from: from, to: to, throw: r.Throw}
		if r.Return != nil {
			v, err := decodeJSON(r.Return)
			if err != nil {
				return nil, fmt.Errorf("response %q: Return: %w", key, err)
			}
			mr.ret = v
		}
		out = append(out, mr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].from < out[j].from })
	for i := 1; i < len(out); i++ {
		if out[i].from <= out[i-1].to {
			return nil, fmt.Errorf("invocations %d-%d and %d-%d overlap", out[i-1].from, out[i-1].to, out[i].from, out[i].to)
		}
	}
	return out, nil
}

// parseMockKey reads "3" or "1-2".
func parseMockKey(key string) (int, int, error) {
	a, b, isRange := strings.Cut(key, "-")
	from, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil || from < 0 {
		return 0, 0, fmt.Errorf("key %q: want an invocation number such as \"0\" or a range such as \"1-2\"", key)
	}
	to := from
	if isRange {
		to, err = strconv.Atoi(strings.TrimSpace(b))
		if err != nil || to < from {
			return 0, 0, fmt.Errorf("key %q: want an invocation number such as \"0\" or a range such as \"1-2\"", key)
		}
	}
	return from, to, nil
}

// States returns the names of the mocked states, sorted.
func (tc *MockTestCase) States() []string {
	names := make([]string, 0, len(tc.states))
	for n := range tc.states {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// response returns what invocation n (from 0) of state gets. Past the last
// key the last response repeats, so that a mock for "0" answers every
// retry the same way.
func (tc *MockTestCase) response(state string, n int) (mockRange, bool, error) {
	ranges, ok := tc.states[state]
	if !ok {
		return mockRange{}, false, nil
	}
	for _, r := range ranges {
		if n >= r.from && n <= r.to {
			return r, true, nil
		}
	}
	last := ranges[len(ranges)-1]
	if n > last.to {
		return last, true, nil
	}
	return mockRange{}, true, fmt.Errorf("the mocked responses of state '%s' in test case '%s' define no response for invocation %d", state, tc.Name, n)
}
