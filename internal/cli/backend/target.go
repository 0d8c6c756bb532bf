package backend

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/slipway-deploy/slipway/internal/localenv"
)

// Target is where a command acts, as the flags, the environment and the
// working directory decide: the embedded environment in Dir, or AWS.
type Target struct {
	// Local selects the embedded environment in Dir.
	Local bool
	Dir   string
	// Why says what chose it: "--local-dir", "$SLIPWAY_LOCAL_DIR",
	// "found", "--local" or "" (AWS by default).
	Why string
}

// String is the target as a command's first line names it:
// "local (/abs/.slipway/local)" or "AWS".
func (t Target) String() string {
	if !t.Local {
		return "AWS"
	}
	abs, err := filepath.Abs(t.Dir)
	if err != nil {
		abs = t.Dir
	}
	return "local (" + abs + ")"
}

// FindLocalDir walks up from dir to the root looking for DefaultLocalDir
// holding an embedded environment (its configuration file), and returns
// its path, or "" when there is none.
func FindLocalDir(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		cand := filepath.Join(dir, DefaultLocalDir)
		if fi, err := os.Stat(filepath.Join(cand, localenv.ConfigFile)); err == nil && fi.Mode().IsRegular() {
			return cand
		}
		up := filepath.Dir(dir)
		if up == dir {
			return ""
		}
		dir = up
	}
}

// Resolve decides where a command acts. In order: --local-dir; --local=false
// (AWS, even where an embedded environment would be found); $SLIPWAY_LOCAL_DIR;
// a .slipway/local found walking up from the working directory (when
// opts.Getwd is set: the CLI sets it, library callers need not); --local
// (DefaultLocalDir, which then does not exist); else AWS.
func Resolve(opts Options) Target {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	switch {
	case opts.LocalDir != "":
		return Target{Local: true, Dir: filepath.Clean(opts.LocalDir), Why: "--local-dir"}
	case opts.NoLocal:
		return Target{}
	case getenv(EnvLocalDir) != "":
		return Target{Local: true, Dir: filepath.Clean(getenv(EnvLocalDir)), Why: "$" + EnvLocalDir}
	}
	if opts.Getwd != nil {
		if wd, err := opts.Getwd(); err == nil {
			if dir := FindLocalDir(wd); dir != "" {
				return Target{Local: true, Dir: dir, Why: "found"}
			}
		}
	}
	if opts.Local {
		return Target{Local: true, Dir: DefaultLocalDir, Why: "--local"}
	}
	return Target{}
}

// LocalDir is the embedded environment's directory for a command that acts
// on nothing else (slipway local ..., states run): flagDir, else
// $SLIPWAY_LOCAL_DIR, else the one found walking up from the working
// directory, else DefaultLocalDir.
func LocalDir(flagDir string) string {
	t := Resolve(Options{LocalDir: flagDir, Local: true, Getwd: os.Getwd})
	return t.Dir
}

// Flags renders the flags of opts that select a target or configure AWS,
// as a printed command must carry them to act on the same target: "" when
// none was given. $SLIPWAY_LOCAL_DIR and a found directory need none.
func (o Options) Flags() string {
	var fl []string
	if o.LocalDir != "" {
		fl = append(fl, "--local-dir", quote(o.LocalDir))
	}
	if o.NoLocal {
		fl = append(fl, "--local=false")
	}
	if o.ConfigFile != "" {
		fl = append(fl, "--config", quote(o.ConfigFile))
	}
	if o.Region != "" {
		fl = append(fl, "--region", quote(o.Region))
	}
	if o.Profile != "" {
		fl = append(fl, "--profile", quote(o.Profile))
	}
	return strings.Join(fl, " ")
}

// quote quotes s for a POSIX shell when it needs it.
func quote(s string) string {
	if s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
	}) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
