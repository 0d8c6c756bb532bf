package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
)

// Load prepares every history of the index in dir, and the Choice
// operator cases, as Cases. Histories that cannot be replayed come back as
// skipped Results.
func Load(dir string) ([]*Case, []Result, error) {
	ix, err := LoadIndex(dir)
	if err != nil {
		return nil, nil, err
	}
	var (
		cases   []*Case
		skipped []Result
	)
	for _, e := range ix.Entries {
		c, err := Prepare(dir, e)
		if err != nil {
			reason := err.Error()
			if errors.Is(err, ErrNoTemplate) {
				reason = "no template (" + e.DefinitionSource + ")"
			}
			skipped = append(skipped, Result{ID: e.ID, Area: e.Area, Kind: Classify(e), Status: Skip, Reason: reason})
			continue
		}
		cases = append(cases, c)
	}
	choice, err := ChoiceCases(dir)
	if err != nil {
		return nil, nil, err
	}
	return append(cases, choice...), skipped, nil
}

// ChoiceCases reads choice_cases.json: every Choice operator case, run
// through the template the recording used.
func ChoiceCases(dir string) ([]*Case, error) {
	data, err := os.ReadFile(filepath.Join(dir, "choice_cases.json"))
	if err != nil {
		return nil, fmt.Errorf("read choice cases: %w", err)
	}
	var cc struct {
		Tests []struct {
			Operator  string `json:"operator"`
			ValueMode string `json:"value_mode"`
			Cases     []struct {
				Index          int             `json:"index"`
				Input          json.RawMessage `json:"input"`
				ChoiceRule     json.RawMessage `json:"choice_rule"`
				ExpectedBranch string          `json:"expected_branch"`
			} `json:"cases"`
		} `json:"tests"`
	}
	if err := json.Unmarshal(data, &cc); err != nil {
		return nil, fmt.Errorf("decode choice cases: %w", err)
	}
	var out []*Case
	for _, t := range cc.Tests {
		for _, c := range t.Cases {
			def := fmt.Sprintf(`{"StartAt": "CheckValues", "States": {
				"CheckValues": {"Type": "Choice", "Choices": [%s], "Default": "ConditionFalse"},
				"ConditionTrue": {"Type": "Pass", "Result": {"TestResult.$": "ConditionTrue"}, "End": true},
				"ConditionFalse": {"Type": "Pass", "Result": {"TestResult.$": "ConditionFalse"}, "End": true}}}`, c.ChoiceRule)
			want := fmt.Sprintf(`{"TestResult.$": %q}`, c.ExpectedBranch)
			out = append(out, &Case{
				ID:         fmt.Sprintf("choice_cases.json::%s::%s::%d", t.Operator, t.ValueMode, c.Index),
				Area:       "choice_operators",
				Kind:       KindChoice,
				Definition: json.RawMessage(def),
				Input:      c.Input,
				Expected:   &Expected{Output: json.RawMessage(want)},
			})
		}
	}
	return out, nil
}

// ReplayAll replays cases on workers goroutines and returns the results in
// the order of cases.
func ReplayAll(ctx context.Context, cases []*Case, workers int) []Result {
	out := make([]Result, len(cases))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = Replay(ctx, cases[i])
			}
		}()
	}
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// kinds are the report's columns, in order.
var kinds = []Kind{KindJSONPath, KindJSONata, KindMocked, KindChoice, KindOther}

// WriteTable prints passed/total by area and group, then the totals: the
// overall figure, and each group's. Skipped histories count in the totals
// as not passed.
func WriteTable(w io.Writer, results []Result) error {
	type tally struct{ pass, total int }
	byArea := map[string]map[Kind]*tally{}
	totals := map[Kind]*tally{}
	for _, k := range kinds {
		totals[k] = &tally{}
	}
	var all, skipped tally
	for _, r := range results {
		if byArea[r.Area] == nil {
			byArea[r.Area] = map[Kind]*tally{}
			for _, k := range kinds {
				byArea[r.Area][k] = &tally{}
			}
		}
		for _, t := range []*tally{byArea[r.Area][r.Kind], totals[r.Kind], &all} {
			t.total++
			if r.Status == Pass {
				t.pass++
			}
		}
		if r.Status == Skip {
			skipped.total++
		}
	}
	cell := func(t *tally) string {
		if t.total == 0 {
			return "-"
		}
		return fmt.Sprintf("%d/%d", t.pass, t.total)
	}
	pct := func(t *tally) string {
		if t.total == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(t.pass)/float64(t.total))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "area\tJSONPath\tJSONata\tmocked tasks\tchoice ops\tother\tall\t")
	areas := make([]string, 0, len(byArea))
	for a := range byArea {
		areas = append(areas, a)
	}
	slices.Sort(areas)
	for _, a := range areas {
		row := []string{a}
		t := &tally{}
		for _, k := range kinds {
			row = append(row, cell(byArea[a][k]))
			t.pass += byArea[a][k].pass
			t.total += byArea[a][k].total
		}
		row = append(row, cell(t))
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	row := []string{"total"}
	for _, k := range kinds {
		row = append(row, cell(totals[k]))
	}
	row = append(row, cell(&all))
	fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	row = []string{"rate"}
	for _, k := range kinds {
		row = append(row, pct(totals[k]))
	}
	row = append(row, pct(&all))
	fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\noverall: %d of %d passed (%s); %d could not be replayed (no template, or an incomplete history)\n",
		all.pass, all.total, pct(&all), skipped.total)
	return err
}

// WriteFailures writes one line per case that did not pass, "id<TAB>status<TAB>reason",
// sorted by id.
func WriteFailures(w io.Writer, results []Result) error {
	var lines []string
	for _, r := range results {
		if r.Status != Pass {
			lines = append(lines, fmt.Sprintf("%s\t%s\t%s", r.ID, r.Status, strings.ReplaceAll(r.Reason, "\n", " ")))
		}
	}
	slices.Sort(lines)
	for _, l := range lines {
		if _, err := fmt.Fprintln(w, l); err != nil {
			return err
		}
	}
	return nil
}
