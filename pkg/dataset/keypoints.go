package dataset

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// keypointsCheck reads the keypoint columns of every row. The rules are the
// ingestor's keypoint validators: the Annotation column holds a JSON object
// of named points, each [x, y] or {"x": x, "y": y}, numeric and not
// negative, as many as --number-of-keypoints, at least two of them apart in
// both x and y, with the same names on every row; the Visibility column
// holds a JSON object with the same names, each 0 or 1.
//
// Where the published facts stop, the rule here is the strictest reasonable
// one: a point lies inside the --target-size image (0 ≤ x < width,
// 0 ≤ y < height: a pixel position); coordinates are JSON numbers, never
// true/false. A visibility flag is what the ingestor's `val in (0, 1)`
// takes: a number equal to 0 or 1 (1.0 too) or true/false, which Python
// counts as 1 and 0.
type keypointsCheck struct {
	nop
	r          *checkRun
	annCol     string
	visCol     string
	issues     findings
	firstNames []string
	firstLine  int
}

func newKeypointsCheck(r *checkRun) checker {
	cols := r.task.Manifest.Columns
	return &keypointsCheck{r: r, annCol: cols["annotation"], visCol: cols["visibility"]}
}

const (
	kindKPJSON   = "%d keypoint cells are not a JSON object: %s: write each as {\"name\": [x, y], …}, quoted as one CSV field"
	kindKPPoint  = "%d keypoints are not [x, y] or {\"x\": x, \"y\": y} with numbers: %s: give each point two numeric coordinates"
	kindKPRange  = "%d keypoints lie outside the image: %s: coordinates run from 0 to below the --target-size width and height"
	kindKPCount  = "%d rows have another number of keypoints than --number-of-keypoints: %s: annotate exactly that many points per row, or fix the flag"
	kindKPFlat   = "%d rows have keypoints that do not span an area: %s: at least two points must differ in both x and y"
	kindKPNames  = "%d rows name other keypoints than the first row: %s: use the same point names on every row"
	kindKPVis    = "%d visibility cells are wrong: %s: write {\"name\": 0 or 1, …} with exactly the keypoint names of the row"
	kindKPVisVal = "%d visibility flags are not 0 or 1: %s: 1 means visible, 0 not visible"
)

func (c *keypointsCheck) columns() []column {
	why := "keypoint_detection reads each row's points from it (a JSON object of named points)"
	return []column{{c.annCol, why}, {c.visCol, "keypoint_detection reads each point's visibility (0 or 1) from it"}}
}

func (c *keypointsCheck) row(line int, get func(string) string) {
	where := fmt.Sprintf("labels.csv line %d", line)
	ann, ok := jsonObject(get(c.annCol))
	if !ok {
		c.issues.add(kindKPJSON, fmt.Sprintf("%s %s %s", where, c.annCol, clip(get(c.annCol))))
		return
	}
	names := slices.Sorted(maps.Keys(ann))
	var xs, ys []float64
	for _, name := range names {
		x, y, ok := point(ann[name])
		if !ok {
			c.issues.add(kindKPPoint, fmt.Sprintf("%s point %q is %s", where, name, clip(string(ann[name]))))
			continue
		}
		xs, ys = append(xs, x), append(ys, y)
		if ts := c.r.opts.TargetSize; x < 0 || y < 0 || ts != nil && (x >= float64(ts[0]) || y >= float64(ts[1])) {
			c.issues.add(kindKPRange, fmt.Sprintf("%s point %q at (%g, %g)", where, name, x, y))
		}
	}
	if n := c.r.opts.NumberOfKeypoints; n > 0 && len(ann) != n {
		c.issues.add(kindKPCount, fmt.Sprintf("%s has %d, not %d", where, len(ann), n))
	}
	if len(xs) >= 2 && (slices.Max(xs)-slices.Min(xs) <= 0 || slices.Max(ys)-slices.Min(ys) <= 0) {
		c.issues.add(kindKPFlat, where)
	}
	if c.firstNames == nil {
		c.firstNames, c.firstLine = names, line
		c.r.ds.Keypoints = len(names)
	} else if !slices.Equal(names, c.firstNames) {
		c.issues.add(kindKPNames, fmt.Sprintf("%s has %s, line %d has %s", where, strings.Join(names, ","), c.firstLine, strings.Join(c.firstNames, ",")))
	}
	vis, ok := jsonObject(get(c.visCol))
	if !ok {
		c.issues.add(kindKPVis, fmt.Sprintf("%s %s %s is not a JSON object", where, c.visCol, clip(get(c.visCol))))
		return
	}
	if vn := slices.Sorted(maps.Keys(vis)); !slices.Equal(vn, names) {
		c.issues.add(kindKPVis, fmt.Sprintf("%s %s names %s, the points are %s", where, c.visCol, strings.Join(vn, ","), strings.Join(names, ",")))
	}
	for _, name := range slices.Sorted(maps.Keys(vis)) {
		if v := strings.TrimSpace(string(vis[name])); !visibilityFlag(v) {
			c.issues.add(kindKPVisVal, fmt.Sprintf("%s %q is %s", where, name, clip(v)))
		}
	}
}

func (c *keypointsCheck) finish() { c.issues.report(c.r.probs) }

// visibilityFlag says the ingestor's validator takes the JSON value v as a
// flag: Python's `v in (0, 1)` holds for 0, 1, 0.0, 1.0 and, bool being an
// int there, for false and true.
func visibilityFlag(v string) bool {
	if v == "true" || v == "false" {
		return true
	}
	f, ok := number(json.RawMessage(v))
	return ok && (f == 0 || f == 1)
}

// jsonObject parses a cell holding one JSON object, keeping each value raw.
func jsonObject(cell string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	d := json.NewDecoder(strings.NewReader(cell))
	if err := d.Decode(&m); err != nil || m == nil || d.More() {
		return nil, false
	}
	return m, true
}

// point reads [x, y] or {"x": x, "y": y}; both must be JSON numbers.
func point(raw json.RawMessage) (x, y float64, ok bool) {
	raw = bytes.TrimSpace(raw)
	var pair []json.RawMessage
	if err := json.Unmarshal(raw, &pair); err == nil {
		if len(pair) != 2 {
			return 0, 0, false
		}
		x, okx := number(pair[0])
		y, oky := number(pair[1])
		return x, y, okx && oky
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj["x"] == nil || obj["y"] == nil {
		return 0, 0, false
	}
	x, okx := number(obj["x"])
	y, oky := number(obj["y"])
	return x, y, okx && oky
}

func number(raw json.RawMessage) (float64, bool) {
	var f float64
	s := bytes.TrimSpace(raw)
	if len(s) == 0 || s[0] == '"' || s[0] == 't' || s[0] == 'f' || s[0] == 'n' {
		return 0, false
	}
	return f, json.Unmarshal(s, &f) == nil
}

// clip shortens a cell for a message.
func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Sprintf("%q", s)
}
