package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// slowSteps × one second is how long the slow fault takes.
const slowSteps = 20

// ingest runs one ingestion the way the real ingestor looks from outside:
// progress lines, the staged files copied to <root>/<table>/, and the
// summary banner at the end. It returns the process's exit code.
func ingest(out io.Writer, configPath, root, id string, sleep func(time.Duration)) int {
	fail := func(format string, args ...any) int {
		fmt.Fprintf(out, "ERROR - "+format+"\n", args...)
		return 1
	}
	raw, err := os.ReadFile(configPath)
	if err != nil {
		return fail("reading the ingest config: %v", err)
	}
	var sp spec
	if err := yaml.Unmarshal(raw, &sp); err != nil {
		return fail("the ingest config is not YAML: %v", err)
	}
	if id == "" {
		id = "standin"
	}
	fmt.Fprintf(out, "INFO - ingestor %s starting: table %s, category %s, intent %s\n", id, sp.Table, sp.Category, sp.Intent)
	if !tableRule.MatchString(sp.Table) {
		return fail("table %q is not a valid table name", sp.Table)
	}
	release, err := acquireLock(root, sp.Table, id, time.Now())
	if err != nil {
		return fail("%v", err)
	}
	defer release()
	dest := filepath.Join(root, sp.Table)
	if entries, err := os.ReadDir(dest); err == nil && len(entries) > 0 {
		return fail("table %s already exists: %s is not empty; datasets are immutable, push under a new table name", sp.Table, dest)
	}
	csvPath, imagesDir := onVolume(root, sp.CSV), onVolume(root, strings.TrimRight(sp.Images, "/"))
	var rows, odSkipped int
	var od *odRecords
	if sp.Category == objectDetection {
		if od, err = enumerateVOC(out, onVolume(root, strings.TrimRight(sp.Annotations, "/"))); err != nil {
			return fail("%v", err)
		}
		rows, odSkipped = od.records, od.skipped
	} else if rows, err = countRows(csvPath); err != nil {
		return fail("staged file missing or unreadable: %v", err)
	}
	// Tabular and time-series data is the CSV alone.
	var images []os.DirEntry
	if sp.Images != "" {
		if images, err = os.ReadDir(imagesDir); err != nil {
			return fail("staged images missing: %v", err)
		}
	}
	var ids []string
	if od != nil {
		fmt.Fprintf(out, "INFO - found %d records (one per annotation) in %s and %d files in %s\n", rows, sp.Annotations, len(images), sp.Images)
		// No CSV: every image record gets a fresh id, as uuid does.
		for i := 0; i < rows; i++ {
			ids = append(ids, randomID())
		}
	} else {
		fmt.Fprintf(out, "INFO - found %d records in %s and %d files in %s\n", rows, sp.CSV, len(images), sp.Images)
		if ids, err = recordIDs(csvPath, root, sp.Table, sp.DataID); err != nil {
			return fail("%v", err)
		}
	}
	if strings.HasPrefix(sp.Table, faultFail) {
		return fail("simulated failure (%s): the database refused the connection", faultFail)
	}
	if strings.HasPrefix(sp.Table, faultMemory) {
		outgrowMemory()
		return fail("the ingestor was not killed for memory (%s): its pod has no memory limit below 1 GiB", faultMemory)
	}
	if strings.HasPrefix(sp.Table, faultRetry) {
		// The Job's pods share nothing but the volume: a marker there,
		// named by the run, tells the first attempt from the retry.
		marker := filepath.Join(root, ".ingest-standin-attempted-"+id)
		f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o666)
		if err == nil {
			_ = f.Close()
			// The crash comes after the rows reached the database.
			_, _, _, _ = insert(root, sp.Table, ids)
			return fail("simulated crash (%s): the first attempt fails, the Job's next pod succeeds", faultRetry)
		}
		if err := os.Remove(marker); err != nil {
			return fail("removing the retry marker %s: %v", marker, err)
		}
		fmt.Fprintf(out, "INFO - second attempt (%s)\n", faultRetry)
	}
	if strings.HasPrefix(sp.Table, faultSlow) {
		for i := 1; i <= slowSteps; i++ {
			fmt.Fprintf(out, "INFO - processing, step %d of %d\n", i, slowSteps)
			sleep(time.Second)
		}
	}
	if err := os.MkdirAll(dest, 0o777); err != nil {
		return fail("creating %s: %v", dest, err)
	}
	// Anyone on the volume (the stage pod's uid, the tests' reader) may
	// remove what the ingestor wrote.
	_ = os.Chmod(dest, 0o2777)
	if sp.Images != "" {
		if err := os.MkdirAll(filepath.Join(dest, "images"), 0o777); err != nil {
			return fail("creating %s: %v", dest, err)
		}
		_ = os.Chmod(filepath.Join(dest, "images"), 0o2777)
	}
	if od != nil {
		if err := od.copyTo(filepath.Join(dest, "annotations")); err != nil {
			return fail("copying the annotations: %v", err)
		}
	} else if err := copyFile(csvPath, filepath.Join(dest, "labels.csv")); err != nil {
		return fail("copying labels.csv: %v", err)
	}
	transferFailures := 0
	for _, e := range images {
		if e.IsDir() {
			continue
		}
		if err := copyFile(filepath.Join(imagesDir, e.Name()), filepath.Join(dest, "images", e.Name())); err != nil {
			fmt.Fprintf(out, "ERROR - copying %s: %v\n", e.Name(), err)
			transferFailures++
		}
	}
	skipped := odSkipped
	if strings.HasPrefix(sp.Table, faultSkip) && rows > 0 {
		skipped++
		fmt.Fprintf(out, "WARNING - record 1 skipped (%s)\n", faultSkip)
	}
	for i, v := range ids {
		if v == "" {
			fmt.Fprintf(out, "WARNING - Missing or invalid unique ID for record %d\n", i+1)
			skipped++
		}
	}
	added, reclaimed, held, err := insert(root, sp.Table, ids)
	if err != nil {
		return fail("inserting the records: %v", err)
	}
	strategy := sp.DataID.Strategy
	if strategy == "" {
		strategy = "uuid"
	}
	fmt.Fprintf(out, "INFO - data_id %s: %d rows inserted, %d claimed again from an earlier attempt; the table holds %d rows\n", strategy, added, reclaimed, held)
	inserted := rows - skipped
	printBanner(out, id, rows, inserted, skipped, transferFailures, sp.Table)
	return 0
}

