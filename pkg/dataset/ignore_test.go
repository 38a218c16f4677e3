package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// TestIgnorePatterns holds the matcher to gitignore's rules: negation,
// folder-only patterns, anchoring and **.
func TestIgnorePatterns(t *testing.T) {
	cases := []struct {
		name    string
		exclude []string
		rel     string
		dir     bool
		want    bool
	}{
		{"leftover anywhere", nil, "images/.DS_Store", false, true},
		{"AppleDouble", nil, "images/._cat1.jpg", false, true},
		{"Windows thumbnails", nil, "images/Thumbs.db", false, true},
		{"desktop.ini", nil, "texts/desktop.ini", false, true},
		{"__MACOSX folder", nil, "__MACOSX", true, true},
		{"__MACOSX folder inside images", nil, "images/__MACOSX", true, true},
		{"a file named like a leftover folder", nil, "images/__MACOSX", false, false},
		{"ordinary image", nil, "images/cat1.jpg", false, false},
		{"negation takes a leftover back", []string{"!desktop.ini"}, "texts/desktop.ini", false, false},
		{"later pattern wins", []string{"*.jpg", "!keep.jpg"}, "images/keep.jpg", false, false},
		{"later pattern wins, others excluded", []string{"*.jpg", "!keep.jpg"}, "images/drop.jpg", false, true},
		{"folder pattern matches the folder", []string{"raw/"}, "raw", true, true},
		{"folder pattern does not match a file", []string{"raw/"}, "raw", false, false},
		{"folder pattern matches under a folder", []string{"raw/"}, "images/raw", true, true},
		{"anchored matches at the root", []string{"/notes.txt"}, "notes.txt", false, true},
		{"anchored does not match deeper", []string{"/notes.txt"}, "texts/notes.txt", false, false},
		{"a slash in the middle anchors", []string{"images/tmp_*"}, "images/tmp_1.jpg", false, true},
		{"a slash in the middle anchors, not deeper", []string{"images/tmp_*"}, "x/images/tmp_1.jpg", false, false},
		{"unanchored name matches at any depth", []string{"tmp_*"}, "images/tmp_1.jpg", false, true},
		{"leading ** matches at any depth", []string{"**/draft.png"}, "images/draft.png", false, true},
		{"leading ** matches at the root", []string{"**/draft.png"}, "draft.png", false, true},
		{"middle ** spans folders", []string{"a/**/b.png"}, "a/x/y/b.png", false, true},
		{"middle ** spans no folder", []string{"a/**/b.png"}, "a/b.png", false, true},
		{"trailing ** matches inside", []string{"images/**"}, "images/cat1.jpg", false, true},
		{"? matches one character", []string{"img_?.png"}, "images/img_1.png", false, true},
		{"? does not match two", []string{"img_?.png"}, "images/img_10.png", false, false},
		{"character class", []string{"img_[0-4].png"}, "images/img_3.png", false, true},
		{"character class excludes", []string{"img_[0-4].png"}, "images/img_7.png", false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ig, err := NewIgnore(t.TempDir(), c.exclude)
			if err != nil {
				t.Fatal(err)
			}
			if got := ig.match(c.rel, c.dir) >= 0; got != c.want {
				t.Errorf("%v: %s (dir %v) excluded = %v, want %v", c.exclude, c.rel, c.dir, got, c.want)
			}
		})
	}
}

func TestIgnoreBadPatterns(t *testing.T) {
	for _, p := range []string{"img_[0-4.png", "", "# a comment"} {
		_, err := NewIgnore(t.TempDir(), []string{p})
		if exitcode.Of(err) != exitcode.BadFlags || !strings.Contains(err.Error(), "--exclude") {
			t.Errorf("--exclude %q: %v (exit %d), want exit 2 naming the flag", p, err, exitcode.Of(err))
		}
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, IgnoreFile), "# comment\n\nok/\nbad[\n")
	_, err := NewIgnore(dir, nil)
	if exitcode.Of(err) != exitcode.Local || !strings.Contains(err.Error(), ".traceblocignore line 4") {
		t.Errorf("bad line in .traceblocignore: %v (exit %d), want exit 3 naming the line", err, exitcode.Of(err))
	}
}

