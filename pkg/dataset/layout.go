package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tracebloc/kubectl-tracebloc/pkg/exitcode"
)

// checkLayout refuses a dataset whose shape is wrong before anything is read.
func checkLayout(abs, shown string) error {
	fail := func(format string, args ...any) error {
		return exitcode.Wrap(exitcode.Local, &Problems{Root: shown, List: []string{fmt.Sprintf(format, args...)}})
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("no such file or folder: give the folder that holds labels.csv and images/")
	case err != nil:
		return fail("%v", err)
	case !st.IsDir():
		return fail("is a file, not a folder: give the folder that holds labels.csv and images/")
	}
	lst, err := os.Lstat(filepath.Join(abs, LabelsFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("labels.csv is missing: the folder must hold labels.csv (one row per image) and images/")
	case err != nil:
		return fail("reading labels.csv: %v", err)
	case lst.Mode()&fs.ModeSymlink != 0:
		return fail("labels.csv is a symbolic link: copy the real file into the folder (links are refused, they can point anywhere)")
	case lst.IsDir():
		return fail("labels.csv is a folder, not a file: it must be the CSV that lists each image and its label")
	case !lst.Mode().IsRegular():
		return fail("labels.csv is not a regular file")
	}
	ist, err := os.Lstat(filepath.Join(abs, ImagesDir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fail("images/ is missing: put the image files in a folder named images beside labels.csv")
	case err != nil:
		return fail("reading images/: %v", err)
	case ist.Mode()&fs.ModeSymlink != 0:
		return fail("images is a symbolic link: copy the real folder into the dataset (links are refused, they can point anywhere)")
	case !ist.IsDir():
		return fail("images is a file, not a folder: put the image files in a folder named images")
	}
	return nil
}

// walkImages lists images/ with Lstat only (no file is read here), checks
// names, types, extensions and sizes, and fills ds.Files. It returns the set
// of image names found.
func walkImages(abs string, ds *Dataset, probs *Problems, limits Limits) map[string]struct{} {
	labels, err := os.Lstat(filepath.Join(abs, LabelsFile))
	if err != nil {
		probs.addf("reading labels.csv: %v", err)
		return nil
	}
	ds.Files = append(ds.Files, File{Rel: LabelsFile, Size: labels.Size(), ModTime: labels.ModTime()})
	ds.Bytes += labels.Size()
	checkSize(LabelsFile, labels.Size(), limits, probs)
	noteIgnored(abs, ds)

	entries, err := os.ReadDir(filepath.Join(abs, ImagesDir))
	if err != nil {
		probs.addf("reading images/: %v", err)
		return nil
	}
	names := make(map[string]struct{}, len(entries))
	byExt := map[string]int{}
	var links, dirs, special, badNames, badExt []string
	for _, e := range entries {
		name := e.Name()
		rel := ImagesDir + "/" + name
		info, err := e.Info()
		if err != nil {
			probs.addf("reading %s: %v", rel, err)
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
		case !goodName(name):
			badNames = append(badNames, fmt.Sprintf("%q", rel))
			continue
		}
		ext := strings.ToLower(filepath.Ext(name))
		if !supportedExt(ext) {
			badExt = append(badExt, rel)
			continue
		}
		byExt[ext]++
		checkSize(rel, info.Size(), limits, probs)
		names[name] = struct{}{}
		ds.Files = append(ds.Files, File{Rel: rel, Size: info.Size(), ModTime: info.ModTime()})
		ds.Bytes += info.Size()
		ds.Images++
	}
	if len(links) > 0 {
		probs.addf("%d symbolic links in images/: %s: copy the real files in (links are refused, they can point anywhere on your disk)", len(links), listFirst(links, 3))
	}
	if len(dirs) > 0 {
		probs.addf("images/ holds folders: %s: images/ must be flat, move the files up into images/", listFirst(dirs, 3))
	}
	if len(special) > 0 {
		probs.addf("images/ holds files that are not regular files (devices, pipes or sockets): %s", listFirst(special, 3))
	}
	if len(badNames) > 0 {
		probs.addf("file names that are not valid UTF-8 or hold control characters: %s: rename them", listFirst(badNames, 3))
	}
	if len(badExt) > 0 {
		probs.addf("%d files in images/ are not .jpg, .jpeg or .png: %s%s", len(badExt), listFirst(badExt, 3), extHint(badExt))
	}
	checkOneExt(byExt, ds, probs)
	if ds.Images == 0 && len(entries) == 0 {
		probs.addf("images/ is empty: put the image files named in labels.csv there")
	}
	return names
}

func checkSize(rel string, size int64, limits Limits, probs *Problems) {
	if size > limits.MaxFileBytes {
		probs.addf("%s is %s, over the %s per-file cap of this release: shrink or split it", rel, HumanBytes(size), HumanBytes(limits.MaxFileBytes))
	}
}

func supportedExt(ext string) bool {
	return ext == ".jpg" || ext == ".jpeg" || ext == ".png"
}

func extHint(files []string) string {
	for _, f := range files {
		if strings.EqualFold(filepath.Ext(f), ".webp") {
			return ": the ingestor cannot read .webp (its spec accepts only .jpg, .jpeg and .png); convert them, e.g. to .png"
		}
	}
	return ": convert them to .jpg or .png, or move them out of images/"
}

func checkOneExt(byExt map[string]int, ds *Dataset, probs *Problems) {
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
		probs.addf("images/ mixes extensions: %s: the ingestor takes one extension per dataset, convert the images to one format", strings.Join(parts, ", "))
	}
}

// goodName refuses names a line-based list or a terminal would mangle.
func goodName(name string) bool {
	if !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func noteIgnored(abs string, ds *Dataset) {
	entries, err := os.ReadDir(abs)
	if err != nil {
		return
	}
	var ignored []string
	for _, e := range entries {
		if e.Name() != LabelsFile && e.Name() != ImagesDir {
			ignored = append(ignored, e.Name())
		}
	}
	if len(ignored) > 0 {
		ds.Notes = append(ds.Notes, fmt.Sprintf("not staged (only labels.csv and images/ are): %s", listFirst(ignored, 5)))
	}
}
