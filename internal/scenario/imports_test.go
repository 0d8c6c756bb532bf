package scenario

import (
	"context"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoCLIImports keeps the dependency one way: the CLI (slipway demo)
// imports this package and hands it its deploy code; nothing here, tests
// included, imports internal/cli.
func TestNoCLIImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("list the package's files: %v %v", files, err)
	}
	for _, name := range files {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/slipway-deploy/slipway/internal/cli") {
				t.Errorf("%s imports %s: take what it needs as a parameter (see Options.Deploy)", name, path)
			}
		}
	}
}

func TestRunWithoutDeployer(t *testing.T) {
	if _, err := Run(context.Background(), Options{Root: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "Options.Deploy") {
		t.Errorf("Run() without Deploy = %v, want an error naming Options.Deploy", err)
	}
}
