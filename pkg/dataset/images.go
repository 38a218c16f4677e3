package dataset

import (
	"bytes"
	"fmt"
	"image"
	_ "image/jpeg" // decoders for DecodeConfig
	_ "image/png"
	"io"
	"path/filepath"
	"sort"
	"strings"
)

type size struct{ w, h int }

func (s size) String() string { return fmt.Sprintf("%d×%d", s.w, s.h) }

// defaultMinSize is the smallest image newer ingestors accept when the spec
// sets no min_size (the published schema's default of file_options.min_size).
var defaultMinSize = size{32, 32}

// imagesCheck decodes the header of every image and checks that they all
// decode and are whole (imageComplete), share one size (--target-size when given) and are not below
// --min-size. The ingestor never resizes.
type imagesCheck struct {
	nop
	r                   *checkRun
	counts              map[size]int
	examples            map[size][]string
	broken, mislabelled []string
	small               findings
	belowDefault        int
}

func newImagesCheck(r *checkRun) checker {
	return &imagesCheck{r: r, counts: map[size]int{}, examples: map[size][]string{}}
}

func (c *imagesCheck) file(u *unit) any {
	f, err := openRead(filepath.Join(c.r.abs, filepath.FromSlash(u.rel)))
	if err != nil {
		u.err = err
		return nil
	}
	defer f.close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		u.err = err
		return nil
	}
	if err := imageComplete(f, format); err != nil {
		u.err = err
		return nil
	}
	u.w, u.h, u.format = cfg.Width, cfg.Height, format
	return nil
}

// pngEnd is the IEND chunk that closes every PNG; jpegEnd the EOI marker.
var (
	pngEnd  = []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82}
	jpegEnd = []byte{0xFF, 0xD9}
)

// imageComplete refuses an image cut short, whose header still decodes:
// the ingestor's validator cannot open a PNG cut before its pixel data,
// and training cannot decode one cut anywhere. A file that ends as its
// format ends (IEND, EOI) is taken as whole; any other, rare (a cut, or
// bytes after the end), is decoded in full to tell.
func imageComplete(f rawFile, format string) error {
	n, err := f.size()
	if err != nil {
		return err
	}
	end := map[string][]byte{"png": pngEnd, "jpeg": jpegEnd}[format]
	if end == nil || n < int64(len(end)) {
		return nil
	}
	tail := make([]byte, len(end))
	if _, err := f.ReadAt(tail, n-int64(len(end))); err != nil {
		return err
	}
	if bytes.Equal(tail, end) {
		return nil
	}
	if _, _, err := image.Decode(io.NewSectionReader(f, 0, n)); err != nil {
		return fmt.Errorf("cut short or corrupt: %w", err)
	}
	return nil
}

func (c *imagesCheck) collect(u *unit, _ any) {
	if u.err != nil {
		c.broken = append(c.broken, fmt.Sprintf("%s (%v)", u.rel, u.err))
		return
	}
	s := size{u.w, u.h}
	c.counts[s]++
	c.examples[s] = keepSmallest(c.examples[s], u.rel, 5)
	if !formatMatches(u.format, u.rel) {
		c.mislabelled = append(c.mislabelled, fmt.Sprintf("%s is %s", u.rel, strings.ToUpper(u.format)))
	}
	if m := c.r.opts.MinSize; m != nil && (u.w < m[0] || u.h < m[1]) {
		c.small.add(fmt.Sprintf("%%d images are smaller than --min-size %d×%d: %%s: the ingestor rejects them; remove them or use larger images", m[0], m[1]),
			fmt.Sprintf("%s (%d×%d)", u.rel, u.w, u.h))
	}
	if c.r.opts.MinSize == nil && (u.w < defaultMinSize.w || u.h < defaultMinSize.h) {
		c.belowDefault++
	}
}

