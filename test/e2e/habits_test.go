//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

// addLeftovers puts into dir what a dataset copied off a Mac, out of a zip
// made on one, off a Windows share, out of Jupyter and out of git holds,
// and an images/drafts/ folder meant to be excluded. It returns the paths
// it wrote.
func addLeftovers(t *testing.T, dir string) []string {
	t.Helper()
	files := []string{
		".DS_Store", "images/.DS_Store", "images/._img_00000.jpg", "images/Thumbs.db", "images/desktop.ini",
		"__MACOSX/images/._img_00001.jpg", "images/.ipynb_checkpoints/img_00002-checkpoint.jpg", ".git/HEAD",
		"images/drafts/img_00003.jpg", "images/old_img_00004.bak",
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f))
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte("not meant to be pushed: "+f), 0o644))
	}
	must(t, os.WriteFile(filepath.Join(dir, ".traceblocignore"), []byte("# backups stay home\n*.bak\n"), 0o644))
	return files
}

type exclusionReport struct {
	Status   string `json:"status"`
	ExitCode int    `json:"exit_code"`
	Excluded []struct {
		Pattern string `json:"pattern"`
		Source  string `json:"source"`
		Files   int    `json:"files"`
	} `json:"excluded"`
	Run *struct {
		State   string `json:"state"`
		Summary *struct {
			Inserted int `json:"inserted"`
			Skipped  int `json:"skipped"`
		} `json:"summary"`
	} `json:"run"`
}

