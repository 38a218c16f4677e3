package dataset

import (
	"fmt"
	"image"
	"path/filepath"
	"strings"
)

// masksCheck decodes the header of the mask paired with every image: a
// PNG of the image's own size (CATEGORIES.md, semantic_segmentation).
type masksCheck struct {
	nop
	r      *checkRun
	dir    string
	name   func(stem string) string
	issues findings
}

func newMasksCheck(r *checkRun) checker {
	c := &masksCheck{r: r}
	for _, s := range r.task.Sidecars {
		if strings.HasSuffix(s.Glob, ".png") {
			c.dir, c.name = s.Subdir, s.For
		}
	}
	return c
}

const (
	kindMaskBroken = "%d masks do not decode as PNG: %s: save each mask as a PNG image"
	kindMaskSize   = "%d masks differ in size from their image: %s: a mask has its image's width and height, pixel for pixel"
)

func (c *masksCheck) file(u *unit) any {
	if c.dir == "" {
		return nil
	}
	name := c.name(u.stem)
	if _, ok := c.r.sidecars[c.dir][name]; !ok {
		return nil // the pairing problem is already reported
	}
	rel := c.dir + "/" + name
	f, err := openRead(filepath.Join(c.r.abs, filepath.FromSlash(rel)))
	if err != nil {
		return [2]string{kindMaskBroken, fmt.Sprintf("%s (%v)", rel, err)}
	}
	defer f.close()
	cfg, format, err := image.DecodeConfig(f)
	switch {
	case err != nil:
		return [2]string{kindMaskBroken, fmt.Sprintf("%s (%v)", rel, err)}
	case format != "png":
		return [2]string{kindMaskBroken, fmt.Sprintf("%s (is %s)", rel, strings.ToUpper(format))}
	case u.err == nil && u.w > 0 && (cfg.Width != u.w || cfg.Height != u.h):
		return [2]string{kindMaskSize, fmt.Sprintf("%s is %d×%d, %s is %d×%d", rel, cfg.Width, cfg.Height, u.rel, u.w, u.h)}
	}
	return nil
}

func (c *masksCheck) collect(_ *unit, res any) {
	if is, ok := res.([2]string); ok {
		c.issues.add(is[0], is[1])
	}
}

func (c *masksCheck) finish() { c.issues.report(c.r.probs) }
