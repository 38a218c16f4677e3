//go:build e2e

package bench

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/lock"
)

// The benchmarks run once each (`make bench`), side by side in one run, and
// write their figures to BENCHMARKS.md.

var (
	benchMu    sync.Mutex
	benchLines = map[string][]string{}
)

func record(section, format string, args ...any) {
	benchMu.Lock()
	defer benchMu.Unlock()
	benchLines[section] = append(benchLines[section], fmt.Sprintf(format, args...))
}

// writeBenchmarks writes the sections recorded by this run into
// BENCHMARKS.md, each stamped with the run's time, and keeps the sections of
// benchmarks that did not run (so `-bench Name` updates one section).
func writeBenchmarks() {
	benchMu.Lock()
	defer benchMu.Unlock()
	if len(benchLines) == 0 {
		return
	}
	file := filepath.Join("..", "..", "BENCHMARKS.md")
	sections := map[string]string{}
	if old, err := os.ReadFile(file); err == nil {
		parts := strings.Split(string(old), "\n## ")
		for _, p := range parts[1:] {
			title, body, _ := strings.Cut(p, "\n")
			sections[title] = body
		}
	}
	stamp := time.Now().UTC().Format("2006-01-02 15:04 MST")
	for title, lines := range benchLines {
		sections[title] = "\n_Run of " + stamp + "._\n\n" + strings.Join(lines, "\n") + "\n"
	}
	titles := make([]string, 0, len(sections))
	for t := range sections {
		titles = append(titles, t)
	}
	sort.Strings(titles)
	var b strings.Builder
	b.WriteString("# Benchmarks\n\nWritten by `make bench` (`go test -tags e2e -run '^$' -bench . -benchtime 1x ./test/bench/`) on the local real cluster\n")
	b.WriteString("of `hack/localcluster` (one node, 2 cores, loopback veth), with the same kubectl v1.37.2 built by the cluster tooling.\n")
	b.WriteString("Within a section, everything was measured side by side in one run; `-bench <Name>` refreshes only its sections.\n")
	for _, t := range titles {
		b.WriteString("\n## " + t + "\n" + strings.TrimRight(sections[t], "\n") + "\n")
	}
	_ = os.WriteFile(file, []byte(b.String()), 0o644)
}

// benchData caches generated datasets between runs of the suite.
func benchData(b *testing.B, name string, o fixture.Options) string {
	b.Helper()
	root := filepath.Join(os.TempDir(), "tracebloc-bench", name)
	if _, err := os.Stat(filepath.Join(root, "labels.csv")); err == nil {
		return root
	}
	_ = os.RemoveAll(root)
	if err := fixture.Write(root, o); err != nil {
		b.Fatal(err)
	}
	return root
}

type run struct {
	took   time.Duration
	maxRSS int64 // KiB
	out    string
	code   int
}

func timed(b *testing.B, env []string, name string, args ...string) run {
	b.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	r := run{took: time.Since(start), out: out.String()}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.maxRSS = ru.Maxrss
		}
	}
	if err != nil && r.code == 0 {
		b.Fatalf("%s: %v", name, err)
	}
	return r
}

func BenchmarkPreflight20k(b *testing.B) {
	dir := benchData(b, "preflight-20k", fixture.Options{Images: 20000, Width: 64, Height: 64})
	r := timed(b, nil, plugin, "push", dir, "--table", "bench_preflight", "-n", ns, "--dry-run", "-q")
	if r.code != 0 {
		b.Fatalf("dry run:\n%s", r.out)
	}
	record("Pre-flight", "| dataset | wall time | files/s | peak RSS |\n| --- | --- | --- | --- |")
	record("Pre-flight", "| 20 001 files (20 000 64×64 JPEGs + labels.csv), `push --dry-run` incl. cluster discovery | %.2f s | %.0f | %.1f MiB |",
		r.took.Seconds(), 20001/r.took.Seconds(), float64(r.maxRSS)/1024)
}

