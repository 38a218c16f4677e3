package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// checkLayout refuses a dataset whose shape is wrong before anything is read:
// the manifest and every folder the task's description names.
func checkLayout(r *run, shown string) error {
	folders := joinAnd(append([]string{LabelsFile}, slashed(r.task.Folders())...))
	fail := func(format string, args ...any) error {
		return exitcode.Wrap(exitcode.Local, &Problems{Root: shown, List: []string{fmt.Sprintf(format, args...)}})
	}
	st, err := os.Stat(r.abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("no such file or folder: give the folder that holds %s", folders)
	case err != nil:
		return fail("%v", err)
	case !st.IsDir():
		return fail("is a file, not a folder: give the folder that holds %s", folders)
	}
	lst, err := os.Lstat(filepath.Join(r.abs, LabelsFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("labels.csv is missing: the folder must hold %s (labels.csv has one row per file)", folders)
	case err != nil:
		return fail("reading labels.csv: %v", err)
	case lst.Mode()&fs.ModeSymlink != 0:
		return fail("labels.csv is a symbolic link: copy the real file into the folder (links are refused, they can point anywhere)")
	case lst.IsDir():
		return fail("labels.csv is a folder, not a file: it must be the CSV that lists each file and its label")
	case !lst.Mode().IsRegular():
		return fail("labels.csv is not a regular file")
	}
	var probs []string
	for _, dir := range r.task.Folders() {
		if p := folderProblem(r.abs, dir, r.task.Primary.Subdir); p != "" {
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		return exitcode.Wrap(exitcode.Local, &Problems{Root: shown, List: probs})
	}
	return nil
}

func folderProblem(abs, dir, primary string) string {
	what := "the files named in labels.csv"
	if dir != primary {
		what = fmt.Sprintf("the file paired with each %s file", primary)
	}
	st, err := os.Lstat(filepath.Join(abs, dir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s/ is missing: put %s in a folder named %s beside labels.csv", dir, what, dir)
	case err != nil:
		return fmt.Sprintf("reading %s/: %v", dir, err)
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Sprintf("%s is a symbolic link: copy the real folder into the dataset (links are refused, they can point anywhere)", dir)
	case !st.IsDir():
		return fmt.Sprintf("%s is a file, not a folder: put %s in a folder named %s", dir, what, dir)
	}
	return ""
}

func slashed(dirs []string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = d + "/"
	}
	return out
}

// walk lists labels.csv and every folder with Lstat only (no file is read
// here), checks names, types, extensions and sizes, pairs sidecars with
// primary files by stem, and fills ds.Files.
func (r *run) walk() {
	labels, err := os.Lstat(filepath.Join(r.abs, LabelsFile))
	if err != nil {
		r.probs.addf("reading labels.csv: %v", err)
		return
	}
	r.addFile(LabelsFile, labels)
	r.noteIgnored()

	prim := r.task.Primary
	byExt := map[string]int{}
	r.primary = map[string]string{}
	r.listFolder(prim.Subdir, func(name string) bool { return slices.Contains(prim.Extensions, strings.ToLower(filepath.Ext(name))) },
		joinOr(prim.Extensions), ": convert them or move them out of "+prim.Subdir+"/", func(name string) {
			ext := strings.ToLower(filepath.Ext(name))
			byExt[ext]++
			r.primary[name] = strings.TrimSuffix(name, filepath.Ext(name))
			r.ds.Images++
		})
	checkOneExt(prim.Subdir, byExt, r.ds, r.probs)

	r.ds.Sidecars = map[string]int{}
	for _, sc := range r.task.Sidecars {
		names := map[string]struct{}{}
		want := strings.TrimPrefix(sc.Glob, "*")
		r.listFolder(sc.Subdir, func(name string) bool { return strings.HasSuffix(name, want) },
			want, fmt.Sprintf(": %s/ holds only %s files, lower-case extension", sc.Subdir, sc.For("<stem>")), func(name string) {
				names[name] = struct{}{}
				r.ds.Sidecars[sc.Subdir]++
			})
		r.sidecars[sc.Subdir] = names
		r.pair(sc.Subdir, sc.For, sc.Stem, sc.Required)
	}
}

// listFolder reads one flat folder, refusing what cannot be staged and
// files that fail keep, and calls add for every good file.
func (r *run) listFolder(dir string, keep func(name string) bool, kept, keepHint string, add func(name string)) {
	entries, err := os.ReadDir(filepath.Join(r.abs, dir))
	if err != nil {
		r.probs.addf("reading %s/: %v", dir, err)
		return
	}
	var links, dirs, special, badNames, badExt []string
	listed := 0
	for _, e := range entries {
		name := e.Name()
		rel := dir + "/" + name
		if r.ign.Skip(r.abs, rel, e.IsDir()) {
			continue
		}
		listed++
		info, err := e.Info()
		if err != nil {
			r.probs.addf("reading %s: %v", rel, err)
			continue
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			links = append(links, rel)
			continue
		case info.IsDir():
			dirs = append(dirs, rel+"/")
			continue
		case !info.Mode().IsRegular():
			special = append(special, rel)
			continue
		case !SafeName(name):
			badNames = append(badNames, fmt.Sprintf("%q", rel))
			continue
		case !keep(name):
			badExt = append(badExt, rel)
			continue
		}
		add(name)
		r.addFile(rel, info)
	}
	if len(links) > 0 {
		r.probs.addf("%d symbolic links in %s/: %s: copy the real files in (links are refused, they can point anywhere on your disk)", len(links), dir, listFirst(links, 3))
	}
	if len(dirs) > 0 {
		r.probs.addf("%s/ holds folders: %s: %s/ must be flat, move the files up into %s/", dir, listFirst(dirs, 3), dir, dir)
	}
	if len(special) > 0 {
		r.probs.addf("%s/ holds files that are not regular files (devices, pipes or sockets): %s", dir, listFirst(special, 3))
	}
	if len(badNames) > 0 {
		r.probs.addf("file names that cannot be staged (not valid UTF-8, or holding control characters or a backslash): %s: rename them", listFirst(badNames, 3))
	}
	if len(badExt) > 0 {
		sort.Strings(badExt)
		r.probs.addf("%d files in %s/ are not %s: %s%s", len(badExt), dir, kept, listFirst(badExt, 3), webpHint(badExt, keepHint))
	}
	if listed == 0 {
		r.probs.addf("%s/ is empty%s: put the files named in labels.csv there", dir, skippedOnly(len(entries)))
	}
}

// pair checks that every primary file has its sidecar and every sidecar
// file its primary file, by stem (the ingestor pairs both ways).
func (r *run) pair(dir string, forStem func(string) string, stemOf func(string) (string, bool), required bool) {
	have := r.sidecars[dir]
	stems := make(map[string]struct{}, len(r.primary))
	var missing, orphans []string
	for name, stem := range r.primary {
		stems[stem] = struct{}{}
		if _, ok := have[forStem(stem)]; !ok && required {
			missing = append(missing, fmt.Sprintf("%s/%s (for %s/%s)", dir, forStem(stem), r.task.Primary.Subdir, name))
		}
	}
	for name := range have {
		stem, ok := stemOf(name)
		if _, found := stems[stem]; !ok || !found {
			orphans = append(orphans, dir+"/"+name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		r.probs.addf("%d files in %s/ have no paired file in %s/: %s: every file in %s/ needs its %s/%s", len(missing), r.task.Primary.Subdir, dir, listFirst(missing, 5),
			r.task.Primary.Subdir, dir, forStem("<stem>"))
	}
	if len(orphans) > 0 {
		sort.Strings(orphans)
		r.probs.addf("%d files in %s/ pair with no file of %s/: %s: name each %s after its image's stem (%s), or remove it",
			len(orphans), dir, r.task.Primary.Subdir, listFirst(orphans, 5), dir, forStem("<stem>"))
	}
}

func (r *run) addFile(rel string, info fs.FileInfo) {
	if info.Size() > r.opts.Limits.MaxFileBytes {
		r.probs.addf("%s is %s, over the %s per-file cap of this release: shrink or split it", rel, HumanBytes(info.Size()), HumanBytes(r.opts.Limits.MaxFileBytes))
	}
	r.ds.Files = append(r.ds.Files, File{Rel: rel, Size: info.Size(), ModTime: info.ModTime()})
	r.ds.Bytes += info.Size()
}

// joinOr renders a, b or c.
func joinOr(items []string) string { return joinLast(items, " or ") }

// joinAnd renders a, b and c.
func joinAnd(items []string) string { return joinLast(items, " and ") }

func joinLast(items []string, last string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + last + items[len(items)-1]
}

func webpHint(files []string, hint string) string {
	for _, f := range files {
		if strings.EqualFold(filepath.Ext(f), ".webp") {
			return ": the ingestor cannot read .webp (its spec accepts only .jpg, .jpeg and .png); convert them, e.g. to .png"
		}
	}
	return hint
}

func checkOneExt(dir string, byExt map[string]int, ds *Dataset, probs *Problems) {
	exts := make([]string, 0, len(byExt))
	for e := range byExt {
		exts = append(exts, e)
	}
	sort.Slice(exts, func(i, j int) bool {
		return byExt[exts[i]] > byExt[exts[j]] || byExt[exts[i]] == byExt[exts[j]] && exts[i] < exts[j]
	})
	switch len(exts) {
	case 0:
	case 1:
		ds.Extension = exts[0]
	default:
		parts := make([]string, len(exts))
		for i, e := range exts {
			parts[i] = fmt.Sprintf("%s (%d files)", e, byExt[e])
		}
		probs.addf("%s/ mixes extensions: %s: the ingestor takes one extension per dataset, convert the files to one format", dir, strings.Join(parts, ", "))
	}
}

// SafeName tells whether a file name can be staged: the stream refuses
// names that could land outside the staged copy or that a line-based list
// would mangle, and the pre-flight must refuse them first. It mirrors the
// stream's rule (an entry is "<folder>/<name>", clean, without backslash or
// NUL) and adds text rules: valid UTF-8, no control characters.
func SafeName(name string) bool {
	if name == "" || name == "." || name == ".." || !utf8.ValidString(name) ||
		strings.ContainsAny(name, "/\\\x00") {
		return false
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return false
		}
	}
	rel := "d/" + name
	return path.Clean(rel) == rel
}

func (r *run) noteIgnored() {
	entries, err := os.ReadDir(r.abs)
	if err != nil {
		return
	}
	staged := append([]string{LabelsFile}, r.task.Folders()...)
	var ignored []string
	for _, e := range entries {
		if !slices.Contains(staged, e.Name()) && e.Name() != IgnoreFile && !r.ign.Skip(r.abs, e.Name(), e.IsDir()) {
			ignored = append(ignored, e.Name())
		}
	}
	if len(ignored) > 0 {
		r.ds.Notes = append(r.ds.Notes, fmt.Sprintf("not staged (only %s are): %s", joinAnd(append([]string{LabelsFile}, slashed(r.task.Folders())...)), listFirst(ignored, 5)))
	}
}
