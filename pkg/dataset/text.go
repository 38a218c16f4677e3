package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/tracebloc/kubectl-tracebloc/pkg/category"
	"github.com/tracebloc/kubectl-tracebloc/pkg/csvread"
	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// TextOptions say what a text task needs of labels.csv and its folder.
type TextOptions struct {
	Task string
	// Dir is the folder of text files: texts or sequences.
	Dir        string
	Extensions []string
	// LabelColumn is empty for a self-supervised task.
	LabelColumn string
	MinLabels   int
	// BIO: each label is a space-separated sequence of BIO tags.
	BIO bool
	// Format is the record format of each file, nil for free text.
	Format *category.RecordFormat
	// Tokenizer is what the task asks of tokenizer.json; nil when the
	// task does not read one.
	Tokenizer   *TokenizerRule
	Limits      Limits
	MaxProblems int
	// Exclude are the --exclude patterns (see Options.Exclude).
	Exclude []string
	// CacheDir is the folder of the check cache (the user's cache folder):
	// a file whose verdict it holds under the same rules is not read
	// again. Empty: every file is read and nothing is kept.
	CacheDir string
}

// TextOptionsFor derives the options of a text task from its description.
func TextOptionsFor(t category.Task, labelColumn string, limits Limits) TextOptions {
	o := TextOptions{Task: t.Name, Format: t.RecordFormat, Limits: limits, MinLabels: t.Manifest.MinLabelValues,
		BIO: t.Name == "token_classification", Tokenizer: tokenizerRuleFor(t.Name)}
	if t.Primary != nil {
		o.Dir, o.Extensions = t.Primary.Subdir, t.Primary.Extensions
	}
	if t.Manifest.HasLabel() {
		o.LabelColumn = labelColumn
	}
	return o
}

// CheckText walks a text dataset: labels.csv and the folder of text files.
// Every file a row names must exist and be UTF-8, and an enforced record
// format holds on every line of every file. Problems are reported at once
// (the first MaxProblems with a line); the error exits 3.
func CheckText(root string, o TextOptions) (*Dataset, error) {
	start := cacheClock()
	if o.MaxProblems <= 0 {
		o.MaxProblems = DefaultMaxProblems
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, exitcode.Errorf(exitcode.Local, "resolving %s: %w", root, err)
	}
	if err := checkTextLayout(abs, root, o.Dir); err != nil {
		return nil, err
	}
	ds := &Dataset{Root: abs}
	probs := &problemList{max: o.MaxProblems}
	ign, err := NewIgnore(abs, o.Exclude)
	if err != nil {
		return nil, err
	}
	files := walkTexts(abs, o, ign, ds, probs)
	ds.Tokenizer = checkTokenizer(abs, o, ds, probs)
	refs := checkTextLabels(abs, o, files, ign, ds, probs)
	var cache *checkCache
	if files.n > 0 {
		cache, ds.CacheNotes = openCheckCache(o.CacheDir, abs, o, start)
	}
	if empty := checkTexts(abs, o, files, refs, cache, probs); empty.n > 0 {
		// The ingestor warns about an empty text and ingests it.
		ds.Notes = append(ds.Notes, fmt.Sprintf("%d files named in labels.csv are empty or only white space (staged and ingested, but they hold nothing to train on): %s", empty.n, empty))
	}
	if cache != nil {
		ds.Cached = cache.hits
		if err := cache.close(); err != nil {
			ds.CacheNotes = append(ds.CacheNotes, fmt.Sprintf("could not write the check cache: %v (the next push reads every text again)", err))
		}
	}
	ds.Excluded = ign.Exclusions()
	ds.Notes = append(ds.Notes, ign.Notes()...)
	if msg, over := o.Limits.over(ds.Bytes); over {
		probs.add("%s", msg)
	}
	if err := probs.result(root); err != nil {
		return nil, err
	}
	return ds, nil
}