// manualPush is what a user scripts without the plugin: a Pod that mounts
// the volume, kubectl cp, delete.
func manualPush(b *testing.B, dir, dest string) time.Duration {
	b.Helper()
	manifest := fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bench-manual","namespace":%q,"labels":{"bench":"manual"}},"spec":{"automountServiceAccountToken":false,"terminationGracePeriodSeconds":1,"securityContext":{"runAsNonRoot":true,"runAsUser":65532,"runAsGroup":65532,"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"c","image":%q,"imagePullPolicy":"IfNotPresent","command":["sh","-c","trap 'exit 0' TERM; sleep 3600 & wait"],"securityContext":{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}},"volumeMounts":[{"name":"shared","mountPath":"/data/shared"}]}],"volumes":[{"name":"shared","persistentVolumeClaim":{"claimName":"client-pvc"}}]}}`, ns, stageImage)
	k := func(args ...string) *exec.Cmd {
		return exec.Command(kubectlBin, append([]string{"--kubeconfig", kubeconfig, "-n", ns}, args...)...)
	}
	start := time.Now()
	apply := k("apply", "-f", "-")
	apply.Stdin = strings.NewReader(manifest)
	steps := []*exec.Cmd{apply, k("wait", "--for=condition=Ready", "pod/bench-manual", "--timeout=120s"),
		k("cp", dir, "bench-manual:"+dest), k("delete", "pod", "bench-manual", "--grace-period=1")}
	for _, c := range steps {
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", c.Args, err, out)
		}
	}
	return time.Since(start)
}

func pushTimed(b *testing.B, dir, table string, extra ...string) run {
	b.Helper()
	r := timed(b, nil, plugin, append([]string{"push", "--stage-only", dir, "--table", table, "-n", ns, "-q"}, extra...)...)
	if r.code != 0 {
		b.Fatalf("push:\n%s", r.out)
	}
	return r
}

// clearStaged sets the staged copies of tables (and the manual workflow's
// copies) aside in a trash folder on the volume, to be deleted by
// emptyTrash between measurements. Deleting tens of thousands of files
// right before a run would bill that run for it: ext4 without a journal
// (this volume's) skips inodes freed in the last minutes when it allocates,
// so creating files right after a mass delete is up to several times
// slower, for either workflow (emptyTrash, afterDeletes). Each call sets
// aside into a folder of its own (the Pod's date has no %N: two calls in
// one second would share one, and the second mv of a table would fail).
func clearStaged(b *testing.B, tables ...string) {
	b.Helper()
	defer afterDeletes(b)
	for _, t := range tables {
		out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "exec", "-n", ns, readerPod, "--", "sh", "-c",
			`mkdir -p /data/shared/.bench-trash && trash=$(mktemp -d /data/shared/.bench-trash/c.XXXXXX) && for p in "$1/$2" "$1/.$2.manifest" "$1/.partial-$2" /data/shared/bench-manual-*; do if [ -e "$p" ]; then mv "$p" "$trash/"; fi; done`,
			"sh", stagingDir, t).CombinedOutput()
		if err != nil {
			b.Fatalf("clearing %s: %v %s", t, err, out)
		}
		_ = client.CoordinationV1().Leases(ns).Delete(context.Background(), lock.LeaseName(t), metav1.DeleteOptions{})
	}
}

// emptyTrash deletes what clearStaged set aside, outside any measurement.
func emptyTrash(b *testing.B) {
	b.Helper()
	if out, err := exec.Command(kubectlBin, "--kubeconfig", kubeconfig, "exec", "-n", ns, readerPod, "--", "rm", "-rf", "/data/shared/.bench-trash").CombinedOutput(); err != nil {
		b.Fatalf("emptying the trash: %v %s", err, out)
	}
	// The next measurement would pay for the inodes just freed (see
	// clearStaged): ext4 passes over an inode deleted less than 60 s ago,
	// or 360 s while its inode table block is not yet written back, and
	// the files a push creates dirty those blocks again. Measured: a first
	// push of 1 000 000 texts took 98-110 s on a quiet volume and 195-244 s
	// within minutes of the deletion of a million staged files (the same
	// build, three times each). Write everything back and note the time:
	// the next measurement waits the six minutes out (afterDeletes).
	if out, err := exec.Command("sync").CombinedOutput(); err != nil {
		b.Fatalf("sync: %v %s", err, out)
	}
	if err := os.WriteFile(deletedMark(), []byte(time.Now().UTC().Format(time.RFC3339)), 0o644); err != nil {
		b.Fatal(err)
	}
}

// deletedMark holds the time the trash was last emptied.
func deletedMark() string { return filepath.Join(os.TempDir(), "tracebloc-bench", ".trash-emptied") }

// inodeQuarantine is how long ext4 without a journal passes over an inode
// freed while its inode table block is dirty.
const inodeQuarantine = 6*time.Minute + 10*time.Second

// afterDeletes waits until the last emptying of the trash is
// inodeQuarantine old, so a measurement does not pay for it.
func afterDeletes(b *testing.B) {
	b.Helper()
	raw, err := os.ReadFile(deletedMark())
	if err != nil {
		return
	}
	at, err := time.Parse(time.RFC3339, strings.TrimSpace(string(raw)))
	if err != nil {
		return
	}
	if wait := time.Until(at.Add(inodeQuarantine)); wait > 0 {
		b.Logf("waiting %s: the trash was emptied at %s, and inodes freed within six minutes slow file creation", wait.Round(time.Second), at.Format(time.TimeOnly))
		time.Sleep(wait)
	}
}

func bulkBench(b *testing.B) string {
	return benchData(b, "bulk-150mb", fixture.Options{Images: 1600, Width: 176, Height: 176, Ext: ".png", Noise: true})
}

// fullRuns is how often each workflow runs, alternating; the median is kept.
// On a 2-core machine that also runs the cluster, single runs vary by ±20 %.
const fullRuns = 7

// baselineEnv names another build of the plugin (e.g. an earlier release)
// to measure beside this one in the same run.
const baselineEnv = "TRACEBLOC_BASELINE_PLUGIN"

// podCPU follows the Pods of one workflow while it runs and adds up the CPU
// time their cgroups used (cgroup v1 cpuacct, read on this host, where the
// kubelet runs).
type podCPU struct {
	stop  chan struct{}
	done  chan struct{}
	usage map[string]int64
}

func watchPodCPU(b *testing.B, selector string) *podCPU {
	w := &podCPU{stop: make(chan struct{}), done: make(chan struct{}), usage: map[string]int64{}}
	go func() {
		defer close(w.done)
		for {
			pods, err := client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
			if err == nil {
				for _, p := range pods.Items {
					matches, _ := filepath.Glob("/sys/fs/cgroup/cpuacct/kubepods/*/pod" + string(p.UID) + "/cpuacct.usage")
					if len(matches) == 0 {
						matches, _ = filepath.Glob("/sys/fs/cgroup/cpuacct/kubepods/pod" + string(p.UID) + "/cpuacct.usage")
					}
					for _, m := range matches {
						if raw, err := os.ReadFile(m); err == nil {
							var n int64
							if _, err := fmt.Sscan(string(raw), &n); err == nil && n > w.usage[string(p.UID)] {
								w.usage[string(p.UID)] = n
							}
						}
					}
				}
			}
			select {
			case <-w.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return w
}

// seconds ends the watch and returns the CPU seconds used.
func (w *podCPU) seconds() float64 {
	close(w.stop)
	<-w.done
	var total int64
	for _, n := range w.usage {
		total += n
	}
	return float64(total) / 1e9
}

func compareFull(b *testing.B, label string) {
	dir := bulkBench(b)
	const table = "bench_full"
	gb := float64(dirBytes(b, dir)) / 1e9
	baseline := os.Getenv(baselineEnv)
	var ours, manual, base []time.Duration
	var oursCPU, manualCPU, baseCPU []float64
	defer emptyTrash(b)
	for i := 0; i < fullRuns; i++ {
		clearStaged(b, table)
		runManual := func() {
			settle(b)
			w := watchPodCPU(b, "bench=manual")
			manual = append(manual, manualPush(b, dir, fmt.Sprintf("/data/shared/bench-manual-%d", i)))
			manualCPU = append(manualCPU, w.seconds()/gb)
		}
		runOurs := func() {
			settle(b)
			w := watchPodCPU(b, "app.kubernetes.io/managed-by=kubectl-tracebloc")
			ours = append(ours, pushTimed(b, dir, table).took)
			oursCPU = append(oursCPU, w.seconds()/gb)
		}
		runBase := func() {
			if baseline == "" {
				return
			}
			clearStaged(b, table)
			settle(b)
			w := watchPodCPU(b, "app.kubernetes.io/managed-by=kubectl-tracebloc")
			r := timed(b, nil, baseline, "push", dir, "--table", table, "-n", ns, "-q")
			if r.code != 0 {
				b.Fatalf("baseline push:\n%s", r.out)
			}
			base = append(base, r.took)
			baseCPU = append(baseCPU, w.seconds()/gb)
			clearStaged(b, table)
		}
		// Alternate which goes first, so neither always inherits the
		// other's leftovers (dirty pages, a busy kubelet).
		if i%2 == 0 {
			runManual()
			runOurs()
			runBase()
		} else {
			runBase()
			runOurs()
			runManual()
		}
	}
	clearStaged(b, table)
	sec := "Full push of 149 MB / 1 601 files"
	mo, mm := median(ours), median(manual)
	record(sec, "| %s | plugin (verified, SHA-256) | manual: pod + wait + `kubectl cp` + delete | ratio |", label)
	record(sec, "| --- | --- | --- | --- |")
	record(sec, "| median of %d | %.2f s | %.2f s | %.2f× |", fullRuns, mo.Seconds(), mm.Seconds(), mo.Seconds()/mm.Seconds())
	record(sec, "| all runs | %s | %s | |", seconds(ours), seconds(manual))
	record(sec, "| Pod CPU per GB, median | %.2f s | %.2f s | |", medianF(oursCPU), medianF(manualCPU))
	if baseline != "" {
		record(sec, "| baseline %s, median | %.2f s (%.2f× manual); Pod CPU %.2f s/GB | | |", filepath.Base(baseline), median(base).Seconds(),
			median(base).Seconds()/mm.Seconds(), medianF(baseCPU))
		record(sec, "| baseline, all runs | %s | | |", seconds(base))
	}
	record(sec, "")
}

func medianF(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// dirBytes is the size of every file under dir.
func dirBytes(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			n += info.Size()
		}
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// settle writes dirty pages back before a timed run, so no run pays for
// the writes of the one before.
func settle(b *testing.B) {
	b.Helper()
	if out, err := exec.Command("sync").CombinedOutput(); err != nil {
		b.Fatalf("sync: %v %s", err, out)
	}
}

func seconds(d []time.Duration) string {
	parts := make([]string, len(d))
	for i, x := range d {
		parts[i] = fmt.Sprintf("%.2f", x.Seconds())
	}
	return strings.Join(parts, ", ") + " s"
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func BenchmarkFullPushLoopback(b *testing.B) { compareFull(b, "loopback") }

func BenchmarkFullPush100Mbit(b *testing.B) {
	defer slowLink(b)()
	compareFull(b, "100 Mbit/s (tc tbf on the veth)")
}

// apiserverAddr is the local cluster's apiserver, behind the relays.
const apiserverAddr = "198.18.0.2:6443"

// countingRelay forwards to the apiserver and counts the bytes the client sends.
type countingRelay struct {
	ln   net.Listener
	sent atomic.Int64
}

func newCountingRelay(b *testing.B) *countingRelay {
	r := &countingRelay{}
	r.ln = listenRelay(b, apiserverAddr, func(c, up net.Conn) {
		go func() { n, _ := io.Copy(up, c); r.sent.Add(n); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	})
	return r
}

func (r *countingRelay) measure(b *testing.B, args ...string) int64 {
	b.Helper()
	before := r.sent.Load()
	res := timed(b, nil, plugin, append(args, "--server", "https://"+r.ln.Addr().String())...)
	if res.code != 0 {
		b.Fatalf("push:\n%s", res.out)
	}
	time.Sleep(200 * time.Millisecond) // let the relay count the closed connections
	return r.sent.Load() - before
}

func BenchmarkBytesOnTheWire(b *testing.B) {
	src := bulkBench(b)
	dir := filepath.Join(b.TempDir(), "bulk")
	if out, err := exec.Command("cp", "-a", src, dir).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v %s", err, out)
	}
	const table = "bench_wire"
	clearStaged(b, table)
	defer emptyTrash(b) // after the clearing below: the trash leaves the volume
	defer clearStaged(b, table)
	rel := newCountingRelay(b)
	args := []string{"push", "--stage-only", dir, "--table", table, "-n", ns, "-q"}
	var total int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, _ error) error {
		if info != nil && !info.IsDir() {
			total += info.Size()
		}
		return nil
	})
	full := rel.measure(b, args...)
	unchanged := rel.measure(b, args...)
	// 5 % of the images changed.
	for i := 0; i < 80; i++ {
		p := filepath.Join(dir, "images", fmt.Sprintf("img_%05d.png", i*20))
		data, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		data[len(data)-20] ^= 0xff // inside the IEND chunk's CRC area: still a file of that size
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	changed := rel.measure(b, args...)
	// Interrupted at ~40 %, then resumed.
	clearStaged(b, table)
	before := rel.sent.Load()
	cmd := exec.Command(plugin, "push", "--stage-only", dir, "--table", table, "-n", ns, "--server", "https://"+rel.ln.Addr().String())
	cmd.Env = append(os.Environ(), "TRACEBLOC_PROGRESS_INTERVAL=50ms")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		var pct float64
		if _, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(sc.Text(), "sending:")), "%f%%", &pct); err == nil && pct >= 40 {
			_ = cmd.Process.Signal(syscall.SIGINT)
			break
		}
	}
	_, _ = io.Copy(io.Discard, stderr)
	_ = cmd.Wait()
	time.Sleep(200 * time.Millisecond)
	interrupted := rel.sent.Load() - before
	resumed := rel.measure(b, args...)
	s := "Bytes on the wire (client → apiserver, counted by a TCP relay outside the plugin)"
	record(s, "| case | bytes sent | of the dataset (%d bytes) |\n| --- | --- | --- |", total)
	record(s, "| full push | %d | %.1f %% |", full, 100*float64(full)/float64(total))
	record(s, "| unchanged re-push | %d | %.2f %% |", unchanged, 100*float64(unchanged)/float64(total))
	record(s, "| 5 %% of the images changed | %d | %.1f %% |", changed, 100*float64(changed)/float64(total))
	record(s, "| interrupted at ~40 %% + resumed | %d + %d | %.1f %% |", interrupted, resumed, 100*float64(interrupted+resumed)/float64(total))
}

func BenchmarkPeakRSS1GiB(b *testing.B) {
	dir := benchData(b, "one-gib", fixture.Options{Images: 1000, Width: 590, Height: 590, Ext: ".png", Noise: true})
	const table = "bench_rss"
	clearStaged(b, table)
	defer emptyTrash(b) // after the clearing below: the trash leaves the volume
	defer clearStaged(b, table)
	r := pushTimed(b, dir, table)
	var total int64
	_ = filepath.Walk(dir, func(_ string, info os.FileInfo, _ error) error {
		if info != nil && !info.IsDir() {
			total += info.Size()
		}
		return nil
	})
	record("Memory", "| dataset | push time | peak RSS of the plugin |\n| --- | --- | --- |")
	record("Memory", "| %.2f GiB, 1 001 files | %.1f s | %.1f MiB |", float64(total)/(1<<30), r.took.Seconds(), float64(r.maxRSS)/1024)
}

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// BenchmarkCompressionGain measures what compressing the image set could
// save: the bytes gzip at its fastest level saves on the bench dataset, its
// speed on one core, and what the saving is worth on a 100 Mbit/s link.
// (--compress auto leaves such a set uncompressed: its sample does not
// shrink.)
func BenchmarkCompressionGain(b *testing.B) {
	dir := bulkBench(b)
	measure := func(name string) (raw, packed int64, took time.Duration) {
		cw := &countWriter{}
		zw, err := gzip.NewWriterLevel(cw, gzip.BestSpeed)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		err = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() || (name != "" && d.Name() != name) {
				return err
			}
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			n, err := io.Copy(zw, f)
			raw += n
			return err
		})
		if err == nil {
			err = zw.Close()
		}
		if err != nil {
			b.Fatal(err)
		}
		return raw, cw.n, time.Since(start)
	}
	const link = 100e6 / 8 // bytes/s at 100 Mbit/s
	sec := "Compression of the image set (gzip at its fastest level, for reference)"
	record(sec, "| data | bytes | gzip -1 | of the bytes | gzip speed (one core) | wire time saved at 100 Mbit/s | gzip time |")
	record(sec, "| --- | --- | --- | --- | --- | --- | --- |")
	var share float64
	for _, c := range []struct{ label, name string }{{"149 MB / 1 601 files (PNG images + labels.csv)", ""}, {"its labels.csv alone", "labels.csv"}} {
		raw, packed, took := measure(c.name)
		record(sec, "| %s | %d | %d | %.1f %% | %.0f MB/s | %.2f s | %.2f s |", c.label, raw, packed,
			100*float64(packed)/float64(raw), float64(raw)/took.Seconds()/1e6, float64(raw-packed)/link, took.Seconds())
		if c.name == "" {
			share = float64(packed) / float64(raw)
		}
	}
	record(sec, "")
	if share > 0.9 {
		record(sec, "gzip leaves %.1f %% of the dataset: image files are compressed already, so the stream is sent as is;", 100*share)
		record(sec, "compressing it would cost CPU on both sides for the saving above.")
	} else {
		record(sec, "gzip leaves %.1f %% of the dataset: compressing the stream would pay off on slow links.", 100*share)
	}
}

// latencyRelay forwards to the apiserver with a one-way delay each way, as a
// long link would: chunks in flight overlap, up to a TCP-like window.
type latencyRelay struct{ ln net.Listener }

func newLatencyRelay(b *testing.B, oneWay time.Duration) *latencyRelay {
	return &latencyRelay{ln: listenRelay(b, apiserverAddr, func(c, up net.Conn) {
		go delayedCopy(up, c, oneWay)
		go delayedCopy(c, up, oneWay)
	})}
}

// delayedCopy forwards src to dst, each chunk oneWay after it was read. At
// most 128 chunks of 32 KiB (4 MiB, a large TCP window) are in flight.
func delayedCopy(dst, src net.Conn, oneWay time.Duration) {
	type chunk struct {
		due  time.Time
		data []byte
	}
	inFlight := make(chan chunk, 128)
	go func() {
		defer close(inFlight)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				inFlight <- chunk{time.Now().Add(oneWay), buf[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range inFlight {
		time.Sleep(time.Until(c.due))
		if _, err := dst.Write(c.data); err != nil {
			break
		}
	}
	_ = dst.Close()
	_ = src.Close()
}

// BenchmarkParallelStreams measures what a second exec stream could gain:
// the bench dataset in one push, against its two halves pushed at once (two
// Pods, two streams), on each link of the full-push benchmark and through a
// 50 ms round trip. Parallel streams are offered only if they win.
func BenchmarkParallelStreams(b *testing.B) {
	full := bulkBench(b)
	halves := []string{
		benchData(b, "half-a", fixture.Options{Images: 800, Width: 176, Height: 176, Ext: ".png", Noise: true, Seed: 1}),
		benchData(b, "half-b", fixture.Options{Images: 800, Width: 176, Height: 176, Ext: ".png", Noise: true, Seed: 2}),
	}
	tables := []string{"bench_par_a", "bench_par_b"}
	const one = "bench_par_one"
	defer emptyTrash(b) // after the clearing below: the trash leaves the volume
	defer clearStaged(b, one, tables[0], tables[1])
	sec := "Parallel streams (measured; push sends one stream)"
	record(sec, "| link | one stream: 1 600 files in one push | two streams: 2 × 800 files, two pushes at once | ratio |")
	record(sec, "| --- | --- | --- | --- |")
	var faster, not []string
	measure := func(label string, extra ...string) {
		var single, double []time.Duration
		for i := 0; i < 3; i++ {
			clearStaged(b, one, tables[0], tables[1])
			single = append(single, pushTimed(b, full, one, extra...).took)
			clearStaged(b, one, tables[0], tables[1])
			start := time.Now()
			var wg sync.WaitGroup
			outs := make([][]byte, len(halves))
			errs := make([]error, len(halves))
			for j := range halves {
				wg.Go(func() {
					outs[j], errs[j] = exec.Command(plugin, append([]string{"push", "--stage-only", halves[j], "--table", tables[j], "-n", ns, "-q"}, extra...)...).CombinedOutput()
				})
			}
			wg.Wait()
			for j, err := range errs {
				if err != nil {
					b.Fatalf("push of %s: %v\n%s", halves[j], err, outs[j])
				}
			}
			double = append(double, time.Since(start))
		}
		ms, md := median(single), median(double)
		ratio := md.Seconds() / ms.Seconds()
		record(sec, "| %s | %.2f s | %.2f s | %.2f× |", label, ms.Seconds(), md.Seconds(), ratio)
		if ratio < 0.95 {
			faster = append(faster, fmt.Sprintf("%s (%.0f %% less time)", label, 100*(1-ratio)))
		} else {
			not = append(not, label)
		}
	}
	measure("loopback")
	relay := newLatencyRelay(b, 25*time.Millisecond)
	measure("50 ms round trip", "--server", "https://"+relay.ln.Addr().String())
	defer slowLink(b)()
	measure("100 Mbit/s (tc tbf on the veth)")
	record(sec, "")
	record(sec, "The 50 ms round trip goes through a user-space relay (25 ms each way, at most 4 MiB in flight per direction).")
	if len(faster) > 0 {
		record(sec, "Two streams were more than 5 %% faster on: %s.", strings.Join(faster, ", "))
	}
	if len(not) > 0 {
		record(sec, "Not on: %s.", strings.Join(not, ", "))
	}
}