// leftovers writes what Finder and Windows leave in a dataset copied off a
// Mac or a shared drive.
func leftovers(t *testing.T, dir, folder string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, ".DS_Store"), "x")
	writeFile(t, filepath.Join(dir, folder, ".DS_Store"), "x")
	writeFile(t, filepath.Join(dir, folder, "Thumbs.db"), "x")
	writeFile(t, filepath.Join(dir, folder, "desktop.ini"), "x")
	writeFile(t, filepath.Join(dir, folder, "._notes"), "x")
	for _, d := range []string{"__MACOSX/" + folder, folder + "/.ipynb_checkpoints"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, d, "._a"), "x")
	}
}

func rels(ds *Dataset) []string {
	var out []string
	for _, f := range ds.Files {
		out = append(out, f.Rel)
	}
	return out
}

// TestCheckSkipsLeftovers is the report: a .DS_Store and a
// Thumbs.db in images/ refused the whole dataset.
func TestCheckSkipsLeftovers(t *testing.T) {
	dir := validDataset(t)
	clean, err := Check(dir, Options{LabelColumn: "label", Limits: DefaultLimits})
	if err != nil {
		t.Fatal(err)
	}
	leftovers(t, dir, "images")
	ds, err := Check(dir, Options{LabelColumn: "label", Limits: DefaultLimits})
	if err != nil {
		t.Fatalf("a dataset with Finder and Windows leftovers is refused: %v", err)
	}
	if diff := cmp.Diff(rels(clean), rels(ds)); diff != "" {
		t.Errorf("staged files change with leftovers (-clean +leftovers):\n%s", diff)
	}
	want := []Exclusion{
		{Pattern: ".DS_Store", Source: SourceBuiltin, Files: 2},
		{Pattern: "._*", Source: SourceBuiltin, Files: 1},
		{Pattern: "__MACOSX/", Source: SourceBuiltin, Files: 1},
		{Pattern: "Thumbs.db", Source: SourceBuiltin, Files: 1},
		{Pattern: "desktop.ini", Source: SourceBuiltin, Files: 1},
		{Pattern: ".ipynb_checkpoints/", Source: SourceBuiltin, Files: 1},
	}
	if diff := cmp.Diff(want, ds.Excluded); diff != "" {
		t.Errorf("excluded (-want +got):\n%s", diff)
	}
	var skipped []string
	for _, n := range ds.Notes {
		if strings.HasPrefix(n, "skipped ") {
			skipped = append(skipped, n)
		}
		if strings.Contains(n, "not staged") {
			t.Errorf("a leftover is listed as not staged: %s", n)
		}
	}
	if len(skipped) != 1 || !strings.HasPrefix(skipped[0], "skipped 7 files no one means to push") {
		t.Errorf("notes %q: want one line counting the 7 skipped files", ds.Notes)
	}
}

func TestCheckExclude(t *testing.T) {
	dir := validDataset(t)
	writeImage(t, filepath.Join(dir, "images", "draft_1.jpg"), 24, 16)
	if err := os.MkdirAll(filepath.Join(dir, "images", "raw"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "images", "raw", "scan.tiff"), "x")
	writeFile(t, filepath.Join(dir, "images", "raw", "scan2.tiff"), "x")
	if _, err := Check(dir, Options{LabelColumn: "label", Limits: DefaultLimits}); err == nil {
		t.Fatal("a folder in images/ passes without an exclude: the test proves nothing")
	}
	writeFile(t, filepath.Join(dir, IgnoreFile), "# drafts stay home\ndraft_*\n")
	ds, err := Check(dir, Options{LabelColumn: "label", Limits: DefaultLimits, Exclude: []string{"images/raw/"}})
	if err != nil {
		t.Fatal(err)
	}
	if slicesContain(rels(ds), "images/draft_1.jpg") || slicesContain(rels(ds), IgnoreFile) {
		t.Errorf("staged %q: an excluded file or the ignore file is staged", rels(ds))
	}
	want := []Exclusion{{Pattern: "draft_*", Source: SourceFile, Files: 1}, {Pattern: "images/raw/", Source: SourceFlag, Files: 2}}
	if diff := cmp.Diff(want, ds.Excluded); diff != "" {
		t.Errorf("excluded (-want +got):\n%s", diff)
	}
	if !slicesContain(ds.Notes, `excluded 3 files by pattern: draft_* (1), images/raw/ (2)`) {
		t.Errorf("notes %q", ds.Notes)
	}
}