func checkTextLayout(abs, shown, dir string) error {
	fail := func(format string, args ...any) error {
		return exitcode.Wrap(exitcode.Local, &Problems{Root: shown, List: []string{fmt.Sprintf(format, args...)}})
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("no such file or folder: give the folder that holds labels.csv and %s/", dir)
	case err != nil:
		return fail("%v", err)
	case !st.IsDir():
		return fail("is a file, not a folder: give the folder that holds labels.csv and %s/", dir)
	}
	lst, err := os.Lstat(filepath.Join(abs, LabelsFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("labels.csv is missing: the folder must hold labels.csv (one row per text file) and %s/", dir)
	case err != nil:
		return fail("reading labels.csv: %v", err)
	case lst.Mode()&fs.ModeSymlink != 0:
		return fail("labels.csv is a symbolic link: copy the real file into the folder (links are refused, they can point anywhere)")
	case !lst.Mode().IsRegular():
		return fail("labels.csv is not a regular file: it must be the CSV that lists each text file")
	}
	dst, err := os.Lstat(filepath.Join(abs, dir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("%s/ is missing: put the text files in a folder named %s beside labels.csv", dir, dir)
	case err != nil:
		return fail("reading %s/: %v", dir, err)
	case dst.Mode()&fs.ModeSymlink != 0:
		return fail("%s is a symbolic link: copy the real folder into the dataset (links are refused, they can point anywhere)", dir)
	case !dst.IsDir():
		return fail("%s is a file, not a folder: put the text files in a folder named %s", dir, dir)
	}
	return nil
}

// texts are the files of the folder of texts, ds.Files[lo:lo+n], sorted
// by name once the walk is done: a file is known by its index there, and
// a name is found by binary search (a million names in a map would take
// more than the files themselves).
type texts struct {
	ds    *Dataset
	dir   string
	lo, n int
}

// file is the file of index i.
func (t *texts) file(i int) *File { return &t.ds.Files[t.lo+i] }

// name is the name of file i in the folder.
func (t *texts) name(i int) string { return t.ds.Files[t.lo+i].Rel[len(t.dir)+1:] }

// find returns the index of the file called name.
func (t *texts) find(name string) (int, bool) {
	i := sort.Search(t.n, func(i int) bool { return t.name(i) >= name })
	return i, i < t.n && t.name(i) == name
}

// readDirBatch is how many entries the walk lists at a time: the folder is
// never held whole, only the files kept.
const readDirBatch = 1024

// walkTexts lists the folder from its entries' types alone (the size and
// times come with the check of each file), checks names, types and
// extensions, and adds the files to ds.Files, sorted by name.
func walkTexts(abs string, o TextOptions, ign *Ignore, ds *Dataset, probs *problemList) *texts {
	t := &texts{ds: ds, dir: o.Dir}
	labels, err := os.Lstat(filepath.Join(abs, LabelsFile))
	if err != nil {
		probs.add("reading labels.csv: %v", err)
		return t
	}
	ds.Files = append(ds.Files, File{Rel: LabelsFile, Size: labels.Size(), ModTime: labels.ModTime()})
	ds.Bytes += labels.Size()
	if msg := ign.requiredExcluded(LabelsFile, o.Task, "reads its rows from it"); msg != "" {
		probs.add("%s", msg)
	}
	staged := []string{LabelsFile, o.Dir}
	if _, err := os.Lstat(filepath.Join(abs, TokenizerFile)); err == nil && o.Tokenizer != nil {
		staged = append(staged, TokenizerFile)
		if msg := ign.requiredExcluded(TokenizerFile, o.Task, "reads it"); msg != "" {
			probs.add("%s", msg)
		}
	}
	noteOthers(abs, staged, ign, ds)

	dir, err := os.Open(filepath.Join(abs, o.Dir))
	if err != nil {
		probs.add("reading %s/: %v", o.Dir, err)
		return t
	}
	defer func() { _ = dir.Close() }()
	// The paths are gathered in blocks and ds.Files grown once, to its
	// size: grown by append, a million files would be copied at each
	// step, the old array and the new one both held.
	var rels [][]string
	byExt := map[string]int{}
	links, dirs, hidden, badNames, badExt := smallest{k: 3}, smallest{k: 5}, smallest{k: 5}, smallest{k: 3}, smallest{k: 3}
	kept, entries := 0, 0
	for {
		batch, err := dir.ReadDir(readDirBatch)
		for _, e := range batch {
			entries++
			name := e.Name()
			rel := o.Dir + "/" + name
			if ign.Skip(abs, rel, e.IsDir()) {
				continue
			}
			kept++
			// The type comes with the listing (an lstat where the
			// filesystem does not give it); the check looks again when
			// it opens the file.
			typ := e.Type()
			switch {
			case typ&fs.ModeSymlink != 0:
				links.add(rel, rel)
				continue
			case typ.IsDir():
				// The ingestor copies only the files rows name: a folder
				// inside is not staged, and no row can name what is in it.
				dirs.add(rel, rel+"/")
				continue
			case strings.HasPrefix(name, "."):
				// Hidden files (.DS_Store) are skipped by the ingestor's
				// extension check and named by no row: not staged.
				hidden.add(rel, rel)
				continue
			case !typ.IsRegular():
				badNames.add(rel, fmt.Sprintf("%q (not a regular file)", rel))
				continue
			case NameRule(name) != "":
				badNames.add(rel, fmt.Sprintf("%q (%s)", rel, NameRule(name)))
				continue
			}
			ext := strings.ToLower(filepath.Ext(name))
			if !slices.Contains(o.Extensions, ext) {
				badExt.add(rel, rel)
				continue
			}
			byExt[ext]++
			if len(rels) == 0 || len(rels[len(rels)-1]) == cap(rels[len(rels)-1]) {
				rels = append(rels, make([]string, 0, readDirBatch))
			}
			rels[len(rels)-1] = append(rels[len(rels)-1], rel)
			ds.Images++
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				probs.add("reading %s/: %v", o.Dir, err)
				ds.Images = 0
				return t
			}
			break
		}
	}
	// Room for tokenizer.json after the texts.
	t.lo, t.n = len(ds.Files), ds.Images
	ds.Files = slices.Grow(ds.Files, t.n+1)
	for _, block := range rels {
		for _, rel := range block {
			ds.Files = append(ds.Files, File{Rel: rel})
		}
	}
	rels = nil
	slices.SortFunc(ds.Files[t.lo:], func(a, b File) int { return strings.Compare(a.Rel, b.Rel) })
	if links.n > 0 {
		probs.add("%d symbolic links in %s/: %s: copy the real files in (links are refused, they can point anywhere on your disk)", links.n, o.Dir, links)
	}
	if dirs.n+hidden.n > 0 {
		ds.Notes = append(ds.Notes, fmt.Sprintf("not staged (folders and hidden files in %s/ are named by no row): %s", o.Dir, dirs.then(hidden)))
	}
	if badNames.n > 0 {
		probs.add("%s/ holds entries that cannot be staged: %s: rename or remove them", o.Dir, badNames)
	}
	if badExt.n > 0 {
		probs.add("%d files in %s/ are not %s: %s: save the texts as UTF-8 %s files, or move the others out", badExt.n, o.Dir, strings.Join(o.Extensions, " or "), badExt, o.Extensions[0])
	}
	exts := make([]string, 0, len(byExt))
	for e := range byExt {
		exts = append(exts, e)
	}
	sort.Strings(exts)
	switch len(exts) {
	case 0:
		if kept == 0 {
			probs.add("%s/ is empty%s: put the text files named in labels.csv there", o.Dir, skippedOnly(entries))
		}
	case 1:
		ds.Extension = exts[0]
	default:
		parts := make([]string, len(exts))
		for i, e := range exts {
			parts[i] = fmt.Sprintf("%s (%d files)", e, byExt[e])
		}
		probs.add("%s/ mixes extensions: %s: the ingestor takes one extension per dataset, rename them to one", o.Dir, strings.Join(parts, ", "))
	}
	return t
}

// smallest counts entries and keeps the k smallest by key, shown as
// given: a message then lists the first few in name order, whatever order
// the folder listed them in.
type smallest struct {
	k, n  int
	first []shownKey
}

type shownKey struct{ key, shown string }

func (s *smallest) add(key, shown string) {
	s.n++
	i, _ := slices.BinarySearchFunc(s.first, key, func(e shownKey, k string) int { return strings.Compare(e.key, k) })
	if i >= s.k {
		return
	}
	s.first = slices.Insert(s.first, i, shownKey{key, shown})
	if len(s.first) > s.k {
		s.first = s.first[:s.k]
	}
}

func (s *smallest) shown() []string {
	out := make([]string, len(s.first))
	for i, e := range s.first {
		out[i] = e.shown
	}
	return out
}

// String lists the first entries and says how many more there are.
func (s smallest) String() string {
	return listWithMore(s.shown(), s.n)
}

// then lists s's first entries and, while there is room, next's, as one
// list of s's and then next's entries in order would show them.
func (s smallest) then(next smallest) string {
	shown := s.shown()
	for _, e := range next.first {
		if len(shown) < s.k {
			shown = append(shown, e.shown)
		}
	}
	return listWithMore(shown, s.n+next.n)
}

func noteOthers(abs string, staged []string, ign *Ignore, ds *Dataset) {
	entries, err := os.ReadDir(abs)
	if err != nil {
		return
	}
	var ignored []string
	for _, e := range entries {
		if !slices.Contains(staged, e.Name()) && e.Name() != IgnoreFile && !ign.Skip(abs, e.Name(), e.IsDir()) {
			ignored = append(ignored, e.Name())
		}
	}
	if len(ignored) > 0 {
		ds.Notes = append(ds.Notes, fmt.Sprintf("not staged (only %s are): %s", strings.Join(staged, " and "), listFirst(ignored, 5)))
	}
}

// checkTagCounts holds each row of a token_classification file to one
// BIO tag per word of the file.
func checkTagCounts(rel string, words int, rows []tagCount, probs *problemList) {
	for _, r := range rows {
		if r.tags != words {
			how := ""
			if r.plain {
				how = " as the ingestor's BIO validator reads it (without the \\ escape)"
			}
			probs.atLine("labels.csv line %d has %d BIO %s%s, %s has %d %s: give one tag per word of the text (words are separated by white space)",
				r.line, r.tags, plural(r.tags, "tag", "tags"), how, rel, words, plural(words, "word", "words"))
		}
	}
}

// textRefs are the files of the folder that rows of labels.csv name, one
// bit a file, and, for BIO labels, how many tags each row gives its file.
type textRefs struct {
	bits []uint64
	tags map[int][]tagCount
}

func newTextRefs(n int) *textRefs { return &textRefs{bits: make([]uint64, (n+63)/64)} }

// has tells whether a row names file i.
func (r *textRefs) has(i int) bool { return r.bits[i/64]&(1<<(i%64)) != 0 }

func (r *textRefs) set(i int) { r.bits[i/64] |= 1 << (i % 64) }

// checkTextLabels reads labels.csv and returns the files its rows name.
func checkTextLabels(abs string, o TextOptions, files *texts, ign *Ignore, ds *Dataset, probs *problemList) *textRefs {
	refs := newTextRefs(files.n)
	f, err := openRead(filepath.Join(abs, LabelsFile))
	if err != nil {
		probs.add("opening labels.csv: %v", err)
		return refs
	}
	defer f.close()
	s := csvread.NewStream(f, LabelsFile)
	header, err := s.Read()
	if errors.Is(err, io.EOF) {
		probs.add("labels.csv is empty: it needs a header (%s) and one row per text file", textHeader(o))
		return refs
	}
	if err != nil {
		probs.add("%s", csvStreamProblem(err))
		return refs
	}
	// The ingestor strips the header names before it reads a column, but
	// its BIO validator reads the label column as written.
	cols := make([]string, len(header))
	for i, h := range header {
		if cols[i] = strings.TrimSpace(string(h)); o.BIO && cols[i] == o.LabelColumn {
			cols[i] = string(h)
		}
	}
	fileCol, labelCol, ok := textHeaderColumns(cols, o, ds, probs)
	if o.LabelColumn != "" {
		ds.Labels = map[string]int{}
	}
	tags := map[int][]tagCount{}
	missing := smallest{k: 5}
	var excluded sample
	emptyNames, emptyLabels, firstEmptyLabel := 0, 0, 0
	var padded [][]byte
	// ingest holds each row's BIO label by line, for plainBIO.
	ingest := map[int]string{}
	// numericNames: every name so far is a number, which pandas reads the
	// whole column as (0001 becomes 1, and names no file).
	numericNames, firstNumeric := true, ""
	for {
		rec, good, more := nextRecord(s, probs)
		if !more {
			break
		}
		if !good {
			continue
		}
		ds.Rows++
		if !ok {
			continue
		}
		line := s.Line()
		if len(rec) > len(cols) {
			probs.atLine("labels.csv line %d has %d fields, the header has %d: every row needs one value per column (quote a value that holds a comma)%s", line, len(rec), len(cols), escapeHint(s.Escaped()))
			continue
		}
		rec = padRecord(rec, len(cols), &padded)
		name := string(rec[fileCol])
		if numericNames && !looksNumeric(name) {
			numericNames = false
		} else if numericNames && firstNumeric == "" {
			firstNumeric = name
		}
		file := -1
		if name == "" {
			emptyNames++
			probs.atLine("labels.csv line %d has an empty %s: name the text file of every row", line, FilenameColumn)
		} else if i, found := resolveText(name, ds.Extension, files); found {
			file = i
			refs.set(i)
		} else if ign.Why(o.Dir+"/"+name) != "" {
			excluded.addName(name)
		} else {
			missing.add(name, name)
		}
		if labelCol < 0 {
			continue
		}
		label := rec[labelCol]
		// Only an empty cell is no label: the ingestor reads the labels.csv
		// of a text task with na_values [""] and keep_default_na off, so
		// None, NA and null are class names like any other.
		if len(label) == 0 {
			emptyLabels++
			if firstEmptyLabel == 0 {
				firstEmptyLabel = line
			}
			continue
		}
		if n := utf8.RuneCount(label); n > maxLabelCell {
			probs.atLine("%s", longLabel(line, o.LabelColumn, n, o.BIO))
		}
		if o.BIO {
			ingest[line] = string(label)
			if bad := badBIO(label); bad != "" {
				probs.atLine("labels.csv line %d: %s %q is not a BIO tag: write O, B-<type> or I-<type> for each token, separated by spaces", line, o.LabelColumn, bad)
			}
			if file >= 0 {
				n, _ := countWords(label, false)
				tags[file] = append(tags[file], tagCount{line: line, tags: n})
			}
		}
		if _, seen := ds.Labels[string(label)]; seen || len(ds.Labels) < maxLabelValues {
			ds.Labels[string(label)]++
		}
	}
	if ds.Rows == 0 && len(probs.list) == 0 {
		probs.add("labels.csv has a header but no rows: add one row per text file")
	}
	if o.BIO && ok && s.Escaped() {
		for file, counts := range plainBIO(abs, o, ds.Extension, files, ingest, probs) {
			tags[file] = append(tags[file], counts...)
		}
	}
	if missing.n > 0 {
		hint := fmt.Sprintf(": put those files in %s/ or remove their rows", o.Dir)
		if strings.Contains(missing.first[0].key, "/") {
			hint = ": the filename column holds bare file names (e.g. a1.txt, not texts/a1.txt)"
		}
		probs.add("%d rows of labels.csv name files that are not in %s/: %s%s", missing.n, o.Dir, missing, hint)
	}
	if numericNames && firstNumeric != "" {
		probs.add("every %s in labels.csv is a number (%s): the ingestor reads the column as numbers (0001 becomes 1) and copies no file; write the names with their extension (%s%s)",
			FilenameColumn, firstNumeric, firstNumeric, ds.Extension)
	}
	if excluded.n > 0 {
		probs.add("%s", ign.excludedProblem(o.Dir, excluded.n, excluded.first))
	}
	if emptyLabels > 0 {
		probs.add("%d rows of labels.csv have an empty %q (the first on line %d): give every row a label", emptyLabels, o.LabelColumn, firstEmptyLabel)
	}
	if o.MinLabels > 0 && len(ds.Labels) > 0 && len(ds.Labels) < o.MinLabels {
		for v := range ds.Labels {
			probs.add("every row of labels.csv has the same %s %q: a classifier needs at least %d label values", o.LabelColumn, v, o.MinLabels)
		}
	}
	extra := smallest{k: 3}
	for i := range files.n {
		if !refs.has(i) {
			extra.add(files.file(i).Rel, files.file(i).Rel)
		}
	}
	if extra.n > 0 {
		ds.Notes = append(ds.Notes, fmt.Sprintf("%d files in %s/ have no row in labels.csv (staged, but not ingested): %s", extra.n, o.Dir, extra))
	}
	if len(tags) > 0 {
		refs.tags = tags
	}
	return refs
}

func textHeader(o TextOptions) string {
	if o.LabelColumn == "" {
		return FilenameColumn
	}
	return FilenameColumn + "," + o.LabelColumn
}

func textHeaderColumns(cols []string, o TextOptions, ds *Dataset, probs *problemList) (fileCol, labelCol int, ok bool) {
	fileCol, labelCol, ok = -1, -1, true
	seen := map[string]int{}
	for i, c := range cols {
		if first, dup := seen[c]; dup {
			probs.add("labels.csv names the column %q twice (columns %d and %d): column names must be unique", c, first+1, i+1)
			ok = false
			continue
		}
		seen[c] = i
		switch {
		case strings.TrimSpace(c) == FilenameColumn:
			// The ingestor trims the header's names when it reads the CSV.
			fileCol = i
		case o.LabelColumn != "" && c == o.LabelColumn:
			labelCol = i
		}
	}
	if fileCol < 0 {
		hint := ""
		for _, c := range cols {
			if strings.EqualFold(strings.TrimSpace(c), FilenameColumn) {
				hint = fmt.Sprintf(" (%q is close: the name must be exactly %q, lower-case)", c, FilenameColumn)
			}
		}
		probs.add("labels.csv has no %q column%s; its columns are %s: the ingestor finds each text file by that column", FilenameColumn, hint, quoteAll(cols))
		ok = false
	}
	if o.LabelColumn != "" && labelCol < 0 {
		probs.add("labels.csv has no label column %q; its columns are %s: name the right one with --label-column", o.LabelColumn, quoteAll(cols))
		ok = false
	}
	if o.LabelColumn == "" {
		if _, has := seen["label"]; has {
			ds.Notes = append(ds.Notes, fmt.Sprintf("labels.csv has a \"label\" column: %s is self-supervised, the ingestor does not read it", o.Task))
		}
	}
	return fileCol, labelCol, ok
}

// resolveText finds the file a row names: the name as given, or, for a
// name without an extension, with the dataset's extension appended, as the
// ingestor does.
func resolveText(name, ext string, files *texts) (int, bool) {
	if i, ok := files.find(name); ok {
		return i, true
	}
	if !hasFileExtension(name) && ext != "" {
		return files.find(name + ext)
	}
	return 0, false
}

// looksNumeric says pandas reads v as a number (an integer or a float).
func looksNumeric(v string) bool {
	v = strings.TrimSpace(v)
	if v == "" || strings.ContainsAny(v, "xX_") {
		return false
	}
	_, err := strconv.ParseFloat(v, 64)
	return err == nil || errors.Is(err, strconv.ErrRange)
}

// fileExtensions are the extensions the ingestor recognises at the end of
// a manifest's file name; any other name gets the dataset's extension
// appended, so "report.v2" names report.v2.txt.
var fileExtensions = []string{".jpeg", ".jpg", ".png", ".xml", ".txt", ".text"}

// hasFileExtension says the ingestor takes name as it is, without adding
// the dataset's extension: its last dot-part is a known extension, in any case.
func hasFileExtension(name string) bool {
	i := strings.LastIndexByte(name, '.')
	return i >= 0 && slices.Contains(fileExtensions, strings.ToLower(name[i:]))
}

// badBIO returns the first tag of a label that is not O, B-<type> or I-<type>.
func badBIO(label []byte) string {
	for _, tag := range bytes.FieldsFunc(label, isSpace) {
		switch {
		case string(tag) == "O":
		case (bytes.HasPrefix(tag, []byte("B-")) || bytes.HasPrefix(tag, []byte("I-"))) && len(tag) > 2:
		default:
			return string(tag)
		}
	}
	return ""
}

// textFile is what reading one text file learned.
type textFile struct {
	// read: the whole file was read and is UTF-8 text.
	read bool
	// empty: the file holds nothing but white space.
	empty bool
	// words counts its words (token_classification only).
	words int
}

// textChunk is how many files are checked between two hand-overs of
// their results, in file order: only a chunk's results are ever held.
const textChunk = 1024

// textResult is what the check of one file found.
type textResult struct {
	textFile
	// st is what stat said of the file, when stated is true.
	st     fileStat
	stated bool
	// was is what the cache holds for the file, when known is true;
	// cached: it gave the verdict, unread.
	was           cachedVerdict
	known, cached bool
	report        fileReport
}

// checkTexts stats every file of the folder and reads those rows name,
// chunk by chunk on a worker per core (each with one buffer for all its
// files), unless the check cache holds a file's verdict. Each chunk's
// results then go to the dataset in file order: sizes and times to
// ds.Files, problems to probs, verdicts to the cache. It returns the
// empty texts.
func checkTexts(abs string, o TextOptions, files *texts, refs *textRefs, cache *checkCache, probs *problemList) smallest {
	empty := smallest{k: 3}
	if files.n == 0 {
		return empty
	}
	dir, err := openFolder(filepath.Join(abs, o.Dir))
	if err != nil {
		probs.add("reading %s/: %v", o.Dir, err)
		return empty
	}
	defer dir.close()
	workers := make([]*textReader, min(runtime.GOMAXPROCS(0), 8))
	results := make([]textResult, min(textChunk, files.n))
	for base := 0; base < files.n; base += textChunk {
		chunk := results[:min(textChunk, files.n-base)]
		clear(chunk)
		for k := range chunk {
			if refs.has(base + k) {
				chunk[k].was, chunk[k].known = cache.find(files.file(base + k).Rel)
			}
		}
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := range min(len(workers), len(chunk)) {
			wg.Go(func() {
				if workers[w] == nil {
					workers[w] = &textReader{buf: bufio.NewReaderSize(nil, 64<<10)}
				}
				for {
					k := int(next.Add(1) - 1)
					if k >= len(chunk) {
						return
					}
					checkOneText(dir, files, base+k, o, refs, &chunk[k], workers[w])
				}
			})
		}
		wg.Wait()
		for k := range chunk {
			i, res := base+k, &chunk[k]
			res.report.to(probs)
			f := files.file(i)
			if res.stated {
				f.Size, f.ModTime = res.st.key.size, res.st.modTime()
				files.ds.Bytes += f.Size
			}
			if !refs.has(i) {
				continue
			}
			switch {
			case res.cached:
				cache.keep(f.Rel, res.was)
			case len(res.report.found) == 0:
				cache.add(f.Rel, res.st, res.textFile)
			}
			if res.empty {
				empty.add(f.Rel, f.Rel)
			}
			if res.read {
				checkTagCounts(f.Rel, res.words, refs.tags[i], probs)
			}
		}
	}
	return empty
}

// textReader is what one worker reads every file through.
type textReader struct {
	buf *bufio.Reader
	src sizedFile
}

// sizedFile reads an open file up to the size fstat gave it: the read that
// would only say the file ended is not made (for a million texts, a
// million calls). A file that grew since its stat was changed after it,
// and its key differs at the next check.
type sizedFile struct {
	f    rawFile
	left int64
}

func (s *sizedFile) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	n, err := s.f.read(p)
	s.left -= int64(n)
	return n, err
}

