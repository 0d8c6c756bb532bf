package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
)

// Findings returns the findings of results that are not ignored, with
// their file names under dir.
func Findings(results []Result, dir string) []Finding {
	out := []Finding{}
	for _, r := range results {
		for _, f := range r.Findings {
			if f.Ignored {
				continue
			}
			if dir != "" {
				f.File = path.Join(dir, f.File)
			}
			out = append(out, f)
		}
	}
	return out
}

// WriteJSON writes the findings that are not ignored as a JSON array of
// {"file","line","rule","severity","atlas_code","message"}.
func WriteJSON(w io.Writer, results []Result, dir string) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(Findings(results, dir))
}

// WriteText writes one line per finding, the ignored ones with their
// reasons, and a summary.
func WriteText(w io.Writer, results []Result, dir string) error {
	var errs, warns, ignored int
	for _, r := range results {
		for _, f := range r.Findings {
			if dir != "" {
				f.File = path.Join(dir, f.File)
			}
			switch {
			case f.Ignored:
				ignored++
				fmt.Fprintf(w, "%s:%d: ignored %s: %s\n", f.File, f.Line, f.Rule, f.Reason)
			default:
				if f.Severity == Error {
					errs++
				} else {
					warns++
				}
				fmt.Fprintln(w, FormatFinding(f))
			}
		}
		for _, n := range r.Notes {
			fmt.Fprintf(w, "%s: note: %s\n", path.Join(dir, r.File), n)
		}
	}
	_, err := fmt.Fprintf(w, "%d migrations: %d errors, %d warnings, %d ignored\n", len(results), errs, warns, ignored)
	return err
}
