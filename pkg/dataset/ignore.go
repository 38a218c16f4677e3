package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// IgnoreFile is the file in the dataset root whose lines are exclude
// patterns, as in a .gitignore.
const IgnoreFile = ".traceblocignore"

// Where an exclusion pattern comes from.
const (
	SourceBuiltin = "built-in"
	SourceFile    = IgnoreFile
	SourceFlag    = "--exclude"
)

// Leftovers are the files no one means to push: what Finder, Windows
// Explorer, Jupyter and git leave in a folder. They are skipped everywhere
// in the dataset, before any check; a later pattern may take one back
// ("!desktop.ini").
var Leftovers = []string{".DS_Store", "._*", "__MACOSX/", "Thumbs.db", "desktop.ini", ".ipynb_checkpoints/", ".git/"}

// Exclusion says how many files one pattern kept out of the push.
type Exclusion struct {
	Pattern string `json:"pattern"`
	Source  string `json:"source"`
	Files   int    `json:"files"`
}

type ignoreRule struct {
	text, source string
	pat          gitignore.Pattern
}

// Ignore matches dataset paths (slash-separated, relative to the dataset
// root) against the leftovers, the dataset's .traceblocignore and the
// --exclude patterns, in that order: as in git, the last pattern that
// matches decides, and a "!" pattern takes a path back. It counts what it
// skipped by pattern. The zero of *Ignore (nil) skips nothing.
type Ignore struct {
	rules []ignoreRule
	// counts are the files skipped by each rule, by index.
	counts []int
	// skipped remembers each skipped path and its rule, so a row of
	// labels.csv naming one can say why it is not there.
	skipped map[string]int
}

// NewIgnore compiles the leftovers, root's .traceblocignore (when there is
// one) and the --exclude patterns. A pattern that is not valid glob syntax
// exits 2 (from the flag) or 3 (from the file).
func NewIgnore(root string, exclude []string) (*Ignore, error) {
	ig := &Ignore{skipped: map[string]int{}}
	for _, p := range Leftovers {
		ig.add(p, SourceBuiltin)
	}
	lines, err := readIgnoreFile(root)
	if err != nil {
		return nil, err
	}
	for _, l := range lines {
		if err := validPattern(l.text); err != nil {
			return nil, exitcode.Errorf(exitcode.Local, "%s line %d: %q is not a valid pattern (%v): fix the brackets or escape them with a backslash", IgnoreFile, l.line, l.text, err)
		}
		ig.add(l.text, SourceFile)
	}
	if err := CheckExcludes(exclude); err != nil {
		return nil, err
	}
	for _, p := range exclude {
		ig.add(strings.TrimSpace(p), SourceFlag)
	}
	ig.counts = make([]int, len(ig.rules))
	return ig, nil
}

func (ig *Ignore) add(text, source string) {
	ig.rules = append(ig.rules, ignoreRule{text: text, source: source, pat: gitignore.ParsePattern(text, nil)})
}

// CheckExcludes refuses an --exclude value that is not a pattern (empty,
// a comment) or not valid glob syntax; it exits 2.
func CheckExcludes(exclude []string) error {
	for _, p := range exclude {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") {
			return exitcode.Errorf(exitcode.BadFlags, "--exclude %q is not a pattern: give a gitignore pattern relative to the dataset root, e.g. --exclude 'raw/' or --exclude '*.tmp'", p)
		}
		if err := validPattern(p); err != nil {
			return exitcode.Errorf(exitcode.BadFlags, "--exclude %q is not a valid pattern (%v): give a gitignore pattern relative to the dataset root, e.g. --exclude 'raw/' or --exclude '**/*.bak'", p, err)
		}
	}
	return nil
}

// validPattern catches the glob syntax errors the matcher would silently
// read as "matches nothing".
func validPattern(p string) error {
	p = strings.TrimPrefix(p, "!")
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if _, err := path.Match(seg, ""); err != nil {
			return err
		}
	}
	return nil
}

type ignoreLine struct {
	text string
	line int
}

// readIgnoreFile reads the patterns of root/.traceblocignore: blank lines
// and # comments are skipped, "\#" starts a pattern with a #.
func readIgnoreFile(root string) ([]ignoreLine, error) {
	full := filepath.Join(root, IgnoreFile)
	st, err := os.Lstat(full)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, exitcode.Errorf(exitcode.Local, "reading %s: %w", full, err)
	case !st.Mode().IsRegular():
		return nil, exitcode.Errorf(exitcode.Local, "%s is not a regular file (a link, folder or device): make it a plain text file of patterns, one a line", full)
	}
	// The safe open: a FIFO put in place after the Lstat must not hang
	// the pre-flight, a link must not be followed.
	f, err := openRead(full)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "reading %s: %w", full, err)
	}
	defer f.close()
	var out []ignoreLine
	s := bufio.NewScanner(f)
	n := 1
	for ; s.Scan(); n++ {
		l := strings.TrimSuffix(s.Text(), "\r")
		switch {
		case strings.TrimSpace(l) == "", strings.HasPrefix(l, "#"):
			continue
		case strings.HasPrefix(l, `\#`):
			l = l[1:]
		}
		out = append(out, ignoreLine{text: l, line: n})
	}
	if err := s.Err(); errors.Is(err, bufio.ErrTooLong) {
		return nil, exitcode.Errorf(exitcode.Local, "%s line %d is longer than %d KiB, no pattern is: is it the file of patterns, one a line? fix or remove it",
			full, n, bufio.MaxScanTokenSize/1024)
	} else if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "reading %s: %w", full, err)
	}
	return out, nil
}