func printBanner(out io.Writer, id string, total, inserted, skipped, transferFailures int, table string) {
	rule := strings.Repeat("═", 60)
	fmt.Fprintln(out, rule)
	fmt.Fprintln(out, "📊 INGESTION SUMMARY 📊")
	fmt.Fprintln(out, rule)
	fmt.Fprintf(out, "Ingestor ID: %s\n", id)
	fmt.Fprintf(out, "📈 Total Records Found: %s\n", thousands(total))
	fmt.Fprintf(out, "✅ Successfully Processed: %s\n", thousands(inserted))
	fmt.Fprintf(out, "💾 Inserted to Database: %s\n", thousands(inserted))
	fmt.Fprintf(out, "🚀 Sent to API: %s\n", thousands(inserted))
	fmt.Fprintf(out, "⏭️  Skipped Records: %s\n", thousands(skipped))
	fmt.Fprintf(out, "📁 File Transfer Failures: %s\n", thousands(transferFailures))
	fmt.Fprintf(out, "❌ Failed DB Insertion: 0\n")
	fmt.Fprintf(out, "❌ Failed to Send to API: 0\n")
	fmt.Fprintf(out, "Destination table: %s\n", table)
	fmt.Fprintln(out, rule)
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// onVolume maps a path of the spec under /data/shared to root, which tests
// set to a temporary folder standing for the volume.
func onVolume(root, p string) string {
	if root == "/data/shared" || p == "" {
		return p
	}
	return filepath.Join(root, strings.TrimPrefix(p, "/data/shared/"))
}

func countRows(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	rows := -1 // the header
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			rows++
		}
	}
	if rows < 0 {
		rows = 0
	}
	return rows, sc.Err()
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o666)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	_ = os.Chmod(to, 0o666)
	return out.Close()
}

// outgrowMemory holds ever more written memory, as an ingestor reading a
// dataset too big for it does, until the kernel kills the container at its
// memory limit; it gives up at 1 GiB.
func outgrowMemory() {
	var held [][]byte
	for range 128 {
		b := make([]byte, 8<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		held = append(held, b)
	}
	runtime.KeepAlive(held)
}