func slicesContain(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCheckRowNamesExcluded: a row that names an excluded file says which
// pattern left it out, not that the file is missing.
func TestCheckRowNamesExcluded(t *testing.T) {
	dir := validDataset(t)
	_, err := Check(dir, Options{LabelColumn: "label", Limits: DefaultLimits, Exclude: []string{"img_0000[12].jpg"}})
	if err == nil {
		t.Fatal("rows naming excluded files pass")
	}
	msg := err.Error()
	if !strings.Contains(msg, `2 rows of labels.csv name files that are excluded: images/img_00001.jpg by "img_0000[12].jpg" (--exclude)`) ||
		strings.Contains(msg, "not in images/") {
		t.Errorf("got %q", msg)
	}
}

func TestCheckTextSkipsLeftoversAndExcludes(t *testing.T) {
	task, _ := category.Lookup("text_classification")
	dir := t.TempDir()
	if err := fixture.WriteText(dir, fixture.TextOptions{Task: task.Name, Files: 5}); err != nil {
		t.Fatal(err)
	}
	o := TextOptionsFor(task, "label", DefaultLimits)
	clean, err := CheckText(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	leftovers(t, dir, o.Dir)
	writeFile(t, filepath.Join(dir, o.Dir, "scratch.md"), "notes")
	o.Exclude = []string{"*.md"}
	ds, err := CheckText(dir, o)
	if err != nil {
		t.Fatalf("text dataset with leftovers and an excluded file: %v", err)
	}
	if diff := cmp.Diff(rels(clean), rels(ds)); diff != "" {
		t.Errorf("staged files (-clean +now):\n%s", diff)
	}
	if n := len(ds.Excluded); n != 7 || ds.Excluded[6] != (Exclusion{Pattern: "*.md", Source: SourceFlag, Files: 1}) {
		t.Errorf("excluded %+v", ds.Excluded)
	}
}

func TestFindTabularCSVExcludes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "data.csv"), "a,b\n1,2\n")
	writeFile(t, filepath.Join(dir, "data_old.csv"), "a,b\n1,2\n")
	writeFile(t, filepath.Join(dir, ".DS_Store"), "x")
	if _, _, _, _, err := findTabularCSV(dir, nil); err == nil {
		t.Fatal("two CSVs pass without an exclude")
	}
	_, name, notes, ign, err := findTabularCSV(dir, []string{"*_old.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if name != "data.csv" || len(ign.Exclusions()) != 2 || len(notes) != 2 {
		t.Errorf("name %q, excluded %+v, notes %q", name, ign.Exclusions(), notes)
	}
}