// match returns the index of the rule that decides rel, or -1 when rel is
// kept.
func (ig *Ignore) match(rel string, isDir bool) int {
	if ig == nil {
		return -1
	}
	parts := strings.Split(rel, "/")
	for i := len(ig.rules) - 1; i >= 0; i-- {
		switch ig.rules[i].pat.Match(parts, isDir) {
		case gitignore.Exclude:
			return i
		case gitignore.Include:
			return -1
		}
	}
	return -1
}

// Skip tells whether the entry rel of the dataset is left out, and counts
// it (a folder counts the files under it) when it is. abs is the dataset
// root; isDir says rel is a folder (a link is not one).
func (ig *Ignore) Skip(abs, rel string, isDir bool) bool {
	i := ig.match(rel, isDir)
	if i < 0 {
		return false
	}
	ig.skipped[rel] = i
	if !isDir {
		ig.counts[i]++
		return true
	}
	// WalkDir does not follow links: a link in a skipped folder is one file.
	_ = filepath.WalkDir(filepath.Join(abs, filepath.FromSlash(rel)), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			ig.counts[i]++
		}
		return nil
	})
	return true
}

// Why names the pattern that left rel out, "" when rel was not skipped.
func (ig *Ignore) Why(rel string) string {
	if ig == nil {
		return ""
	}
	i, ok := ig.skipped[rel]
	if !ok {
		return ""
	}
	return fmt.Sprintf("%q (%s)", ig.rules[i].text, ig.rules[i].source)
}

// requiredExcluded is the problem of a pattern that matches a file the
// task cannot do without (labels.csv, tokenizer.json): the push stages such
// a file whatever the patterns say, so the pattern is a mistake to name
// rather than a wish to follow silently. "" when no pattern matches it.
func (ig *Ignore) requiredExcluded(name, task, why string) string {
	i := ig.match(name, false)
	if i < 0 {
		return ""
	}
	return fmt.Sprintf("%s is excluded by %q (%s), but %s %s: drop that pattern, or take the file back with --exclude '!%s'",
		name, ig.rules[i].text, ig.rules[i].source, task, why, name)
}

// Exclusions are the counts by pattern of what was left out, leftovers
// first, each pattern once; never nil.
func (ig *Ignore) Exclusions() []Exclusion {
	out := []Exclusion{}
	if ig == nil {
		return out
	}
	for i, r := range ig.rules {
		if ig.counts[i] > 0 {
			out = append(out, Exclusion{Pattern: r.text, Source: r.source, Files: ig.counts[i]})
		}
	}
	return out
}

// Notes are the note lines of what was left out: one for the leftovers,
// one for the patterns of the dataset and the flags.
func (ig *Ignore) Notes() []string {
	var notes []string
	for _, builtin := range []bool{true, false} {
		n := 0
		var parts []string
		for _, e := range ig.Exclusions() {
			if (e.Source == SourceBuiltin) != builtin {
				continue
			}
			n += e.Files
			parts = append(parts, fmt.Sprintf("%s (%d)", e.Pattern, e.Files))
		}
		switch {
		case n == 0:
		case builtin:
			notes = append(notes, fmt.Sprintf("skipped %d %s no one means to push: %s", n, plural(n, "file", "files"), strings.Join(parts, ", ")))
		default:
			notes = append(notes, fmt.Sprintf("excluded %d %s by pattern: %s", n, plural(n, "file", "files"), strings.Join(parts, ", ")))
		}
	}
	return notes
}

// excludedProblem is the problem of n rows of labels.csv that name files
// of dir that were left out; first are a few of those names.
func (ig *Ignore) excludedProblem(dir string, n int, first []string) string {
	shown := make([]string, 0, len(first))
	for _, f := range first {
		shown = append(shown, fmt.Sprintf("%s/%s by %s", dir, f, ig.Why(dir+"/"+f)))
	}
	return fmt.Sprintf("%d rows of labels.csv name files that are excluded: %s: remove those rows, or take the files back with a \"!\" pattern (e.g. --exclude '!%s/%s')",
		n, listWithMore(shown, n), dir, first[0])
}

// skippedOnly says a folder that looks empty held only skipped files.
func skippedOnly(entries int) string {
	if entries == 0 {
		return ""
	}
	return fmt.Sprintf(" once the %d skipped or excluded %s are left out", entries, plural(entries, "entry", "entries"))
}
