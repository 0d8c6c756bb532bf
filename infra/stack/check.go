package stack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// ContextKey is the CDK context key that names the configuration file (or
// holds the configuration object).
const ContextKey = "config"

// DefaultConfigFile is the configuration file used when the context key is
// not set, relative to the repository root.
const DefaultConfigFile = "slipway.aws.json"

// Check adds cdk-nag's AwsSolutions pack to scope: every synth runs it, and
// each finding becomes an error or warning annotation on the construct.
func Check(scope constructs.Construct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// Levels of findings.
const (
	LevelError   = "error"
	LevelWarning = "warning"
)

// Finding is an error or warning annotation in a synthesized assembly.
type Finding struct {
	Stack, Path, Level, Message string
}

func (f Finding) String() string {
	return fmt.Sprintf("[%s] %s %s: %s", f.Level, f.Stack, f.Path, f.Message)
}

// Findings reads the error and warning annotations (cdk-nag's among them)
// of every stack in the cloud assembly in outdir.
func Findings(outdir string) ([]Finding, error) {
	b, err := os.ReadFile(filepath.Join(outdir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("read the cloud assembly: %w", err)
	}
	type entries = map[string][]struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	var m struct {
		Artifacts map[string]struct {
			Type     string  `json:"type"`
			Metadata entries `json:"metadata"`
			// Newer CDK versions write the metadata to a file of its own.
			AdditionalMetadataFile string `json:"additionalMetadataFile"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read the cloud assembly manifest: %w", err)
	}
	var out []Finding
	for name, a := range m.Artifacts {
		metadata := entries{}
		for p, e := range a.Metadata {
			metadata[p] = append(metadata[p], e...)
		}
		if a.AdditionalMetadataFile != "" {
			b, err := os.ReadFile(filepath.Join(outdir, a.AdditionalMetadataFile))
			if err != nil {
				return nil, fmt.Errorf("read the cloud assembly: %w", err)
			}
			var more entries
			if err := json.Unmarshal(b, &more); err != nil {
				return nil, fmt.Errorf("read %s: %w", a.AdditionalMetadataFile, err)
			}
			for p, e := range more {
				metadata[p] = append(metadata[p], e...)
			}
		}
		for path, entries := range metadata {
			for _, e := range entries {
				var level string
				switch e.Type {
				case "aws:cdk:error":
					level = LevelError
				case "aws:cdk:warning":
					level = LevelWarning
				default:
					continue
				}
				var msg string
				if json.Unmarshal(e.Data, &msg) != nil {
					msg = string(e.Data)
				}
				out = append(out, Finding{Stack: name, Path: path, Level: level, Message: msg})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}