func (c *imagesCheck) finish() {
	ds, probs := c.r.ds, c.r.probs
	if len(c.broken) > 0 {
		sort.Strings(c.broken)
		probs.addf("%d images do not decode: %s: replace or remove them", len(c.broken), listFirst(c.broken, 3))
	}
	if len(c.mislabelled) > 0 {
		sort.Strings(c.mislabelled)
		ds.Notes = append(ds.Notes, fmt.Sprintf("%d images have an extension that does not match their content: %s", len(c.mislabelled), listFirst(c.mislabelled, 3)))
	}
	c.small.report(probs)
	if c.belowDefault > 0 {
		ds.Notes = append(ds.Notes, fmt.Sprintf("%d images are below %s, the smallest size newer ingestors accept when the spec sets none: pass --min-size to state the smallest size your model takes",
			c.belowDefault, defaultMinSize))
	}
	if ts := c.r.opts.TargetSize; ts != nil {
		c.checkTarget(size{ts[0], ts[1]})
		return
	}
	checkSizes(c.counts, c.examples, ds, probs)
}

// checkTarget names every image whose size is not --target-size.
func (c *imagesCheck) checkTarget(want size) {
	c.r.ds.Width, c.r.ds.Height = want.w, want.h
	var odd []string
	total := 0
	for s, n := range c.counts {
		if s == want {
			continue
		}
		total += n
		for _, rel := range c.examples[s] {
			odd = append(odd, fmt.Sprintf("%s (%s)", rel, s))
		}
	}
	if total == 0 {
		return
	}
	sort.Strings(odd)
	c.r.probs.addf("%d images are not the --target-size %s: %s: resize them to %s (the ingestor never resizes)",
		total, want, listWithMore(odd, total), want)
}

func listWithMore(shown []string, total int) string {
	if len(shown) > 5 {
		shown = shown[:5]
	}
	s := strings.Join(shown, ", ")
	if total > len(shown) {
		s += fmt.Sprintf(" (and %d more)", total-len(shown))
	}
	return s
}

func formatMatches(format, rel string) bool {
	ext := strings.ToLower(filepath.Ext(rel))
	return format == "png" && ext == ".png" || format == "jpeg" && (ext == ".jpg" || ext == ".jpeg")
}

// checkSizes takes the most common size as the dataset's and names the images
// of any other size: the ingestor never resizes.
func checkSizes(counts map[size]int, examples map[size][]string, ds *Dataset, probs *Problems) {
	if len(counts) == 0 {
		return
	}
	sizes := make([]size, 0, len(counts))
	for s := range counts {
		sizes = append(sizes, s)
	}
	sort.Slice(sizes, func(i, j int) bool {
		a, b := sizes[i], sizes[j]
		if counts[a] != counts[b] {
			return counts[a] > counts[b]
		}
		return a.w*a.h > b.w*b.h || a.w*a.h == b.w*b.h && a.w > b.w
	})
	main := sizes[0]
	ds.Width, ds.Height = main.w, main.h
	if len(sizes) == 1 {
		return
	}
	var odd []string
	total := 0
	for _, s := range sizes[1:] {
		total += counts[s]
		for _, rel := range examples[s] {
			odd = append(odd, fmt.Sprintf("%s (%d×%d)", rel, s.w, s.h))
		}
	}
	sort.Strings(odd)
	probs.addf("%d images differ from the %d×%d of the other %d: %s: resize them to %d×%d (the ingestor never resizes)",
		total, main.w, main.h, counts[main], listWithMore(odd, total), main.w, main.h)
}

// keepSmallest keeps the n smallest names, sorted, so examples are stable
// whatever order the workers finish in.
func keepSmallest(list []string, name string, n int) []string {
	i := sort.SearchStrings(list, name)
	if i >= n {
		return list
	}
	list = append(list, "")
	copy(list[i+1:], list[i:])
	list[i] = name
	if len(list) > n {
		list = list[:n]
	}
	return list
}
