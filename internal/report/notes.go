package report

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Notes are the release notes between two published releases of an app,
// for a pull request or a changelog: the migrations the newer one adds,
// with their class and lint findings, the configuration declarations that
// changed, and how to roll back. They compare bundles, not environments:
// `slipway plan` says what a deployment to one environment would do.
type Notes struct {
	App  string `json:"app"`
	From string `json:"from"`
	To   string `json:"to"`
	// Artifact is To's bundle.
	Artifact NotesArtifact `json:"artifact"`
	// Migrations are those To has and From has not (Pending), linted
	// with To's manifest (Allowed says its policy lets one through).
	Migrations Migrations `json:"migrations"`
	// Config has the manifest's config: declarations that changed.
	Config *ConfigChange `json:"config,omitempty"`
	// Dropped are migrations From has and To has not: a database From
	// migrated is ahead of To.
	Dropped []int64 `json:"dropped,omitempty"`
}

// NotesArtifact is a bundle's identity.
type NotesArtifact struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// JSON returns the notes as indented JSON.
func (n *Notes) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Markdown renders the notes for a pull request comment.
func (n *Notes) Markdown() string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("### Slipway release notes: `%s` → `%s` of %s\n\n", n.From, n.To, n.App)
	if br := breaking(n.Migrations, n.Config); len(br) > 0 || len(n.Dropped) > 0 {
		w("> [!WARNING]\n> **Breaking changes**\n")
		for _, s := range br {
			w("> - %s\n", s)
		}
		if len(n.Dropped) > 0 {
			w("> - %s has migrations %s is missing (%v): a database %s migrated is ahead of %s\n", n.From, n.To, n.Dropped, n.From, n.To)
		}
		w("\n")
	}
	declared := 0
	if n.Config != nil {
		declared = len(n.Config.Declarations)
	}
	w("| | |\n|---|---|\n")
	w("| Release | `%s`, %s, sha256 `%s` |\n", n.To, Bytes(n.Artifact.Size), short(n.Artifact.SHA256, 12))
	w("| Compared with | `%s` |\n", n.From)
	w("| Migrations | %s |\n", plural(len(n.Migrations.Pending), "new migration"))
	w("| Configuration | %s |\n\n", plural(declared, "declaration")+" changed")
	mdMigrations(w, n.Migrations)
	mdConfig(w, n.Config)

	w("#### Deployment considerations\n\n")
	if k := len(n.Migrations.Pending); k > 0 {
		w("- the %s run once, under a lock, after a snapshot of the database and before the first wave: while the waves roll, `%s` runs against the new schema\n",
			plural(k, "migration"), n.From)
	} else {
		w("- no migration: the schema does not change\n")
	}
	if declared > 0 {
		w("- Preflight refuses a deployment until every required variable resolves: `slipway config check --env ENV --version %s`\n", n.To)
	}
	w("- `slipway plan --env ENV --version %s` shows what a deployment to one environment would do\n\n", n.To)

	w("#### Rollback procedure\n\n")
	w("A failed deployment of `%s` rolls back by itself. By hand, while it serves:\n\n```sh\nslipway rollback --env ENV --to %s\n```\n\n", n.To, n.From)
	irreversible := false
	for _, m := range n.Migrations.Pending {
		how := "reverted by a rollback (its down migration runs)"
		if !m.Reversible {
			how = "**not reversible**: it stays after a rollback; `" + n.From + "` must cope with it, or restore the snapshot taken before the migrations"
			irreversible = true
		}
		w("- `%s`: %s\n", m.Key(), how)
	}
	if irreversible {
		w("\nThe snapshot's id and the exact restore command are in the deployment's report: `slipway show DEPLOYMENT`.\n")
	}
	return b.String()
}