// checkOneText stats file i, and reads it when a row names it and the
// cache does not hold its verdict.
func checkOneText(dir folder, files *texts, i int, o TextOptions, refs *textRefs, res *textResult, r *textReader) {
	name, rel := files.name(i), files.file(i).Rel
	named := refs.has(i)
	if !named || res.known {
		st, err := dir.stat(name)
		if !named {
			switch {
			case err != nil:
				res.report.add("reading %s: %v", rel, err)
			case !st.regular:
				res.report.add("reading %s: %v", rel, errNotRegular)
			default:
				res.st, res.stated = st, true
			}
			return
		}
		if err == nil && st.regular && st.keyed && st.key == res.was.key {
			res.textFile, res.st, res.stated, res.cached = res.was.textFile(), st, true, true
			return
		}
		// Anything else is read, and the reading says what is wrong.
	}
	f, st, err := dir.open(name)
	if err != nil {
		res.report.add("opening %s: %v", rel, err)
		return
	}
	defer f.close()
	res.st, res.stated = st, true
	r.src = sizedFile{f: f, left: st.key.size}
	r.buf.Reset(&r.src)
	res.textFile = checkTextFile(rel, o, &res.report, r.buf)
}

// reporter takes the problems a check finds.
type reporter interface {
	add(format string, args ...any)
	atLine(format string, args ...any)
}

