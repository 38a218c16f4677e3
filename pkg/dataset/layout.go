package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tracebloc/kubectl-tracebloc/pkg/agent/proto"
	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// checkLayout refuses a dataset whose shape is wrong before anything is read:
// the manifest (when the task has one) and every folder the task's
// description names.
func checkLayout(r *checkRun, shown string) error {
	folders := joinAnd(r.stagedNames())
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
	if err := checkManifestFile(r, fail, folders); err != nil {
		return err
	}
	var probs []string
	for _, dir := range r.task.Folders() {
		if p := r.folderProblem(dir); p != "" {
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		return exitcode.Wrap(exitcode.Local, &Problems{Root: shown, List: probs})
	}
	return nil
}

// checkManifestFile refuses a missing or odd labels.csv, for a task that
// has one.
func checkManifestFile(r *checkRun, fail func(format string, args ...any) error, folders string) error {
	if !r.task.Manifest.Listed() {
		return nil
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
	return nil
}

// stagedNames are the manifest (if any) and the folders, as a user reads them.
func (r *checkRun) stagedNames() []string {
	names := slashed(r.task.Folders())
	if r.task.Manifest.Listed() {
		names = append([]string{LabelsFile}, names...)
	}
	return names
}

func (r *checkRun) folderProblem(dir string) string {
	primary := r.task.Primary.Subdir
	what, where := "the files named in labels.csv", "beside labels.csv"
	if !r.task.Manifest.Listed() {
		what, where = "the "+primary, "in the dataset folder"
	}
	if dir != primary {
		what = fmt.Sprintf("the file paired with each %s file", primary)
	}
	st, err := os.Lstat(filepath.Join(r.abs, dir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s/ is missing: put %s in a folder named %s %s%s", dir, what, dir, where, r.otherTaskHint(dir))
	case err != nil:
		return fmt.Sprintf("reading %s/: %v", dir, err)
	case st.Mode()&fs.ModeSymlink != 0:
		return fmt.Sprintf("%s is a symbolic link: copy the real folder into the dataset (links are refused, they can point anywhere)", dir)
	case !st.IsDir():
		return fmt.Sprintf("%s is a file, not a folder: put %s in a folder named %s", dir, what, dir)
	}
	return ""
}

// otherTaskHint names the tasks whose files the dataset seems to hold
// when the folder missing is dir (e.g. texts/ where images/ was looked
// for): the push was most likely meant for one of them and lacks --task.
func (r *checkRun) otherTaskHint(dir string) string {
	var tasks []string
	found := ""
	for _, t := range category.All() {
		if t.Primary == nil {
			continue
		}
		sub := t.Primary.Subdir
		if sub == "" || sub == dir || found != "" && sub != found {
			continue
		}
		if st, err := os.Lstat(filepath.Join(r.abs, sub)); err == nil && st.IsDir() {
			found = sub
			tasks = append(tasks, t.Name)
		}
	}
	if found == "" {
		return ""
	}
	return fmt.Sprintf("; the folder holds %s/, as a dataset of %s does: if it is one, give its task (e.g. --task %s)", found, strings.Join(tasks, ", "), tasks[0])
}

func slashed(dirs []string) []string {
	out := make([]string, len(dirs))
	for i, d := range dirs {
		out[i] = d + "/"
	}
	return out
}

// walk lists labels.csv (when the task has one) and every folder with Lstat
// only (no file is read here), checks names, types, extensions and sizes,
// pairs sidecars with primary files by stem, and fills ds.Files.
func (r *checkRun) walk() {
	if r.task.Manifest.Listed() {
		labels, err := os.Lstat(filepath.Join(r.abs, LabelsFile))
		if err != nil {
			r.probs.addf("reading labels.csv: %v", err)
			return
		}
		r.addFile(LabelsFile, labels)
		if msg := r.ign.requiredExcluded(LabelsFile, r.task.Name, "reads its rows from it"); msg != "" {
			r.probs.addf("%s", msg)
		}
	}
	r.noteIgnored()

	prim := r.task.Primary
	byExt := map[string]int{}
	r.primary = map[string]string{}
	r.listFolder(prim.Subdir, func(name string) bool { return slices.Contains(prim.Extensions, strings.ToLower(filepath.Ext(name))) },
		joinOr(prim.Extensions), ": convert them or move them out of "+prim.Subdir+"/", func(name string) bool {
			ext := strings.ToLower(filepath.Ext(name))
			byExt[ext]++
			r.primary[name] = strings.TrimSuffix(name, filepath.Ext(name))
			r.ds.Images++
			return true
		})
	checkOneExt(prim.Subdir, byExt, r.ds, r.probs)

	r.ds.Sidecars = map[string]int{}
	for _, sc := range r.task.Sidecars {
		names := map[string]struct{}{}
		want := strings.TrimPrefix(sc.Glob, "*")
		r.listFolder(sc.Subdir, func(name string) bool { return strings.HasSuffix(name, want) || r.otherCase(sc, name) },
			want, fmt.Sprintf(": %s/ holds only %s files, lower-case extension", sc.Subdir, sc.For("<stem>")), func(name string) bool {
				if !strings.HasSuffix(name, want) {
					return false // a case variant: no record, not staged
				}
				names[name] = struct{}{}
				r.ds.Sidecars[sc.Subdir]++
				return true
			})
		r.sidecars[sc.Subdir] = names
		r.pair(sc.Subdir, sc.For, sc.Stem, sc.Required)
	}
	if len(r.caseOnly) > 0 {
		names := slices.Sorted(maps.Values(r.caseOnly))
		r.ds.Notes = append(r.ds.Notes, fmt.Sprintf("%d annotation files end in an upper-case .XML: %s: the ingestor reads only *.xml (case-sensitive), so they are no records and are not staged; rename them to .xml",
			len(names), listFirst(names, 3)))
	}
}

// otherCase tells whether name is an annotation whose .xml is in another
// case (img.XML): the ingestor's glob *.xml is case-sensitive, so it is no
// record, neither refused nor staged. It is remembered by the name it
// would need, for the pairing message and a note.
func (r *checkRun) otherCase(sc category.Sidecar, name string) bool {
	ext := filepath.Ext(name)
	if sc.Glob != "*.xml" || ext == ".xml" || !strings.EqualFold(ext, ".xml") {
		return false
	}
	if r.caseOnly == nil {
		r.caseOnly = map[string]string{}
	}
	r.caseOnly[strings.TrimSuffix(name, ext)+".xml"] = sc.Subdir + "/" + name
	return true
}

// listFolder reads one flat folder, refusing what cannot be staged and
// files that fail keep, and calls add for every file kept: the file is
// staged when add says so.
func (r *checkRun) listFolder(dir string, keep func(name string) bool, kept, keepHint string, add func(name string) bool) {
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
		case NameRule(name) != "":
			badNames = append(badNames, fmt.Sprintf("%q (%s)", rel, NameRule(name)))
			continue
		case !keep(name):
			badExt = append(badExt, rel)
			continue
		}
		if add(name) {
			r.addFile(rel, info)
		}
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
		r.probs.addf("file names that cannot be staged: %s: rename them", listFirst(badNames, 3))
	}
	if len(badExt) > 0 {
		sort.Strings(badExt)
		r.probs.addf("%d files in %s/ are not %s: %s%s", len(badExt), dir, kept, listFirst(badExt, 3), webpHint(badExt, keepHint))
	}
	if listed == 0 {
		what := "the files named in labels.csv"
		if !r.task.Manifest.Listed() {
			what = "the files of the dataset"
		}
		r.probs.addf("%s/ is empty%s: put %s there", dir, skippedOnly(len(entries)), what)
	}
}

// pair checks that every primary file has its sidecar and every sidecar
// file its primary file, by stem (the ingestor pairs both ways).
func (r *checkRun) pair(dir string, forStem func(string) string, stemOf func(string) (string, bool), required bool) {
	have := r.sidecars[dir]
	stems := make(map[string]struct{}, len(r.primary))
	var missing, orphans []string
	for name, stem := range r.primary {
		stems[stem] = struct{}{}
		if _, ok := have[forStem(stem)]; !ok && required {
			m := fmt.Sprintf("%s/%s (for %s/%s)", dir, forStem(stem), r.task.Primary.Subdir, name)
			if other, ok := r.caseOnly[forStem(stem)]; ok {
				m += fmt.Sprintf(" (%s is not read: the ingestor reads only lower-case .xml, rename it)", other)
			}
			missing = append(missing, m)
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

func (r *checkRun) addFile(rel string, info fs.FileInfo) {
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
// would mangle, and the pre-flight must refuse them first. It is NameRule
// without the reason.
func SafeName(name string) bool { return NameRule(name) == "" }

// maxNameBytes is the longest file name the stream takes (and Linux
// filesystems hold): 255 bytes of UTF-8. macOS and Windows count in
// characters, so a name of theirs can be longer.
const maxNameBytes = 255

// NameRule returns the rule of the stream that a file name breaks, in
// words, or "" when the name can be staged. It mirrors the stream's rule
// (an entry is "<folder>/<name>", clean, without backslash or NUL, each
// segment at most 255 bytes) and adds text rules: valid UTF-8, no control
// characters. Whatever else the stream refuses is refused here too.
func NameRule(name string) string {
	switch {
	case name == "" || name == "." || name == "..":
		return "not a file name"
	case len(name) > maxNameBytes:
		return fmt.Sprintf("%d bytes long, over the %d bytes a file name may have on the cluster", len(name), maxNameBytes)
	case !utf8.ValidString(name):
		return "not valid UTF-8"
	case strings.ContainsAny(name, "/\\"):
		return "holds a slash or backslash"
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "holds a control character"
		}
	}
	if rel := "d/" + name; path.Clean(rel) != rel || proto.CheckRel(rel) != nil {
		return "refused by the stream's rules for names"
	}
	return ""
}

func (r *checkRun) noteIgnored() {
	entries, err := os.ReadDir(r.abs)
	if err != nil {
		return
	}
	staged := r.task.Folders()
	if r.task.Manifest.Listed() {
		staged = append(staged, LabelsFile)
	}
	var ignored []string
	for _, e := range entries {
		switch {
		case slices.Contains(staged, e.Name()), e.Name() == IgnoreFile, r.ign.Skip(r.abs, e.Name(), e.IsDir()):
		case e.Name() == LabelsFile:
			// A leftover of the layout before version 4: the ingestor
			// ignores it, and so does the push.
			r.ds.Notes = append(r.ds.Notes, fmt.Sprintf("labels.csv is ignored, not staged: %s reads its records and labels from %s, it has no labels.csv",
				r.task.Name, joinAnd(slashed(r.task.Folders()))))
		default:
			ignored = append(ignored, e.Name())
		}
	}
	if len(ignored) > 0 {
		r.ds.Notes = append(r.ds.Notes, fmt.Sprintf("not staged (only %s are): %s", joinAnd(r.stagedNames()), listFirst(ignored, 5)))
	}
}
