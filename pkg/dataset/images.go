package dataset

import (
	"fmt"
	"image"
	_ "image/jpeg" // decoders for DecodeConfig
	_ "image/png"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
)

type size struct{ w, h int }

type decoded struct {
	rel    string
	size   size
	format string
	err    error
}

// checkImages decodes the header of every image on a bounded worker pool and
// checks that they all decode and share one size. Only counts and a few names
// per size are kept, so memory stays flat in the number of images.
func checkImages(abs string, ds *Dataset, probs *Problems) {
	jobs := make(chan string)
	results := make(chan decoded)
	workers := 2 * runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rel := range jobs {
				results <- decodeHeader(abs, rel)
			}
		}()
	}
	go func() {
		for _, f := range ds.Files {
			if strings.HasPrefix(f.Rel, ImagesDir+"/") {
				jobs <- f.Rel
			}
		}
		close(jobs)
		wg.Wait()
		close(results)
	}()

	counts := map[size]int{}
	examples := map[size][]string{}
	var broken, mislabelled []string
	for r := range results {
		switch {
		case r.err != nil:
			broken = append(broken, fmt.Sprintf("%s (%v)", r.rel, r.err))
		default:
			counts[r.size]++
			examples[r.size] = keepSmallest(examples[r.size], r.rel, 5)
			if !formatMatches(r.format, r.rel) {
				mislabelled = append(mislabelled, fmt.Sprintf("%s is %s", r.rel, strings.ToUpper(r.format)))
			}
		}
	}
	if len(broken) > 0 {
		sort.Strings(broken)
		probs.addf("%d images do not decode: %s: replace or remove them", len(broken), listFirst(broken, 3))
	}
	if len(mislabelled) > 0 {
		sort.Strings(mislabelled)
		ds.Notes = append(ds.Notes, fmt.Sprintf("%d images have an extension that does not match their content: %s", len(mislabelled), listFirst(mislabelled, 3)))
	}
	checkSizes(counts, examples, ds, probs)
}

func decodeHeader(abs, rel string) decoded {
	f, err := os.Open(filepath.Join(abs, filepath.FromSlash(rel)))
	if err != nil {
		return decoded{rel: rel, err: err}
	}
	defer f.Close()
	cfg, format, err := image.DecodeConfig(f)
	if err != nil {
		return decoded{rel: rel, err: err}
	}
	return decoded{rel: rel, size: size{cfg.Width, cfg.Height}, format: format}
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
	shown := odd
	if len(shown) > 5 {
		shown = shown[:5]
	}
	more := ""
	if total > len(shown) {
		more = fmt.Sprintf(" (and %d more)", total-len(shown))
	}
	probs.addf("%d images differ from the %d×%d of the other %d: %s%s: resize them to %d×%d (the ingestor never resizes)",
		total, main.w, main.h, counts[main], strings.Join(shown, ", "), more, main.w, main.h)
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