// fileReport holds the problems of one file until they can be reported in
// order.
type fileReport struct{ found []reported }

type reported struct {
	atLine bool
	msg    string
}

func (r *fileReport) add(format string, args ...any) {
	r.found = append(r.found, reported{msg: fmt.Sprintf(format, args...)})
}

func (r *fileReport) atLine(format string, args ...any) {
	r.found = append(r.found, reported{atLine: true, msg: fmt.Sprintf(format, args...)})
}

// to reports the problems to p as if they had been found there.
func (r *fileReport) to(p *problemList) {
	for _, f := range r.found {
		if f.atLine {
			p.atLine("%s", f.msg)
		} else {
			p.add("%s", f.msg)
		}
	}
}

// checkTextFile reads a text file through r, in constant memory, for
// UTF-8 and, if enforced, the record format; for BIO labels it counts the
// words.
func checkTextFile(rel string, o TextOptions, probs reporter, r *bufio.Reader) textFile {
	var res textFile
	var carry []byte
	var record *recordCheck
	if o.Format != nil && o.Format.Enforced {
		record = newRecordCheck(o.Format)
	}
	var words wordCounter
	line, text := 1, false
	for {
		chunk, err := r.ReadSlice('\n')
		data := chunk
		if len(carry) > 0 {
			carry = append(carry, chunk...)
			data = carry
			carry = nil
		}
		complete := len(data) > 0 && data[len(data)-1] == '\n'
		if !complete && errors.Is(err, bufio.ErrBufferFull) {
			// Keep a rune cut at the buffer's end for the next chunk.
			cut := len(data)
			for i := 1; i <= 3 && i <= len(data); i++ {
				if utf8.RuneStart(data[len(data)-i]) {
					if !utf8.FullRune(data[len(data)-i:]) {
						cut = len(data) - i
					}
					break
				}
			}
			carry = append([]byte(nil), data[cut:]...)
			data = data[:cut]
		}
		if bytes.IndexByte(data, 0) >= 0 {
			probs.atLine("%s line %d holds a NUL byte: this looks like a UTF-16 or binary file; save it as UTF-8 text", rel, line)
			return res
		}
		if !utf8.Valid(data) {
			probs.atLine("%s line %d is not valid UTF-8: save the file as UTF-8 text", rel, line)
			return res
		}
		if !text && len(bytes.TrimFunc(data, isSpace)) > 0 {
			text = true
		}
		if record != nil {
			record.feed(data)
		}
		if o.BIO {
			words.feed(data)
		}
		if complete {
			line++
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if !errors.Is(err, io.EOF) {
				probs.add("reading %s: %v", rel, err)
				return res
			}
			break
		}
	}
	if record != nil {
		if p := record.problem(rel, o.Task); p != "" {
			probs.atLine("%s", p)
		}
	}
	return textFile{read: true, empty: !text, words: words.n}
}

func recordShape(f *category.RecordFormat) string {
	var b strings.Builder
	for i, name := range f.Fields {
		switch {
		case i == 0:
			b.WriteString(name)
		case i < f.MinFields:
			b.WriteString("<TAB>" + name)
		default:
			b.WriteString("[<TAB>" + name + "]")
		}
	}
	return fmt.Sprintf("%s on one line, fields separated by a tab", b.String())
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