// TestPushSkipsLeftoversAndExcludes: a dataset with Finder and Windows
// leftovers and an --exclude'd folder pushes and ingests, and the staged
// copy read back from the reader Pod is exactly the files that are not
// left out.
func TestPushSkipsLeftoversAndExcludes(t *testing.T) {
	const table = "e2e_leftovers"
	forgetTable(t, table)
	dir := smallDataset(t)
	want := localSums(t, dir)
	leftovers := addLeftovers(t, dir)

	var rep exclusionReport
	r := runJSON(t, &rep, "push", dir, "--table", table, "-n", ns, "-o", "json", "--keep-staged", "--exclude", "images/drafts/")
	if r.code != 0 || rep.Status != "ingested" || rep.Run == nil || rep.Run.State != "succeeded" || rep.Run.Summary == nil || rep.Run.Summary.Inserted != 20 {
		t.Fatalf("want an ingested run of the 20 images:\n%s", r)
	}
	if diff := cmp.Diff(want, stagedSums(t, table)); diff != "" {
		t.Errorf("staged copy is not exactly the files left in (-want +staged):\n%s", diff)
	}
	ingested := ingestedSums(t, table)
	for _, f := range leftovers {
		if ingested[f] != "" {
			t.Errorf("%s reached the ingested copy", f)
		}
	}
	if len(ingested) != len(want) {
		t.Errorf("ingested copy holds %d files, want %d: %v", len(ingested), len(want), ingested)
	}
	got := map[string]int{}
	for _, e := range rep.Excluded {
		got[e.Pattern+" "+e.Source] = e.Files
	}
	wantExcluded := map[string]int{
		".DS_Store built-in": 2, "._* built-in": 1, "Thumbs.db built-in": 1, "desktop.ini built-in": 1,
		"__MACOSX/ built-in": 1, ".ipynb_checkpoints/ built-in": 1, ".git/ built-in": 1,
		"*.bak .traceblocignore": 1, "images/drafts/ --exclude": 1,
	}
	if diff := cmp.Diff(wantExcluded, got); diff != "" {
		t.Errorf("excluded in -o json (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.stderr, "skipped 8 files no one means to push") || !strings.Contains(r.stderr, "excluded 2 files by pattern: *.bak (1), images/drafts/ (1)") {
		t.Errorf("the notes do not count what was left out:\n%s", r.stderr)
	}
	assertNoStagePods(t, ns)
}

// wireBytes reads what the host has sent to the cluster (the veth the
// cluster is reached through).
func wireBytes(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/sys/class/net/tblc0/statistics/tx_bytes")
	if err != nil {
		t.Fatalf("reading the cluster link's counter: %v", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	must(t, err)
	return n
}

// TestBWLimitHoldsTheRate pushes 24 MB of incompressible images with
// --bwlimit 2M and measures the rate on the wire: the bytes the link to
// the cluster carried while the middle 80 % of the stream went. The token
// bucket guarantees the upper bound (at most burst + rate·time passes, and
// the wire adds only TCP and stream framing), so that bound is strict; the
// lower bound depends on the machine keeping up and is loose.
func TestBWLimitHoldsTheRate(t *testing.T) {
	const table = "e2e_bwlimit"
	const capBps = 2e6
	removeStaged(t, table)
	dir := filepath.Join(t.TempDir(), "bw")
	// 260 incompressible 176×176 PNGs: about 24 MB.
	must(t, fixture.Write(dir, fixture.Options{Images: 260, Width: 176, Height: 176, Ext: ".png", Noise: true}))

	type sample struct {
		at time.Time
		n  int64
	}
	var samples []sample
	var mu sync.Mutex
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			b, err := os.ReadFile("/sys/class/net/tblc0/statistics/tx_bytes")
			if err == nil {
				n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
				mu.Lock()
				samples = append(samples, sample{time.Now(), n})
				mu.Unlock()
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	wireBytes(t)
	start := time.Now()
	r, rep := push(t, dir, table, "--bwlimit", "2M", "--compress", "never")
	took := time.Since(start)
	close(stop)
	<-done
	if r.code != 0 || !rep.Verified || rep.Transfer == nil {
		t.Fatalf("capped push:\n%s", r)
	}
	assertStagedCopy(t, dir, table)
	if rep.Transfer.WireBytes < 20e6 {
		t.Fatalf("the stream carried %d bytes, under the 20 MB the test needs", rep.Transfer.WireBytes)
	}
	if floor := time.Duration(float64(rep.Transfer.WireBytes-2e5) / capBps * float64(time.Second)); took < floor {
		t.Errorf("%d bytes went in %v, under the %v a 2 MB/s cap allows", rep.Transfer.WireBytes, took, floor)
	}
	if !regexp.MustCompile(`sending \(capped at 2 MB/s\): `).MatchString(r.stderr) {
		t.Errorf("the progress does not show the cap:\n%s", r.stderr)
	}
	// The middle 80 % of the stream on the wire.
	base := samples[0].n
	var t10, t90 time.Time
	var n10, n90 int64
	for _, s := range samples {
		sent := s.n - base
		if t10.IsZero() && sent >= rep.Transfer.WireBytes/10 {
			t10, n10 = s.at, sent
		}
		if t90.IsZero() && sent >= rep.Transfer.WireBytes*9/10 {
			t90, n90 = s.at, sent
		}
	}
	if t10.IsZero() || t90.IsZero() || !t90.After(t10) {
		t.Fatalf("the link counter did not see the stream: %d samples, from %d to %d bytes", len(samples), base, samples[len(samples)-1].n)
	}
	rate := float64(n90-n10) / t90.Sub(t10).Seconds()
	t.Logf("--bwlimit 2M: %.2f MB/s on the wire over the middle of the stream (%.1f MB in %.2fs); push %.1fs for %.1f MB",
		rate/1e6, float64(n90-n10)/1e6, t90.Sub(t10).Seconds(), took.Seconds(), float64(rep.Transfer.WireBytes)/1e6)
	if rate > capBps*1.15 {
		t.Errorf("%.2f MB/s on the wire, over the 2 MB/s cap + 15 %%", rate/1e6)
	}
	if rate < capBps*0.5 {
		t.Errorf("%.2f MB/s on the wire: far under the 2 MB/s cap, the cap slows more than it should", rate/1e6)
	}
}
