package artifact

import (
	"fmt"
	"regexp"

	"github.com/slipway-deploy/slipway/internal/contract"
)

// NotFoundError reports a release that was never published.
type NotFoundError struct {
	App, Version, Where string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("release %s of %s is not published in %s: build and publish it first (slipway release publish), or check the version", e.Version, e.App, e.Where)
}

// versionRE is a version's characters; its length, at most 128, is checked
// apart (a bounded repeat would compile into 128 copies of the class at
// package init).
var versionRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidVersion reports whether v can name a release (a tag or a commit).
func ValidVersion(v string) error {
	if len(v) > 128 || !versionRE.MatchString(v) {
		return fmt.Errorf("version %q: use letters, digits, dots, dashes or underscores (a tag or a commit), at most 128", v)
	}
	return nil
}

// Key is a release's object key relative to the store's root.
func Key(app, version string) string { return app + "/" + version + ".tar.gz" }

// Meta is what a store knows about a published release.
type Meta = contract.Artifact