// TestCheckRequiredFileExcluded: a pattern matching labels.csv (or a text
// task's tokenizer.json) used to be ignored without a word and the file
// staged anyway; it is refused, naming the pattern and the way back, and
// a "!" pattern taking the file back passes.
func TestCheckRequiredFileExcluded(t *testing.T) {
	dir := validDataset(t)
	for _, ex := range [][]string{{"labels.csv"}, {"*.csv"}} {
		_, err := Check(dir, Options{LabelColumn: "label", Limits: DefaultLimits, Exclude: ex})
		want := fmt.Sprintf("labels.csv is excluded by %q (--exclude), but image_classification reads its rows from it: drop that pattern, or take the file back with --exclude '!labels.csv'", ex[0])
		if err == nil || exitcode.Of(err) != exitcode.Local || !strings.Contains(err.Error(), want) {
			t.Errorf("--exclude %v: %v (exit %d), want exit 3 saying %q", ex, err, exitcode.Of(err), want)
		}
	}
	if _, err := Check(dir, Options{LabelColumn: "label", Limits: DefaultLimits, Exclude: []string{"*.csv", "!labels.csv"}}); err != nil {
		t.Errorf("labels.csv taken back with !labels.csv: %v", err)
	}
	writeFile(t, filepath.Join(dir, IgnoreFile), "labels.csv\n")
	if _, err := Check(dir, Options{LabelColumn: "label", Limits: DefaultLimits}); err == nil || !strings.Contains(err.Error(), `by "labels.csv" (.traceblocignore)`) {
		t.Errorf(".traceblocignore naming labels.csv: %v", err)
	}

	task, _ := category.Lookup("text_classification")
	tdir := t.TempDir()
	if err := fixture.WriteText(tdir, fixture.TextOptions{Task: task.Name, Files: 5}); err != nil {
		t.Fatal(err)
	}
	o := TextOptionsFor(task, "label", DefaultLimits)
	o.Exclude = []string{"labels.csv"}
	if _, err := CheckText(tdir, o); err == nil || !strings.Contains(err.Error(), "labels.csv is excluded by \"labels.csv\" (--exclude), but text_classification reads its rows from it") {
		t.Errorf("text task with labels.csv excluded: %v", err)
	}
}

// TestIgnoreFileLongLine: a .traceblocignore line past the scanner's 64 KiB
// (not a file of patterns) exits 3 naming the line and the fix, not a bare
// "bufio.Scanner: token too long".
func TestIgnoreFileLongLine(t *testing.T) {
	dir := validDataset(t)
	writeFile(t, filepath.Join(dir, IgnoreFile), "raw/\n"+strings.Repeat("x", 70000)+"\n")
	_, err := Check(dir, Options{LabelColumn: "label", Limits: DefaultLimits})
	if err == nil || exitcode.Of(err) != exitcode.Local || !strings.Contains(err.Error(), IgnoreFile+" line 2 is longer than 64 KiB") {
		t.Errorf("got %v (exit %d)", err, exitcode.Of(err))
	}
}

// TestIDColumnBlankValue: the ingestor strips a data_id value and skips a
// row left without one, so a data_id cell of white space alone fails the
// run later; the pre-flight refuses it (tabular CSV and labels.csv alike),
// and a real id next to spaces passes.
func TestIDColumnBlankValue(t *testing.T) {
	task, _ := category.Lookup("tabular_classification")
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("key,a,label\n")
	for i := range 30 {
		k := fmt.Sprintf(" k%d ", i)
		if i == 7 {
			k = "   "
		}
		fmt.Fprintf(&b, "%s,%d,%d\n", k, i, i%2)
	}
	csv := filepath.Join(dir, "data.csv")
	writeFile(t, csv, b.String())
	o := TabularOptionsFor(task, "label", "", "", nil, DefaultLimits)
	o.IDColumn = "key"
	_, err := CheckTabular(csv, o)
	if err == nil || exitcode.Of(err) != exitcode.Local || !strings.Contains(err.Error(), `data.csv line 9 holds only white space in the data_id column "key"`) {
		t.Errorf("tabular: %v (exit %d)", err, exitcode.Of(err))
	}

	img := validDataset(t)
	lines := strings.Split(strings.TrimSuffix(readFileT(t, filepath.Join(img, "labels.csv")), "\n"), "\n")
	for i := range lines {
		switch i {
		case 0:
			lines[i] += ",key"
		case 2:
			lines[i] += ",   "
		default:
			lines[i] += fmt.Sprintf(",k%d", i)
		}
	}
	writeFile(t, filepath.Join(img, "labels.csv"), strings.Join(lines, "\n")+"\n")
	if _, err := Check(img, Options{LabelColumn: "label", Limits: DefaultLimits}); err != nil {
		t.Fatalf("the dataset with a key column does not pass on its own: %v", err)
	}
	if err := CheckIDColumn(img, "key"); err == nil || !strings.Contains(err.Error(), `no value in the data_id column "key"`) {
		t.Errorf("labels.csv: %v", err)
	}
}

func readFileT(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
