// Command gendataset writes a sample image-classification dataset of real
// generated images, for the demo and the benchmarks.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/tracebloc/kubectl-tracebloc/pkg/dataset/fixture"
)

func main() {
	images := flag.Int("images", 200, "number of images")
	size := flag.Int("size", 64, "width and height of the images, in pixels")
	ext := flag.String("ext", ".jpg", "image extension: .jpg, .jpeg or .png")
	noise := flag.Bool("noise", false, "incompressible images (their size grows with the pixels)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: gendataset [flags] <folder>")
		os.Exit(2)
	}
	err := fixture.Write(flag.Arg(0), fixture.Options{Images: *images, Width: *size, Height: *size, Ext: *ext, Noise: *noise,
		Labels: []string{"cat", "dog"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}
