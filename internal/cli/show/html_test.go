package show

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/slipway-deploy/slipway/internal/cli/backend/backendtest"
)

// TestShowHTML writes a rolled-back deployment's report with --html FILE,
// opens the file in headless Chromium and checks what it drew: not a blank
// page, and the timeline's bars (their green and red) on the first screen.
func TestShowHTML(t *testing.T) {
	f := backendtest.New(t)
	backendtest.Seed(t, f)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	io, out, _ := backendtest.IO()
	opts := &Options{IO: io, Backend: f.Open, DeploymentID: backendtest.StagingV2, HTML: file, Now: func() time.Time { return backendtest.T0.Add(time.Hour) }}
	if err := run(context.Background(), opts); err != nil {
		t.Fatalf("show %s --html: %v", backendtest.StagingV2, err)
	}
	if want := "wrote " + file + ": the report of " + backendtest.StagingV2; !strings.HasPrefix(out.String(), want) {
		t.Errorf("show --html printed %q, want it to start with %q", out, want)
	}
	page, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg class=\"timeline\"", "<h2>1. Deployment Plan</h2>", "<h2>6. Monitoring Points</h2>", backendtest.StagingV2} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("%s lacks %q", file, want)
		}
	}

	shot := screenshot(t, file)
	px := pixels(shot)
	t.Logf("screenshot %dx%d: %d colours, %.1f%% not white, %d timeline green, %d red", px.w, px.h, px.colours, px.notWhite*100, px.green, px.red)
	if px.colours < 16 || px.notWhite < 0.02 {
		t.Errorf("the screenshot looks blank: %d distinct colours, %.2f%% of the pixels not white", px.colours, px.notWhite*100)
	}
	// The timeline draws a stage in #2da44e when it went well, a failed
	// one in #cf222e: StagingV2 rolled back later, its own stages went well.
	if px.green < 200 {
		t.Errorf("the screenshot has %d pixels of the timeline's green, want the bars drawn (at least 200)", px.green)
	}
}

// chromium finds a Chromium: missing, the test is skipped, except under
// CI=true where .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is missing (CI installs it in .ci/run)")
	}
	t.Skip("chromium is not installed (apt-get install chromium)")
	return ""
}

// screenshot renders file in headless Chromium at 1200x900 and returns
// the PNG it wrote.
func screenshot(t *testing.T, file string) image.Image {
	t.Helper()
	bin := chromium(t)
	dir := t.TempDir()
	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--screenshot="+shot, "--window-size=1200,900", "file://"+file)
	// Chromium starts helpers of its own: one process group, killed as
	// one when the browser is done or the time is up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	err := cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("chromium --screenshot: %v\n%s", err, output.Bytes())
	}
	r, err := os.Open(shot)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v\n%s", err, output.Bytes())
	}
	defer r.Close()
	img, err := png.Decode(r)
	if err != nil {
		t.Fatalf("decode the screenshot: %v", err)
	}
	return img
}

type pixelCount struct {
	w, h       int
	colours    int
	notWhite   float64
	green, red int
}

// pixels counts an image's distinct colours, the share of pixels that are
// not white, and those of the timeline's green and red bars.
func pixels(img image.Image) pixelCount {
	b := img.Bounds()
	seen := map[[3]uint32]bool{}
	var notWhite, all int
	pc := pixelCount{w: b.Dx(), h: b.Dy()}
	near := func(r, g, b uint32, want [3]uint32) bool {
		d := func(a, b uint32) uint32 {
			if a > b {
				return a - b
			}
			return b - a
		}
		return d(r, want[0]) <= 6 && d(g, want[1]) <= 6 && d(b, want[2]) <= 6
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			all++
			seen[[3]uint32{r, g, bl}] = true
			if r < 245 || g < 245 || bl < 245 {
				notWhite++
			}
			switch {
			case near(r, g, bl, [3]uint32{0x2d, 0xa4, 0x4e}):
				pc.green++
			case near(r, g, bl, [3]uint32{0xcf, 0x22, 0x2e}):
				pc.red++
			}
		}
	}
	pc.colours = len(seen)
	pc.notWhite = float64(notWhite) / float64(max(all, 1))
	return pc
}
